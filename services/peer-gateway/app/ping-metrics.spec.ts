import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Logger, LogFields } from '#lib/observability';
import type { PingOutcome } from '#lib/p2p';
import { createPingRecorder } from './ping-metrics.js';

function recordingLogger(lines: Array<{ level: string; message: string; fields?: LogFields }>): Logger {
  const log = (level: string) => (message: string, fields?: LogFields) => void lines.push({ level, message, ...(fields ? { fields } : {}) });
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
  return logger;
}

const ok = (peer: number, rttMs: number, clockOffsetMs: number): PingOutcome => ({ peer, ok: true, sample: { rttMs, clockOffsetMs, atMs: 1 } });
const failed = (peer: number): PingOutcome => ({ peer, ok: false, error: 'ping timed out' });

/** One series' value; a histogram's series are named `<name>_bucket`, `_sum`, `_count`. */
async function value(registry: Registry, series: string, labels: Record<string, string>): Promise<number | undefined> {
  const metrics = await registry.getMetricsAsJSON();
  const values = metrics.flatMap((m) =>
    (m.values as Array<{ value: number; metricName?: string; labels: Record<string, string | number> }>).map((v) => ({ ...v, series: v.metricName ?? m.name })),
  );
  const wanted = Object.entries(labels);
  return values.find((v) => v.series === series && wanted.every(([k, w]) => String(v.labels[k]) === w))?.value;
}

describe('peer-gateway: ping metrics', () => {
  it('records round trip, clock offset and failures per operator index, in seconds', async () => {
    const registry = new Registry();
    const record = createPingRecorder(registry, recordingLogger([]));

    record(ok(1, 4, -12));
    record(ok(1, 6, 30));
    record(ok(2, 250, 0));
    record(failed(2));
    record(failed(2));
    record(failed(3));

    expect(await value(registry, 'cohort_p2p_clock_offset_seconds', { peer: '1' })).toBeCloseTo(0.03, 9);
    expect(await value(registry, 'cohort_p2p_clock_offset_seconds', { peer: '2' })).toBe(0);
    expect(await value(registry, 'cohort_p2p_ping_rtt_seconds_count', { peer: '1' })).toBe(2);
    expect(await value(registry, 'cohort_p2p_ping_rtt_seconds_sum', { peer: '1' })).toBeCloseTo(0.01, 9);
    expect(await value(registry, 'cohort_p2p_ping_rtt_seconds_bucket', { peer: '2', le: '0.25' })).toBe(1);
    expect(await value(registry, 'cohort_p2p_ping_rtt_seconds_bucket', { peer: '2', le: '0.1' })).toBe(0);
    expect(await value(registry, 'cohort_p2p_ping_failures_total', { peer: '2' })).toBe(2);
    expect(await value(registry, 'cohort_p2p_ping_failures_total', { peer: '3' })).toBe(1);
    expect(await value(registry, 'cohort_p2p_clock_offset_seconds', { peer: '3' })).toBeUndefined();
  });

  it('warns once when a peer\'s clock goes past ±500 ms and says when it is back', () => {
    const lines: Array<{ level: string; message: string; fields?: LogFields }> = [];
    const record = createPingRecorder(new Registry(), recordingLogger(lines));

    record(ok(1, 2, 499));
    record(ok(1, 2, -800.4));
    record(ok(1, 2, -790));
    record(failed(1));
    record(ok(2, 2, 650));
    record(ok(1, 2, 3));
    record(ok(1, 2, 501));

    const notable = lines.filter((l) => l.level !== 'debug').map((l) => [l.level, l.fields?.['peer'], l.fields?.['clockOffsetMs']]);
    expect(notable).toEqual([
      ['warn', 1, -800],
      ['warn', 2, 650],
      ['info', 1, 3],
      ['warn', 1, 501],
    ]);
  });
});
