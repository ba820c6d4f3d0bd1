import type { AttestationDataJson, AttesterDuty, AttesterUnsignedData } from '#lib/contracts';

/** Attester duties of an epoch grouped by slot, ascending: one cluster-wide duty per slot. */
export function dutiesBySlot(duties: readonly AttesterDuty[]): ReadonlyMap<number, readonly AttesterDuty[]> {
  const bySlot = new Map<number, AttesterDuty[]>();
  for (const duty of [...duties].sort((a, b) => a.slot - b.slot || a.validatorIndex - b.validatorIndex)) {
    bySlot.set(duty.slot, [...(bySlot.get(duty.slot) ?? []), duty]);
  }
  return bySlot;
}

/** The committee indices whose attestation data the duty needs. */
export function committeesOf(duties: readonly AttesterDuty[]): number[] {
  return [...new Set(duties.map((d) => d.committeeIndex))].sort((a, b) => a - b);
}

/**
 * Assembles the unsigned data set from the BN's answers, refusing data for another slot or
 * committee than asked (a BN bug must not become a signed attestation).
 */
export function unsignedAttesterData(
  slot: number,
  fetched: readonly { readonly committeeIndex: number; readonly data: AttestationDataJson }[],
): { ok: true; value: AttesterUnsignedData } | { ok: false; detail: string } {
  const byCommittee: Record<string, AttestationDataJson> = {};
  for (const { committeeIndex, data } of fetched) {
    if (Number(data.slot) !== slot || Number(data.index) !== committeeIndex) {
      return { ok: false, detail: `BN answered slot ${data.slot} index ${data.index} for slot ${slot} committee ${committeeIndex}` };
    }
    byCommittee[String(committeeIndex)] = data;
  }
  return { ok: true, value: { type: 'attester', byCommittee } };
}
