/**
 * A duty is cluster-wide: one slot and one duty type, covering every validator of the
 * cluster that has that duty (DESIGN.md "Scale"). Consensus runs once per duty.
 */
export const DUTY_TYPES = ['attester'] as const;
export type DutyType = (typeof DUTY_TYPES)[number];

export interface Duty {
  readonly slot: number;
  readonly type: DutyType;
}

/** Stable textual id of a duty, e.g. `1234/attester`: the correlation id of every event of it. */
export function dutyId(duty: Duty): string {
  return `${duty.slot}/${duty.type}`;
}

export function isDutyType(value: unknown): value is DutyType {
  return typeof value === 'string' && (DUTY_TYPES as readonly string[]).includes(value);
}

/** Fixed ordinal per duty type: feeds the deterministic leader choice of consensus. */
export const DUTY_ORDINAL = { attester: 1 } as const satisfies Record<DutyType, number>;

/**
 * When a duty stops being worth doing, relative to its slot's start, in slots.
 * An attestation is still rewarded for head only if included in the next slot, and for
 * source/target within an epoch; past two slots a late attestation only costs CPU here.
 */
export const DUTY_DEADLINE_SLOTS = { attester: 2 } as const satisfies Record<DutyType, number>;
