import { parseArgs } from 'node:util';
import { arrayEventSource, storeEventSource, subjectFilters } from '#lib/audit';
import { Subjects, type AnyCohortEvent } from '#lib/contracts';
import { connectJetStreamEventStore } from '#lib/event-store';
import { ensureCohortStreams } from '#lib/event-log';
import { startNatsServer } from '#lib/test-support';
import { recordedEpochs } from '../apps/cli/src/replay/recorded-epoch.fixture.js';
import { replay } from '../apps/cli/src/replay/index.js';

/**
 * `cohort replay` throughput: one recorded attester epoch of V validators (32 slots, duties
 * spread evenly, 4 committees a slot, share signatures from all 4 operators, as node0 records
 * it), replayed through the slashing guard and aggregation deciders — from memory (the engine
 * alone) and from a JetStream stream (read + engine, what `cohort replay --nats` does). Baseline
 * measured in the same run: the raw ordered read of the same events from the same stream.
 *
 *   npm run build --silent && node dist/bench/replay.js [--quick] [--validators 1000] [--runs 3]
 */
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, validators: { type: 'string' }, runs: { type: 'string' } } });
const quick = values.quick ?? false;
const V = Number(values.validators ?? (quick ? 250 : 1000));
const RUNS = Number(values.runs ?? (quick ? 1 : 3));
const SLOTS_PER_EPOCH = 32;
const EPOCH = 1;
const range = { from: EPOCH * SLOTS_PER_EPOCH, to: (EPOCH + 1) * SLOTS_PER_EPOCH - 1 };

const line = (text: string) => process.stdout.write(`${text}\n`);
const rate = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en');
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await run();
  return { ms: performance.now() - t, value };
}

line(`replay: 1 epoch (${SLOTS_PER_EPOCH} slots) × ${V} validators, 4 operators (t = 3), node0's log${quick ? ' (quick)' : ''}; median of ${RUNS} run(s)`);
const made = await timed(() => recordedEpochs({ validators: V, epochs: [EPOCH], slotsPerEpoch: SLOTS_PER_EPOCH, committeesPerSlot: 4 }));
const events: readonly AnyCohortEvent[] = made.value.events;
const bytes = events.reduce((n, e) => n + JSON.stringify(e).length, 0);
line(`synthesised ${events.length.toLocaleString('en')} events (${(bytes / 1e6).toFixed(1)} MB as JSON) in ${(made.ms / 1000).toFixed(1)} s`);

// engine alone, from memory
const memory: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const run = await timed(() => replay(arrayEventSource(events), { slots: range }));
  if (run.value.divergences !== 0) throw new Error(`the synthetic epoch diverged: ${JSON.stringify(run.value.firstDivergence)}`);
  memory.push(run.ms);
}
const report = await replay(arrayEventSource(events), { slots: range });
line(
  `engine (from memory): ${rate(events.length, median(memory))} events/s — ${(median(memory) / 1000).toFixed(2)} s for the epoch; ` +
    `${report.duties} duties, ${report.eventsCompared} recorded events compared, ${report.factsCompared} facts; ` +
    `${(median(memory) / V).toFixed(2)} ms per validator (a threshold recombination and a group-key verification each)`,
);

const server = await startNatsServer();
const store = await connectJetStreamEventStore({ servers: server.url, name: 'bench-replay' });
try {
  await ensureCohortStreams(store);
  const appended = await timed(async () => {
    const window = 256; // pipelined appends, in order per window
    for (let i = 0; i < events.length; i += window) {
      await Promise.all(events.slice(i, i + window).map((e) => store.append(Subjects.event(e.duty, e.producer.service, e.type), e, { msgId: e.id })));
    }
  });
  line(`appended to COHORT_EVENTS (file storage): ${rate(events.length, appended.ms)} events/s`);

  const raw: number[] = [];
  const fromStream: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let count = 0;
    const read = await timed(async () => {
      for await (const _ of store.read(subjectFilters({})[0] as string)) count++;
    });
    if (count !== events.length) throw new Error(`read ${count} of ${events.length} events`);
    raw.push(read.ms);
    const run = await timed(() => replay(storeEventSource(store, server.url), { slots: range }));
    if (run.value.divergences !== 0) throw new Error('the stored epoch diverged');
    fromStream.push(run.ms);
  }
  line(`baseline raw JetStream ordered read (same stream, same run): ${rate(events.length, median(raw))} events/s`);
  line(
    `replay from JetStream (per-slot subject reads + engine, as cohort replay --nats): ${rate(events.length, median(fromStream))} events/s — ` +
      `${(median(fromStream) / 1000).toFixed(2)} s for the epoch, ${(median(fromStream) / median(raw)).toFixed(1)}× the raw read`,
  );
} finally {
  await store.close();
  await server.stop();
}
