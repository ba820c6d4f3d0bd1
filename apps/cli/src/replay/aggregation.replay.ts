import { combinePartialSignatures, findInvalid } from '#lib/bls';
import { assertNever, fromHex, isNoDuty, toHex, type AnyCohortEvent, type DutyType } from '#lib/contracts';
import {
  decideAggregation,
  evolveAggregation,
  failureReasonOf,
  initialAggregationState,
  type AggregationCommand,
  type AggregationDefinition,
  type AggregationEvent,
  type AggregationState,
} from '#service/aggregator';
import { aggregatedFact, failedFact, partialRecordedFact, partialRejectedFact, type Fact } from './facts.js';

/** One duty's recorded aggregation inputs on one node, in log order (plus its DutyFailed, marking the deadline). */
export interface AggregationInputs {
  readonly events: readonly AnyCohortEvent[];
}

/** A DutyFailed the aggregator records at the deadline (not `aggregate_invalid`, which it records on combining). */
const isDeadlineFailure = (e: AnyCohortEvent): boolean => e.type === 'DutyFailed' && e.data.reason !== 'aggregate_invalid';

/**
 * Re-runs one duty's aggregation as `AggregatorConsumer` drives the decider: DutyScheduled →
 * ScheduleValidators; SignaturesExpected → ExpectSignatures, then the own partials that came
 * before it; ProposalRefused → RecordRefusals; own PartialSignatureSubmitted (trusted) and
 * PeerPartialsReceived (with their recorded verdicts) → RecordPartials; the deadline →
 * ExpireDuty. A threshold set is combined and verified under the group key, as the consumer does.
 */
export function replayAggregation(inputs: AggregationInputs): Fact[] {
  const expected = inputs.events.find((e) => e.type === 'SignaturesExpected');
  const selfShare = inputs.events.flatMap((e) => (e.type === 'PartialSignatureSubmitted' ? e.data.partials.map((p) => p.shareIndex) : []))[0];
  const maxPeerShare = Math.max(0, ...inputs.events.map((e) => (e.type === 'PeerPartialsReceived' ? e.data.shareIndex : 0)));
  const def: AggregationDefinition =
    expected?.type === 'SignaturesExpected'
      ? { threshold: expected.data.threshold, totalShares: expected.data.totalShares, selfShareIndex: expected.data.selfShareIndex }
      : // nothing approved: the parameters only matter for partials (rejected anyway) and the deadline's reasons (no_consensus)
        { threshold: Number.MAX_SAFE_INTEGER, totalShares: Math.max(maxPeerShare, selfShare ?? 0), selfShareIndex: selfShare ?? 0 };

  const first = inputs.events[0]?.duty;
  const dutyType: DutyType = first === undefined || isNoDuty(first) ? 'attester' : first.type;
  let state: AggregationState = initialAggregationState;
  let rootsKnown = 0;
  const early: AggregationCommand[] = [];
  const facts: Fact[] = [];
  const thresholdSets: ThresholdSet[] = [];
  const apply = (command: AggregationCommand) => {
    const events = decideAggregation(command, state, def);
    for (const event of events) state = evolveAggregation(state, event);
    for (const event of events) facts.push(...effects(event, def, thresholdSets, dutyType));
  };
  for (const e of inputs.events) {
    switch (e.type) {
      case 'DutyScheduled':
        apply({ kind: 'ScheduleValidators', pubkeys: e.data.duties.map((d) => d.pubkey) });
        break;
      case 'SignaturesExpected':
        rootsKnown += e.data.roots.length + (e.data.agreeing?.length ?? 0);
        apply({ kind: 'ExpectSignatures', roots: e.data.roots });
        if (e.data.agreeing?.length) apply({ kind: 'ExpectAgreement', pubkeys: e.data.agreeing });
        for (const command of early.splice(0)) apply(command);
        break;
      case 'ProposalRefused':
        apply({ kind: 'RecordRefusals', pubkeys: e.pubkeys });
        break;
      case 'PartialSignatureSubmitted': {
        if (e.data.partials.length === 0) break;
        const command: AggregationCommand = {
          kind: 'RecordPartials',
          shareIndex: def.selfShareIndex,
          partials: e.data.partials.map((p) => ({ pubkey: p.pubkey, signingRoot: p.signingRoot, signature: p.signature, valid: true })),
        };
        // before anything is expected, the consumer holds partials back until it knows the roots
        if (rootsKnown === 0 && !state.expired) early.push(command);
        else apply(command);
        break;
      }
      case 'PeerPartialsReceived':
        apply({ kind: 'RecordPartials', shareIndex: e.data.shareIndex, partials: e.data.partials });
        break;
      default:
        if (isDeadlineFailure(e) && !state.expired) apply({ kind: 'ExpireDuty' });
    }
  }
  if (!state.expired) apply({ kind: 'ExpireDuty' });
  return [...facts, ...aggregates(thresholdSets)];
}

type ThresholdSet = Extract<AggregationEvent, { kind: 'ThresholdReached' }>['sets'][number];

/**
 * What the consumer does with a threshold set: Lagrange-combine the shares, verify the result
 * under the group key — `SignaturesAggregated`, or `DutyFailed{aggregate_invalid}`. The consumer
 * verifies each aggregate alone as it comes; here a duty's aggregates are verified in one batch
 * (bisected on failure): the same verdicts, a fraction of the cost.
 */
function aggregates(sets: readonly ThresholdSet[]): Fact[] {
  const combined = sets.flatMap((set) => {
    try {
      return [{ set, signature: combinePartialSignatures(new Map(set.shares.map((s) => [s.shareIndex, fromHex(s.signature)]))) }];
    } catch {
      return []; // the consumer's step fails too (logged, nothing recorded)
    }
  });
  const invalid = new Set(findInvalid(combined.map(({ set, signature }) => ({ pubkey: fromHex(set.pubkey), message: fromHex(set.signingRoot), signature }))));
  return combined.map(({ set, signature }, i) => (invalid.has(i) ? failedFact(set.pubkey, 'aggregate_invalid') : aggregatedFact(set.pubkey, toHex(signature))));
}

function effects(event: AggregationEvent, def: AggregationDefinition, thresholdSets: ThresholdSet[], dutyType: DutyType): Fact[] {
  switch (event.kind) {
    case 'PartialsRecorded':
      return event.shareIndex === def.selfShareIndex ? [] : event.partials.map((p) => partialRecordedFact(p.pubkey, event.shareIndex));
    case 'PartialsRejected':
      return event.rejections.map((r) => partialRejectedFact(r.pubkey, event.shareIndex, r.reason));
    case 'ThresholdReached':
      thresholdSets.push(...event.sets); // combined and verified together, once the duty is replayed
      return [];
    case 'DutyExpired':
      return event.failures.map((f) => failedFact(f.pubkey, failureReasonOf(dutyType, f.reason)));
    case 'ValidatorsScheduled':
    case 'ValidatorsRefused':
    case 'SignaturesExpected':
    case 'AgreementExpected':
      return [];
    default:
      return assertNever(event);
  }
}
