import { Subjects, type CohortEvent, type Hex, type SlotTiming } from '#lib/contracts';
import { createMemoryEventStore } from '#lib/event-store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventLog, ensureCohortStreams, readEvents } from './event-log.js';
import { PeerRefusalLog, PeerRefusalWindows, peerRefusalDiscriminator, MAX_REFUSAL_DETAIL_CHARS, type PeerRefusal } from './peer-refusals.js';

const timing: SlotTiming = { genesisTimeMs: 1_000_000, secondsPerSlot: 12, slotsPerEpoch: 32 };
const slotMs = (slot: number, offsetMs = 0) => timing.genesisTimeMs + slot * 12_000 + offsetMs;
const clusterHash = `0x${'ab'.repeat(32)}` as Hex;
const equivocation: PeerRefusal = { peer: 3, protocol: 'qbft', reason: 'equivocation', detail: 'PRE-PREPARE round 1', duty: { slot: 10, type: 'attester' } };
const wrongCluster: PeerRefusal = { peer: 3, protocol: 'qbft', reason: 'wrong_cluster' };

describe('PeerRefusalWindows: one summary per (peer, protocol, reason, duty) and slot', () => {
  it('counts a flood of one key in one slot as one summary, with the first and last arrival and the first detail', () => {
    const w = new PeerRefusalWindows(timing);
    expect(w.add(equivocation, slotMs(10, 100))).toBe(true);
    for (let i = 1; i < 1000; i++) expect(w.add({ ...equivocation, detail: `other ${i}` }, slotMs(10, 100 + i))).toBe(false);
    expect(w.take(11)).toEqual([
      {
        duty: { slot: 10, type: 'attester' },
        windowSlot: 10,
        data: {
          peer: 3,
          protocol: 'qbft',
          reason: 'equivocation',
          count: 1000,
          firstAt: new Date(slotMs(10, 100)).toISOString(),
          lastAt: new Date(slotMs(10, 1099)).toISOString(),
          detail: 'PRE-PREPARE round 1',
        },
      },
    ]);
    expect(w.take()).toEqual([]);
  });

  it('keeps peers, protocols, reasons, duties and slots apart; a refusal without a duty is placed in its slot with duty type none', () => {
    const w = new PeerRefusalWindows(timing);
    w.add(equivocation, slotMs(10));
    w.add({ ...equivocation, peer: 2 }, slotMs(10));
    w.add({ ...equivocation, reason: 'duplicate' }, slotMs(10));
    w.add({ ...equivocation, duty: { slot: 10, type: 'proposer' } }, slotMs(10));
    w.add(equivocation, slotMs(11)); // the same duty's refusals in its next slot: another window
    w.add(wrongCluster, slotMs(10));
    w.add({ ...wrongCluster, protocol: 'parsig' }, slotMs(10));
    w.add({ peer: null, protocol: 'connection', reason: 'unknown_peer', detail: 'from 16Uiu2…' }, slotMs(10));
    const summaries = w.take();
    expect(summaries).toHaveLength(8);
    expect(summaries.every((s) => s.data.count === 1)).toBe(true);
    expect(summaries.filter((s) => s.duty.type === 'none').map((s) => [s.duty.slot, s.data.reason, s.data.protocol])).toEqual([
      [10, 'wrong_cluster', 'qbft'],
      [10, 'wrong_cluster', 'parsig'],
      [10, 'unknown_peer', 'connection'],
    ]);
    // no two summaries share an event id (EventLog: node:service:type:duty:discriminator)
    const ids = summaries.map((s) => `${s.duty.slot}/${s.duty.type}:${peerRefusalDiscriminator(s)}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('10/attester:w11:3:qbft:equivocation');
  });

  it('takes only the windows before the given slot, oldest first', () => {
    const w = new PeerRefusalWindows(timing);
    w.add(wrongCluster, slotMs(12));
    w.add(wrongCluster, slotMs(10));
    w.add(wrongCluster, slotMs(11));
    expect(w.earliestWindow()).toBe(10);
    expect(w.take(12).map((s) => s.windowSlot)).toEqual([10, 11]);
    expect(w.earliestWindow()).toBe(12);
  });

  it('bounds the keys a peer can spread its refusals over: past maxDutyKeys duties in a slot, refusals count outside any duty', () => {
    const w = new PeerRefusalWindows(timing, 2);
    for (let slot = 0; slot < 50; slot++) w.add({ ...equivocation, duty: { slot, type: 'attester' } }, slotMs(10));
    const summaries = w.take();
    expect(summaries.map((s) => [s.duty.slot, s.duty.type, s.data.count])).toEqual([
      [0, 'attester', 1],
      [1, 'attester', 1],
      [10, 'none', 48],
    ]);
    // The bound is per window: the next slot has room again.
    w.add({ ...equivocation, duty: { slot: 7, type: 'attester' } }, slotMs(11));
    expect(w.take()[0]?.duty).toEqual({ slot: 7, type: 'attester' });
  });

  it('keeps a detail to one printable line of bounded length', () => {
    const w = new PeerRefusalWindows(timing);
    w.add({ ...wrongCluster, detail: `a\nb\u0000c${'x'.repeat(1000)}` }, slotMs(1));
    const detail = w.take()[0]?.data.detail ?? '';
    expect(detail.startsWith('a b c')).toBe(true);
    expect(detail).toHaveLength(MAX_REFUSAL_DETAIL_CHARS);
  });
});

describe('PeerRefusalLog: appends each window once it has ended', () => {
  afterEach(() => vi.useRealTimers());

  async function setup(startMs: number) {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(startMs);
    const store = createMemoryEventStore();
    await ensureCohortStreams(store);
    const events = new EventLog({ store, node: 'node0', service: 'consensus', clusterHash });
    const append = vi.spyOn(events, 'record');
    const log = new PeerRefusalLog({ events, timing });
    return { store, log, append };
  }

  it('a flood within a slot is one append, made when the slot ends; the next slot is another', async () => {
    const { store, log, append } = await setup(slotMs(10, 500));
    for (let i = 0; i < 500; i++) log.refuse(wrongCluster);
    await vi.advanceTimersByTimeAsync(11_000);
    expect(append).not.toHaveBeenCalled();
    log.refuse(wrongCluster); // still slot 10
    await vi.advanceTimersByTimeAsync(600); // slot 11 starts
    expect(append).toHaveBeenCalledTimes(1);
    log.refuse(wrongCluster);
    await vi.advanceTimersByTimeAsync(12_000);
    const recorded = (await readEvents(store)) as CohortEvent<'PeerMessageRefused'>[];
    expect(recorded.map((e) => [e.duty, e.data.count, e.id])).toEqual([
      [{ slot: 10, type: 'none' }, 501, 'node0:consensus:PeerMessageRefused:10/none:w10:3:qbft:wrong_cluster'],
      [{ slot: 11, type: 'none' }, 1, 'node0:consensus:PeerMessageRefused:11/none:w11:3:qbft:wrong_cluster'],
    ]);
    // outside any duty: no duty trace, no validators, and on the `none` subject token
    expect(recorded[0]).not.toHaveProperty('traceparent');
    expect(recorded[0]?.pubkeys).toEqual([]);
    const onSubject = [];
    for await (const s of store.read(Subjects.event({ slot: 10, type: 'none' }, 'consensus', 'PeerMessageRefused'))) onSubject.push(s);
    expect(onSubject).toHaveLength(1);
  });

  it('says which refusal is the first of its key in the slot, so callers log once', async () => {
    const { log } = await setup(slotMs(3));
    expect([log.refuse(equivocation), log.refuse(equivocation), log.refuse(wrongCluster)]).toEqual([true, false, true]);
    await log.close();
  });

  it('close() appends what is pending under a distinct id, and refuses nothing afterwards', async () => {
    const { store, log } = await setup(slotMs(20, 100));
    log.refuse(equivocation);
    await log.close();
    expect(log.refuse(equivocation)).toBe(false);
    await vi.advanceTimersByTimeAsync(24_000);
    const recorded = await readEvents(store);
    expect(recorded.map((e) => e.id)).toEqual(['node0:consensus:PeerMessageRefused:10/attester:w20:3:qbft:equivocation:final']);
    expect(recorded[0]).toHaveProperty('traceparent');
  });

  it('an append that fails is reported and does not stop later windows', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(slotMs(5));
    const errors: unknown[] = [];
    const record = vi.fn().mockRejectedValueOnce(new Error('nats down')).mockResolvedValue(undefined);
    const log = new PeerRefusalLog({ events: { record } as unknown as EventLog, timing, onError: (e) => errors.push(e) });
    log.refuse(wrongCluster);
    await vi.advanceTimersByTimeAsync(12_000);
    log.refuse(wrongCluster);
    await vi.advanceTimersByTimeAsync(12_000);
    expect(errors.map(String)).toEqual(['Error: nats down']);
    expect(record).toHaveBeenCalledTimes(2);
  });
});
