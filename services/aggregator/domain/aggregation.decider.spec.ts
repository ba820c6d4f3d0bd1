import { describe, expect, it } from 'vitest';
import type { Hex } from '#lib/contracts';
import {
  decide,
  evolve,
  failureReasonOf,
  initialAggregationState,
  type AggregationCommand,
  type AggregationDefinition,
  type AggregationEvent,
} from './aggregation.decider.js';

const def: AggregationDefinition = { threshold: 3, totalShares: 4, selfShareIndex: 1 };
const V1: Hex = '0x01';
const V2: Hex = '0x02';
const ROOT: Hex = '0xr00t';
const sig = (i: number): Hex => `0x5${i}`;
const partial = (pubkey: Hex, i: number, valid = true, signingRoot = ROOT) => ({ pubkey, signingRoot, signature: sig(i), valid });

function given(...events: AggregationEvent[]) {
  const state = events.reduce(evolve, initialAggregationState);
  return { when: (command: AggregationCommand) => decide(command, state, def) };
}
const scheduled = (...pubkeys: Hex[]): AggregationEvent => ({ kind: 'ValidatorsScheduled', pubkeys });
const expected = (...pubkeys: Hex[]): AggregationEvent => ({
  kind: 'SignaturesExpected',
  roots: pubkeys.map((pubkey) => ({ pubkey, signingRoot: ROOT })),
});
const recorded = (shareIndex: number, ...pubkeys: Hex[]): AggregationEvent => ({
  kind: 'PartialsRecorded',
  shareIndex,
  partials: pubkeys.map((pubkey) => ({ pubkey, signingRoot: ROOT, signature: sig(shareIndex) })),
});

describe('aggregation decider', () => {
  it('reaches threshold with the t-th distinct valid share and hands over exactly t shares', () => {
    const events = given(scheduled(V1), expected(V1), recorded(1, V1), recorded(2, V1)).when({
      kind: 'RecordPartials',
      shareIndex: 4,
      partials: [partial(V1, 4)],
    });
    expect(events).toEqual([
      { kind: 'PartialsRecorded', shareIndex: 4, partials: [{ pubkey: V1, signingRoot: ROOT, signature: sig(4) }] },
      {
        kind: 'ThresholdReached',
        sets: [{ pubkey: V1, signingRoot: ROOT, shares: [1, 2, 4].map((i) => ({ shareIndex: i, signature: sig(i) })) }],
      },
    ]);
  });

  it('does not reach threshold below t', () => {
    const events = given(scheduled(V1), expected(V1), recorded(1, V1)).when({
      kind: 'RecordPartials',
      shareIndex: 2,
      partials: [partial(V1, 2)],
    });
    expect(events.map((e) => e.kind)).toEqual(['PartialsRecorded']);
  });

  it('rejects a duplicate share: the same share index counts once', () => {
    const events = given(scheduled(V1), expected(V1), recorded(1, V1), recorded(2, V1)).when({
      kind: 'RecordPartials',
      shareIndex: 2,
      partials: [partial(V1, 2)],
    });
    expect(events).toEqual([{ kind: 'PartialsRejected', shareIndex: 2, rejections: [{ pubkey: V1, reason: 'duplicate' }] }]);
  });

  it('rejects an invalid share and does not count it toward threshold', () => {
    const events = given(scheduled(V1), expected(V1), recorded(1, V1), recorded(2, V1)).when({
      kind: 'RecordPartials',
      shareIndex: 3,
      partials: [partial(V1, 3, false)],
    });
    expect(events).toEqual([
      { kind: 'PartialsRejected', shareIndex: 3, rejections: [{ pubkey: V1, reason: 'invalid_signature' }] },
    ]);
  });

  it('rejects a share over other data than the decided value', () => {
    const events = given(scheduled(V1), expected(V1)).when({
      kind: 'RecordPartials',
      shareIndex: 3,
      partials: [partial(V1, 3, true, '0xother')],
    });
    expect(events).toEqual([{ kind: 'PartialsRejected', shareIndex: 3, rejections: [{ pubkey: V1, reason: 'data_mismatch' }] }]);
  });

  it('rejects share indices outside the cluster and unknown validators', () => {
    const events = given(scheduled(V1), expected(V1)).when({
      kind: 'RecordPartials',
      shareIndex: 9,
      partials: [partial(V1, 9)],
    });
    expect(events).toEqual([{ kind: 'PartialsRejected', shareIndex: 9, rejections: [{ pubkey: V1, reason: 'share_idx_mismatch' }] }]);
    const unknown = given(scheduled(V1), expected(V1)).when({ kind: 'RecordPartials', shareIndex: 2, partials: [partial(V2, 2)] });
    expect(unknown).toEqual([{ kind: 'PartialsRejected', shareIndex: 2, rejections: [{ pubkey: V2, reason: 'unknown_validator' }] }]);
  });

  it('hands a validator over once: a share after threshold is recorded but triggers nothing', () => {
    const reached = given(scheduled(V1), expected(V1), recorded(1, V1), recorded(2, V1)).when({
      kind: 'RecordPartials',
      shareIndex: 3,
      partials: [partial(V1, 3)],
    });
    const state = [scheduled(V1), expected(V1), recorded(1, V1), recorded(2, V1), ...reached].reduce(evolve, initialAggregationState);
    expect(decide({ kind: 'RecordPartials', shareIndex: 4, partials: [partial(V1, 4)] }, state, def).map((e) => e.kind)).toEqual([
      'PartialsRecorded',
    ]);
  });

  it('names the failure reason per validator at the deadline', () => {
    const events = given(scheduled(V1, V2, '0x03'), expected(V1, V2), recorded(1, V1), recorded(2, V1), recorded(2, V2)).when({
      kind: 'ExpireDuty',
    });
    expect(events).toEqual([
      {
        kind: 'DutyExpired',
        failures: [
          { pubkey: V1, reason: 'insufficient_partial_signatures' },
          { pubkey: V2, reason: 'no_local_signature' },
          { pubkey: '0x03', reason: 'no_consensus' },
        ],
      },
    ]);
  });

  it('records no failure for a validator already aggregated, and nothing after expiry', () => {
    const done: AggregationEvent = {
      kind: 'ThresholdReached',
      sets: [{ pubkey: V1, signingRoot: ROOT, shares: [] }],
    };
    expect(given(scheduled(V1), expected(V1), done).when({ kind: 'ExpireDuty' })).toEqual([{ kind: 'DutyExpired', failures: [] }]);
    const expired = given(scheduled(V1), expected(V1), { kind: 'DutyExpired', failures: [] });
    expect(expired.when({ kind: 'ExpireDuty' })).toEqual([]);
    expect(expired.when({ kind: 'RecordPartials', shareIndex: 2, partials: [partial(V1, 2)] })).toEqual([
      { kind: 'PartialsRejected', shareIndex: 2, rejections: [{ pubkey: V1, reason: 'deadline_expired' }] },
    ]);
  });

  it('names slashing_refused for a validator the slashing guard refused', () => {
    const state = [scheduled(V1, V2), expected(V2)].reduce(evolve, initialAggregationState);
    const refused = decide({ kind: 'RecordRefusals', pubkeys: [V1] }, state, def);
    expect(refused).toEqual([{ kind: 'ValidatorsRefused', pubkeys: [V1] }]);
    expect(decide({ kind: 'ExpireDuty' }, refused.reduce(evolve, state), def)).toEqual([
      {
        kind: 'DutyExpired',
        failures: [
          { pubkey: V1, reason: 'slashing_refused' },
          { pubkey: V2, reason: 'no_local_signature' },
        ],
      },
    ]);
  });
});

describe('aggregation decider: signed-flow duties (no root decided beforehand)', () => {
  const OTHER: Hex = '0x07e7';
  const agreeing = (...pubkeys: Hex[]): AggregationEvent => ({ kind: 'AgreementExpected', pubkeys });
  const recordedOn = (shareIndex: number, signingRoot: Hex, pubkey: Hex): AggregationEvent => ({
    kind: 'PartialsRecorded',
    shareIndex,
    partials: [{ pubkey, signingRoot, signature: sig(shareIndex) }],
  });

  it('counts shares of any root and hands over the t shares of the root they agree on', () => {
    const events = given(scheduled(V1), agreeing(V1), recordedOn(1, OTHER, V1), recordedOn(2, ROOT, V1), recordedOn(3, ROOT, V1)).when({
      kind: 'RecordPartials',
      shareIndex: 4,
      partials: [partial(V1, 4, true, ROOT)],
    });
    expect(events.at(-1)).toEqual({
      kind: 'ThresholdReached',
      sets: [{ pubkey: V1, signingRoot: ROOT, shares: [2, 3, 4].map((i) => ({ shareIndex: i, signature: sig(i) })) }],
    });
  });

  it('does not combine t shares spread over different roots', () => {
    const events = given(scheduled(V1), agreeing(V1), recordedOn(1, OTHER, V1), recordedOn(2, ROOT, V1)).when({
      kind: 'RecordPartials',
      shareIndex: 3,
      partials: [partial(V1, 3, true, ROOT)],
    });
    expect(events.map((e) => e.kind)).toEqual(['PartialsRecorded']);
  });

  it('at the deadline, names the disagreement when shares were over different roots', () => {
    const [expired] = given(scheduled(V1, V2), agreeing(V1, V2), recordedOn(1, OTHER, V1), recordedOn(2, ROOT, V1), recordedOn(1, ROOT, V2)).when({ kind: 'ExpireDuty' });
    expect(expired).toEqual({
      kind: 'DutyExpired',
      failures: [
        { pubkey: V1, reason: 'partial_signatures_disagree' },
        { pubkey: V2, reason: 'insufficient_partial_signatures' },
      ],
    });
  });

  it('refuses shares before the duty expects any, and a second share from the same index', () => {
    expect(given(scheduled(V1)).when({ kind: 'RecordPartials', shareIndex: 1, partials: [partial(V1, 1)] })).toEqual([
      { kind: 'PartialsRejected', shareIndex: 1, rejections: [{ pubkey: V1, reason: 'unknown_duty' }] },
    ]);
    expect(given(scheduled(V1), agreeing(V1), recordedOn(1, ROOT, V1)).when({ kind: 'RecordPartials', shareIndex: 1, partials: [partial(V1, 1, true, OTHER)] })).toEqual([
      { kind: 'PartialsRejected', shareIndex: 1, rejections: [{ pubkey: V1, reason: 'duplicate' }] },
    ]);
  });

  describe('a validator signing several roots in one duty (one per sync subcommittee)', () => {
    const R1: Hex = '0xaa';
    const R2: Hex = '0xbb';
    const two = given(scheduled(V1), { kind: 'SignaturesExpected', roots: [{ pubkey: V1, signingRoot: R1 }, { pubkey: V1, signingRoot: R2 }] });
    const both = (shareIndex: number): AggregationEvent => ({
      kind: 'PartialsRecorded',
      shareIndex,
      partials: [R1, R2].map((signingRoot) => ({ pubkey: V1, signingRoot, signature: sig(shareIndex) })),
    });

    it('takes one share per index and root, and combines each root at its own threshold', () => {
      const state = [scheduled(V1), { kind: 'SignaturesExpected', roots: [{ pubkey: V1, signingRoot: R1 }, { pubkey: V1, signingRoot: R2 }] } as AggregationEvent, both(1), both(2)]
        .reduce(evolve, initialAggregationState);
      const events = decide({ kind: 'RecordPartials', shareIndex: 3, partials: [partial(V1, 3, true, R2)] }, state, def);
      expect(events.at(-1)).toEqual({
        kind: 'ThresholdReached',
        sets: [{ pubkey: V1, signingRoot: R2, shares: [1, 2, 3].map((i) => ({ shareIndex: i, signature: sig(i) })) }],
      });
      // R1 is still open: the validator is not done, and a share for R1 from index 3 still counts.
      const after = events.reduce(evolve, state);
      const more = decide({ kind: 'RecordPartials', shareIndex: 3, partials: [partial(V1, 3, true, R1), partial(V1, 3, true, R2)] }, after, def);
      expect(more).toContainEqual({ kind: 'PartialsRejected', shareIndex: 3, rejections: [{ pubkey: V1, reason: 'duplicate' }] });
      expect(more.at(-1)).toMatchObject({ kind: 'ThresholdReached', sets: [{ pubkey: V1, signingRoot: R1 }] });
    });

    it('refuses a root the validator does not sign, and at the deadline fails a validator with a root left open', () => {
      expect(two.when({ kind: 'RecordPartials', shareIndex: 2, partials: [partial(V1, 2, true, ROOT)] })).toEqual([
        { kind: 'PartialsRejected', shareIndex: 2, rejections: [{ pubkey: V1, reason: 'data_mismatch' }] },
      ]);
      const [expired] = given(scheduled(V1), { kind: 'SignaturesExpected', roots: [{ pubkey: V1, signingRoot: R1 }, { pubkey: V1, signingRoot: R2 }] }, both(1), both(2), both(3), {
        kind: 'ThresholdReached',
        sets: [{ pubkey: V1, signingRoot: R1, shares: [] }],
      }).when({ kind: 'ExpireDuty' });
      expect(expired).toEqual({ kind: 'DutyExpired', failures: [{ pubkey: V1, reason: 'insufficient_partial_signatures' }] });
    });
  });

  it('a selection proof this node\'s VC never sent is a VC without a distributed mode; other reasons and duties stay as decided', () => {
    const [expired] = given(scheduled(V1), expected(V1), recorded(2, V1)).when({ kind: 'ExpireDuty' });
    const reason = expired?.kind === 'DutyExpired' ? expired.failures[0]?.reason : undefined;
    expect(reason).toBe('no_local_signature');
    expect(failureReasonOf('prepare_aggregator', 'no_local_signature')).toBe('vc_not_distributed');
    expect(failureReasonOf('prepare_sync_contribution', 'no_local_signature')).toBe('vc_not_distributed');
    expect(failureReasonOf('attester', 'no_local_signature')).toBe('no_local_signature');
    expect(failureReasonOf('prepare_aggregator', 'insufficient_partial_signatures')).toBe('insufficient_partial_signatures');
  });
});
