/**
 * Ping: round-trip time and clock offset to each operator, with NTP's on-wire arithmetic.
 *
 * Wire (one yamux stream per ping, on PING_PROTOCOL):
 *
 *   request   16  nonce (random)
 *   response  16  the same nonce ‖ f64 t1 ‖ f64 t2   (big-endian; ms since the Unix epoch)
 *
 * The sender reads t0 just before writing the request and t3 once the whole response is in;
 * the peer reads t1 once the whole request is in and t2 just before writing the response.
 * The echoed nonce pairs a response with its request.
 */

/** libp2p protocol id of the ping, beside `/cohort/qbft/1.0.0` and `/cohort/parsig/1.0.0`. */
export const PING_PROTOCOL = '/cohort/ping/1.0.0';
export const PING_NONCE_BYTES = 16;
export const PING_REQUEST_BYTES = PING_NONCE_BYTES;
export const PING_RESPONSE_BYTES = PING_NONCE_BYTES + 8 + 8;

/** One successful ping. Offsets are the peer's clock minus ours (positive: the peer is ahead). */
export interface PingSample {
  readonly rttMs: number;
  readonly clockOffsetMs: number;
  /** Our clock (t3) when the response arrived. */
  readonly atMs: number;
}

/**
 * RFC 5905 §8 (on-wire protocol), with T1..T4 named t0..t3 here:
 *   round-trip delay  δ = (t3 − t0) − (t2 − t1)
 *   clock offset      θ = ((t1 − t0) + (t2 − t3)) / 2
 * θ is exact when the two directions take equal time; an asymmetric path biases it by at
 * most δ/2. A clock stepped during the exchange can make δ negative; it is reported as is.
 */
export function ntpRoundTrip(t0: number, t1: number, t2: number, t3: number): { readonly rttMs: number; readonly clockOffsetMs: number } {
  return { rttMs: t3 - t0 - (t2 - t1), clockOffsetMs: (t1 - t0 + (t2 - t3)) / 2 };
}

export function encodePingResponse(nonce: Uint8Array, t1: number, t2: number): Uint8Array {
  if (nonce.byteLength !== PING_NONCE_BYTES) throw new TypeError(`ping nonce must be ${PING_NONCE_BYTES} bytes`);
  const out = new Uint8Array(PING_RESPONSE_BYTES);
  const view = new DataView(out.buffer);
  out.set(nonce, 0);
  view.setFloat64(PING_NONCE_BYTES, t1);
  view.setFloat64(PING_NONCE_BYTES + 8, t2);
  return out;
}

/** Undefined unless the bytes are exactly one response to `nonce` with finite times. */
export function decodePingResponse(bytes: Uint8Array, nonce: Uint8Array): { readonly t1: number; readonly t2: number } | undefined {
  if (bytes.byteLength !== PING_RESPONSE_BYTES || nonce.byteLength !== PING_NONCE_BYTES) return undefined;
  for (let i = 0; i < PING_NONCE_BYTES; i += 1) if (bytes[i] !== nonce[i]) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const t1 = view.getFloat64(PING_NONCE_BYTES);
  const t2 = view.getFloat64(PING_NONCE_BYTES + 8);
  if (!Number.isFinite(t1) || !Number.isFinite(t2)) return undefined;
  return { t1, t2 };
}

/**
 * The default ping clock: wall-clock ms since the Unix epoch with sub-millisecond resolution.
 * It follows Date.now() — the clock the slot timing reads, so a stepped system clock shows up
 * as an offset — and interpolates between its millisecond ticks with the monotonic clock
 * (a loopback round trip is under a millisecond). It is anchored on a Date.now() tick, so two
 * such clocks agree to a few microseconds rather than to a millisecond, and re-anchors if the
 * two sources part by more than 2 ms (a clock step).
 */
export function createWallClock(): () => number {
  let anchorWallMs = 0;
  let anchorMonoMs = 0;
  const anchor = (): void => {
    // Wait (at most 1 ms) for Date.now() to tick: the anchor is then an exact millisecond.
    const start = Date.now();
    let wallMs = start;
    while (wallMs === start) wallMs = Date.now();
    anchorWallMs = wallMs;
    anchorMonoMs = performance.now();
  };
  anchor();
  return () => {
    const interpolated = anchorWallMs + (performance.now() - anchorMonoMs);
    if (Math.abs(interpolated - Date.now()) <= 2) return interpolated;
    anchor();
    return anchorWallMs;
  };
}
