import { request } from 'node:http';
import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetricsRegistry, serveMetrics, type MetricsServer } from './metrics.js';

const get = (port: number, path: string): Promise<{ status: number; contentType: string; body: string }> =>
  new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }));
    })
      .on('error', reject)
      .end();
  });

describe('serveMetrics', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves a counter with node and service labels on GET /metrics, 404 elsewhere', async () => {
    const registry = createMetricsRegistry({ node: 'node1', service: 'consensus' });
    const decided = new Counter({ name: 'cohort_duties_decided_total', help: 'duties decided', registers: [registry] });
    decided.inc(3);
    server = await serveMetrics(registry, '127.0.0.1', 0);
    expect(server.port).toBeGreaterThan(0);

    const metrics = await get(server.port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toContain('text/plain');
    expect(metrics.body).toContain('# TYPE cohort_duties_decided_total counter');
    expect(metrics.body).toMatch(/^cohort_duties_decided_total\{node="node1",service="consensus"\} 3$/m);

    expect((await get(server.port, '/metrics?x=1')).status).toBe(200);
    const other = await get(server.port, '/');
    expect(other.status).toBe(404);
    expect(other.body).not.toContain('cohort_duties_decided_total');
  });

  it('keeps registries apart: two nodes in one process do not mix metrics', async () => {
    const a = createMetricsRegistry({ node: 'node0', service: 'aggregator' });
    const b = createMetricsRegistry({ node: 'node1', service: 'aggregator' });
    new Counter({ name: 'cohort_only_in_a_total', help: 'a', registers: [a] }).inc();
    server = await serveMetrics(b, '127.0.0.1', 0);
    const body = (await get(server.port, '/metrics')).body;
    expect(body).not.toContain('cohort_only_in_a_total');
    expect(await a.metrics()).toContain('cohort_only_in_a_total{node="node0",service="aggregator"} 1');
  });
});
