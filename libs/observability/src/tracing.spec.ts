import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duty, Hex } from '#lib/contracts';
import { describe, expect, it } from 'vitest';
import { createTracing, dutyTraceId, dutyTraceparent } from './tracing.js';

const clusterA = `0x${'11'.repeat(32)}` as Hex;
const clusterB = `0x${'22'.repeat(32)}` as Hex;
const duty: Duty = { slot: 1234, type: 'attester' };
const nextDuty: Duty = { slot: 1235, type: 'attester' };

describe('dutyTraceId', () => {
  it('is deterministic per (cluster hash, duty): every node derives the same trace', () => {
    expect(dutyTraceId(clusterA, { slot: 1234, type: 'attester' })).toBe(dutyTraceId(clusterA, duty));
    expect(dutyTraceId(clusterA, duty)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('differs across duties and across clusters', () => {
    expect(dutyTraceId(clusterA, duty)).not.toBe(dutyTraceId(clusterA, nextDuty));
    expect(dutyTraceId(clusterA, duty)).not.toBe(dutyTraceId(clusterB, duty));
  });
});

describe('dutyTraceparent', () => {
  it('is a W3C traceparent in the duty trace, with a span id per stage', () => {
    const consensus = dutyTraceparent(clusterA, duty, 'consensus');
    const aggregator = dutyTraceparent(clusterA, duty, 'aggregator');
    expect(consensus).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(consensus.split('-')[1]).toBe(dutyTraceId(clusterA, duty));
    expect(aggregator.split('-')[1]).toBe(dutyTraceId(clusterA, duty));
    expect(consensus.split('-')[2]).not.toBe(aggregator.split('-')[2]);
    expect(dutyTraceparent(clusterA, duty, 'consensus')).toBe(consensus);
  });
});

describe('createTracing without an endpoint', () => {
  it('runs the work in a span and returns its value', async () => {
    const tracing = createTracing({ serviceName: 'consensus', node: 'node0' });
    let ran = false;
    const value = await tracing.inDutySpan('decide', clusterA, duty, async (span) => {
      ran = true;
      expect(typeof span.end).toBe('function');
      return 42;
    });
    expect(ran).toBe(true);
    expect(value).toBe(42);
    await tracing.shutdown();
  });

  it('propagates the work error unchanged', async () => {
    const tracing = createTracing({ serviceName: 'consensus', node: 'node0' });
    const failure = new Error('bn down');
    await expect(tracing.inDutySpan('decide', clusterA, duty, async () => Promise.reject(failure))).rejects.toBe(failure);
    await tracing.shutdown();
  });
});

describe('createTracing with an OTLP/HTTP endpoint', () => {
  it('exports the span in the duty trace, tagged with slot and node', async () => {
    const bodies: string[] = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    try {
      const tracing = createTracing({ serviceName: 'consensus', node: 'node3', otlpEndpoint: `http://127.0.0.1:${port}/v1/traces` });
      expect(await tracing.inDutySpan('decide', clusterA, duty, async () => 'ok')).toBe('ok');
      await tracing.shutdown(); // flushes the batch
      const exported = bodies.join('\n');
      // OTLP/JSON carries trace ids as hex strings
      expect(exported).toContain(dutyTraceId(clusterA, duty));
      expect(exported).toContain('"decide"');
      expect(exported).toContain('duty.slot');
      expect(exported).toContain('node3');
    } finally {
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
  });
});
