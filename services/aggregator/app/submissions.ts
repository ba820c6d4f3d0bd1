import { ssz } from '@lodestar/types';
import { toHex, type Hex, type ProposerUnsignedData, type SignedObject, type SyncCommitteeDuty } from '#lib/contracts';
import { forkHasBlockContents, isBlockFork, type AttesterSigningItem, type BlockFork } from '#lib/signing';

/**
 * The Beacon API bodies the aggregator submits once a group signature is combined, one
 * builder per duty type: pure JSON, so the consumer only chooses the route.
 */

/** A phase0 Attestation (v1 route, before Electra): the validator's committee bit, the decided data, the group signature. */
export function attestationJson(item: AttesterSigningItem, signature: Hex): unknown {
  const bits = new Uint8Array(Math.floor(item.duty.committeeLength / 8) + 1);
  bits[item.duty.validatorCommitteeIndex >> 3] = 1 << (item.duty.validatorCommitteeIndex & 7);
  bits[item.duty.committeeLength >> 3] = (bits[item.duty.committeeLength >> 3] ?? 0) | (1 << (item.duty.committeeLength & 7));
  const attestation = ssz.phase0.Attestation.fromJson({ aggregation_bits: toHex(bits), data: item.data, signature });
  return ssz.phase0.Attestation.toJson(attestation);
}

/** An Electra `SingleAttestation` (v2 route, EIP-7549): committee and attester named, no bits. */
export function singleAttestationJson(item: AttesterSigningItem, signature: Hex): unknown {
  return ssz.electra.SingleAttestation.toJson(
    ssz.electra.SingleAttestation.fromJson({
      committee_index: String(item.duty.committeeIndex),
      attester_index: String(item.duty.validatorIndex),
      data: item.data,
      signature,
    }),
  );
}

/**
 * The signed block to publish: `{message, signature}`, or from Deneb for a full block
 * SignedBlockContents `{signed_block, kzg_proofs, blobs}` (apis/beacon/blocks/blocks.v2.yaml).
 */
export function signedBlockJson(value: ProposerUnsignedData, signature: Hex): { readonly fork: BlockFork; readonly body: unknown } {
  if (!isBlockFork(value.fork)) throw new Error(`fork ${value.fork} is not supported by this build`);
  const signed = { message: value.block, signature };
  if (value.blinded || !forkHasBlockContents(value.fork)) return { fork: value.fork, body: signed };
  return { fork: value.fork, body: { signed_block: signed, kzg_proofs: value.kzgProofs ?? [], blobs: value.blobs ?? [] } };
}

/** A SyncCommitteeMessage (apis/beacon/pool/sync_committees.yaml): the root the shares agreed on. */
export function syncCommitteeMessageJson(duty: SyncCommitteeDuty, object: SignedObject, signature: Hex): unknown {
  return { slot: String(duty.slot), beacon_block_root: object['beacon_block_root'], validator_index: String(duty.validatorIndex), signature };
}
