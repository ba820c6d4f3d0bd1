import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busOn, connectNats, type NatsConnection } from '#lib/messaging';
import { startNatsServer, type NatsServerHandle } from '#lib/test-support';
import { collect, eventStoreConformance, waitFor } from './event-store.conformance.js';
import { connectJetStreamEventStore, eventStoreOn } from './jetstream-event-store.js';

let server: NatsServerHandle;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

eventStoreConformance('JetStream (nats-server, file storage)', async (opts) => {
  const store = await connectJetStreamEventStore({ servers: server.url, name: 'event-store-spec', ...opts });
  return { store, teardown: () => store.close() };
});

describe('JetStream event store', () => {
  it('keeps events across a nats-server restart and a crash (file storage), and the open store carries on after reconnecting', async () => {
    const nc = await connectNats({ servers: server.url, name: 'restart-spec' });
    const store = eventStoreOn(nc);
    try {
      await store.ensureStream({ name: 'RESTART', subjects: ['restart.>'] });
      for (let i = 1; i <= 3; i++) await store.append('restart.guard.shard-0', { i }, { msgId: `r-${i}`, expectedLastSubjectSeq: i - 1 });

      // a request in flight across the disconnect may be lost (callers retry); wait for the client to be back
      let back = reconnected(nc);
      await server.restart();
      await back;
      expect((await collect(store.read<{ i: number }>('restart.>'))).map((e) => e.data.i)).toEqual([1, 2, 3]);

      back = reconnected(nc);
      await server.kill();
      await server.restart();
      await back;
      // dedup and the per-subject sequence survive too: the retry is a duplicate, the next expectation holds
      expect(await store.append('restart.guard.shard-0', { i: 3 }, { msgId: 'r-3', expectedLastSubjectSeq: 2 })).toEqual({ seq: 3, duplicate: true });
      expect(await store.append('restart.guard.shard-0', { i: 4 }, { msgId: 'r-4', expectedLastSubjectSeq: 3 })).toEqual({ seq: 4, duplicate: false });

      const fresh = await connectJetStreamEventStore({ servers: server.url, name: 'restart-spec-fresh' });
      try {
        expect((await collect(fresh.read<{ i: number }>('restart.>'))).map((e) => [e.seq, e.data.i])).toEqual([[1, 1], [2, 2], [3, 3], [4, 4]]);
        expect(await fresh.lastSubjectSeq('restart.guard.shard-0')).toBe(4);
      } finally {
        await fresh.close();
      }
    } finally {
      await store.close();
      await nc.close();
    }
  });

  it('shares one connection between the bus and the event store', async () => {
    const nc = await connectNats({ servers: server.url, name: 'one-service' });
    try {
      const store = eventStoreOn(nc);
      const bus = busOn(nc);
      await store.ensureStream({ name: 'SHARED', subjects: ['shared.events.>'] });
      bus.reply<{ slot: number }, number>('shared.cmd.append', async ({ slot }) => (await store.append('shared.events.decided', { slot }, { msgId: `slot-${slot}` })).seq);
      const seen: number[] = [];
      const sub = await store.subscribe<{ slot: number }>('shared.events.>', 'start', (e) => void seen.push(e.data.slot));
      await expect(bus.request('shared.cmd.append', { slot: 42 }, { timeoutMs: 2000 })).resolves.toBe(1);
      await waitFor(() => seen.length === 1);
      expect(seen).toEqual([42]);
      await sub.close();
      await store.close();
      await bus.close();
      // neither closed the connection it was given
      expect(nc.isClosed()).toBe(false);
      await nc.flush();
    } finally {
      await nc.close();
    }
  });

  it('reads a large range in order at a useful rate', async () => {
    const store = await connectJetStreamEventStore({ servers: server.url, name: 'read-rate' });
    try {
      await store.ensureStream({ name: 'RATE', subjects: ['rate.>'] });
      const count = 2000;
      const appendStart = performance.now();
      // pipelined appends: JetStream orders them by arrival on one connection
      await Promise.all(Array.from({ length: count }, (_, i) => store.append(`rate.shard-${i % 4}`, { i }, { msgId: `rate-${i}` })));
      const appendMs = performance.now() - appendStart;
      const readStart = performance.now();
      const events = await collect(store.read<{ i: number }>('rate.>'));
      const readMs = performance.now() - readStart;
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      console.info(`[JetStream] ${count} pipelined appends: ${Math.round(count / (appendMs / 1000))}/s; ordered read: ${Math.round(count / (readMs / 1000))}/s`);
    } finally {
      await store.close();
    }
  });
});

async function reconnected(nc: NatsConnection): Promise<void> {
  for await (const status of nc.status()) if (status.type === 'reconnect') return;
}
