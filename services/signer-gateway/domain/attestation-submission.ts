import type { AttestationDataJson, AttesterDuty, Hex, RejectionReason } from '#lib/contracts';

/**
 * Which validator signed a phase0-style attestation: the one whose committee position is
 * the single bit set in `aggregation_bits` (consensus specs, `get_attesting_indices`).
 */
export interface SubmittedAttestation {
  readonly aggregation_bits: Hex;
  readonly data: AttestationDataJson;
  readonly signature: Hex;
}

export type AttributedAttestation =
  | { readonly ok: true; readonly duty: AttesterDuty; readonly attestation: SubmittedAttestation }
  | { readonly ok: false; readonly reason: RejectionReason; readonly detail: string };

/** Positions of set bits in an SSZ bitlist (hex), without the length-marker bit. */
export function bitlistPositions(bitsHex: string): number[] | undefined {
  if (!/^0x([0-9a-fA-F]{2})+$/.test(bitsHex)) return undefined;
  const bytes = Buffer.from(bitsHex.slice(2), 'hex');
  const last = bytes[bytes.length - 1] ?? 0;
  if (last === 0) return undefined; // a bitlist always ends with its length bit
  const length = (bytes.length - 1) * 8 + (31 - Math.clz32(last));
  const positions: number[] = [];
  for (let i = 0; i < length; i++) {
    if (((bytes[i >> 3] ?? 0) >> (i & 7)) & 1) positions.push(i);
  }
  return positions;
}

export function attributeAttestation(
  attestation: SubmittedAttestation,
  dutiesAtSlot: readonly AttesterDuty[],
): AttributedAttestation {
  const slot = Number(attestation.data?.slot);
  const committeeIndex = Number(attestation.data?.index);
  const positions = bitlistPositions(attestation.aggregation_bits);
  if (!Number.isSafeInteger(slot) || !Number.isSafeInteger(committeeIndex) || !positions) {
    return { ok: false, reason: 'malformed', detail: 'attestation without a valid slot, index or aggregation_bits' };
  }
  if (positions.length !== 1) {
    return { ok: false, reason: 'malformed', detail: `expected exactly one aggregation bit, got ${positions.length}` };
  }
  const duty = dutiesAtSlot.find(
    (d) => d.slot === slot && d.committeeIndex === committeeIndex && d.validatorCommitteeIndex === positions[0],
  );
  if (!duty) return { ok: false, reason: 'unknown_duty', detail: `no duty at slot ${slot} committee ${committeeIndex} position ${positions[0]}` };
  return { ok: true, duty, attestation };
}

/** Same attestation data, field by field (the VC must sign exactly the decided value). */
export function sameAttestationData(a: AttestationDataJson, b: AttestationDataJson): boolean {
  return (
    String(a.slot) === String(b.slot) &&
    String(a.index) === String(b.index) &&
    a.beacon_block_root.toLowerCase() === b.beacon_block_root.toLowerCase() &&
    String(a.source.epoch) === String(b.source.epoch) &&
    a.source.root.toLowerCase() === b.source.root.toLowerCase() &&
    String(a.target.epoch) === String(b.target.epoch) &&
    a.target.root.toLowerCase() === b.target.root.toLowerCase()
  );
}

/** An Electra `SingleAttestation` (EIP-7549): the attester and its committee are named, no bits. */
export interface SubmittedSingleAttestation {
  readonly committee_index: string;
  readonly attester_index: string;
  readonly data: AttestationDataJson;
  readonly signature: Hex;
}

/** Which validator signed a SingleAttestation: the one scheduled at that slot in that committee with that index. */
export function attributeSingleAttestation(
  attestation: SubmittedSingleAttestation,
  dutiesAtSlot: readonly AttesterDuty[],
): AttributedAttestation {
  const slot = Number(attestation.data?.slot);
  const committeeIndex = Number(attestation.committee_index);
  const attesterIndex = Number(attestation.attester_index);
  if (![slot, committeeIndex, attesterIndex].every(Number.isSafeInteger) || typeof attestation.signature !== 'string') {
    return { ok: false, reason: 'malformed', detail: 'SingleAttestation without a valid slot, committee_index, attester_index or signature' };
  }
  const duty = dutiesAtSlot.find((d) => d.slot === slot && d.committeeIndex === committeeIndex && d.validatorIndex === attesterIndex);
  if (!duty) return { ok: false, reason: 'unknown_duty', detail: `no duty at slot ${slot} committee ${committeeIndex} for validator ${attesterIndex}` };
  return { ok: true, duty, attestation: { aggregation_bits: '0x01', data: attestation.data, signature: attestation.signature } };
}
