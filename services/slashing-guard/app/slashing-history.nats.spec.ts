import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '#lib/contracts';
import { connectJetStreamEventStore, eventStoreOn, objectStoreSnapshotsOn, type EventStore } from '#lib/event-store';
import { connectNats, type NatsConnection } from '#lib/messaging';
import { startNatsServer, type NatsServerHandle } from '#lib/test-support';
import type { AttestationAttempt } from '../domain/slashing.decider.js';
import { answerSlashingCheck } from './slashing-guard.consumer.js';
import { InterchangeError, parseInterchange } from './interchange.js';
import { ensureSlashingStream, shardEntryEvents, SlashingHistory, type RecordOutcome } from './slashing-history.repository.js';

/** The slashing history against a real nats-server (JetStream, file storage). */
let server: NatsServerHandle;
const stores: EventStore[] = [];
beforeAll(async () => {
  server = await startNatsServer();
  const admin = await connect('admin');
  await ensureSlashingStream(admin);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
  await server?.stop();
});

/** Each guard gets its own connection, as two guard processes would. */
async function connect(name: string): Promise<EventStore> {
  const store = await connectJetStreamEventStore({ servers: server.url, name });
  stores.push(store);
  return store;
}

const gvr = (n: number): Hex => `0x${n.toString(16).padStart(2, '0')}${'77'.repeat(31)}`;
const pk = (n: number): Hex => `0x${n.toString(16).padStart(2, '0')}${'99'.repeat(47)}`;
const root = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;

interface RawMessage {
  readonly seq: number;
  readonly subject: string;
  readonly json: string;
}
async function rawStream(store: EventStore): Promise<RawMessage[]> {
  const out: RawMessage[] = [];
  for await (const e of store.read('cohort.slashing.>')) out.push({ seq: e.seq, subject: e.subject, json: JSON.stringify(e.data) });
  return out;
}

/** Every attestation on the stream for one root, folded back from the stored entries. */
async function storedAttestations(store: EventStore, network: Hex): Promise<AttestationAttempt[]> {
  const out: AttestationAttempt[] = [];
  for await (const e of store.read(`cohort.slashing.${network.slice(2, 18)}.*`)) {
    for (const event of shardEntryEvents(e.data, { subject: e.subject, seq: e.seq, genesisValidatorsRoot: network })) {
      if (event.kind === 'AttestationsRecorded') out.push(...event.records);
    }
  }
  return out;
}

function slashablePairs(records: readonly AttestationAttempt[]): string[] {
  const out: string[] = [];
  for (const a of records) {
    for (const b of records) {
      if (a === b || a.pubkey !== b.pubkey) continue;
      if (a.targetEpoch === b.targetEpoch && a.signingRoot !== b.signingRoot) out.push(`double vote ${a.targetEpoch}`);
      if (a.sourceEpoch < b.sourceEpoch && b.targetEpoch < a.targetEpoch) out.push(`surround ${a.sourceEpoch}-${a.targetEpoch} ⊃ ${b.sourceEpoch}-${b.targetEpoch}`);
    }
  }
  return out;
}

const approved = (outcome: RecordOutcome): boolean => outcome.ok && !outcome.events.some((e) => e.kind === 'AttestationsRefused');

describe('slashing history on JetStream', () => {
  it('lets exactly one of many concurrent conflicting records win per target, across several guards', async () => {
    const network = gvr(1);
    const guards = await Promise.all([1, 2, 3, 4].map(async (i) => SlashingHistory.load(await connect(`guard-${i}`), network)));
    const targets = 12;
    const validators = [pk(1), pk(2), pk(3)];
    // every guard asks, at once, to record its own value (its own root) for every (validator, target)
    const requests = guards.flatMap((guard, g) =>
      validators.flatMap((pubkey) =>
        Array.from({ length: targets }, (_, t) => {
          const a: AttestationAttempt = { pubkey, sourceEpoch: t, targetEpoch: t + 1, signingRoot: root(((g + 1) << 8) | t) };
          return guard.record({ kind: 'RecordAttestations', attempts: [a] }, `race:${g}:${pubkey}:${t}`).then((outcome) => ({ a, outcome }));
        }),
      ),
    );
    const results = await Promise.all(requests);
    const stored = await storedAttestations(await connect('reader'), network);
    for (const pubkey of validators) {
      for (let t = 1; t <= targets; t++) {
        const recorded = stored.filter((r) => r.pubkey === pubkey && r.targetEpoch === t);
        expect(recorded, `${pubkey} target ${t}`).toHaveLength(1);
        const winners = results.filter((r) => r.a.pubkey === pubkey && r.a.targetEpoch === t && approved(r.outcome));
        expect(winners.map((w) => w.a.signingRoot)).toEqual([recorded[0]?.signingRoot]);
      }
    }
    expect(slashablePairs(stored)).toEqual([]);
    // the losers were refused as double votes (or gave up on history_conflict), never approved
    const losers = results.filter((r) => !approved(r.outcome));
    expect(losers).toHaveLength(3 * validators.length * targets);
    // and the guards really raced: appends were refused by JetStream and re-decided
    const conflicts = results.reduce((n, r) => n + (r.outcome.ok ? r.outcome.conflicts : 0), 0);
    expect(conflicts).toBeGreaterThan(0);
  }, 30_000);

  it('never lets a slashable pair land when concurrent guards race with overlapping (surrounding) votes', async () => {
    const network = gvr(2);
    const guards = await Promise.all([1, 2, 3].map(async (i) => SlashingHistory.load(await connect(`surround-${i}`), network)));
    const pubkey = pk(9);
    // guard g votes (t - 1 - (g * t) % 4, t): sources differ between guards, so votes surround each other
    const results = await Promise.all(
      guards.flatMap((guard, g) =>
        Array.from({ length: 16 }, (_, i) => {
          const t = i + 4;
          const a: AttestationAttempt = { pubkey, sourceEpoch: t - 1 - ((g * t) % 4), targetEpoch: t, signingRoot: root((g << 8) | t) };
          return guard.record({ kind: 'RecordAttestations', attempts: [a] }, `surround:${g}:${t}`).then((outcome) => ({ a, outcome }));
        }),
      ),
    );
    const stored = await storedAttestations(await connect('surround-reader'), network);
    expect(slashablePairs(stored)).toEqual([]);
    const approvedRoots = results.filter((r) => approved(r.outcome)).map((r) => r.a.signingRoot).sort();
    expect(approvedRoots).toEqual(stored.map((r) => r.signingRoot).sort());
    expect(stored.length).toBeGreaterThan(0);
  }, 30_000);

  it('gives the same answers after a guard is closed mid-run and a new one starts on the same store (from its snapshots)', async () => {
    const network = gvr(3);
    const validators = [pk(11), pk(12), pk(13), pk(14)];
    // the first guard's own connection, so it can be cut without a drain (as a killed process);
    // it writes snapshots often, so some are under way when it goes
    const firstConnection = await connectNats({ servers: server.url, name: 'restart-1' });
    const snapshotsOf = (nc: NatsConnection) => objectStoreSnapshotsOn(nc, { bucket: 'restart-snapshots' });
    const first = await SlashingHistory.load(eventStoreOn(firstConnection), network, { snapshots: snapshotsOf(firstConnection), snapshotEvery: 3, log: { warn: () => undefined } });
    const duty = (e: number, salt = 0): AttestationAttempt[] => validators.map((pubkey) => ({ pubkey, sourceEpoch: e - 1, targetEpoch: e, signingRoot: root(e + salt) }));
    for (let e = 1; e <= 20; e++) await first.record({ kind: 'RecordAttestations', attempts: duty(e) }, `restart:${e}`);
    await first.record({ kind: 'RecordBlocks', attempts: [{ pubkey: validators[0] as Hex, slot: 640, signingRoot: root(640) }] }, 'restart:block');

    // mid-run: more duties in flight, then the guard's connection goes away under them
    const inFlight = Array.from({ length: 10 }, (_, i) =>
      first.record({ kind: 'RecordAttestations', attempts: duty(21 + i) }, `restart:${21 + i}`).then(
        (outcome) => ({ epoch: 21 + i, ok: outcome.ok }),
        () => ({ epoch: 21 + i, ok: false }),
      ),
    );
    await inFlight[0];
    await firstConnection.close();
    const settled = await Promise.all(inFlight);
    const acknowledged = settled.filter((s) => s.ok).map((s) => s.epoch);
    expect(acknowledged.length).toBeLessThan(10);

    const secondConnection = await connectNats({ servers: server.url, name: 'restart-2' });
    const second = await SlashingHistory.load(eventStoreOn(secondConnection), network, { snapshots: snapshotsOf(secondConnection) });
    const probes = Array.from({ length: 34 }, (_, i) => i + 1).flatMap((e) => [...duty(e), ...duty(e, 1000), { pubkey: validators[1] as Hex, sourceEpoch: 0, targetEpoch: e + 1, signingRoot: root(5000 + e) }]);
    const blockProbes = [{ pubkey: validators[0] as Hex, slot: 640, signingRoot: root(640) }, { pubkey: validators[0] as Hex, slot: 640, signingRoot: root(641) }, { pubkey: validators[0] as Hex, slot: 641, signingRoot: root(642) }];
    const before = answerSlashingCheck(first, { attempts: probes, blocks: blockProbes });
    const after = answerSlashingCheck(second, { attempts: probes, blocks: blockProbes });
    // everything the first guard acknowledged is known to the second: re-signing it is a repeat, anything else for it a double vote
    for (const e of [...Array.from({ length: 20 }, (_, i) => i + 1), ...acknowledged]) {
      for (const pubkey of validators) {
        expect(answerSlashingCheck(second, { attempts: [{ pubkey, sourceEpoch: e - 1, targetEpoch: e, signingRoot: root(e) }] }).verdicts).toEqual([{ pubkey, ok: true, repeat: true }]);
        expect(answerSlashingCheck(second, { attempts: [{ pubkey, sourceEpoch: e - 1, targetEpoch: e, signingRoot: root(e + 1000) }] }).verdicts).toEqual([{ pubkey, ok: false, reason: 'double_vote' }]);
      }
    }
    // the same answers, where the first guard knew the outcome of its writes; never laxer anywhere
    const unknown = new Set(settled.filter((s) => !s.ok).map((s) => s.epoch));
    probes.forEach((p, i) => {
      const b = before.verdicts[i];
      const a = after.verdicts[i];
      if (![...unknown].some((e) => p.targetEpoch >= e)) expect(a).toEqual(b);
      else if (b && !b.ok) expect(a?.ok).toBe(false);
    });
    expect(after.blockVerdicts).toEqual(before.blockVerdicts);
    // a third guard folding the whole stream rebuilds exactly the same state
    const third = await SlashingHistory.load(await connect('restart-3'), network);
    expect(answerSlashingCheck(third, { attempts: probes, blocks: blockProbes })).toEqual(after);
    expect(third.lastSequences()).toEqual(second.lastSequences());
    expect([...third.current.validators].map(([key, h]) => [key, h.attestations(), h.blocks()])).toEqual(
      [...third.current.validators.keys()].map((key) => [key, second.current.validators.get(key)?.attestations(), second.current.validators.get(key)?.blocks()]),
    );
    // and it carries on recording where the first stopped
    const next = await second.record({ kind: 'RecordAttestations', attempts: duty(40) }, 'restart:40');
    expect(next.ok && next.events.map((e) => e.kind)).toEqual(['AttestationsRecorded']);
    await second.snapshotsWritten();
    await secondConnection.close();
  }, 30_000);

  it('leaves the history byte-for-byte unchanged when an import file is broken', async () => {
    const network = gvr(4);
    const store = await connect('broken-import');
    const history = await SlashingHistory.load(store, network);
    await history.record({ kind: 'RecordAttestations', attempts: [{ pubkey: pk(21), sourceEpoch: 4, targetEpoch: 5, signingRoot: root(5) }] }, 'kept');
    const before = await rawStream(store);
    // valid for its first validator, broken in the second: nothing of it may land
    const broken = JSON.stringify({
      metadata: { interchange_format_version: '5', genesis_validators_root: network },
      data: [
        { pubkey: pk(22), signed_blocks: [{ slot: '10' }], signed_attestations: [{ source_epoch: '1', target_epoch: '2' }] },
        { pubkey: pk(23), signed_blocks: [], signed_attestations: [{ source_epoch: '1', target_epoch: '-2' }] },
      ],
    });
    const outcome = await (async () => {
      try {
        await history.importInterchange(parseInterchange(broken, 'broken.json'));
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(outcome).toBeInstanceOf(InterchangeError);
    expect((outcome as Error).message).toMatch(/broken\.json[\s\S]*data\[1\]\.signed_attestations\[0\]\.target_epoch/);
    const after = await rawStream(store);
    expect(after).toHaveLength(before.length);
    expect(after.at(-1)?.seq).toBe(before.at(-1)?.seq);
    expect(after).toEqual(before);
  });
});

