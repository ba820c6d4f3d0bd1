import { REJECT_REASONS, type RejectReason } from './envelope.js';
import type { PingSample } from './ping.js';

/**
 * Plain counters, so the node can export them through prom-client (or anything else)
 * without this library choosing a metrics stack. Counts only; no peer keys, no payloads.
 */
export interface PeerMetrics {
  /** Messages delivered to a peer (its node read the whole envelope), by protocol. */
  readonly messagesSent: Readonly<Record<string, number>>;
  /** Messages accepted and handed to a handler, by protocol. */
  readonly messagesReceived: Readonly<Record<string, number>>;
  /** send() calls that gave up after the retry bound, by protocol. */
  readonly sendFailures: Readonly<Record<string, number>>;
  /** Inbound messages or connections refused, by reason. */
  readonly rejected: Readonly<Record<RejectReason, number>>;
  /** Connections re-established by the background reconnect loop. */
  readonly reconnects: number;
  /** Latest successful ping, by operator index; a peer that stops answering keeps its last sample. */
  readonly pings: Readonly<Record<number, PingSample>>;
  /** Pings that failed or timed out, by operator index. */
  readonly pingFailures: Readonly<Record<number, number>>;
}

export interface MetricsRecorder {
  sent(protocol: string): void;
  received(protocol: string): void;
  sendFailed(protocol: string): void;
  rejected(reason: RejectReason): void;
  reconnected(): void;
  pinged(peer: number, sample: PingSample): void;
  pingFailed(peer: number): void;
  snapshot(): PeerMetrics;
}

export function createMetricsRecorder(): MetricsRecorder {
  const messagesSent = new Map<string, number>();
  const messagesReceived = new Map<string, number>();
  const sendFailures = new Map<string, number>();
  const rejected = new Map<RejectReason, number>(REJECT_REASONS.map((reason) => [reason, 0]));
  const pings = new Map<number, PingSample>();
  const pingFailures = new Map<number, number>();
  let reconnects = 0;
  const bump = <K>(counts: Map<K, number>, key: K): void => {
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  return {
    sent: (protocol) => bump(messagesSent, protocol),
    received: (protocol) => bump(messagesReceived, protocol),
    sendFailed: (protocol) => bump(sendFailures, protocol),
    rejected: (reason) => bump(rejected, reason),
    reconnected: () => {
      reconnects += 1;
    },
    pinged: (peer, sample) => pings.set(peer, sample),
    pingFailed: (peer) => bump(pingFailures, peer),
    snapshot: () => ({
      messagesSent: Object.fromEntries(messagesSent),
      messagesReceived: Object.fromEntries(messagesReceived),
      sendFailures: Object.fromEntries(sendFailures),
      rejected: Object.fromEntries(rejected) as Record<RejectReason, number>,
      reconnects,
      pings: Object.fromEntries(pings),
      pingFailures: Object.fromEntries(pingFailures),
    }),
  };
}
