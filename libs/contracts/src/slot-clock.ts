import { DUTY_DEADLINE_SLOTS, type Duty } from './duty.js';

/**
 * Slot arithmetic from genesis (consensus specs, `compute_start_slot_at_epoch`; the VC
 * attests at 1/3 of the slot, validator.md "Attesting"). Pure: the caller passes the time.
 */
export interface SlotTiming {
  readonly genesisTimeMs: number;
  readonly secondsPerSlot: number;
  readonly slotsPerEpoch: number;
}

export const slotDurationMs = (t: SlotTiming): number => t.secondsPerSlot * 1000;

export function slotAt(t: SlotTiming, nowMs: number): number {
  return nowMs < t.genesisTimeMs ? 0 : Math.floor((nowMs - t.genesisTimeMs) / slotDurationMs(t));
}

export function slotStartMs(t: SlotTiming, slot: number): number {
  return t.genesisTimeMs + slot * slotDurationMs(t);
}

export const epochOf = (t: SlotTiming, slot: number): number => Math.floor(slot / t.slotsPerEpoch);
export const epochStartSlot = (t: SlotTiming, epoch: number): number => epoch * t.slotsPerEpoch;

/** When the attestation data is fetched: one third into the slot, as a VC does. */
export function attestationDueMs(t: SlotTiming, slot: number): number {
  return slotStartMs(t, slot) + Math.floor(slotDurationMs(t) / 3);
}

/**
 * When a slot's aggregators are settled: VCs ask for their combined selection proofs at the slot
 * start, so by half the slot every node has combined them; the aggregator duties are recorded
 * then, before any node fetches the aggregates (2/3), so no node's consensus meets a peer's
 * message for a duty it has not scheduled yet. A selection proof combined later than this does
 * not make its validator aggregate in that slot.
 */
export function aggregatorsSettledMs(t: SlotTiming, slot: number): number {
  return slotStartMs(t, slot) + Math.floor(slotDurationMs(t) / 2);
}

/** When aggregates and sync contributions are fetched: two thirds into the slot (phase0 and altair validator.md). */
export function aggregationDueMs(t: SlotTiming, slot: number): number {
  return slotStartMs(t, slot) + Math.floor((2 * slotDurationMs(t)) / 3);
}

/** The instant a duty stops being worth doing (DUTY_DEADLINE_SLOTS after its slot starts). */
export function dutyDeadlineMs(t: SlotTiming, duty: Duty): number {
  return slotStartMs(t, duty.slot + DUTY_DEADLINE_SLOTS[duty.type]);
}

/**
 * Where a (re)starting service begins reading the event log: the start of the previous
 * epoch. That covers every duty still in flight — duties are scheduled at the start of the
 * epoch before theirs, and no duty outlives its deadline by more than an epoch — so a
 * restarted service knows the duties, decisions and approvals it must honour.
 */
export function catchUpFromMs(t: SlotTiming, nowMs: number): number {
  // Before and in epoch 0 this reaches back before genesis, where epoch 0 was scheduled.
  const epoch = epochOf(t, slotAt(t, nowMs));
  return slotStartMs(t, epochStartSlot(t, epoch - 1));
}
