import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PING_RESPONSE_BYTES, createWallClock, decodePingResponse, encodePingResponse, ntpRoundTrip } from './ping.js';

const nonce = (): Uint8Array => new Uint8Array(randomBytes(16));

describe('ntpRoundTrip (RFC 5905 §8)', () => {
  it('worked example: 10 ms each way, 2 ms in the peer, peer clock 100 ms ahead', () => {
    // our t0 = 1000; arrives at our 1010 = peer 1110; leaves at peer 1112 = our 1012; back at our 1022
    expect(ntpRoundTrip(1000, 1110, 1112, 1022)).toEqual({ rttMs: 20, clockOffsetMs: 100 });
  });

  it('a peer clock behind ours gives a negative offset', () => {
    expect(ntpRoundTrip(5000, 4755, 4755, 5010)).toEqual({ rttMs: 10, clockOffsetMs: -250 });
  });

  it('recovers any offset exactly on a symmetric path, and the path delay whatever the offset', () => {
    const ms = fc.double({ min: 0, max: 1_000, noNaN: true });
    fc.assert(
      fc.property(fc.double({ min: -60_000, max: 60_000, noNaN: true }), ms, ms, (offset, oneWay, inPeer) => {
        const t0 = 1_700_000_000_000;
        const t1 = t0 + oneWay + offset;
        const t2 = t1 + inPeer;
        const t3 = t2 - offset + oneWay;
        const { rttMs, clockOffsetMs } = ntpRoundTrip(t0, t1, t2, t3);
        expect(rttMs).toBeCloseTo(2 * oneWay, 3);
        expect(clockOffsetMs).toBeCloseTo(offset, 3);
      }),
    );
  });

  it('an asymmetric path biases the offset by half the difference of the two legs', () => {
    // 30 ms out, 10 ms back, clocks equal: θ = (30 − 10) / 2 = 10 ms, δ = 40 ms
    expect(ntpRoundTrip(0, 30, 30, 40)).toEqual({ rttMs: 40, clockOffsetMs: 10 });
  });
});

describe('ping wire', () => {
  it('round-trips fractional epoch milliseconds', () => {
    const n = nonce();
    const bytes = encodePingResponse(n, 1_763_800_000_123.456, 1_763_800_000_123.789);
    expect(bytes.byteLength).toBe(PING_RESPONSE_BYTES);
    expect(decodePingResponse(bytes, n)).toEqual({ t1: 1_763_800_000_123.456, t2: 1_763_800_000_123.789 });
  });

  it('refuses a response to another nonce, a wrong length, and non-finite times', () => {
    const n = nonce();
    const bytes = encodePingResponse(n, 1, 2);
    expect(decodePingResponse(bytes, nonce())).toBeUndefined();
    expect(decodePingResponse(bytes.subarray(0, PING_RESPONSE_BYTES - 1), n)).toBeUndefined();
    expect(decodePingResponse(new Uint8Array([...bytes, 0]), n)).toBeUndefined();
    expect(decodePingResponse(encodePingResponse(n, Number.NaN, 2), n)).toBeUndefined();
    expect(() => encodePingResponse(new Uint8Array(15), 1, 2)).toThrow(TypeError);
  });
});

describe('createWallClock', () => {
  it('stays within 2 ms of Date.now() and resolves below a millisecond', () => {
    const clock = createWallClock();
    const readings: number[] = [];
    for (let i = 0; i < 2_000; i += 1) {
      const before = Date.now();
      const t = clock();
      const after = Date.now();
      expect(t).toBeGreaterThanOrEqual(before - 2);
      expect(t).toBeLessThanOrEqual(after + 2);
      readings.push(t);
    }
    expect(readings.some((t) => !Number.isInteger(t))).toBe(true);
  });
});
