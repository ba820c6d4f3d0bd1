import { beforeAll, describe, expect, it } from 'vitest';
import { arrayEventSource } from '#lib/audit';
import type { AnyCohortEvent, AttesterUnsignedData, CohortEvent, EventType, Hex } from '#lib/contracts';
import { attestationDataRoot, valueHash } from '#lib/signing';
import { recordedEpochs, type RecordedEpoch } from './recorded-epoch.fixture.js';
import { AmbiguousReplayNetworkError, AmbiguousReplayNodeError, compareFacts, replay } from './replay.engine.js';
import { aggregatedFact } from './facts.js';

// 16 validators over 8 slots (the minimal preset's epoch), epochs 1 and 2: two per slot, two committees.
const SPE = 8;
let log: RecordedEpoch;

beforeAll(async () => {
  log = await recordedEpochs({ validators: 16, epochs: [1, 2], slotsPerEpoch: SPE });
});

const clone = (events: readonly AnyCohortEvent[]): AnyCohortEvent[] => structuredClone(events) as AnyCohortEvent[];
const find = <T extends EventType>(events: AnyCohortEvent[], type: T, slot: number): CohortEvent<T> => {
  const e = events.find((x) => x.type === type && x.duty.slot === slot);
  if (!e) throw new Error(`no ${type} at slot ${slot}`);
  return e as unknown as CohortEvent<T>;
};
const epochs12 = { from: SPE, to: 3 * SPE - 1 };

describe('replay (engine)', () => {
  it('replays a recorded log with no divergence, counting duties and compared events', async () => {
    const report = await replay(arrayEventSource(log.events), { slots: epochs12 });
    expect(report.firstDivergence).toBeUndefined();
    expect(report.divergences).toBe(0);
    expect(report.node).toBe('node0');
    expect(report.duties).toBe(16);
    // per duty (two committees of one validator): ProposalApproved, per committee 3 × PartialSignaturesRecorded and a SignaturesAggregated
    expect(report.eventsCompared).toBe(16 * (1 + 2 * 4));
    expect(report.eventsRead).toBe(log.events.length);
  });

  it('recombines the threshold signature: a tampered SignaturesAggregated is the first divergence, with both values', async () => {
    const events = clone(log.events);
    const target = find(events, 'SignaturesAggregated', SPE + 3);
    const victim = target.data.signatures[0] as { pubkey: Hex; signature: Hex };
    const genuine = victim.signature;
    const forged = `0x${'ab'.repeat(96)}` as Hex;
    (target.data.signatures as { pubkey: Hex; signature: Hex }[])[0] = { pubkey: victim.pubkey, signature: forged };
    const report = await replay(arrayEventSource(events), { slots: epochs12 });
    expect(report.divergences).toBe(1);
    expect(report.firstDivergence).toMatchObject({
      duty: { slot: SPE + 3, type: 'attester' },
      stage: 'aggregator',
      eventType: 'SignaturesAggregated',
      pubkey: victim.pubkey,
      recorded: `signature ${forged}`,
      replayed: `signature ${genuine}`,
      recordedEventId: target.id,
    });
    // the oracle (signed with the unsplit key) agrees with what the replay recombined
    expect(genuine).toBe(log.expectedSignatures.get(`${SPE + 3}/${victim.pubkey}`));
  });

  it('names a validator flipped out of a ProposalApproved: recorded nothing, replayed an approval', async () => {
    const events = clone(log.events);
    const approved = find(events, 'ProposalApproved', 2 * SPE + 5);
    const [dropped, ...kept] = approved.pubkeys;
    (approved as { pubkeys: readonly Hex[] }).pubkeys = kept;
    const report = await replay(arrayEventSource(events), { slots: epochs12 });
    expect(report.firstDivergence).toMatchObject({
      duty: { slot: 2 * SPE + 5 },
      stage: 'slashing-guard',
      eventType: 'ProposalApproved',
      pubkey: dropped,
      replayed: `approved value ${approved.data.valueHash}`,
    });
    expect(report.firstDivergence?.recorded).toBeUndefined();
  });

  it('rebuilds the slashing history from before the range: a double vote in the range is refused again', async () => {
    // slot 2·SPE+1 decides again for its validators, with another block root (same target epoch)
    const events = clone(log.events);
    const decided = find(events, 'DutyDecided', 2 * SPE + 1);
    const scheduled = find(events, 'DutyScheduled', 2 * SPE + 1);
    const later = { slot: 3 * SPE + 1, type: 'attester' as const }; // after the recorded epochs: no other duty at that slot
    const byCommittee = Object.fromEntries(Object.entries((decided.data.value as AttesterUnsignedData).byCommittee).map(([k, d]) => [k, { ...d, beacon_block_root: `0x${'99'.repeat(32)}` }]));
    const value = { type: 'attester' as const, byCommittee };
    const conflicting: AnyCohortEvent[] = [
      { ...scheduled, id: 'x:scheduled', duty: later, data: { duties: scheduled.data.duties.map((d) => ({ ...d, slot: later.slot })) } },
      { ...decided, id: 'x:decided', duty: later, data: { round: 1, valueHash: valueHash(value), value } },
    ] as AnyCohortEvent[];
    const refusal: AnyCohortEvent = {
      ...(decided as unknown as AnyCohortEvent),
      id: 'x:refused',
      type: 'ProposalRefused',
      duty: later,
      producer: { node: 'node0', service: 'slashing-guard' },
      data: { valueHash: valueHash(value), refusals: decided.pubkeys.map((pubkey) => ({ pubkey, reason: 'double_vote' })) },
    } as AnyCohortEvent;
    events.push(...conflicting, refusal);
    // the range holds only the later slot: the first vote is history, read from before the range
    const report = await replay(arrayEventSource(events), { slots: { from: later.slot, to: later.slot } });
    expect(report.historyEvents).toBeGreaterThan(0);
    expect(report.eventsCompared).toBeGreaterThan(0);
    expect(report.firstDivergence).toBeUndefined();
    expect(report.skippedAggregations).toBe(1); // this synthetic duty has no aggregator events of its own
    // and recording an approval instead is a divergence naming double_vote
    const approvedInstead = events.map((e) => (e.id === 'x:refused' ? ({ ...e, type: 'ProposalApproved', data: { valueHash: valueHash(value) } } as AnyCohortEvent) : e));
    const diverged = await replay(arrayEventSource(approvedInstead), { slots: { from: later.slot, to: later.slot } });
    expect(diverged.firstDivergence).toMatchObject({ stage: 'slashing-guard', eventType: 'ProposalApproved', recorded: `approved value ${valueHash(value)}` });
    expect(diverged.firstDivergence?.replayed).toBeUndefined();
    expect(diverged.divergences).toBe(2 * decided.pubkeys.length); // per validator: an approval not replayed, a double_vote refusal not recorded
    expect(attestationDataRoot(byCommittee['0'] as never)).not.toBe(attestationDataRoot((decided.data.value as AttesterUnsignedData).byCommittee['0'] as never));
  });

  it('replays peers\' verdicts and the deadline: an invalid share is rejected, too few shares fail with the catalog reason', async () => {
    const events = clone(log.events).filter((e) => e.duty.slot !== SPE + 2 || !(e.type === 'SignaturesAggregated' || e.type === 'Broadcast'));
    const slot = SPE + 2;
    const peers = events.filter((e): e is CohortEvent<'PeerPartialsReceived'> & AnyCohortEvent => e.type === 'PeerPartialsReceived' && e.duty.slot === slot);
    // share 3's partials arrive invalid (the verdict recorded with them) and share 4's never arrive
    const recordedBy = (share: number) => events.filter((e) => e.duty.slot === slot && e.type === 'PartialSignaturesRecorded' && e.data.shareIndex === share);
    const bad = new Set([...recordedBy(3), ...recordedBy(4)].map((e) => e.id));
    const kept = events.filter((e) => !bad.has(e.id) && !(e.type === 'PeerPartialsReceived' && e.duty.slot === slot && e.data.shareIndex === 4));
    for (const p of peers) if (p.data.shareIndex === 3) (p.data as { partials: unknown }).partials = p.data.partials.map((x) => ({ ...x, valid: false }));
    const pubkeys = find(kept, 'DutyScheduled', slot).pubkeys;
    const tail: AnyCohortEvent[] = peers
      .filter((p) => p.data.shareIndex === 3)
      .map((p) => ({ ...p, id: `${p.id}:rej`, type: 'PartialSignaturesRejected', data: { shareIndex: 3, rejections: p.pubkeys.map((pubkey) => ({ pubkey, reason: 'invalid_signature' })) } }) as AnyCohortEvent);
    tail.push({ ...(peers[0] as AnyCohortEvent), id: 'x:failed', type: 'DutyFailed', pubkeys, data: { reason: 'insufficient_partial_signatures', detail: `${pubkeys.length} validator(s) not aggregated by the deadline` } } as AnyCohortEvent);
    const report = await replay(arrayEventSource([...kept, ...tail]), { slots: { from: slot, to: slot } });
    expect(report.firstDivergence).toBeUndefined();
    expect(report.eventsCompared).toBe(1 + 2 + tail.length); // approved, share 2 recorded per committee, rejections + failure
    // a different reason recorded at the deadline is a divergence naming both reasons
    const wrong = [...kept, ...tail.map((e) => (e.id === 'x:failed' ? ({ ...e, data: { reason: 'no_local_signature', detail: '' } } as AnyCohortEvent) : e))];
    const diverged = await replay(arrayEventSource(wrong), { slots: { from: slot, to: slot } });
    expect(diverged.firstDivergence).toMatchObject({ eventType: 'DutyFailed', recorded: 'failed (no_local_signature)', replayed: 'failed (insufficient_partial_signatures)' });
  });

  it('replays an aggregate that fails under the group key (a share verified valid but not of this validator) as aggregate_invalid', async () => {
    const slot = SPE + 6;
    const events = clone(log.events);
    const [share2, share3] = [2, 3].map((share) => events.find((e) => e.type === 'PeerPartialsReceived' && e.duty.slot === slot && e.data.shareIndex === share) as CohortEvent<'PeerPartialsReceived'>);
    const victim = share2?.data.partials[0];
    if (!share2 || !share3 || !victim) throw new Error('fixture: no peer partials');
    // share 2's signature replaced by share 3's: a well-formed G2 point, recorded as verified (a verifier bug, say)
    (share2.data as { partials: unknown }).partials = [{ ...victim, signature: (share3.data.partials[0] as { signature: Hex }).signature }, ...share2.data.partials.slice(1)];
    const aggregated = events.find((e) => e.type === 'SignaturesAggregated' && e.duty.slot === slot && e.pubkeys.includes(victim.pubkey)) as CohortEvent<'SignaturesAggregated'>;
    const failed = { ...aggregated, id: 'x:invalid', type: 'DutyFailed', pubkeys: [victim.pubkey], data: { reason: 'aggregate_invalid', detail: 'combined signature does not verify under the group key' } } as unknown as AnyCohortEvent;
    const recorded = events.flatMap((e) => (e.id === aggregated.id ? [failed] : e.type === 'Broadcast' && e.duty.slot === slot && e.pubkeys.includes(victim.pubkey) ? [] : [e]));
    const report = await replay(arrayEventSource(recorded), { slots: { from: slot, to: slot } });
    expect(report.firstDivergence).toBeUndefined();
    // recording the (forged) aggregate as good instead is named
    const diverged = await replay(arrayEventSource(events), { slots: { from: slot, to: slot } });
    expect(diverged.firstDivergence).toMatchObject({ eventType: 'SignaturesAggregated', pubkey: victim.pubkey });
    expect(diverged.firstDivergence?.replayed).toBeUndefined();
  });

  it('skips the aggregation of a duty the aggregator sat out (nothing of its own recorded)', async () => {
    const slot = SPE + 4;
    const events = clone(log.events).filter((e) => !(e.duty.slot === slot && e.producer.service === 'aggregator'));
    const report = await replay(arrayEventSource(events), { slots: { from: slot, to: slot } });
    expect(report.skippedAggregations).toBe(1);
    expect(report.firstDivergence).toBeUndefined();
    expect(report.eventsCompared).toBe(1); // the slashing guard's approval is still replayed
  });

  it('refuses a source holding several nodes unless one is chosen', async () => {
    const other = clone(log.events.filter((e) => e.duty.slot === SPE)).map((e) => ({ ...e, producer: { ...e.producer, node: 'node1' } }) as AnyCohortEvent);
    const source = arrayEventSource([...log.events, ...other]);
    await expect(replay(source, { slots: epochs12 })).rejects.toBeInstanceOf(AmbiguousReplayNodeError);
    const report = await replay(source, { slots: epochs12, node: 'node1' });
    expect(report.node).toBe('node1');
    expect(report.duties).toBe(1);
  });

  it('after a network reset, replays one network at a time and refuses to mix them unless one is chosen', async () => {
    const [before, after] = [`0x${'0b'.repeat(32)}`, `0x${'0a'.repeat(32)}`] as [Hex, Hex];
    // the new network's first epoch repeats the old one's slot numbers (here: the same recorded duties)
    const old = clone(log.events).map((e) => ({ ...e, network: before }) as AnyCohortEvent);
    const current = clone(log.events.filter((e) => e.duty.slot < 2 * SPE)).map((e) => ({ ...e, network: after }) as AnyCohortEvent);
    const source = arrayEventSource([...old, ...current]);
    await expect(replay(source, { slots: epochs12 })).rejects.toThrow(new AmbiguousReplayNetworkError([after, before]));
    const replayedOld = await replay(source, { slots: epochs12, network: before });
    expect(replayedOld).toMatchObject({ duties: 16, divergences: 0, eventsRead: old.length });
    const replayedNew = await replay(source, { slots: epochs12, network: after });
    expect(replayedNew).toMatchObject({ duties: 8, divergences: 0, eventsRead: current.length });
  });

  it('reports progress through the range', async () => {
    const seen: number[] = [];
    await replay(arrayEventSource(log.events), { slots: { from: SPE, to: 2 * SPE - 1 }, onProgress: (p) => seen.push(p.slot) });
    expect(seen.at(-1)).toBe(2 * SPE - 1);
    expect(seen.length).toBeGreaterThan(SPE);
  });
});

describe('compareFacts', () => {
  it('matches per validator, whatever the batching into events; an extra replayed fact is a divergence', () => {
    const duty = { slot: 1, type: 'attester' as const };
    const a = `0x${'a1'.repeat(48)}` as Hex;
    const b = `0x${'b2'.repeat(48)}` as Hex;
    const s = `0x${'cc'.repeat(96)}` as Hex;
    expect(compareFacts(duty, [aggregatedFact(b, s, 'e2'), aggregatedFact(a, s, 'e1')], [aggregatedFact(a, s), aggregatedFact(b, s)]).divergences).toEqual([]);
    const { divergences, compared } = compareFacts(duty, [aggregatedFact(a, s, 'e1')], [aggregatedFact(a, s), aggregatedFact(b, s)]);
    expect(compared).toBe(2);
    expect(divergences).toEqual([{ duty, stage: 'aggregator', eventType: 'SignaturesAggregated', pubkey: b, replayed: `signature ${s}` }]);
  });
});
