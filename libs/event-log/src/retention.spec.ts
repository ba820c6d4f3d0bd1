import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Streams } from '#lib/contracts';
import { eventStoreOn, type EventStore } from '#lib/event-store';
import { connectNats, type NatsConnection } from '#lib/messaging';
import { findNatsServerBinary, freePort, sleep, startNatsServer, type NatsServerHandle } from '#lib/test-support';
import { DEFAULT_EVENTS_MAX_AGE_MS, DEFAULT_EVENTS_MAX_BYTES, MIN_EVENTS_MAX_BYTES, ensureCohortStreams, eventsRetention } from './event-log.js';

/** Retention limits as the server stores them: read back from the stream info, not from our spec. */
const NANOS_PER_MS = 1_000_000;
const GIB = 1024 ** 3;

let server: NatsServerHandle;
let nc: NatsConnection;
let store: EventStore;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connectNats({ servers: server.url, name: 'retention-spec' });
  store = eventStoreOn(nc);
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await store?.close();
  await nc?.close();
  await server?.stop();
});

const limits = async (stream: string) => {
  const { config } = await jsm.streams.info(stream);
  return { maxAgeMs: config.max_age / NANOS_PER_MS, maxBytes: config.max_bytes, maxMsgs: config.max_msgs, discard: config.discard };
};
const unlimited = { maxAgeMs: 0, maxBytes: -1, maxMsgs: -1, discard: 'old' };

describe('ensureCohortStreams retention (real nats-server)', () => {
  it('defaults: the audit log kept 30 days and capped at 10 GiB; the slashing history unlimited', async () => {
    await ensureCohortStreams(store);
    expect(await limits(Streams.events.name)).toEqual({ maxAgeMs: DEFAULT_EVENTS_MAX_AGE_MS, maxBytes: DEFAULT_EVENTS_MAX_BYTES, maxMsgs: -1, discard: 'old' });
    expect(DEFAULT_EVENTS_MAX_AGE_MS).toBe(30 * 24 * 3600 * 1000);
    expect(DEFAULT_EVENTS_MAX_BYTES).toBe(10 * GIB);
    expect(await limits(Streams.slashing.name)).toEqual(unlimited);
  });

  it('configured limits apply to the audit log only, on an existing stream too; 0 lifts a limit', async () => {
    await ensureCohortStreams(store, { eventsMaxAgeMs: 7 * 24 * 3600 * 1000, eventsMaxBytes: 2 * GIB });
    expect(await limits(Streams.events.name)).toMatchObject({ maxAgeMs: 7 * 24 * 3600 * 1000, maxBytes: 2 * GIB });
    expect(await limits(Streams.slashing.name)).toEqual(unlimited);

    await ensureCohortStreams(store, { eventsMaxAgeMs: 0, eventsMaxBytes: 0 });
    expect(await limits(Streams.events.name)).toMatchObject({ maxAgeMs: 0, maxBytes: -1 });
    expect(await limits(Streams.slashing.name)).toEqual(unlimited);
  });

  it('limits put on the slashing stream by hand are removed at the next start', async () => {
    await ensureCohortStreams(store);
    const { config } = await jsm.streams.info(Streams.slashing.name);
    await jsm.streams.update(Streams.slashing.name, { ...config, max_age: 3600 * 1000 * NANOS_PER_MS, max_bytes: 64 * 1024 ** 2 });
    expect(await limits(Streams.slashing.name)).toMatchObject({ maxAgeMs: 3600 * 1000, maxBytes: 64 * 1024 ** 2 });
    await ensureCohortStreams(store, { eventsMaxAgeMs: 24 * 3600 * 1000, eventsMaxBytes: GIB });
    expect(await limits(Streams.slashing.name)).toEqual(unlimited);
  });

  it('a bad value is refused before anything changes, naming the option', async () => {
    await ensureCohortStreams(store, { eventsMaxAgeMs: 24 * 3600 * 1000, eventsMaxBytes: GIB });
    const before = await limits(Streams.events.name);
    await expect(ensureCohortStreams(store, { eventsMaxAgeMs: 1000 })).rejects.toThrow(/retention\.eventsMaxAgeMs.*got 1000/);
    await expect(ensureCohortStreams(store, { eventsMaxAgeMs: -1 })).rejects.toThrow(/retention\.eventsMaxAgeMs/);
    await expect(ensureCohortStreams(store, { eventsMaxBytes: 1.5 })).rejects.toThrow(/retention\.eventsMaxBytes/);
    await expect(ensureCohortStreams(store, { eventsMaxBytes: 1024 })).rejects.toThrow(/retention\.eventsMaxBytes.*got 1024/);
    expect(await limits(Streams.events.name)).toEqual(before);
  });
});

/** A nats-server whose JetStream file store is limited to 1 GB (max_file_store), as on a small disk. */
async function withSmallStore(run: (nc: NatsConnection) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cohort-small-store-'));
  const port = await freePort();
  writeFileSync(join(dir, 'js.conf'), `jetstream { store_dir: "${join(dir, 'js')}", max_file_store: 1GB }\n`);
  const child = spawn(findNatsServerBinary(), ['-a', '127.0.0.1', '-p', String(port), '-c', join(dir, 'js.conf')], { stdio: 'ignore' });
  try {
    let small: NatsConnection | undefined;
    for (let attempt = 0; small === undefined; attempt++) {
      small = await connectNats({ servers: `nats://127.0.0.1:${port}` }).catch(async (error: unknown) => {
        if (attempt > 100) throw error;
        await sleep(50);
        return undefined;
      });
    }
    try {
      await run(small);
    } finally {
      await small.close();
    }
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ensureCohortStreams on a small JetStream store (max_file_store 1 GB)', () => {
  it('the default cap shrinks to fit, leaving room for the slashing history; a configured cap that does not fit is an error', async () => {
    await withSmallStore(async (small) => {
      const smallStore = eventStoreOn(small);
      const smallJsm = await jetstreamManager(small);
      await expect(ensureCohortStreams(smallStore, { eventsMaxBytes: 2 * GIB })).rejects.toThrow(/retention\.eventsMaxBytes: 2147483648 bytes do not fit/);
      const applied = await ensureCohortStreams(smallStore);
      expect(applied.eventsMaxBytes).toBeLessThanOrEqual(0.5 * 10 ** 9);
      expect(applied.eventsMaxBytes).toBeGreaterThanOrEqual(MIN_EVENTS_MAX_BYTES);
      expect((await smallJsm.streams.info(Streams.events.name)).config.max_bytes).toBe(applied.eventsMaxBytes);
      const slashing = (await smallJsm.streams.info(Streams.slashing.name)).config;
      expect([slashing.max_age, slashing.max_bytes]).toEqual([0, -1]);
      // the next start finds the same fit
      expect(await ensureCohortStreams(smallStore)).toEqual(applied);
    });
  });
});

describe('eventsRetention', () => {
  it('fills in the defaults and keeps explicit values', () => {
    expect(eventsRetention()).toEqual({ maxAgeMs: DEFAULT_EVENTS_MAX_AGE_MS, maxBytes: DEFAULT_EVENTS_MAX_BYTES });
    expect(eventsRetention({ eventsMaxAgeMs: 120_000, eventsMaxBytes: 0 })).toEqual({ maxAgeMs: 120_000, maxBytes: 0 });
    expect(() => eventsRetention({ eventsMaxAgeMs: Number.NaN })).toThrow(RangeError);
  });
});
