import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { privateKeyFromRaw } from '@libp2p/crypto/keys';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { fromHex, type Hex } from '#lib/contracts';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  ROOT_BYTES,
  maxWireBytes,
  openEnvelope,
  sealEnvelope,
  signerKey,
  type RejectReason,
  type SignerKey,
} from './envelope.js';
import { peerIdOf, secp256k1PublicKey } from './identity.js';
import { createMetricsRecorder, type PeerMetrics } from './metrics.js';
import {
  PING_PROTOCOL,
  PING_REQUEST_BYTES,
  PING_RESPONSE_BYTES,
  createWallClock,
  decodePingResponse,
  encodePingResponse,
  ntpRoundTrip,
  type PingSample,
} from './ping.js';

export interface PeerSpec {
  /** Operator index 0..n-1, as in the cluster lock's operator list. */
  readonly index: number;
  /** 33-byte compressed secp256k1 key from the operator's ENR. */
  readonly publicKey: Hex;
  readonly host: string;
  readonly port: number;
}

export interface RetryPolicy {
  /** Delivery attempts per send() before it rejects. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Bound on one attempt (dial + write + the peer's read); a stuck link must not hold a duty. */
  readonly attemptTimeoutMs: number;
}

export interface ReconnectPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export interface PingPolicy {
  /** Pause between two rounds of pings to every other operator (startPinging). */
  readonly intervalMs: number;
  /** Bound on one ping: dial, request, response. A peer that does not answer in time is a failed ping. */
  readonly timeoutMs: number;
}

/** What one ping of the periodic round gave: a sample, or why there is none. */
export type PingOutcome =
  | { readonly peer: number; readonly ok: true; readonly sample: PingSample }
  | { readonly peer: number; readonly ok: false; readonly error: string };

export interface PeerNetworkOptions {
  /** 32-byte secp256k1 secret: this operator's ENR identity. Never logged, never leaves this module. */
  readonly privateKey: Uint8Array;
  readonly selfIndex: number;
  /** All operators including self; self's entry gives the listen host/port. */
  readonly peers: readonly PeerSpec[];
  /** Cluster lock hash: binds every message to this cluster. */
  readonly clusterHash: Hex;
  /** Binds every message to this network (and to this Ephemery iteration). */
  readonly genesisValidatorsRoot: Hex;
  readonly onRejected?: (r: { reason: RejectReason; peer?: string; protocol?: string }) => void;
  /** Defaults to 16 MiB. */
  readonly maxPayloadBytes?: number;
  readonly sendRetry?: Partial<RetryPolicy>;
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** Defaults: every 10 s, 2 s per ping. */
  readonly ping?: Partial<PingPolicy>;
  /** Wall clock for ping timestamps, ms since the Unix epoch (fractions allowed); injectable to simulate a skewed clock. */
  readonly now?: () => number;
}

export interface PeerNetwork {
  readonly selfIndex: number;
  /** One handler per protocol; `from` is the noise-authenticated operator index that signed the envelope. */
  handle(protocol: string, handler: (from: number, payload: Uint8Array) => void): void;
  /**
   * Resolves once the peer's node has read the whole envelope. Retries with exponential
   * backoff on a dead link up to the retry bound, then rejects with PeerUnreachableError.
   * At-least-once: if an acknowledgement is lost, the retry delivers the payload again, so
   * consumers must tolerate duplicates (QBFT and partial-signature messages are idempotent).
   * Sending to selfIndex hands the payload to the local handler (consensus treats self like any operator).
   */
  send(to: number, protocol: string, payload: Uint8Array): Promise<void>;
  /** To every other operator, in parallel; never throws. */
  broadcast(protocol: string, payload: Uint8Array): Promise<{ delivered: number[]; failed: number[] }>;
  /** Operator indices with an open connection now. */
  connectedPeers(): number[];
  /**
   * One ping (RFC 5905 §8 arithmetic, `ping.ts`): round-trip time and the peer's clock offset.
   * Rejects with PeerUnreachableError when the peer does not answer within `ping.timeoutMs`
   * (counted in peerMetrics().pingFailures); a sample is recorded in peerMetrics().pings.
   */
  ping(to: number): Promise<PingSample>;
  /**
   * Pings every other operator now and then every `ping.intervalMs` until stop(), reporting each
   * outcome to `onPing`. A dead peer yields failed outcomes, never an exception. Once per network.
   */
  startPinging(onPing?: (outcome: PingOutcome) => void): void;
  peerMetrics(): PeerMetrics;
  stop(): Promise<void>;
}

/** send() gave up: the peer stayed unreachable for the whole retry bound. */
export class PeerUnreachableError extends Error {
  override readonly name = 'PeerUnreachableError';
  constructor(
    readonly to: number,
    readonly protocol: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`operator ${to} unreachable on ${protocol} after ${attempts} attempts`, options);
  }
}

/** The options cannot describe a working node (a configuration bug, reported at startup). */
export class PeerNetworkConfigError extends Error {
  override readonly name = 'PeerNetworkConfigError';
}

/** Test-only seams; not exported from the library index. */
export interface PeerNetworkHooks {
  /** Rewrites the sealed wire bytes before they are written, to forge or corrupt envelopes. */
  readonly outboundWire?: (wire: Uint8Array, to: number, protocol: string) => Uint8Array;
  /** Writes only this many bytes of the wire, then aborts the stream (a sender cut off mid-message). */
  readonly outboundCutAfter?: (to: number, protocol: string) => number | undefined;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 6, initialDelayMs: 50, maxDelayMs: 1_000, attemptTimeoutMs: 2_000 };
const DEFAULT_RECONNECT: ReconnectPolicy = { initialDelayMs: 100, maxDelayMs: 10_000 };
const DEFAULT_PING: PingPolicy = { intervalMs: 10_000, timeoutMs: 2_000 };
/** Each operator pings once per interval; a few concurrent pings per peer is already abnormal. */
const MAX_PING_STREAMS = 8;
/** An inbound sender that stalls mid-message is cut off after this. */
const INBOUND_READ_TIMEOUT_MS = 10_000;
/** One stream per message: allow a full broadcast burst of QBFT + partial-signature traffic per peer. */
const MAX_STREAMS_PER_PROTOCOL = 1_024;

interface Operator {
  readonly index: number;
  readonly peerId: PeerId;
  readonly publicKey: SignerKey;
  readonly address: Multiaddr;
}

export function createPeerNetwork(opts: PeerNetworkOptions): Promise<PeerNetwork> {
  return createPeerNetworkWith(opts, {});
}

export async function createPeerNetworkWith(opts: PeerNetworkOptions, hooks: PeerNetworkHooks): Promise<PeerNetwork> {
  const config = parseOptions(opts);
  const { operators, self } = config;
  const byPeerId = new Map(operators.map((op) => [op.peerId.toString(), op]));
  const metrics = createMetricsRecorder();
  const handlers = new Map<string, (from: number, payload: Uint8Array) => void>();
  const stopping = new AbortController();
  const reconnecting = new Set<number>();
  const now = opts.now ?? createWallClock();
  let pinging = false;

  const reject = (reason: RejectReason, peer?: string, protocol?: string): void => {
    metrics.rejected(reason);
    opts.onRejected?.({ reason, ...(peer === undefined ? {} : { peer }), ...(protocol === undefined ? {} : { protocol }) });
  };
  // Only the cluster's operators may hold a connection: checked once noise has authenticated the PeerId.
  const denyUnknown = (peerId: PeerId): boolean => {
    if (byPeerId.has(peerId.toString())) return false;
    reject('unknown_peer', peerId.toString());
    return true;
  };

  const node: Libp2p = await createLibp2p({
    privateKey: privateKeyFromRaw(opts.privateKey),
    addresses: { listen: [self.address.toString()] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      denyDialPeer: denyUnknown,
      denyInboundEncryptedConnection: denyUnknown,
      denyOutboundEncryptedConnection: denyUnknown,
    },
    start: false,
  });
  for (const op of operators) {
    if (op.index !== self.index) await node.peerStore.merge(op.peerId, { multiaddrs: [op.address] });
  }
  await node.start();

  const connectedPeers = (): number[] => {
    const indices = new Set<number>();
    for (const connection of node.getConnections()) {
      const op = byPeerId.get(connection.remotePeer.toString());
      if (op !== undefined && connection.status === 'open') indices.add(op.index);
    }
    return [...indices].sort((a, b) => a - b);
  };

  // Keep links up: when an operator's connection drops, redial with exponential backoff
  // until it is back (or we stop), so the next duty does not pay the dial.
  const reconnect = async (op: Operator): Promise<void> => {
    if (reconnecting.has(op.index)) return;
    reconnecting.add(op.index);
    try {
      let delayMs = config.reconnect.initialDelayMs;
      while (!stopping.signal.aborted && !connectedPeers().includes(op.index)) {
        await sleep(delayMs, stopping.signal);
        if (stopping.signal.aborted || connectedPeers().includes(op.index)) return;
        try {
          await node.dial(op.peerId, { signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(config.retry.attemptTimeoutMs)]) });
          metrics.reconnected();
          return;
        } catch {
          delayMs = Math.min(delayMs * 2, config.reconnect.maxDelayMs);
        }
      }
    } finally {
      reconnecting.delete(op.index);
    }
  };
  node.addEventListener('peer:disconnect', (event) => {
    const op = byPeerId.get(event.detail.toString());
    if (op !== undefined && !stopping.signal.aborted) void reconnect(op);
  });

  const onStream = async (protocol: string, stream: Stream, connection: Connection): Promise<void> => {
    const remote = connection.remotePeer.toString();
    const op = byPeerId.get(remote);
    if (op === undefined) {
      // The gater already refuses these connections; this guards a gater bypass.
      reject('unknown_peer', remote, protocol);
      stream.abort(new Error('unknown peer'));
      return;
    }
    const wire = await readToEnd(stream, maxWireBytes(config.maxPayloadBytes));
    if (wire === 'too_large' || wire === 'incomplete') {
      reject(wire, remote, protocol);
      return;
    }
    // Our close is the sender's delivery acknowledgement; it need not wait for verification.
    void stream.close().catch(() => undefined);
    const opened = openEnvelope(wire, {
      clusterHash: config.clusterHash,
      genesisValidatorsRoot: config.genesisValidatorsRoot,
      protocol,
      remoteIndex: op.index,
      remotePublicKey: op.publicKey,
      maxPayloadBytes: config.maxPayloadBytes,
    });
    if (!opened.ok) {
      reject(opened.reason, remote, protocol);
      return;
    }
    const handler = handlers.get(protocol);
    if (handler === undefined) return; // unreachable: libp2p only negotiates protocols we handle
    metrics.received(protocol);
    handler(op.index, opened.envelope.payload);
  };

  const deliverOnce = async (op: Operator, protocol: string, wire: Uint8Array): Promise<void> => {
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(config.retry.attemptTimeoutMs)]);
    // negotiateFully: false sends the protocol id with the envelope in one flight (no
    // multistream-select round trip first); an unsupported protocol surfaces as a failed read.
    const stream = await node.dialProtocol(op.peerId, protocol, { signal, negotiateFully: false });
    try {
      const cut = hooks.outboundCutAfter?.(op.index, protocol);
      if (cut !== undefined) {
        if (!stream.send(wire.subarray(0, cut))) await stream.onDrain({ signal });
        throw new Error(`cut after ${cut} bytes (test hook)`);
      }
      if (!stream.send(wire)) await stream.onDrain({ signal });
      await stream.close({ signal });
      // The peer closes its end once it has read the whole envelope: that is the acknowledgement.
      await drainUntilRemoteClose(stream, signal);
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  };

  const checkPayload = (payload: Uint8Array): void => {
    if (payload.byteLength > config.maxPayloadBytes) {
      throw new RangeError(`payload of ${payload.byteLength} bytes exceeds the ${config.maxPayloadBytes}-byte bound`);
    }
  };

  // The envelope names no recipient, so one signature serves a whole broadcast.
  const seal = (protocol: string, payload: Uint8Array): Uint8Array =>
    sealEnvelope(
      { clusterHash: config.clusterHash, genesisValidatorsRoot: config.genesisValidatorsRoot, protocol, senderIndex: self.index, payload },
      opts.privateKey,
    );

  const deliverToSelf = (protocol: string, payload: Uint8Array): void => {
    const handler = handlers.get(protocol);
    if (handler === undefined) throw new PeerUnreachableError(self.index, protocol, 0, { cause: new Error('no local handler') });
    metrics.sent(protocol);
    metrics.received(protocol);
    handler(self.index, payload);
  };

  const deliver = async (op: Operator, protocol: string, sealed: Uint8Array): Promise<void> => {
    const wire = hooks.outboundWire?.(sealed, op.index, protocol) ?? sealed;
    let delayMs = config.retry.initialDelayMs;
    let lastError: unknown;
    for (let attempt = 1; attempt <= config.retry.attempts; attempt += 1) {
      try {
        await deliverOnce(op, protocol, wire);
        metrics.sent(protocol);
        return;
      } catch (err) {
        lastError = err;
        if (stopping.signal.aborted || attempt === config.retry.attempts) break;
        await sleep(delayMs, stopping.signal);
        delayMs = Math.min(delayMs * 2, config.retry.maxDelayMs);
      }
    }
    metrics.sendFailed(protocol);
    throw new PeerUnreachableError(op.index, protocol, config.retry.attempts, { cause: lastError });
  };

  const send = async (to: number, protocol: string, payload: Uint8Array): Promise<void> => {
    const op = operators[to];
    if (op === undefined) throw new RangeError(`no operator with index ${to}`);
    checkPayload(payload);
    if (to === self.index) return deliverToSelf(protocol, payload);
    await deliver(op, protocol, seal(protocol, payload));
  };

  // Ping answers travel on a raw stream, not in a signed envelope: noise has already
  // authenticated the operator, the answer is never relayed or stored, and signing between
  // t2 and the write would add a millisecond of skew to every measurement.
  const answerPing = async (stream: Stream, connection: Connection): Promise<void> => {
    const remote = connection.remotePeer.toString();
    if (!byPeerId.has(remote)) {
      reject('unknown_peer', remote, PING_PROTOCOL);
      stream.abort(new Error('unknown peer'));
      return;
    }
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(config.ping.timeoutMs)]);
    const nonce = await readExactly(stream, PING_REQUEST_BYTES, signal);
    const t1 = now();
    if (nonce === undefined) {
      reject('malformed', remote, PING_PROTOCOL);
      stream.abort(new Error('malformed ping'));
      return;
    }
    const t2 = now();
    try {
      if (!stream.send(encodePingResponse(nonce, t1, t2))) await stream.onDrain({ signal });
      await stream.close({ signal });
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  };
  await node.handle(PING_PROTOCOL, answerPing, { maxInboundStreams: MAX_PING_STREAMS, maxOutboundStreams: MAX_PING_STREAMS });

  const pingOnce = async (op: Operator): Promise<PingSample> => {
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(config.ping.timeoutMs)]);
    const nonce = new Uint8Array(randomBytes(PING_REQUEST_BYTES));
    // t0 is read after the dial: connection set-up is not round-trip time.
    const stream = await node.dialProtocol(op.peerId, PING_PROTOCOL, { signal, negotiateFully: false });
    try {
      const t0 = now();
      if (!stream.send(nonce)) await stream.onDrain({ signal });
      const response = await readExactly(stream, PING_RESPONSE_BYTES, signal);
      const t3 = now();
      const times = response === undefined ? undefined : decodePingResponse(response, nonce);
      if (times === undefined) throw new Error(signal.aborted ? 'ping timed out' : 'malformed ping response');
      void stream.close().catch(() => undefined);
      return { ...ntpRoundTrip(t0, times.t1, times.t2, t3), atMs: t3 };
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  };

  const ping = async (to: number): Promise<PingSample> => {
    const op = operators[to];
    if (op === undefined || to === self.index) throw new RangeError(`cannot ping operator ${to}: not another operator of the cluster`);
    try {
      const sample = await pingOnce(op);
      metrics.pinged(to, sample);
      return sample;
    } catch (err) {
      // A ping cut short by stop() is not the peer's failure.
      if (!stopping.signal.aborted) metrics.pingFailed(to);
      throw new PeerUnreachableError(to, PING_PROTOCOL, 1, { cause: err });
    }
  };

  const pingLoop = async (onPing: (outcome: PingOutcome) => void): Promise<void> => {
    const others = operators.filter((op) => op.index !== self.index);
    while (!stopping.signal.aborted) {
      await Promise.all(
        others.map(async (op): Promise<void> => {
          let outcome: PingOutcome;
          try {
            outcome = { peer: op.index, ok: true, sample: await ping(op.index) };
          } catch (err) {
            const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
            outcome = { peer: op.index, ok: false, error: cause };
          }
          if (stopping.signal.aborted) return;
          try {
            onPing(outcome);
          } catch {
            // the listener's bug must not stop the measurements of every peer
          }
        }),
      );
      await sleep(config.ping.intervalMs, stopping.signal);
    }
  };

  return {
    selfIndex: self.index,
    handle(protocol, handler) {
      if (handlers.has(protocol) || protocol === PING_PROTOCOL) throw new PeerNetworkConfigError(`a handler for ${protocol} is already registered`);
      handlers.set(protocol, handler);
      // The registrar records the handler synchronously; the promise only updates our own peer record.
      void node.handle(protocol, (stream, connection) => onStream(protocol, stream, connection), {
        maxInboundStreams: MAX_STREAMS_PER_PROTOCOL,
        maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL,
      });
    },
    send,
    async broadcast(protocol, payload) {
      const others = operators.filter((op) => op.index !== self.index);
      let sealed: Uint8Array | undefined;
      try {
        checkPayload(payload);
        sealed = seal(protocol, payload);
      } catch {
        // never throws: a payload that cannot be sent fails for every recipient
      }
      const outcomes = await Promise.allSettled(
        others.map((op) => {
          if (sealed !== undefined) return deliver(op, protocol, sealed);
          metrics.sendFailed(protocol);
          return Promise.reject(new Error('payload cannot be sealed'));
        }),
      );
      const delivered: number[] = [];
      const failed: number[] = [];
      outcomes.forEach((outcome, i) => (outcome.status === 'fulfilled' ? delivered : failed).push(others[i]!.index));
      return { delivered, failed };
    },
    connectedPeers,
    ping,
    startPinging(onPing = () => undefined) {
      if (pinging) throw new PeerNetworkConfigError('pinging is already started');
      pinging = true;
      void pingLoop(onPing);
    },
    peerMetrics: () => metrics.snapshot(),
    async stop() {
      stopping.abort();
      await node.stop();
    },
  };
}

interface ParsedOptions {
  readonly operators: readonly Operator[];
  readonly self: Operator;
  readonly clusterHash: Uint8Array;
  readonly genesisValidatorsRoot: Uint8Array;
  readonly maxPayloadBytes: number;
  readonly retry: RetryPolicy;
  readonly reconnect: ReconnectPolicy;
  readonly ping: PingPolicy;
}

/** Validates everything up front and reports every problem at once (STYLE.md §7). */
function parseOptions(opts: PeerNetworkOptions): ParsedOptions {
  const problems: string[] = [];
  const sorted = [...opts.peers].sort((a, b) => a.index - b.index);
  const operators: Operator[] = [];
  sorted.forEach((spec, position) => {
    if (spec.index !== position) problems.push(`operator indices must be 0..n-1 without gaps (found ${spec.index} at ${position})`);
    try {
      operators.push({
        index: spec.index,
        peerId: peerIdFromString(peerIdOf(spec.publicKey)),
        publicKey: signerKey(fromHex(spec.publicKey)),
        address: listenAddress(spec.host, spec.port),
      });
    } catch (err) {
      problems.push(`operator ${spec.index}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  const self = operators.find((op) => op.index === opts.selfIndex);
  if (self === undefined) problems.push(`selfIndex ${opts.selfIndex} is not among the peers`);
  let ownPublicKey: Hex | undefined;
  try {
    ownPublicKey = secp256k1PublicKey(opts.privateKey);
  } catch {
    problems.push('privateKey is not a 32-byte secp256k1 secret');
  }
  if (self !== undefined && ownPublicKey !== undefined && ownPublicKey !== opts.peers.find((p) => p.index === self.index)?.publicKey.toLowerCase()) {
    problems.push(`privateKey does not match the public key of operator ${opts.selfIndex}`);
  }
  const root = (name: string, hex: Hex): Uint8Array => {
    try {
      const bytes = fromHex(hex);
      if (bytes.byteLength === ROOT_BYTES) return bytes;
    } catch {
      // reported below
    }
    problems.push(`${name} must be ${ROOT_BYTES} bytes of hex`);
    return new Uint8Array(ROOT_BYTES);
  };
  const clusterHash = root('clusterHash', opts.clusterHash);
  const genesisValidatorsRoot = root('genesisValidatorsRoot', opts.genesisValidatorsRoot);
  const maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes <= 0) problems.push('maxPayloadBytes must be a positive integer');
  const retry = { ...DEFAULT_RETRY, ...opts.sendRetry };
  if (!Number.isInteger(retry.attempts) || retry.attempts < 1) problems.push('sendRetry.attempts must be at least 1');
  const ping = { ...DEFAULT_PING, ...opts.ping };
  if (!Number.isFinite(ping.intervalMs) || ping.intervalMs <= 0) problems.push('ping.intervalMs must be a positive number');
  if (!Number.isFinite(ping.timeoutMs) || ping.timeoutMs <= 0) problems.push('ping.timeoutMs must be a positive number');
  if (problems.length > 0 || self === undefined) throw new PeerNetworkConfigError(problems.join('; '));
  return { operators, self, clusterHash, genesisValidatorsRoot, maxPayloadBytes, retry, reconnect: { ...DEFAULT_RECONNECT, ...opts.reconnect }, ping };
}

function listenAddress(host: string, port: number): Multiaddr {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError(`invalid port ${port}`);
  const family = isIP(host);
  const proto = family === 4 ? 'ip4' : family === 6 ? 'ip6' : 'dns';
  return multiaddr(`/${proto}/${host}/tcp/${port}`);
}

async function readToEnd(stream: Stream, maxBytes: number): Promise<Uint8Array | 'too_large' | 'incomplete'> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const timer = setTimeout(() => stream.abort(new Error('inbound read timed out')), INBOUND_READ_TIMEOUT_MS);
  try {
    for await (const chunk of stream) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        stream.abort(new Error('message too large'));
        return 'too_large';
      }
      chunks.push(chunk instanceof Uint8Array ? chunk : chunk.subarray());
    }
  } catch {
    return 'incomplete';
  } finally {
    clearTimeout(timer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Exactly `length` bytes from the stream; undefined if it ends early, sends more, fails or `signal` aborts. */
async function readExactly(stream: Stream, length: number, signal: AbortSignal): Promise<Uint8Array | undefined> {
  const onAbort = (): void => stream.abort(new Error('read timed out'));
  signal.addEventListener('abort', onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    if (signal.aborted) return undefined;
    for await (const chunk of stream) {
      chunks.push(chunk instanceof Uint8Array ? chunk : chunk.subarray());
      total += chunk.byteLength;
      if (total >= length) break;
    }
  } catch {
    return undefined;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return total === length ? Buffer.concat(chunks) : undefined;
}

async function drainUntilRemoteClose(stream: Stream, signal: AbortSignal): Promise<void> {
  const onAbort = (): void => stream.abort(new Error('delivery timed out'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const _ of stream) {
      // the receiver never writes; anything here is ignored
    }
    signal.throwIfAborted();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
