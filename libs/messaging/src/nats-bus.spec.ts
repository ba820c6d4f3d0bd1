import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '#lib/test-support';
import { busConformance, waitFor } from './bus.conformance.js';
import { busOn, connectNatsBus } from './nats-bus.js';
import { connectNats } from './nats-connection.js';

let server: NatsServerHandle;
beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
});
afterAll(async () => {
  await server?.stop();
});

busConformance('NATS (own connection)', async (opts) => {
  const bus = await connectNatsBus({ servers: server.url, name: 'bus-spec', ...opts });
  return { bus, teardown: () => bus.close() };
});

busConformance('NATS (shared connection)', async (opts) => {
  const nc = await connectNats({ servers: server.url, name: 'bus-spec-shared' });
  const bus = busOn(nc, opts);
  return {
    bus,
    teardown: async () => {
      await bus.close();
      await nc.close();
    },
  };
});

describe('NATS bus between connections', () => {
  it('carries a request from one service connection to another', async () => {
    const guardConnection = await connectNats({ servers: server.url, name: 'guard' });
    const guard = busOn(guardConnection);
    const consensus = await connectNatsBus({ servers: server.url, name: 'consensus' });
    try {
      guard.reply<{ slot: number }, string>('cross.review', ({ slot }) => `slot ${slot} ok`);
      // the subscription reaches the server asynchronously; a flush round trip proves it is registered
      await guardConnection.flush();
      await expect(consensus.request('cross.review', { slot: 7 }, { timeoutMs: 2000 })).resolves.toBe('slot 7 ok');
    } finally {
      await Promise.all([guard.close(), consensus.close()]);
      await guardConnection.close();
    }
  });

  it('leaves a shared connection open when the bus closes', async () => {
    const nc = await connectNats({ servers: server.url });
    try {
      const bus = busOn(nc);
      const seen: number[] = [];
      bus.subscribe<number>('after', (n) => void seen.push(n));
      await bus.close();
      expect(nc.isClosed()).toBe(false);
      const again = busOn(nc);
      again.subscribe<number>('after', (n) => void seen.push(n));
      again.publish('after', 5);
      await waitFor(() => seen.length === 1);
      expect(seen).toEqual([5]);
      await again.close();
    } finally {
      await nc.close();
    }
  });
});
