import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Hex } from '#lib/contracts';
import { connectJetStreamEventStore, objectStoreSnapshotsOn, type EventStore, type SnapshotStore } from '#lib/event-store';
import { connectNats } from '#lib/messaging';
import { startNatsServer } from '#lib/test-support';
import {
  answerSlashingCheck,
  ensureSlashingStream,
  SLASHING_SNAPSHOT_BUCKET,
  SNAPSHOT_EVERY,
  SlashingHistory,
  type AttestationAttempt,
} from '#service/slashing-guard';

/**
 * Slashing guard throughput for V validators with histories of E epochs each:
 * - domain: CheckAttestations of a whole duty set (one attestation per validator, the next
 *   epoch) against the indexed history, and the walking skeleton's O(history) scan as a
 *   baseline; the worst case (an attempt below the highest target, which must scan);
 * - JetStream: RecordAttestations of a duty set through SlashingHistory (decide + 16 shard
 *   appends with expected last sequence), on a nats-server this bench starts;
 * - rebuild: SlashingHistory.load from the stream, for the import-shaped history above and for
 *   a duty-shaped one (one entry per slot and shard, as the guard writes in operation);
 * - rebuild from snapshots (NATS object store) next to each: the import-shaped view's shards
 *   snapshotted, a tail of duty sets recorded after them, then a load from snapshots + tail; the
 *   duty-shaped guard writes its snapshots itself, every SNAPSHOT_EVERY entries of a shard, so
 *   its restart folds up to that many entries per shard after them.
 * Baseline measured in the same run: raw JetStream appends (awaited and pipelined) and reads,
 * and the full fold of the same history.
 *
 *   npm run build --silent && node dist/bench/slashing-guard.js [--quick] [--validators 1000] [--epochs 1,100,1000,10000]
 */
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, validators: { type: 'string' }, epochs: { type: 'string' } } });
const quick = values.quick ?? false;
const V = Number(values.validators ?? 1000);
const EPOCH_SIZES = (values.epochs ?? (quick ? '1,100' : '1,100,1000,10000')).split(',').map(Number);
const CHECK_RUNS = quick ? 20 : 50;
const RECORD_RUNS = quick ? 10 : 30;
/** Full mode: long enough (~1,700 entries a shard) for the guard to write its snapshots at SNAPSHOT_EVERY. */
const DUTY_SHAPED_EPOCHS = quick ? 4 : 64;
/** Duty sets recorded after the snapshots of the import-shaped history: the tail a restart folds. */
const TAIL_DUTIES = 10;
/** Quick mode's duty-shaped history is too short for SNAPSHOT_EVERY entries a shard: a smaller figure exercises the same path. */
const DUTY_SNAPSHOT_EVERY = quick ? 50 : SNAPSHOT_EVERY;
const SLOTS_PER_EPOCH = 32;
// a full collection before measuring a view's heap, without asking for node flags on the command line
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Full collections, a pause, and more: one alone left tens of MB of garbage behind here, which made heap figures swing. */
async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 3; i++) gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (let i = 0; i < 3; i++) gc();
}
/**
 * Heap a view holds, in MB: the heap with it, less the heap once it is released (both after full
 * collections). Differences against a heap taken long before swung by tens of MB between runs.
 */
async function heapOf(holder: { value: SlashingHistory }): Promise<number> {
  await collectGarbage();
  const withView = process.memoryUsage().heapUsed;
  holder.value = undefined as unknown as SlashingHistory;
  await collectGarbage();
  return (withView - process.memoryUsage().heapUsed) / 2 ** 20;
}

const pubkeys: Hex[] = Array.from({ length: V }, (_, i): Hex => `0x${i.toString(16).padStart(8, '0')}${'ab'.repeat(44)}`);
/** Validators of one committee sign the same data: one signing root per epoch (per committee in reality). */
const rootOf = (epoch: number, salt = 0): Hex => `0x${(epoch * 16 + salt).toString(16).padStart(64, '0')}`;
const duty = (epoch: number): AttestationAttempt[] => pubkeys.map((pubkey) => ({ pubkey, sourceEpoch: epoch - 1, targetEpoch: epoch, signingRoot: rootOf(epoch) }));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
function stats(samplesMs: number[], perSample: number): string {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  return `p50 ${p50.toFixed(3).padStart(9)} ms  p99 ${percentile(sorted, 99).toFixed(3).padStart(9)} ms  ${Math.round(perSample / (p50 / 1000)).toLocaleString('en').padStart(12)} approvals/s`;
}
function line(text: string): void {
  process.stdout.write(`${text}\n`);
}
async function timed<T>(work: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** The walking skeleton's check (before this issue): scans every record, Math.min over all of them per call. */
function naiveCheck(records: readonly { sourceEpoch: number; targetEpoch: number; signingRoot?: Hex }[], a: AttestationAttempt): boolean {
  if (a.sourceEpoch > a.targetEpoch) return false;
  let repeat = false;
  for (const p of records) {
    if (p.targetEpoch === a.targetEpoch) {
      if (p.signingRoot === a.signingRoot) {
        repeat = true;
        continue;
      }
      return false;
    }
    if (a.sourceEpoch < p.sourceEpoch && a.targetEpoch > p.targetEpoch) return false;
    if (a.sourceEpoch > p.sourceEpoch && a.targetEpoch < p.targetEpoch) return false;
  }
  if (repeat) return true;
  if (records.length > 0) {
    if (a.sourceEpoch < Math.min(...records.map((r) => r.sourceEpoch))) return false;
    if (a.targetEpoch <= Math.min(...records.map((r) => r.targetEpoch))) return false;
  }
  return true;
}

/** The walking skeleton's check on the same history, one duty set per run (capped: O(E) per validator). */
function naiveChecks(history: SlashingHistory, E: number): number[] {
  const runs = E >= 10000 ? 3 : E >= 1000 ? 5 : CHECK_RUNS;
  const perValidator = pubkeys.map((pk) => history.current.validators.get(pk)?.attestations() ?? []);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const attempts = duty(E + 1);
    const t = performance.now();
    attempts.forEach((a, j) => naiveCheck(perValidator[j] ?? [], a));
    samples.push(performance.now() - t);
  }
  return samples;
}

const server = await startNatsServer();
const store: EventStore = await connectJetStreamEventStore({ servers: server.url, name: 'bench-slashing-guard' });
const snapshotConnection = await connectNats({ servers: server.url, name: 'bench-slashing-guard-snapshots' });
/** The object store, counting what is written. */
const objectStore = objectStoreSnapshotsOn(snapshotConnection, { bucket: SLASHING_SNAPSHOT_BUCKET });
let snapshotBytes = 0;
let snapshotWrites = 0;
const snapshots: SnapshotStore = {
  load: (name) => objectStore.load(name),
  save: async (name, bytes) => {
    await objectStore.save(name, bytes);
    snapshotBytes += bytes.length;
    snapshotWrites++;
  },
};
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
try {
  await ensureSlashingStream(store);
  line(`slashing guard: ${V} validators; histories of ${EPOCH_SIZES.join(', ')} epochs; nats-server file storage on loopback${quick ? ' (quick)' : ''}`);

  // --- baseline: raw JetStream in this run
  await store.ensureStream({ name: 'BENCH_RAW', subjects: ['benchraw.>'] });
  const small = { kind: 'x', version: 2, validators: [{ pubkey: pubkeys[0], attestations: [{ sourceEpoch: 1, targetEpoch: 2, signingRoot: rootOf(2) }] }] };
  const awaited: number[] = [];
  for (let i = 0; i < (quick ? 500 : 2000); i++) {
    const t = performance.now();
    await store.append(`benchraw.s.${i % 16}`, small, { msgId: `raw-a-${i}` });
    awaited.push(performance.now() - t);
  }
  const pipelinedN = quick ? 2000 : 10000;
  const pipelined = await timed(() => Promise.all(Array.from({ length: pipelinedN }, (_, i) => store.append(`benchraw.p.${i % 16}`, small, { msgId: `raw-p-${i}` }))));
  let readCount = 0;
  const read = await timed(async () => {
    for await (const _ of store.read('benchraw.>')) readCount++;
  });
  const sortedAwaited = [...awaited].sort((a, b) => a - b);
  line(
    `baseline JetStream: awaited append p50 ${percentile(sortedAwaited, 50).toFixed(3)} ms p99 ${percentile(sortedAwaited, 99).toFixed(3)} ms (${Math.round(1000 / percentile(sortedAwaited, 50)).toLocaleString('en')}/s); ` +
      `pipelined ${Math.round(pipelinedN / (pipelined.ms / 1000)).toLocaleString('en')}/s; ordered read ${Math.round(readCount / (read.ms / 1000)).toLocaleString('en')} msg/s`,
  );

  for (const E of EPOCH_SIZES) {
    line(`\n== ${V} validators × ${E} epochs (${(V * E).toLocaleString('en')} attestations)`);
    const network: Hex = `0x${E.toString(16).padStart(8, '0')}${'5a'.repeat(28)}`;
    let history = await SlashingHistory.load(store, network);

    // history onto the stream as imports of 100 epochs each (every record through the repository)
    const imported = await timed(async () => {
      for (let from = 1; from <= E; from += 100) {
        const attestations = [];
        for (let e = from; e < Math.min(from + 100, E + 1); e++) for (const pubkey of pubkeys) attestations.push({ pubkey, sourceEpoch: e - 1, targetEpoch: e, signingRoot: rootOf(e) });
        const outcome = await history.record({ kind: 'ImportHistory', attestations, blocks: [] }, `bench-import-${E}-${from}`);
        if (!outcome.ok) throw new Error('import conflicted');
      }
    });
    const entries = history.lastSequences().filter((s) => s > 0).length;
    line(`history written through the repository: ${(imported.ms / 1000).toFixed(1)} s (${Math.round((V * E) / (imported.ms / 1000)).toLocaleString('en')} records/s, ${entries} shards)`);

    // domain: check a duty set for the next epoch
    const checks: number[] = [];
    for (let i = 0; i < CHECK_RUNS; i++) {
      const attempts = duty(E + 1);
      const t = performance.now();
      const { verdicts } = answerSlashingCheck(history, { attempts });
      checks.push(performance.now() - t);
      if (verdicts.some((v) => !v.ok)) throw new Error('a fresh duty was refused');
    }
    line(`domain check, duty set of ${V}:                 ${stats(checks, V)}`);

    // baseline: the walking skeleton's scan on the same history (capped: it is O(E) per validator)
    const naive = naiveChecks(history, E);
    line(`  baseline: O(history) scan (walking skeleton):  ${stats(naive, V)}`);

    // worst case: an attempt below the highest source leaves the O(1) path and scans the
    // validator's rows; this one surrounds only the newest vote, so the scan runs to the end
    const worst: number[] = [];
    for (let i = 0; i < CHECK_RUNS; i++) {
      const pubkey = pubkeys[i % V] as Hex;
      const t = performance.now();
      const { verdicts } = answerSlashingCheck(history, { attempts: [{ pubkey, sourceEpoch: Math.max(0, E - 2), targetEpoch: E + 5, signingRoot: rootOf(E + 5, 1) }] });
      worst.push(performance.now() - t);
      if (E > 1 && verdicts[0]?.ok !== false) throw new Error('the worst-case probe should be refused as a surround');
    }
    const sortedWorst = [...worst].sort((a, b) => a - b);
    line(`  worst case, one out-of-order attempt (scan):    p50 ${(percentile(sortedWorst, 50) * 1000).toFixed(1)} µs  p99 ${(percentile(sortedWorst, 99) * 1000).toFixed(1)} µs`);

    // JetStream: record duty sets (decide, 16 shard appends with expected sequence, fold)
    const records: number[] = [];
    for (let i = 0; i < RECORD_RUNS; i++) {
      const epoch = E + 1 + i;
      const t = performance.now();
      const outcome = await history.record({ kind: 'RecordAttestations', attempts: duty(epoch) }, `bench-record-${E}-${epoch}`);
      records.push(performance.now() - t);
      if (!outcome.ok || outcome.events.some((e) => e.kind === 'AttestationsRefused')) throw new Error('a fresh duty was not recorded');
    }
    line(`record through JetStream, duty set of ${V}:     ${stats(records, V)}`);

    // rebuild from the stream, with the old view released first (at 10,000 epochs two do not fit the default heap)
    const lastSeqs = history.lastSequences();
    history = undefined as unknown as SlashingHistory;
    await collectGarbage();
    const rebuilt = await timed(() => SlashingHistory.load(store, network));
    if (JSON.stringify(rebuilt.value.lastSequences()) !== JSON.stringify(lastSeqs)) throw new Error('the rebuilt view does not end where the writer did');
    const heapMb = await heapOf(rebuilt);
    const total = V * (E + RECORD_RUNS);
    line(
      `rebuild from the stream (import-shaped):        ${(rebuilt.ms / 1000).toFixed(2)} s (${Math.round(total / (rebuilt.ms / 1000)).toLocaleString('en')} records/s); heap of the rebuilt view ≈ ${heapMb.toFixed(0)} MB`,
    );

    // snapshots of every shard, taken by a view of the same history at once (a guard does so every
    // SNAPSHOT_EVERY entries of a shard, in the background; here none is due, so all are timed together)
    let withSnapshots = await SlashingHistory.load(store, network, { snapshots, snapshotEvery: Number.POSITIVE_INFINITY });
    snapshotBytes = 0;
    snapshotWrites = 0;
    const written = await timed(() => withSnapshots.snapshotNow());
    const writtenBytes = snapshotBytes;
    const writtenCount = snapshotWrites;
    for (let i = 0; i < TAIL_DUTIES; i++) {
      const outcome = await withSnapshots.record({ kind: 'RecordAttestations', attempts: duty(E + 1 + RECORD_RUNS + i) }, `bench-tail-${E}-${i}`);
      if (!outcome.ok) throw new Error('a tail duty was not recorded');
    }
    await withSnapshots.snapshotsWritten();
    const tailSeqs = withSnapshots.lastSequences();
    const probe = [...duty(E + RECORD_RUNS + TAIL_DUTIES + 1), ...duty(E).map((a) => ({ ...a, signingRoot: rootOf(E, 1) }))];
    const answers = JSON.stringify(answerSlashingCheck(withSnapshots, { attempts: probe }));
    const tailEntries = tailSeqs.reduce((n, seq, shard) => n + (seq > (lastSeqs[shard] ?? 0) ? 1 : 0), 0) * TAIL_DUTIES;
    withSnapshots = undefined as unknown as SlashingHistory;
    await collectGarbage();
    const restarted = await timed(() => SlashingHistory.load(store, network, { snapshots }));
    if (JSON.stringify(restarted.value.lastSequences()) !== JSON.stringify(tailSeqs)) throw new Error('the view restored from snapshots does not end where the writer did');
    if (JSON.stringify(answerSlashingCheck(restarted.value, { attempts: probe })) !== answers) throw new Error('the view restored from snapshots answers differently');
    const restartHeapMb = await heapOf(restarted);
    line(
      `rebuild from snapshots + a tail of ${TAIL_DUTIES} duty sets (~${tailEntries} entries): ${(restarted.ms / 1000).toFixed(2)} s; ` +
        `${writtenCount} shard snapshots of ${mb(writtenBytes)} MB in all, written in ${(written.ms / 1000).toFixed(2)} s; heap of the restored view ≈ ${restartHeapMb.toFixed(0)} MB`,
    );
  }

  // rebuild of a duty-shaped history: as the guard writes it, one entry per slot and shard
  {
    const network: Hex = `0x${'d0'.repeat(4)}${'5a'.repeat(28)}`;
    // as in operation: the guard snapshots each shard every DUTY_SNAPSHOT_EVERY of its entries, in the background
    const history = await SlashingHistory.load(store, network, { snapshots, snapshotEvery: DUTY_SNAPSHOT_EVERY });
    snapshotWrites = 0;
    const written = await timed(async () => {
      for (let epoch = 1; epoch <= DUTY_SHAPED_EPOCHS; epoch++) {
        const all = duty(epoch);
        const perSlot = Math.ceil(V / SLOTS_PER_EPOCH);
        await Promise.all(
          Array.from({ length: SLOTS_PER_EPOCH }, (_, slot) => all.slice(slot * perSlot, (slot + 1) * perSlot)).map((attempts, slot) =>
            history.record({ kind: 'RecordAttestations', attempts }, `bench-duty-${epoch}-${slot}`),
          ),
        );
      }
    });
    await history.snapshotsWritten();
    const dutySnapshotWrites = snapshotWrites;
    let entries = 0;
    for await (const _ of store.read(`cohort.slashing.${network.slice(2, 18)}.*`)) entries++;
    const rebuilt = await timed(() => SlashingHistory.load(store, network));
    const restarted = await timed(() => SlashingHistory.load(store, network, { snapshots }));
    if (JSON.stringify(restarted.value.lastSequences()) !== JSON.stringify(rebuilt.value.lastSequences())) throw new Error('the view restored from snapshots does not end where the full fold did');
    const perEpoch = entries / DUTY_SHAPED_EPOCHS;
    line(
      `\n== duty-shaped history: ${V} validators × ${DUTY_SHAPED_EPOCHS} epochs as ${entries.toLocaleString('en')} entries (${perEpoch.toFixed(0)}/epoch, written in ${(written.ms / 1000).toFixed(1)} s)`,
    );
    line(
      `rebuild: ${(rebuilt.ms / 1000).toFixed(2)} s = ${Math.round(entries / (rebuilt.ms / 1000)).toLocaleString('en')} entries/s; ` +
        `extrapolated to 10,000 epochs (${Math.round(perEpoch * 10000).toLocaleString('en')} entries): ${((rebuilt.ms / DUTY_SHAPED_EPOCHS) * 10000 / 1000).toFixed(0)} s`,
    );
    const worstTail = 16 * DUTY_SNAPSHOT_EVERY;
    line(
      `restart from the snapshots the guard wrote (${dutySnapshotWrites} written, one every ${DUTY_SNAPSHOT_EVERY} entries of a shard): ${(restarted.ms / 1000).toFixed(2)} s; ` +
        `the tail is at most ${worstTail.toLocaleString('en')} entries (16 shards × ${DUTY_SNAPSHOT_EVERY}) ≈ ${(worstTail / (entries / (rebuilt.ms / 1000))).toFixed(1)} s at the rate above, whatever the history's length`,
    );
  }
} finally {
  await store.close();
  await snapshotConnection.close();
  await server.stop();
}
