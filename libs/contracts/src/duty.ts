/**
 * A duty is cluster-wide: one slot and one duty type, covering every validator of the
 * cluster that has that duty (DESIGN.md "Scale"). Consensus runs once per duty.
 */
export const DUTY_TYPES = [
  'attester',
  'proposer',
  'randao',
  'sync_message',
  'aggregator',
  'sync_contribution',
  'exit',
  'prepare_aggregator',
  'prepare_sync_contribution',
  'builder_registration',
] as const;
export type DutyType = (typeof DUTY_TYPES)[number];

export interface Duty {
  readonly slot: number;
  readonly type: DutyType;
}

/**
 * The envelope's `duty` of an event that concerns no duty this node knows — a peer's message
 * refused before (or because) it named none: the slot it was recorded in, and the duty type
 * `none`. Not a DutyType: no stage schedules, decides or signs it, so the per-duty-type tables
 * need no entry for it. The subject token is `none` (`cohort.events.<slot>.none.…`).
 */
export const NO_DUTY = 'none';
export interface NoDuty {
  readonly slot: number;
  readonly type: typeof NO_DUTY;
}
/** What an event's envelope names: a duty, or a slot outside any duty. */
export type EventDuty = Duty | NoDuty;

export function isNoDuty(duty: EventDuty): duty is NoDuty {
  return duty.type === NO_DUTY;
}

/** Stable textual id of a duty, e.g. `1234/attester` (`1234/none` outside any duty): the correlation id of every event of it. */
export function dutyId(duty: EventDuty): string {
  return `${duty.slot}/${duty.type}`;
}

export function isDutyType(value: unknown): value is DutyType {
  return typeof value === 'string' && (DUTY_TYPES as readonly string[]).includes(value);
}

/** Fixed ordinal per duty type: feeds the deterministic leader choice of consensus. */
export const DUTY_ORDINAL = {
  attester: 1,
  proposer: 2,
  randao: 3,
  sync_message: 4,
  aggregator: 5,
  sync_contribution: 6,
  exit: 7,
  prepare_aggregator: 8,
  prepare_sync_contribution: 9,
  builder_registration: 10,
} as const satisfies Record<DutyType, number>;

/**
 * How a duty's signatures come about. `decided`: consensus agrees on the data first, the
 * slashing guard records it, and the VC signs exactly that (attestations, blocks). `signed`:
 * nothing to agree on beforehand; each VC signs what it has, and the aggregator combines the
 * shares of one signing root once `threshold` of them agree — a RANDAO reveal is fixed by the
 * epoch; a sync committee message signs the VC's head root, so VCs that saw different heads
 * leave the duty failed with `partial_signatures_disagree` rather than combined. The two
 * `prepare_*` duties combine the VCs' selection proofs (a slot, or a slot and subcommittee,
 * signed): only the combined proof says whether a validator aggregates. A builder registration
 * was signed with the whole key when the cluster was created (Charon's lock pins it): the VCs'
 * registrations, each over its own timestamp, could never be combined.
 */
export const DUTY_FLOW = {
  attester: 'decided',
  proposer: 'decided',
  randao: 'signed',
  sync_message: 'signed',
  aggregator: 'decided',
  sync_contribution: 'decided',
  exit: 'signed',
  prepare_aggregator: 'signed',
  prepare_sync_contribution: 'signed',
  builder_registration: 'signed',
} as const satisfies Record<DutyType, 'decided' | 'signed'>;

/**
 * When a duty stops being worth doing, relative to its slot's start, in slots: the one table of
 * deadlines (DESIGN.md rule 6). Work still pending then is dropped with `deadline_expired` or
 * the failure reason of the step that did not finish.
 * - attester: rewarded for head only if included in the next slot, for source/target within an
 *   epoch; past two slots a late attestation only costs CPU here.
 * - proposer: a block published after its slot is orphaned by the next proposer's.
 * - randao: only the block of the same slot needs it.
 * - sync_message: only the next slot's block can include it (altair/validator.md#sync-committee-messages).
 * - aggregator: an aggregate is due at 2/3 of its slot and worth including for the slot after.
 * - sync_contribution: fetched at 2/3 of its slot, only the next slot's block includes it; the
 *   second slot leaves consensus and the VCs' signatures the time an aggregate also gets.
 * - prepare_aggregator, prepare_sync_contribution: the combined selection proof is needed before
 *   2/3 of the slot, when the aggregate is fetched; a VC asks for it at the slot start.
 * - builder_registration: signed once for all, when the cluster was created (the lock holds it);
 *   the gateway submits it as soon as the VC registers, nothing waits.
 * - exit: a voluntary exit's duty slot is the first slot of its epoch; operators enter it by
 *   hand (`lodestar validator voluntary-exit`), so every operator's VC must sign the same epoch
 *   within 256 slots of that slot for the shares to meet.
 */
export const DUTY_DEADLINE_SLOTS = {
  attester: 2,
  proposer: 1,
  randao: 1,
  sync_message: 1,
  aggregator: 2,
  sync_contribution: 2,
  exit: 256,
  prepare_aggregator: 1,
  prepare_sync_contribution: 1,
  builder_registration: 1,
} as const satisfies Record<DutyType, number>;
