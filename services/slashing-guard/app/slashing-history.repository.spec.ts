import { describe, expect, it } from 'vitest';
import { Subjects, type Hex } from '#lib/contracts';
import { createMemoryEventStore, type EventStore } from '#lib/event-store';
import { INTERCHANGE_SCHEMA } from './interchange.schema.js';
import { InterchangeError, parseInterchange } from './interchange.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ensureSlashingStream,
  MAX_RECORDS_PER_ENTRY,
  SHARDS,
  shardEntries,
  shardEntryEvents,
  shardOf,
  SlashingHistories,
  SlashingHistory,
  UnreadableShardEntryError,
} from './slashing-history.repository.js';
import { answerSlashingCheck } from './slashing-guard.consumer.js';
import { emptySlashingState, evolveAll as evolveSlashing } from '../domain/slashing.decider.js';

const GVR_A: Hex = `0x${'0a'.repeat(32)}`;
const GVR_B: Hex = `0x${'0b'.repeat(32)}`;
const PK1: Hex = `0x${'a1'.repeat(48)}`;
const PK2: Hex = `0x${'b2'.repeat(48)}`;
const root = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const att = (pubkey: Hex, sourceEpoch: number, targetEpoch: number, r = targetEpoch) => ({ pubkey, sourceEpoch, targetEpoch, signingRoot: root(r) });

async function freshStore(): Promise<EventStore> {
  const store = createMemoryEventStore();
  await ensureSlashingStream(store);
  return store;
}

async function streamMessages(store: EventStore): Promise<{ seq: number; subject: string; data: unknown }[]> {
  const out: { seq: number; subject: string; data: unknown }[] = [];
  for await (const e of store.read('cohort.slashing.>')) out.push({ seq: e.seq, subject: e.subject, data: e.data });
  return out;
}

describe('slashing history on the stream', () => {
  it('still folds a stored version-1 entry (golden, as the walking skeleton wrote it)', async () => {
    const store = await freshStore();
    // golden: a ShardEntry v1 exactly as services/slashing-guard wrote it before issue 8
    const golden = JSON.parse(
      '{"kind":"AttestationsRecorded","version":1,"records":[{"pubkey":"0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","sourceEpoch":3,"targetEpoch":4,"signingRoot":"0x0000000000000000000000000000000000000000000000000000000000000004"}]}',
    ) as unknown;
    await store.append(Subjects.slashingShard(GVR_A, shardOf(PK1)), golden, { msgId: 'golden-v1', expectedLastSubjectSeq: 0 });
    const history = await SlashingHistory.load(store, GVR_A);
    expect(history.current.validators.get(PK1)?.attestations()).toEqual([{ sourceEpoch: 3, targetEpoch: 4, signingRoot: root(4) }]);
    expect(answerSlashingCheck(history, { attempts: [att(PK1, 3, 4), att(PK1, 3, 4, 9), att(PK1, 4, 5)] }).verdicts).toEqual([
      { pubkey: PK1, ok: true, repeat: true },
      { pubkey: PK1, ok: false, reason: 'double_vote' },
      { pubkey: PK1, ok: true, repeat: false },
    ]);
    // and a new record after it lands as version 2 on the same shard
    const outcome = await history.record({ kind: 'RecordAttestations', attempts: [att(PK1, 4, 5)] }, 'after-golden');
    expect(outcome.ok).toBe(true);
    const stored = await streamMessages(store);
    expect(stored.map((m) => (m.data as { version: number }).version)).toEqual([1, 2, 1]);
    expect(stored[2]?.subject).toBe(Subjects.slashingRoots);
  });

  it('refuses to run on an entry it cannot read', async () => {
    const store = await freshStore();
    await store.append(Subjects.slashingShard(GVR_A, 3), { kind: 'HistoryAppended', version: 9 }, { msgId: 'future' });
    await expect(SlashingHistory.load(store, GVR_A)).rejects.toBeInstanceOf(UnreadableShardEntryError);
  });

  it('splits a long history into entries of at most MAX_RECORDS_PER_ENTRY records that fold back whole', async () => {
    const attestations = Array.from({ length: 2 * MAX_RECORDS_PER_ENTRY + 7 }, (_, i) => ({ pubkey: PK1, sourceEpoch: i, targetEpoch: i + 1 }));
    const blocks = Array.from({ length: 10 }, (_, i) => ({ pubkey: PK1, slot: i * 32 }));
    const entries = shardEntries(GVR_A, [{ kind: 'HistoryImported', attestations, blocks }]).get(shardOf(PK1)) ?? [];
    expect(entries).toHaveLength(3);
    for (const e of entries) expect(e.validators.reduce((n, v) => n + (v.attestations?.length ?? 0) + (v.blocks?.length ?? 0), 0)).toBeLessThanOrEqual(MAX_RECORDS_PER_ENTRY);

    const store = await freshStore();
    const history = await SlashingHistory.load(store, GVR_A);
    await history.record({ kind: 'ImportHistory', attestations, blocks }, 'long');
    // the stream keeps every record; the view keeps the bounded history (records past the window are its watermark)
    const stored = (await streamMessages(store)).flatMap((m) =>
      m.subject === Subjects.slashingRoots ? [] : shardEntryEvents(m.data, { subject: m.subject, seq: m.seq, genesisValidatorsRoot: GVR_A }),
    );
    expect(stored.flatMap((e) => (e.kind === 'HistoryImported' ? e.attestations : []))).toEqual(attestations);
    const reloaded = await SlashingHistory.load(store, GVR_A);
    const bounded = evolveSlashing(emptySlashingState, [{ kind: 'HistoryImported', attestations, blocks }]).validators.get(PK1);
    expect(bounded?.attestations()[0]).toEqual({ sourceEpoch: 447, targetEpoch: 448 });
    expect(reloaded.current.validators.get(PK1)?.attestations()).toEqual(bounded?.attestations());
    expect(reloaded.current.validators.get(PK1)?.blocks()).toEqual(blocks.map(({ pubkey: _pk, ...r }) => r));
  });

  it('answers block checks on the check subject when asked, and keeps the attestation shape', async () => {
    const store = await freshStore();
    const history = await SlashingHistory.load(store, GVR_A);
    await history.record({ kind: 'RecordBlocks', attempts: [{ pubkey: PK1, slot: 64, signingRoot: root(64) }] }, 'b');
    expect(answerSlashingCheck(history, { attempts: [att(PK1, 0, 1)] })).toEqual({ verdicts: [{ pubkey: PK1, ok: true, repeat: false }] });
    expect(answerSlashingCheck(history, { attempts: [], blocks: [{ pubkey: PK1, slot: 64, signingRoot: root(65) }] })).toEqual({
      verdicts: [],
      blockVerdicts: [{ pubkey: PK1, ok: false, reason: 'double_proposal' }],
    });
  });
});

describe('network reset: one history per genesis validators root', () => {
  it('gives a new root a fresh, empty history and keeps the old one, still exportable; the guard can switch roots', async () => {
    const store = await freshStore();
    const histories = new SlashingHistories(store);
    const a = await histories.forRoot(GVR_A);
    await a.record({ kind: 'RecordAttestations', attempts: [att(PK1, 10, 11), att(PK2, 10, 11)] }, 'a1');
    await a.record({ kind: 'RecordBlocks', attempts: [{ pubkey: PK1, slot: 352, signingRoot: root(352) }] }, 'a2');

    // the network resets: same keys, new root, empty history — what was refused on A is fine on B
    const b = await histories.forRoot(GVR_B);
    expect(b.current.validators.size).toBe(0);
    expect(answerSlashingCheck(b, { attempts: [att(PK1, 0, 1)] }).verdicts).toEqual([{ pubkey: PK1, ok: true, repeat: false }]);
    expect(answerSlashingCheck(a, { attempts: [att(PK1, 0, 1)] }).verdicts).toEqual([{ pubkey: PK1, ok: false, reason: 'source_below_lowest' }]);
    await b.record({ kind: 'RecordAttestations', attempts: [att(PK1, 0, 1, 77)] }, 'b1');

    // the same instance is handed out again; switching back sees A unchanged
    expect(await histories.forRoot(GVR_A)).toBe(a);
    expect(answerSlashingCheck(await histories.forRoot(GVR_A), { attempts: [att(PK1, 10, 11)] }).verdicts).toEqual([{ pubkey: PK1, ok: true, repeat: true }]);
    expect((await histories.roots()).sort()).toEqual([GVR_A, GVR_B]);

    // the old history is still exportable, from a fresh reader too
    const exported = await (await new SlashingHistories(store).forRoot(GVR_A)).exportInterchange();
    expect(exported.metadata.genesis_validators_root).toBe(GVR_A);
    expect(exported.data.find((d) => d.pubkey === PK1)).toEqual({
      pubkey: PK1,
      signed_blocks: [{ slot: '352', signing_root: root(352) }],
      signed_attestations: [{ source_epoch: '10', target_epoch: '11', signing_root: root(11) }],
    });
    const exportedB = await b.exportInterchange();
    expect(exportedB.data).toEqual([{ pubkey: PK1, signed_blocks: [], signed_attestations: [{ source_epoch: '0', target_epoch: '1', signing_root: root(77) }] }]);
  });
});

describe('interchange import and export', () => {
  const file = (data: unknown[], gvr: Hex = GVR_A) => JSON.stringify({ metadata: { interchange_format_version: '5', genesis_validators_root: gvr }, data });

  it('embeds the schema published with the interchange tests', () => {
    const published = JSON.parse(readFileSync(resolve(process.cwd(), '../shared/vectors/eip3076/schema.json'), 'utf8')) as unknown;
    expect(INTERCHANGE_SCHEMA).toEqual(published);
  });

  it('names every problem of a broken file, with its path', () => {
    const bad = file([
      { pubkey: PK1, signed_blocks: [{ slot: '0x10' }], signed_attestations: [{ source_epoch: '1', target_epoch: 2 }] },
      { pubkey: '0x1234', signed_blocks: [], signed_attestations: [{ source_epoch: '1', target_epoch: '2', signing_root: '0xabc' }] },
    ]);
    const error = (() => {
      try {
        parseInterchange(bad, 'broken.json');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InterchangeError);
    const problems = (error as InterchangeError).problems;
    expect(problems).toContain('data[0].signed_blocks[0].slot: expected a decimal string (uint64), got "0x10"');
    expect(problems).toContain('data[0].signed_attestations[0].target_epoch: expected a decimal string (uint64), got 2');
    expect(problems).toContain('data[1].pubkey: expected 0x-prefixed hex of 48 bytes, got "0x1234"');
    expect(problems).toContain('data[1].signed_attestations[0].signing_root: expected 0x-prefixed hex of 32 bytes, got "0xabc"');
    expect((error as Error).message).toContain('broken.json');
    expect(() => parseInterchange('{"metadata":', 'cut.json')).toThrow(/cut\.json.*\n.*not JSON/);
    expect(() => parseInterchange(JSON.stringify({ metadata: { interchange_format_version: '5' }, data: [] }), 'x.json')).toThrow(
      /genesis_validators_root/,
    );
    expect(() => parseInterchange(file([]).replace('"5"', '"4"'), 'v4.json')).toThrow(/interchange_format_version: expected "5", got "4"/);
    expect(() => parseInterchange(file([{ pubkey: PK1, signed_blocks: [{ slot: '18446744073709551615' }], signed_attestations: [] }]), 'big.json')).toThrow(
      /beyond 2\^53 - 1/,
    );
  });

  it('refuses a file for another network and changes nothing', async () => {
    const store = await freshStore();
    const history = await SlashingHistory.load(store, GVR_A);
    const records = parseInterchange(file([{ pubkey: PK1, signed_blocks: [], signed_attestations: [] }], GVR_B), 'other.json');
    await expect(history.importInterchange(records)).rejects.toThrow(/genesis validators root/);
    expect(await streamMessages(store)).toEqual([]);
  });

  it('merges with existing history and round-trips through export (all validators, or one)', async () => {
    const store = await freshStore();
    const history = await SlashingHistory.load(store, GVR_A);
    await history.record({ kind: 'RecordAttestations', attempts: [att(PK1, 20, 21)] }, 'signed');
    const first = file([
      { pubkey: PK1, signed_blocks: [{ slot: '100' }], signed_attestations: [{ source_epoch: '1', target_epoch: '2' }] },
      { pubkey: PK2, signed_blocks: [{ slot: '7', signing_root: root(7) }], signed_attestations: [{ source_epoch: '3', target_epoch: '4', signing_root: root(4) }] },
    ]);
    expect((await history.importInterchange(parseInterchange(first, 'first.json'))).ok).toBe(true);
    // importing the same file again adds nothing
    const before = await streamMessages(store);
    await history.importInterchange(parseInterchange(first, 'first.json'));
    expect(await streamMessages(store)).toEqual(before);

    const exported = await history.exportInterchange();
    expect(exported.data.find((d) => d.pubkey === PK1)?.signed_attestations).toEqual([
      { source_epoch: '20', target_epoch: '21', signing_root: root(21) },
      { source_epoch: '1', target_epoch: '2' },
    ]);
    // round trip: the export imported into an empty history exports the same document
    const other = await freshStore();
    const copy = await SlashingHistory.load(other, GVR_A);
    await copy.importInterchange(parseInterchange(JSON.stringify(exported), 'exported.json'));
    expect(await copy.exportInterchange()).toEqual(exported);
    expect(await copy.exportInterchange([PK2])).toEqual({ metadata: exported.metadata, data: exported.data.filter((d) => d.pubkey === PK2) });
    // and the copy guards the same way
    const probes = [att(PK1, 20, 21), att(PK1, 1, 2), att(PK1, 19, 22), att(PK2, 3, 4), att(PK2, 3, 5)];
    expect(answerSlashingCheck(copy, { attempts: probes })).toEqual(answerSlashingCheck(history, { attempts: probes }));
  });

  it('spreads a large import over the shard subjects, all validators readable afterwards', async () => {
    const store = await freshStore();
    const history = await SlashingHistory.load(store, GVR_A);
    const pubkeys = Array.from({ length: 64 }, (_, i): Hex => `0x${i.toString(16).padStart(96, '0')}`);
    const data = pubkeys.map((pubkey) => ({
      pubkey,
      signed_blocks: [],
      signed_attestations: Array.from({ length: 50 }, (_, e) => ({ source_epoch: String(e), target_epoch: String(e + 1) })),
    }));
    const progress: number[] = [];
    await history.importInterchange(parseInterchange(file(data), 'big.json'), (p) => progress.push(p.entriesWritten));
    expect(progress.length).toBeGreaterThan(0);
    const shards = new Set((await streamMessages(store)).map((m) => m.subject));
    expect(shards.size).toBe(SHARDS + 1);
    const reloaded = await SlashingHistory.load(store, GVR_A);
    expect([...reloaded.current.validators.values()].map((v) => v.attestationCount)).toEqual(pubkeys.map(() => 50));
  });
});
