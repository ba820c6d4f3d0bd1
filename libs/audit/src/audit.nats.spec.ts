import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnyCohortEvent, type EventPayloads, type Hex, type ServiceName } from '#lib/contracts';
import { EventLog, ensureCohortStreams } from '#lib/event-log';
import { connectJetStreamEventStore, type EventStore } from '#lib/event-store';
import { startNatsServer, waitFor, type NatsServerHandle } from '#lib/test-support';
import { DUTY, GENESIS_MS, SECONDS_PER_SLOT, VALIDATORS, insufficientPartialsRun, noConsensusRun, successRun } from './duty-events.fixture.js';
import { arrayEventSource, collectEvents, type EventSource } from './event-source.js';
import { explain } from './explain.js';
import { exportEvents } from './export.js';
import { fileEventSource } from './file-source.js';
import { connectEventSource } from './jetstream-source.js';
import type { EventQuery } from './query.js';

/**
 * The read side against a real nats-server: events recorded through EventLog (the envelope and
 * subjects every service writes) are queried back with server-side subject filters, exported
 * to a file, and explained identically from the file and from NATS.
 */
const clusterHash = `0x${'ab'.repeat(32)}` as Hex;
const timing = { genesisTimeMs: GENESIS_MS, secondsPerSlot: SECONDS_PER_SLOT };

let server: NatsServerHandle;
let store: EventStore;
let nats: EventSource;
let dir: string;
/** What EventLog.record returned, in record order: the envelopes as stored. */
const recorded: AnyCohortEvent[] = [];

/** A fixture run moved to another slot (times move with it), as `node`. */
function atSlot(events: readonly AnyCohortEvent[], slot: number, node = 'node0'): AnyCohortEvent[] {
  const shiftMs = (slot - DUTY.slot) * SECONDS_PER_SLOT * 1000;
  return events.map((e) => ({ ...e, duty: { ...e.duty, slot }, time: new Date(Date.parse(e.time) + shiftMs).toISOString(), producer: { ...e.producer, node } })) as AnyCohortEvent[];
}

async function record(events: readonly AnyCohortEvent[]): Promise<void> {
  const logs = new Map<string, EventLog>();
  let now = new Date(0);
  for (const e of events) {
    const key = `${e.producer.node}/${e.producer.service}`;
    const log = logs.get(key) ?? new EventLog({ store, node: e.producer.node, service: e.producer.service as ServiceName, clusterHash, now: () => now });
    logs.set(key, log);
    now = new Date(e.time);
    // the fixture ids follow EventLog's scheme: node:service:type:slot/type[:discriminator]
    const discriminator = e.id.split(':').slice(4).join(':');
    recorded.push(
      (await log.record(e.type, e.duty, e.pubkeys, e.data as EventPayloads[typeof e.type], discriminator ? { discriminator } : {})) as AnyCohortEvent,
    );
  }
}

beforeAll(async () => {
  server = await startNatsServer();
  store = await connectJetStreamEventStore({ servers: server.url, name: 'audit-spec' });
  await ensureCohortStreams(store);
  dir = mkdtempSync(join(tmpdir(), 'cohort-audit-nats-'));
  await record([...atSlot(successRun(), 100), ...atSlot(insufficientPartialsRun(), 101), ...atSlot(noConsensusRun(), 102), ...atSlot(successRun(), 103, 'node1')]);
  nats = await connectEventSource(server.url);
});

afterAll(async () => {
  await nats?.close();
  await store?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit on a real nats-server', () => {
  it('queries by slot range, epoch, service, type, validator and node: the same as filtering the recorded envelopes', async () => {
    const queries: EventQuery[] = [
      {},
      { slots: { from: 101, to: 101 } },
      { slots: { from: 100, to: 102 }, service: 'aggregator' },
      { slots: { from: 0, to: 10_000 }, eventType: 'DutyFailed' }, // wide: one wildcard subject, range applied client-side
      { eventType: 'PartialSignaturesRejected', validator: VALIDATORS[2] as Hex },
      { node: 'node1', service: 'consensus' },
      { slots: { from: 96, to: 127 }, dutyType: 'attester', eventType: 'Broadcast' },
    ];
    for (const query of queries) {
      const fromNats = await collectEvents(nats, query);
      expect(fromNats, JSON.stringify(query)).toEqual(await collectEvents(arrayEventSource(recorded), query));
    }
    expect((await collectEvents(nats, { eventType: 'DutyFailed' })).map((e) => [e.duty.slot, e.type === 'DutyFailed' && e.data.reason])).toEqual([
      [101, 'insufficient_partial_signatures'],
      [102, 'no_consensus'],
    ]);
    expect(await collectEvents(nats, { slots: { from: 104, to: 200 } })).toEqual([]);
  });

  it('exports to a file; explain from the file equals explain from NATS', async () => {
    const file = join(dir, 'slots-100-103.ndjson.gz');
    const query: EventQuery = { slots: { from: 100, to: 103 } };
    const result = await exportEvents(nats, query, file);
    expect(result.events).toBe(recorded.length);
    const fromFile = fileEventSource(file);
    expect(await collectEvents(fromFile)).toEqual(recorded);

    const expected = { 100: 'succeeded', 101: 'insufficient_partial_signatures', 102: 'no_consensus' } as const;
    for (const [slot, outcome] of Object.entries(expected)) {
      const duty = { slot: Number(slot), type: 'attester' as const };
      const dutyQuery: EventQuery = { slots: { from: duty.slot, to: duty.slot }, dutyType: 'attester' };
      const viaNats = explain(await collectEvents(nats, dutyQuery), duty, { timing, operators: 4 });
      const viaFile = explain(await collectEvents(fromFile, dutyQuery), duty, { timing, operators: 4 });
      expect(viaFile).toEqual(viaNats);
      expect(viaNats.verdict === 'succeeded' ? 'succeeded' : viaNats.failures[0]?.reason).toBe(outcome);
      // the recorded times survive the trip: the fixture's +4002 ms consensus start, relative to the slot start
      expect(viaNats.consensus.started?.atMs).toBe(4002);
    }
    // slot 103 is node1's; per validator from either source
    const duty = { slot: 103, type: 'attester' as const };
    const v = VALIDATORS[0] as Hex;
    const viaFile = explain(await collectEvents(fromFile, { slots: { from: 103, to: 103 } }), duty, { validator: v });
    expect(viaFile).toEqual(explain(await collectEvents(nats, { slots: { from: 103, to: 103 } }), duty, { validator: v }));
    expect(viaFile).toMatchObject({ node: 'node1', verdict: 'succeeded' });
  });

  it('follow: prints the history, then events as they are recorded', async () => {
    const seen: AnyCohortEvent[] = [];
    const stop = new AbortController();
    const following = nats.follow?.({ slots: { from: 100, to: 110 }, service: 'aggregator' }, (e) => void seen.push(e), stop.signal);
    const history = recorded.filter((e) => e.duty.slot <= 110 && e.producer.service === 'aggregator');
    await waitFor(() => seen.length >= history.length, 5000);
    const before = recorded.length;
    await record(atSlot(noConsensusRun(), 104));
    const added = recorded.slice(before).filter((e) => e.producer.service === 'aggregator');
    await waitFor(() => seen.length >= history.length + added.length, 5000);
    stop.abort();
    await following;
    expect(seen.map((e) => e.id)).toEqual([...history, ...added].map((e) => e.id));
  });
});
