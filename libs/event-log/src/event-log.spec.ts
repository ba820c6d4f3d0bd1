import { Subjects, dutyId, type CohortEvent, type Duty, type Hex } from '#lib/contracts';
import { createMemoryEventStore, type EventStore } from '#lib/event-store';
import { dutyTraceparent } from '#lib/observability';
import { describe, expect, it } from 'vitest';
import { EventLog, ensureCohortStreams, onNetwork, readEvents } from './event-log.js';

const clusterHash = `0x${'ab'.repeat(32)}` as Hex;
const pubkey = `0x${'c1'.repeat(48)}` as Hex;
const duty: Duty = { slot: 1234, type: 'attester' };
const otherDuty: Duty = { slot: 1235, type: 'attester' };
const fixedTime = new Date('2025-01-02T03:04:05.000Z');

async function setup(): Promise<EventStore> {
  const store = createMemoryEventStore();
  await ensureCohortStreams(store);
  return store;
}

const logOf = (store: EventStore, node: string, service: 'consensus' | 'aggregator' | 'slashing-guard') =>
  new EventLog({ store, node, service, clusterHash, now: () => fixedTime });

/** Lets the memory store's microtask-driven subscriptions deliver. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('EventLog.record', () => {
  it('builds the envelope and appends it on the event subject', async () => {
    const store = await setup();
    const log = logOf(store, 'node0', 'consensus');
    const event = await log.record('ConsensusStarted', duty, [pubkey], { round: 1, leader: 2 }, { causationId: 'cause-1' });

    expect(event).toEqual({
      id: `node0:consensus:ConsensusStarted:${dutyId(duty)}`,
      type: 'ConsensusStarted',
      version: 1,
      duty,
      pubkeys: [pubkey],
      correlationId: dutyId(duty),
      causationId: 'cause-1',
      traceparent: dutyTraceparent(clusterHash, duty, 'consensus'),
      producer: { node: 'node0', service: 'consensus' },
      time: fixedTime.toISOString(),
      data: { round: 1, leader: 2 },
    });

    const stored = [];
    for await (const s of store.read<CohortEvent>(Subjects.event(duty, 'consensus', 'ConsensusStarted'))) stored.push(s);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.subject).toBe(Subjects.event(duty, 'consensus', 'ConsensusStarted'));
    expect(stored[0]?.msgId).toBe(event.id);
    expect(stored[0]?.data).toEqual(event);
  });

  it('derives the id from node, service, type, duty and discriminator', async () => {
    const store = await setup();
    const a = await logOf(store, 'node0', 'consensus').record('RoundChanged', duty, [], { from: 1, to: 2, reason: 'timeout' }, { discriminator: 'r2' });
    const b = await logOf(store, 'node0', 'consensus').record('RoundChanged', duty, [], { from: 2, to: 3, reason: 'timeout' }, { discriminator: 'r3' });
    const c = await logOf(store, 'node1', 'consensus').record('RoundChanged', duty, [], { from: 1, to: 2, reason: 'timeout' }, { discriminator: 'r2' });
    expect(a.id).toBe(`node0:consensus:RoundChanged:${dutyId(duty)}:r2`);
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    expect(a).not.toHaveProperty('causationId');
    expect(await readEvents(store)).toHaveLength(3);
  });

  it('stores an event recorded twice once (a retried append is deduplicated)', async () => {
    const store = await setup();
    const log = logOf(store, 'node0', 'aggregator');
    const first = await log.record('Broadcast', duty, [pubkey], { count: 1 });
    const second = await log.record('Broadcast', duty, [pubkey], { count: 1 });
    expect(second.id).toBe(first.id);
    const events = await readEvents(store);
    expect(events).toHaveLength(1);
    expect(events[0]?.id).toBe(first.id);
  });
});

describe('EventLog.on', () => {
  it('delivers only events of the given type, from any producer', async () => {
    const store = await setup();
    const listener = logOf(store, 'node0', 'aggregator');
    const received: CohortEvent<'DutyDecided'>[] = [];
    const subscription = await listener.on('DutyDecided', (event) => {
      received.push(event);
    });

    const value = { type: 'attester', byCommittee: {} } as const;
    const valueHash = `0x${'0f'.repeat(32)}` as Hex;
    await logOf(store, 'node0', 'consensus').record('ConsensusStarted', duty, [], { round: 1, leader: 0 });
    await logOf(store, 'node0', 'consensus').record('DutyDecided', duty, [pubkey], { round: 1, valueHash, value });
    await logOf(store, 'node1', 'slashing-guard').record('ProposalApproved', duty, [pubkey], { valueHash });
    await logOf(store, 'node1', 'consensus').record('DutyDecided', otherDuty, [pubkey], { round: 2, valueHash, value });
    await settle();
    await subscription.close();

    expect(received.map((e) => [e.type, e.producer.node, e.duty.slot])).toEqual([
      ['DutyDecided', 'node0', 1234],
      ['DutyDecided', 'node1', 1235],
    ]);
    expect(received[0]?.data.valueHash).toBe(valueHash);
  });

  it('replays from the start when asked', async () => {
    const store = await setup();
    const log = logOf(store, 'node0', 'aggregator');
    await log.record('Broadcast', duty, [], { count: 2 });
    const fromNew: number[] = [];
    const fromStart: number[] = [];
    const a = await log.on('Broadcast', (e) => void fromNew.push(e.data.count));
    const b = await log.on('Broadcast', (e) => void fromStart.push(e.data.count), 'start');
    await log.record('Broadcast', otherDuty, [], { count: 5 });
    await settle();
    await Promise.all([a.close(), b.close()]);
    expect(fromNew).toEqual([5]);
    expect(fromStart).toEqual([2, 5]);
  });
});

describe('EventLog bound to a network (a reset starts the slots again)', () => {
  const oldRoot = `0x${'01'.repeat(32)}` as Hex;
  const newRoot = `0x${'02'.repeat(32)}` as Hex;
  const valueHash = `0x${'0f'.repeat(32)}` as Hex;
  const value = { type: 'attester', byCommittee: {} } as const;

  it('names the network in the envelope and the message id, so one duty id is stored once per network', async () => {
    const store = await setup();
    const before = logOf(store, 'node0', 'consensus');
    before.bindNetwork(oldRoot);
    const after = logOf(store, 'node0', 'consensus');
    after.bindNetwork(newRoot);
    const a = await before.record('DutyDecided', duty, [pubkey], { round: 1, valueHash, value });
    const b = await after.record('DutyDecided', duty, [pubkey], { round: 1, valueHash, value });
    await after.record('DutyDecided', duty, [pubkey], { round: 1, valueHash, value }); // a retry on the new network
    expect(a.id).toBe(b.id);
    expect([a.network, b.network]).toEqual([oldRoot, newRoot]);
    const stored = [];
    for await (const s of store.read<CohortEvent>(Subjects.allEvents)) stored.push(s);
    expect(stored.map((s) => [s.msgId, s.data.network])).toEqual([
      [`${a.id}@${oldRoot}`, oldRoot],
      [`${b.id}@${newRoot}`, newRoot],
    ]);
  });

  it('delivers its own network\'s events and those recorded before networks were, never another network\'s', async () => {
    const store = await setup();
    const old = logOf(store, 'node0', 'consensus');
    old.bindNetwork(oldRoot);
    await old.record('DutyDecided', duty, [pubkey], { round: 1, valueHash, value });
    await logOf(store, 'node0', 'consensus').record('DutyDecided', otherDuty, [pubkey], { round: 2, valueHash, value });
    const current = logOf(store, 'node0', 'consensus');
    current.bindNetwork(newRoot);
    await current.record('DutyDecided', duty, [pubkey], { round: 3, valueHash, value });
    const listener = logOf(store, 'node0', 'slashing-guard');
    listener.bindNetwork(newRoot);
    const rounds: number[] = [];
    const subscription = await listener.on('DutyDecided', (e) => void rounds.push(e.data.round), 'start');
    await settle();
    await subscription.close();
    expect(rounds).toEqual([2, 3]);
    expect(onNetwork({ network: oldRoot }, undefined)).toBe(true);
  });
});

describe('readEvents', () => {
  it('reads all events in append order, or one duty with Subjects.eventsOfDuty', async () => {
    const store = await setup();
    const consensus = logOf(store, 'node0', 'consensus');
    const aggregator = logOf(store, 'node0', 'aggregator');
    await consensus.record('ConsensusStarted', duty, [], { round: 1, leader: 0 });
    await consensus.record('ConsensusStarted', otherDuty, [], { round: 1, leader: 1 });
    await aggregator.record('Broadcast', duty, [pubkey], { count: 1 });
    await aggregator.record('BroadcastFailed', otherDuty, [pubkey], { reason: 'bn_broadcast_failed', detail: 'ECONNREFUSED' });

    const all = await readEvents(store);
    expect(all.map((e) => `${e.duty.slot}:${e.type}`)).toEqual(['1234:ConsensusStarted', '1235:ConsensusStarted', '1234:Broadcast', '1235:BroadcastFailed']);

    const ofDuty = await readEvents(store, Subjects.eventsOfDuty(duty));
    expect(ofDuty.map((e) => e.type)).toEqual(['ConsensusStarted', 'Broadcast']);
    expect(ofDuty.every((e) => e.correlationId === dutyId(duty))).toBe(true);
  });

  it('returns nothing for an empty log', async () => {
    expect(await readEvents(await setup())).toEqual([]);
  });
});
