import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '#lib/observability';
import type { PingOutcome } from '#lib/p2p';

/**
 * Past this, a peer's clock is far enough off to make its duties late or early: half a second
 * is a sixth of an attestation's window (the 4 s mark of a 12 s slot).
 */
export const CLOCK_OFFSET_WARN_MS = 500;

/** Round trips between operators: loopback through a slow WAN link. */
const RTT_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];

/**
 * Turns the peer network's ping outcomes into metrics in `registry`, labelled by operator
 * index, and logs a warning when a peer's clock moves past ±warnAboveMs (once, until it is
 * back within the bound, which is logged too) — not every ten seconds while it stays off.
 */
export function createPingRecorder(registry: Registry, log: Logger, warnAboveMs = CLOCK_OFFSET_WARN_MS): (outcome: PingOutcome) => void {
  const rtt = new Histogram({
    name: 'cohort_p2p_ping_rtt_seconds',
    help: 'Round-trip time of pings to each operator (RFC 5905 delay: the peer\'s processing time excluded)',
    labelNames: ['peer'],
    buckets: RTT_BUCKETS_SECONDS,
    registers: [registry],
  });
  const offset = new Gauge({
    name: 'cohort_p2p_clock_offset_seconds',
    help: 'Latest measured clock offset of each operator: its clock minus ours (positive: the peer is ahead)',
    labelNames: ['peer'],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'cohort_p2p_ping_failures_total',
    help: 'Pings to an operator that failed or timed out',
    labelNames: ['peer'],
    registers: [registry],
  });
  const skewed = new Set<number>();
  return (outcome) => {
    const peer = String(outcome.peer);
    if (!outcome.ok) {
      failures.inc({ peer });
      log.debug('peer ping failed', { peer: outcome.peer, error: outcome.error });
      return;
    }
    const { rttMs, clockOffsetMs } = outcome.sample;
    // A clock stepped during the exchange can make the delay negative; a histogram has no room for that.
    rtt.observe({ peer }, Math.max(0, rttMs) / 1_000);
    offset.set({ peer }, clockOffsetMs / 1_000);
    const fields = { peer: outcome.peer, clockOffsetMs: Math.round(clockOffsetMs), rttMs: Math.round(rttMs * 10) / 10, thresholdMs: warnAboveMs };
    if (Math.abs(clockOffsetMs) > warnAboveMs) {
      if (skewed.has(outcome.peer)) return;
      skewed.add(outcome.peer);
      log.warn('peer clock offset beyond threshold: its duties will run early or late', fields);
    } else if (skewed.delete(outcome.peer)) {
      log.info('peer clock offset back within threshold', fields);
    }
  };
}
