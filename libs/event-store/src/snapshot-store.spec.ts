import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats, type NatsConnection } from '#lib/messaging';
import { startNatsServer, type NatsServerHandle } from '#lib/test-support';
import { objectStoreSnapshotsOn } from './jetstream-snapshot-store.js';
import { snapshotStoreConformance } from './snapshot-store.conformance.js';
import { createMemorySnapshotStore } from './snapshot-store.js';

snapshotStoreConformance('memory', async () => createMemorySnapshotStore());

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer();
  nc = await connectNats({ servers: server.url, name: 'snapshot-store-spec' });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

snapshotStoreConformance('NATS object store (nats-server, file storage)', async () => objectStoreSnapshotsOn(nc, { bucket: 'conformance' }));

describe('NATS object store snapshots', () => {
  it('refuses to hand out a blob whose stored chunk was altered (digest check)', async () => {
    const store = objectStoreSnapshotsOn(nc, { bucket: 'tamper' });
    await store.save('s', Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff));
    // rewrite the chunk under the object's metadata, as a disk fault would
    const jsm = await jetstreamManager(nc);
    const chunk = await jsm.streams.getMessage('OBJ_tamper', { last_by_subj: '$O.tamper.C.>' });
    await jsm.streams.deleteMessage('OBJ_tamper', chunk?.seq as number);
    await jetstream(nc).publish(chunk?.subject as string, new Uint8Array(1000));
    await expect(store.load('s')).rejects.toThrow(/digest/);
  });

  it('gives up on a load that does not finish within its bound', async () => {
    const store = objectStoreSnapshotsOn(nc, { bucket: 'stuck', loadTimeoutMs: 300 });
    await store.save('s', new Uint8Array(500).fill(7));
    // the chunks gone from under the metadata (as when a replacing writer purged them)
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge('OBJ_stuck', { filter: '$O.stuck.C.>' });
    await expect(store.load('s')).rejects.toThrow(/not read within 300 ms/);
  });
});
