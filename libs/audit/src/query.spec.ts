import { describe, expect, it } from 'vitest';
import { Subjects, type AnyCohortEvent } from '#lib/contracts';
import { subjectMatches } from '#lib/messaging';
import { DUTY, VALIDATORS, event, mixedRun, successRun } from './duty-events.fixture.js';
import { MAX_SLOT_SUBJECTS, followFilter, matchesQuery, slotsOfEpochs, subjectFilters } from './query.js';

describe('slotsOfEpochs', () => {
  it('maps an inclusive epoch range to its slots for mainnet (32) and minimal (8)', () => {
    expect(slotsOfEpochs({ from: 3, to: 3 })).toEqual({ from: 96, to: 127 });
    expect(slotsOfEpochs({ from: 0, to: 1 }, 8)).toEqual({ from: 0, to: 15 });
    expect(() => slotsOfEpochs({ from: 0, to: 0 }, 0)).toThrow(/slotsPerEpoch/);
  });
});

describe('subjectFilters', () => {
  it('puts every fixed token into the subject, in the order of Subjects.event', () => {
    expect(subjectFilters({ slots: { from: 7, to: 7 }, dutyType: 'attester', service: 'aggregator', eventType: 'DutyFailed' })).toEqual([
      Subjects.event({ slot: 7, type: 'attester' }, 'aggregator', 'DutyFailed'),
    ]);
    expect(subjectFilters({})).toEqual(['cohort.events.*.*.*.*']);
    expect(subjectFilters({ eventType: 'Broadcast' })).toEqual([Subjects.eventsOfType('Broadcast')]);
    // validator and node are not subject tokens
    expect(subjectFilters({ validator: VALIDATORS[0], node: 'node0' })).toEqual(['cohort.events.*.*.*.*']);
    // events outside any duty have the duty type token `none`
    expect(subjectFilters({ slots: { from: 9, to: 9 }, dutyType: 'none' })).toEqual([Subjects.event({ slot: 9, type: 'none' }, '*' as 'consensus', '*' as 'DutyFailed')]);
    expect(subjectFilters({ dutyType: 'none', eventType: 'PeerMessageRefused' })).toEqual(['cohort.events.*.none.*.PeerMessageRefused']);
  });

  it('a narrow slot range is one subject per slot; a wide one a wildcard', () => {
    expect(subjectFilters({ slots: { from: 10, to: 12 }, service: 'consensus' })).toEqual([
      'cohort.events.10.*.consensus.*',
      'cohort.events.11.*.consensus.*',
      'cohort.events.12.*.consensus.*',
    ]);
    expect(subjectFilters({ slots: { from: 0, to: MAX_SLOT_SUBJECTS - 1 } })).toHaveLength(MAX_SLOT_SUBJECTS);
    expect(subjectFilters({ slots: { from: 0, to: MAX_SLOT_SUBJECTS } })).toEqual(['cohort.events.*.*.*.*']);
    expect(subjectFilters({ slots: { from: 5, to: 4 } })).toEqual([]);
  });

  it('every recorded event of a matching query falls under one of its filters', () => {
    const query = { slots: { from: DUTY.slot, to: DUTY.slot + 1 }, dutyType: 'attester' as const };
    const filters = subjectFilters(query);
    for (const e of successRun()) {
      const subject = Subjects.event(e.duty, e.producer.service, e.type);
      expect(filters.filter((f) => subjectMatches(f, subject))).toHaveLength(1);
    }
    expect(followFilter(query)).toBe('cohort.events.*.attester.*.*');
    expect(followFilter({ slots: { from: 9, to: 9 } })).toBe('cohort.events.9.*.*.*');
  });
});

describe('matchesQuery', () => {
  const events = mixedRun();
  const select = (query: Parameters<typeof matchesQuery>[1]) => events.filter((e) => matchesQuery(e, query)).map((e) => e.type);

  it('narrows by every field', () => {
    expect(select({})).toHaveLength(events.length);
    expect(select({ slots: { from: DUTY.slot + 1, to: DUTY.slot + 5 } })).toEqual([]);
    expect(select({ service: 'slashing-guard' })).toEqual(['ProposalRefused', 'ProposalApproved']);
    expect(select({ eventType: 'DutyFailed' })).toEqual(['DutyFailed']);
    expect(select({ node: 'node1' })).toEqual([]);
    expect(select({ dutyType: 'attester', node: 'node0', eventType: 'Broadcast' })).toEqual(['Broadcast']);
  });

  it('validator: events naming the pubkey', () => {
    const refused = select({ validator: VALIDATORS[0] });
    expect(refused).toContain('ProposalRefused');
    expect(refused).not.toContain('Broadcast');
    expect(select({ validator: VALIDATORS[3] })).toContain('Broadcast');
  });

  it('slot range bounds are inclusive', () => {
    const at = (slot: number): AnyCohortEvent => event('Broadcast', 'aggregator', 0, [], { count: 0 }, { duty: { slot, type: 'attester' } });
    const slots = [9, 10, 11, 12, 13].map(at).filter((e) => matchesQuery(e, { slots: { from: 10, to: 12 } }));
    expect(slots.map((e) => e.duty.slot)).toEqual([10, 11, 12]);
  });
});
