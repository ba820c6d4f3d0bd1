/**
 * The consensus round timer: Charon's "eager double linear" (core/consensus/timer,
 * `doubleEagerLinearRoundTimer`, its default), pinned by
 * shared/vectors/obol-dv-specs/timer_deadlines.json. Pure arithmetic in integer nanoseconds
 * (the vectors are normative to the nanosecond: a 5 s slot gives an attester start delay of
 * 1666666666 ns, and a float cannot hold a unix time in ns); the app converts to ms.
 *
 * - **Eager**: a round's deadline is anchored to the duty's start (slot start + the duty's
 *   offset into the slot), not to the moment this node entered the round, so every node's
 *   round r ends at the same instant, whatever the order in which messages reached it.
 *   Aligned rounds keep the nodes on the same leader.
 * - **Linear**: round r's timeout is r × 1 s, counted from the duty start:
 *   the first expiry of round r is `dutyStart + r s`.
 * - **Double**: when the round is armed a second time — a justified PRE-PREPARE for it
 *   arrives, i.e. the leader is alive — its deadline becomes `firstDeadline + timeout`,
 *   doubling the time given to a round that is making progress, instead of a reset that
 *   would extend it by a different amount on each node.
 *
 * Proposer round 1 gets 1.5 s (Charon's `ProposalTimeout` feature, on in the vectors): a
 * block proposal takes longer to fetch than attestation data.
 */

export const ROUND_TIMER_TYPE = 'eager_double_linear';

/** Duty types the timer distinguishes (Charon core.DutyType names, lower case). */
export type TimerDutyType =
  | 'proposer'
  | 'attester'
  | 'aggregator'
  | 'sync_contribution'
  | 'sync_message'
  | 'randao'
  | 'exit'
  | 'prepare_aggregator'
  | 'prepare_sync_contribution'
  | 'builder_registration';

const SECOND_NS = 1_000_000_000n;
/** Charon timer.LinearRoundInc. */
export const LINEAR_ROUND_INCREMENT_NS = SECOND_NS;
/** Charon proposalTimeoutOptimization: a proposer's first round. */
export const PROPOSER_FIRST_ROUND_TIMEOUT_NS = 1_500_000_000n;

export interface RoundTimerTiming {
  readonly genesisTimeNs: bigint;
  readonly slotDurationNs: bigint;
}

/**
 * When the duty's consensus starts, relative to its slot's start: attester data is fetched
 * at 1/3 of the slot, aggregation and sync contributions at 2/3 (validator.md), everything
 * else at the slot start. Integer division, as Charon's time.Duration arithmetic.
 */
export function dutyStartDelayNs(dutyType: TimerDutyType, slotDurationNs: bigint): bigint {
  switch (dutyType) {
    case 'attester':
      return slotDurationNs / 3n;
    case 'aggregator':
    case 'sync_contribution':
      return (2n * slotDurationNs) / 3n;
    case 'proposer':
    case 'sync_message':
    case 'randao':
    case 'exit':
    case 'prepare_aggregator':
    case 'prepare_sync_contribution':
    case 'builder_registration':
      return 0n;
  }
}

/** Round r's timeout: r × 1 s, except 1.5 s for a proposer's round 1. Rounds start at 1. */
export function roundTimeoutNs(dutyType: TimerDutyType, round: number): bigint {
  if (dutyType === 'proposer' && round === 1) return PROPOSER_FIRST_ROUND_TIMEOUT_NS;
  return BigInt(round) * LINEAR_ROUND_INCREMENT_NS;
}

/** The instant the duty's consensus starts: genesis + slot × slot duration + the duty's start delay. */
export function dutyStartNs(timing: RoundTimerTiming, slot: number, dutyType: TimerDutyType): bigint {
  return timing.genesisTimeNs + timing.slotDurationNs * BigInt(slot) + dutyStartDelayNs(dutyType, timing.slotDurationNs);
}

/** First expiry of round r (what timer_deadlines.json pins): duty start + round timeout. */
export function firstRoundDeadlineNs(timing: RoundTimerTiming, slot: number, dutyType: TimerDutyType, round: number): bigint {
  return dutyStartNs(timing, slot, dutyType) + roundTimeoutNs(dutyType, round);
}

/**
 * The deadline of round r when armed: the first time, its first expiry; armed again (a
 * justified PRE-PREPARE for the round), first expiry + the round's timeout ("double").
 * Further re-arms keep the doubled deadline: Charon adds the timeout to the *first* deadline.
 */
export function roundDeadlineNs(timing: RoundTimerTiming, slot: number, dutyType: TimerDutyType, round: number, rearmed: boolean): bigint {
  const first = firstRoundDeadlineNs(timing, slot, dutyType, round);
  return rearmed ? first + roundTimeoutNs(dutyType, round) : first;
}
