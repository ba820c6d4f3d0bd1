import { afterAll, describe, expect, it } from 'vitest';
import type { Hex } from '#lib/contracts';
import { createMemoryEventStore, createMemorySnapshotStore, eventStoreOn, objectStoreSnapshotsOn, type EventStore, type SnapshotStore } from '#lib/event-store';
import { connectNats, type NatsConnection } from '#lib/messaging';
import { startNatsServer, type NatsServerHandle } from '#lib/test-support';
import type { AttestationAttempt, SlashingState } from '../domain/slashing.decider.js';
import { answerSlashingCheck } from './slashing-guard.consumer.js';
import { ensureSlashingStream, SHARDS, shardOf, SlashingHistory, type SlashingHistoryOptions } from './slashing-history.repository.js';
import { ValidatorHistory } from '../domain/slashing.decider.js';
import { decodeShardSnapshot, encodeShardSnapshot, encodeShardSnapshotInSlices, shardSnapshotName, type ShardSnapshot } from './slashing-snapshot.js';

/**
 * Restarts from shard snapshots: the same state and answers as a fold of the whole stream and
 * as the guard before the restart; any snapshot the stream contradicts, or that cannot be read,
 * is ignored with a warning and its shard folded from the stream. On the memory stores and on a
 * real nats-server (JetStream stream + object store).
 */
const pk = (n: number): Hex => `0x${n.toString(16).padStart(4, '0')}${'99'.repeat(46)}`;
const root = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const VALIDATORS = Array.from({ length: 12 }, (_, i) => pk(i + 1));
let nextRoot = 1;
/** A fresh genesis validators root per test: fresh subjects and snapshot names on a shared server. */
const freshNetwork = (): Hex => `0x${(nextRoot++).toString(16).padStart(4, '0')}${'5e'.repeat(30)}`;

interface Stores {
  /** A store on its own connection, as a guard process has. */
  store(): Promise<EventStore>;
  snapshots(): Promise<SnapshotStore>;
  /** Another, empty stream and snapshot store: what a recreated stream looks like to a restarting guard. */
  recreated(): Promise<{ store: EventStore; snapshots: SnapshotStore }>;
}

/** Everything decisions can depend on, per validator in pubkey order (a snapshot load and a fold may fill the map in another order). */
function fingerprint(state: SlashingState): unknown {
  return [...state.validators]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([pubkey, h]) => ({ pubkey, attestations: h.attestations(), blocks: h.blocks(), prunedTarget: h.prunedTarget, prunedSlot: h.prunedSlot }));
}

/** Counts the entries a store's reads hand out. */
function counting(store: EventStore): EventStore & { readonly entriesRead: () => number } {
  let n = 0;
  return {
    ...store,
    read: (filter, range) => ({
      async *[Symbol.asyncIterator]() {
        for await (const e of store.read(filter, range)) {
          n++;
          yield e;
        }
      },
    }),
    entriesRead: () => n,
  } as EventStore & { readonly entriesRead: () => number };
}

function capturingLog(): { warnings: { message: string; fields: Record<string, unknown> }[]; log: NonNullable<SlashingHistoryOptions['log']> } {
  const warnings: { message: string; fields: Record<string, unknown> }[] = [];
  return { warnings, log: { warn: (message, fields) => warnings.push({ message, fields: { ...fields } }) } };
}

const duty = (e: number, salt = 0): AttestationAttempt[] => VALIDATORS.map((pubkey) => ({ pubkey, sourceEpoch: e - 1, targetEpoch: e, signingRoot: root(e * 16 + salt) }));

/** A history spanning more than the window: an import of 600 epochs, signed duties after it, a block, old imported records. */
async function writeHistory(history: SlashingHistory, lastEpoch: number, salt = 0): Promise<void> {
  const attestations = [];
  for (let e = 1; e <= 600; e++) for (const pubkey of VALIDATORS) attestations.push({ pubkey, sourceEpoch: e - 1, targetEpoch: e, signingRoot: root(e * 16 + salt) });
  expect((await history.record({ kind: 'ImportHistory', attestations, blocks: [{ pubkey: VALIDATORS[0] as Hex, slot: 100 }] }, `import-${salt}`)).ok).toBe(true);
  for (let e = 601; e <= lastEpoch; e++) expect((await history.record({ kind: 'RecordAttestations', attempts: duty(e, salt) }, `duty-${salt}-${e}`)).ok).toBe(true);
  await history.record({ kind: 'RecordBlocks', attempts: [{ pubkey: VALIDATORS[1] as Hex, slot: lastEpoch * 32 + 3, signingRoot: root(7) }] }, `block-${salt}`);
}

/** Attempts around everything: repeats, double votes, surrounds of pruned records, old and new targets, blocks. */
function probes(lastEpoch: number): { attempts: AttestationAttempt[]; blocks: { pubkey: Hex; slot: number; signingRoot: Hex }[] } {
  const attempts = [5, 60, 100, 200, 599, 600, lastEpoch - 1, lastEpoch, lastEpoch + 1].flatMap((e) => [...duty(e), ...duty(e, 1)]);
  attempts.push({ pubkey: VALIDATORS[2] as Hex, sourceEpoch: 30, targetEpoch: lastEpoch + 2, signingRoot: root(3) });
  attempts.push({ pubkey: VALIDATORS[3] as Hex, sourceEpoch: lastEpoch - 3, targetEpoch: lastEpoch + 2, signingRoot: root(3) });
  const blocks = [
    { pubkey: VALIDATORS[0] as Hex, slot: 100, signingRoot: root(1) },
    { pubkey: VALIDATORS[1] as Hex, slot: lastEpoch * 32 + 3, signingRoot: root(7) },
    { pubkey: VALIDATORS[1] as Hex, slot: lastEpoch * 32 + 3, signingRoot: root(8) },
    { pubkey: VALIDATORS[1] as Hex, slot: lastEpoch * 32 + 40, signingRoot: root(9) },
  ];
  return { attempts, blocks };
}

describe('shard snapshot format', () => {
  const history = ValidatorHistory.empty
    .withAttestations([{ sourceEpoch: 0, targetEpoch: 1 }, { sourceEpoch: 1, targetEpoch: 2, signingRoot: root(2) }, { sourceEpoch: 2, targetEpoch: 3, signingRoot: root(2) }])
    .withBlocks([{ slot: 40, signingRoot: root(40) }]);
  const snapshot: ShardSnapshot = { genesisValidatorsRoot: root(0xaa), shard: 5, coveredSeq: 42, coveredMsgId: 'duty-7:0:5:0', validators: [[pk(1), history]] };

  it('writes version 1 exactly so (golden): a released format only changes with a new version', async () => {
    const golden =
      `{"kind":"SlashingShardSnapshot","version":1,"genesisValidatorsRoot":"${root(0xaa)}","shard":5,` +
      '"pruning":{"windowEpochs":512,"stepEpochs":64,"windowSlots":16384,"stepSlots":2048},"coveredSeq":42,"coveredMsgId":"duty-7:0:5:0",' +
      `"validators":[{"pubkey":"${pk(1)}","attestations":[0,1,-1,1,2,0,2,3,0],"blocks":[40,1]}],"roots":["${root(2)}","${root(40)}"]}`;
    expect(new TextDecoder().decode(encodeShardSnapshot(snapshot))).toBe(golden);
    expect(new TextDecoder().decode(await encodeShardSnapshotInSlices(snapshot, async () => undefined, 1))).toBe(golden);
    const decoded = decodeShardSnapshot(new TextEncoder().encode(golden), { genesisValidatorsRoot: root(0xaa), shard: 5 });
    expect(decoded.ok && decoded.snapshot.coveredSeq).toBe(42);
    expect(decoded.ok && decoded.snapshot.validators.map(([key, h]) => [key, h.attestations(), h.blocks()])).toEqual([[pk(1), history.attestations(), history.blocks()]]);
  });

  it('names what is wrong with bytes that are not a usable snapshot', () => {
    const text = new TextDecoder().decode(encodeShardSnapshot(snapshot));
    const problem = (t: string, expected = { genesisValidatorsRoot: root(0xaa), shard: 5 }): string => {
      const d = decodeShardSnapshot(new TextEncoder().encode(t), expected);
      return d.ok ? 'ok' : d.problem;
    };
    expect(problem(text)).toBe('ok');
    expect(problem(text.slice(0, 100))).toBe('not JSON');
    expect(problem(text.replace('"version":1', '"version":2'))).toBe('format version 2, this code reads 1');
    expect(problem(text, { genesisValidatorsRoot: root(0xbb), shard: 5 })).toBe('another genesis validators root');
    expect(problem(text, { genesisValidatorsRoot: root(0xaa), shard: 6 })).toBe('shard 5, expected 6');
    expect(problem(text.replace('"stepEpochs":64', '"stepEpochs":32'))).toMatch(/^pruning /);
    expect(problem(text.replace('[0,1,-1,', '[0,1,7,'))).toBe('malformed attestation row');
    expect(problem(text.replace('"blocks":[40,1]', '"blocks":[40]'))).toBe('malformed rows');
    expect(problem(text.replace('"coveredSeq":42', '"coveredSeq":0'))).toBe('no covered stream sequence');
  });
});

function restartSuite(label: string, stores: () => Stores): void {
  describe(`slashing history restarts from snapshots: ${label}`, () => {
    it('gives exactly the state and answers of a full fold and of the guard before the restart, and carries on writing', async () => {
      const { store, snapshots } = stores();
      const network = freshNetwork();
      const shared = await snapshots();
      const first = await SlashingHistory.load(await store(), network, { snapshots: shared, snapshotEvery: 20 });
      await writeHistory(first, 640);
      await first.snapshotNow();
      // a tail after the snapshots: fewer entries than snapshotEvery
      for (let e = 641; e <= 645; e++) await first.record({ kind: 'RecordAttestations', attempts: duty(e) }, `duty-${e}`);
      await first.snapshotsWritten();

      const restartStore = counting(await store());
      const restarted = await SlashingHistory.load(restartStore, network, { snapshots: shared });
      const fullStore = counting(await store());
      const full = await SlashingHistory.load(fullStore, network);

      expect(fingerprint(restarted.current)).toEqual(fingerprint(full.current));
      expect(fingerprint(restarted.current)).toEqual(fingerprint(first.current));
      expect(restarted.lastSequences()).toEqual(full.lastSequences());
      const asked = probes(645);
      const before = answerSlashingCheck(first, asked);
      expect(answerSlashingCheck(restarted, asked)).toEqual(before);
      expect(answerSlashingCheck(full, asked)).toEqual(before);
      // pruning took place, and the restart read only the tail (plus one covered entry per shard)
      expect(full.current.validators.get(VALIDATORS[0] as Hex)?.prunedTarget).toBe(128);
      expect(restartStore.entriesRead()).toBeLessThan(fullStore.entriesRead() / 4);

      // the restarted guard writes on with the right expected sequences; the stale one is refused by the stream and decides again
      const next = await restarted.record({ kind: 'RecordAttestations', attempts: duty(646) }, 'duty-646');
      expect(next.ok && next.events.map((e) => e.kind)).toEqual(['AttestationsRecorded']);
      const stale = await first.record({ kind: 'RecordAttestations', attempts: duty(646, 1) }, 'duty-646-other');
      expect(stale.ok && stale.conflicts).toBeGreaterThan(0);
      expect(stale.ok && stale.events.flatMap((e) => (e.kind === 'AttestationsRefused' ? e.refusals.map((r) => r.reason) : []))).toEqual(VALIDATORS.map(() => 'double_vote'));
    }, 60_000);

    it('ignores a snapshot that cannot be read, or is for another root, shard or pruning window, and folds that shard from the stream', async () => {
      const { store, snapshots } = stores();
      const network = freshNetwork();
      const shared = await snapshots();
      const first = await SlashingHistory.load(await store(), network, { snapshots: shared, snapshotEvery: 1 });
      await writeHistory(first, 610);
      await first.snapshotNow();
      const shardA = shardOf(VALIDATORS[0] as Hex);
      const shardB = shardOf(VALIDATORS[1] as Hex);
      const shardC = shardOf(VALIDATORS[2] as Hex);
      const good = (await shared.load(shardSnapshotName(network, shardB))) as Uint8Array;
      const text = new TextDecoder().decode(good);
      await shared.save(shardSnapshotName(network, shardA), new TextEncoder().encode('{"kind":"SlashingShardSnap'));
      // shard B's snapshot under shard C's name; shard B's own with another window
      if (shardC !== shardB) await shared.save(shardSnapshotName(network, shardC), good);
      await shared.save(shardSnapshotName(network, shardB), new TextEncoder().encode(text.replace('"windowEpochs":512', '"windowEpochs":1024')));

      const { warnings, log } = capturingLog();
      const restarted = await SlashingHistory.load(await store(), network, { snapshots: shared, log });
      const full = await SlashingHistory.load(await store(), network);
      expect(fingerprint(restarted.current)).toEqual(fingerprint(full.current));
      expect(restarted.lastSequences()).toEqual(full.lastSequences());
      const asked = probes(610);
      expect(answerSlashingCheck(restarted, asked)).toEqual(answerSlashingCheck(first, asked));
      const problems = warnings.map((w) => `${String(w.fields['shard'])}: ${String(w.fields['problem'])}`);
      expect(problems).toContain(`${shardA}: not JSON`);
      expect(problems.some((p) => p.startsWith(`${shardB}: pruning`))).toBe(true);
      if (shardC !== shardB) expect(problems).toContain(`${shardC}: shard ${shardB}, expected ${shardC}`);
      expect(warnings.every((w) => w.message === 'slashing snapshot ignored; the shard is folded from the stream')).toBe(true);
    }, 60_000);

    it('ignores snapshots the stream contradicts: ahead of it (stream recreated), or another entry at the covered sequence', async () => {
      const { store, snapshots } = stores();
      const network = freshNetwork();
      const shared = await snapshots();
      const first = await SlashingHistory.load(await store(), network, { snapshots: shared, snapshotEvery: 1 });
      await writeHistory(first, 605);
      await first.snapshotNow();
      const names = Array.from({ length: SHARDS }, (_, s) => shardSnapshotName(network, s));
      const saved = await Promise.all(names.map((n) => shared.load(n)));

      // the stream recreated (a fresh, empty store), the snapshots left over: every one is ahead of it
      const recreated = await stores().recreated();
      for (const [i, bytes] of saved.entries()) if (bytes) await recreated.snapshots.save(names[i] as string, bytes);
      const { warnings, log } = capturingLog();
      const empty = await SlashingHistory.load(recreated.store, network, { snapshots: recreated.snapshots, log });
      expect(empty.current.validators.size).toBe(0);
      expect(warnings.length).toBe(saved.filter(Boolean).length);
      expect(warnings.every((w) => /the shard ends at 0 \(stream recreated\?\)/.test(String(w.fields['problem'])))).toBe(true);
      expect(answerSlashingCheck(empty, { attempts: duty(3, 1) }).verdicts.every((v) => v.ok)).toBe(true);

      // the recreated stream grew past the covered sequences with other entries: still not the snapshots' stream
      const again = await SlashingHistory.load(recreated.store, network);
      await writeHistory(again, 660, 1);
      const second = capturingLog();
      const reloaded = await SlashingHistory.load(recreated.store, network, { snapshots: recreated.snapshots, log: second.log });
      const full = await SlashingHistory.load(recreated.store, network);
      expect(fingerprint(reloaded.current)).toEqual(fingerprint(full.current));
      expect(second.warnings.length).toBeGreaterThan(0);
      expect(second.warnings.every((w) => /is not on the stream|stream recreated/.test(String(w.fields['problem'])))).toBe(true);
      const asked = probes(660);
      expect(answerSlashingCheck(reloaded, asked)).toEqual(answerSlashingCheck(again, asked));
      expect(answerSlashingCheck(reloaded, { attempts: duty(650, 1) }).verdicts.every((v) => v.ok && v.repeat)).toBe(true);
    }, 60_000);

    it('never lets a failing snapshot store touch approvals; retries later', async () => {
      const { store, snapshots } = stores();
      const network = freshNetwork();
      const inner = await snapshots();
      let failing = true;
      const flaky: SnapshotStore = {
        load: (name) => inner.load(name),
        save: async (name, bytes) => {
          if (failing) throw new Error('object store unavailable');
          await inner.save(name, bytes);
        },
      };
      const { warnings, log } = capturingLog();
      const pubkey = VALIDATORS[0] as Hex;
      const history = await SlashingHistory.load(await store(), network, { snapshots: flaky, log, snapshotEvery: 5 });
      for (let e = 1; e <= 10; e++) {
        const outcome = await history.record({ kind: 'RecordAttestations', attempts: [{ pubkey, sourceEpoch: e - 1, targetEpoch: e, signingRoot: root(e) }] }, `f-${e}`);
        expect(outcome.ok && outcome.events.map((ev) => ev.kind)).toEqual(['AttestationsRecorded']);
      }
      await history.snapshotsWritten();
      expect(warnings.map((w) => w.message)).toEqual(['slashing snapshot not written; retried later']);
      failing = false;
      // the retry waits for more entries of the shard (not every record)
      for (let e = 11; e <= 120; e++) await history.record({ kind: 'RecordAttestations', attempts: [{ pubkey, sourceEpoch: e - 1, targetEpoch: e, signingRoot: root(e) }] }, `f-${e}`);
      await history.snapshotsWritten();
      const stored = await inner.load(shardSnapshotName(network, shardOf(pubkey)));
      const decoded = stored && decodeShardSnapshot(stored, { genesisValidatorsRoot: network, shard: shardOf(pubkey) });
      expect(decoded && decoded.ok && decoded.snapshot.coveredSeq).toBeGreaterThan(0);
      expect(warnings).toHaveLength(1);
    }, 60_000);
  });
}

async function memoryStores(): Promise<{ store: EventStore; snapshots: SnapshotStore }> {
  const store = createMemoryEventStore();
  await ensureSlashingStream(store);
  return { store, snapshots: createMemorySnapshotStore() };
}

restartSuite('memory stores', () => {
  const fresh = memoryStores();
  return { store: async () => (await fresh).store, snapshots: async () => (await fresh).snapshots, recreated: memoryStores };
});

let server: NatsServerHandle | undefined;
let recreatedServer: NatsServerHandle | undefined;
const connections: NatsConnection[] = [];
afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
  await server?.stop();
  await recreatedServer?.stop();
});

/** Stores on a nats-server: each call of `store`/`snapshots` on a connection of its own. */
function natsStores(url: () => Promise<string>): Omit<Stores, 'recreated'> {
  const connect = async (): Promise<NatsConnection> => {
    const nc = await connectNats({ servers: await url(), name: 'slashing-snapshot-spec' });
    connections.push(nc);
    return nc;
  };
  return {
    store: async () => {
      const store = eventStoreOn(await connect());
      await ensureSlashingStream(store);
      return store;
    },
    snapshots: async () => objectStoreSnapshotsOn(await connect(), { bucket: 'cohort-slashing-snapshots' }),
  };
}

restartSuite('JetStream and the NATS object store on a real nats-server', () => ({
  ...natsStores(async () => (server ??= await startNatsServer()).url),
  // a second server: its own stream and bucket, as after the stream was deleted and created again
  recreated: async () => {
    const other = natsStores(async () => (recreatedServer ??= await startNatsServer()).url);
    return { store: await other.store(), snapshots: await other.snapshots() };
  },
}));
