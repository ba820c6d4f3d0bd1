import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '#lib/contracts';
import {
  connectJetStreamEventStore,
  createMemoryEventStore,
  createMemorySnapshotStore,
  objectStoreSnapshotsOn,
  type EventStore,
  type SnapshotStore,
} from '#lib/event-store';
import { connectNats, type NatsConnection } from '#lib/messaging';
import { startNatsServer, type NatsServerHandle } from '#lib/test-support';
import { parseInterchange } from './interchange.js';
import { ensureSlashingStream, SlashingHistory } from './slashing-history.repository.js';

/**
 * shared/vectors/eip3076: the EIP-3076 interchange tests (eth-clients/slashing-protection-
 * interchange-tests v5.3.0, tests/generated). Each case starts from an empty database, imports
 * each step's interchange, then attempts its blocks and attestations in order, recording the
 * approved ones; Cohort keeps a complete history, so `should_succeed_complete` is the answer.
 * (Its window, HISTORY_WINDOW_EPOCHS = 512, prunes nothing here: no case spans 512 epochs or
 * 16,384 slots.) With a snapshot store, the guard restarts from its snapshots before every step.
 */
const VECTORS = resolve(process.cwd(), '../shared/vectors/eip3076/tests/generated');

interface Attempt {
  readonly pubkey: Hex;
  readonly signing_root: Hex;
  readonly should_succeed_complete: boolean;
}
interface VectorCase {
  readonly name: string;
  readonly genesis_validators_root: Hex;
  readonly steps: readonly {
    readonly should_succeed: boolean;
    readonly contains_slashable_data: boolean;
    readonly interchange: unknown;
    readonly blocks: readonly (Attempt & { readonly slot: string })[];
    readonly attestations: readonly (Attempt & { readonly source_epoch: string; readonly target_epoch: string })[];
  }[];
}

const cases: VectorCase[] = readdirSync(VECTORS)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(resolve(VECTORS, f), 'utf8')) as VectorCase);

/** Runs one case; returns one line per outcome so a failure names the step and attempt. */
async function run(store: EventStore, c: VectorCase, snapshots?: SnapshotStore): Promise<{ expected: string[]; actual: string[] }> {
  const options = snapshots === undefined ? {} : { snapshots, snapshotEvery: 1 };
  let history = await SlashingHistory.load(store, c.genesis_validators_root, options);
  const expected: string[] = [];
  const actual: string[] = [];
  for (const [i, step] of c.steps.entries()) {
    if (snapshots !== undefined) {
      await history.snapshotNow();
      history = await SlashingHistory.load(store, c.genesis_validators_root, options);
    }
    expected.push(`step ${i} import ${step.should_succeed ? 'ok' : 'refused'}`);
    const imported = await (async () => {
      try {
        const records = parseInterchange(JSON.stringify(step.interchange), `${c.name} step ${i}`);
        const outcome = await history.importInterchange(records);
        return outcome.ok;
      } catch {
        return false;
      }
    })();
    actual.push(`step ${i} import ${imported ? 'ok' : 'refused'}`);
    if (!imported) continue;
    for (const [j, b] of step.blocks.entries()) {
      const outcome = await history.record(
        { kind: 'RecordBlocks', attempts: [{ pubkey: b.pubkey, slot: Number(b.slot), signingRoot: b.signing_root }] },
        `${c.name}:${i}:b${j}`,
      );
      const ok = outcome.ok && !outcome.events.some((e) => e.kind === 'BlocksRefused');
      expected.push(`step ${i} block ${j} slot ${b.slot}: ${b.should_succeed_complete}`);
      actual.push(`step ${i} block ${j} slot ${b.slot}: ${ok}`);
    }
    for (const [j, a] of step.attestations.entries()) {
      const attempt = { pubkey: a.pubkey, sourceEpoch: Number(a.source_epoch), targetEpoch: Number(a.target_epoch), signingRoot: a.signing_root };
      const outcome = await history.record({ kind: 'RecordAttestations', attempts: [attempt] }, `${c.name}:${i}:a${j}`);
      const ok = outcome.ok && !outcome.events.some((e) => e.kind === 'AttestationsRefused');
      expected.push(`step ${i} attestation ${j} ${a.source_epoch}→${a.target_epoch}: ${a.should_succeed_complete}`);
      actual.push(`step ${i} attestation ${j} ${a.source_epoch}→${a.target_epoch}: ${ok}`);
    }
  }
  return { expected, actual };
}

describe('EIP-3076 interchange vectors (complete strategy), memory event store', () => {
  it('has all 38 cases', () => {
    expect(cases).toHaveLength(38);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const store = createMemoryEventStore();
    await ensureSlashingStream(store);
    const { expected, actual } = await run(store, c);
    expect(actual).toEqual(expected);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s, restarted from snapshots before every step', async (_name, c) => {
    const store = createMemoryEventStore();
    await ensureSlashingStream(store);
    const { expected, actual } = await run(store, c, createMemorySnapshotStore());
    expect(actual).toEqual(expected);
  });
});

describe('EIP-3076 interchange vectors (complete strategy), JetStream on a real nats-server', () => {
  let server: NatsServerHandle;
  let store: EventStore;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    store = await connectJetStreamEventStore({ servers: server.url, name: 'eip3076-vectors' });
    nc = await connectNats({ servers: server.url, name: 'eip3076-vectors-snapshots' });
    await ensureSlashingStream(store);
  });
  afterAll(async () => {
    await store?.close();
    await nc?.close();
    await server?.stop();
  });

  // every case on one server: each uses its own genesis validators root, so a fresh history
  it.each([
    ['', 0, false],
    [', restarted from snapshots (NATS object store) before every step', 0x100, true],
  ] as const)('passes every case, each under a root of its own%s', async (_label, offset, withSnapshots) => {
    const snapshots = withSnapshots ? objectStoreSnapshotsOn(nc, { bucket: 'eip3076-vectors' }) : undefined;
    for (const [k, c] of cases.entries()) {
      // keep the case's relation between the database root and the file's root, on fresh subjects
      const fresh = (gvr: Hex): Hex => `0x${(offset + k + 1).toString(16).padStart(4, '0')}${gvr.slice(6)}`;
      const moved: VectorCase = {
        ...c,
        genesis_validators_root: fresh(c.genesis_validators_root),
        steps: c.steps.map((s) => {
          const interchange = s.interchange as { metadata: { genesis_validators_root: Hex } };
          return { ...s, interchange: { ...interchange, metadata: { ...interchange.metadata, genesis_validators_root: fresh(interchange.metadata.genesis_validators_root) } } };
        }),
      };
      const { expected, actual } = await run(store, moved, snapshots);
      expect({ name: c.name, outcomes: actual }).toEqual({ name: c.name, outcomes: expected });
    }
  }, 60_000);
});
