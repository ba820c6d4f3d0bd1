import type { AttesterDuty, UnsignedDataSet } from '#lib/contracts';

/**
 * First half of the consensus validity predicate: does a proposed value match the duty
 * this node scheduled? (The second half, the slashing guard's read-only check, is I/O and
 * lives in the app.) A value for another slot, a missing committee or an extra one is invalid.
 */
export function attesterValueMatchesDuty(
  slot: number,
  duties: readonly AttesterDuty[],
  value: UnsignedDataSet,
): { ok: true } | { ok: false; detail: string } {
  if (value.type !== 'attester') return { ok: false, detail: `value of type ${String(value.type)} for an attester duty` };
  const expected = [...new Set(duties.map((d) => String(d.committeeIndex)))].sort();
  const proposed = Object.keys(value.byCommittee).sort();
  if (expected.join(',') !== proposed.join(',')) {
    return { ok: false, detail: `committees ${proposed.join(',')} proposed, ${expected.join(',')} scheduled` };
  }
  for (const [committee, data] of Object.entries(value.byCommittee)) {
    if (Number(data.slot) !== slot || data.index !== committee) {
      return { ok: false, detail: `data for slot ${data.slot} index ${data.index} under committee ${committee} of slot ${slot}` };
    }
    if (Number(data.source.epoch) > Number(data.target.epoch)) {
      return { ok: false, detail: `source epoch ${data.source.epoch} after target epoch ${data.target.epoch}` };
    }
  }
  return { ok: true };
}
