import { PublicKey, Signature, verify, verifyMultipleAggregateSignatures, type SignatureSet } from '@chainsafe/blst';
import { ssz } from '@lodestar/types';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import {
  attestationDataRoot,
  attestationSigningRoot,
  type AttestationDataJson,
  type ChainSigningContext,
} from '#lib/signing';
import { attestationDataAt, committeeAt, epochAtSlot, type EpochCommittees } from './chain.js';

/** An attestation the mock's pool took: one validator's vote (single aggregation bit). */
export interface PooledAttestation {
  readonly slot: number;
  readonly validatorIndex: number;
  readonly pubkey: Hex;
  readonly committeeIndex: number;
  readonly dataRoot: Hex;
  /** The attester's signature, kept for aggregation. */
  readonly signature: Hex;
}

/** Why the pool refused item `index` of a submission (Beacon API `IndexedErrorMessage.failures`). */
export interface PoolFailure {
  readonly index: number;
  readonly message: string;
}

export interface PoolCheckContext {
  readonly signing: ChainSigningContext;
  readonly slotsPerEpoch: number;
  readonly validatorPubkeys: readonly Hex[];
  readonly committeesAt: (epoch: number) => EpochCommittees;
  /** From Electra the pool takes SingleAttestations and attestation data has index 0 (EIP-7549). */
  readonly isElectra: (slot: number) => boolean;
}

type Candidate = PooledAttestation & { readonly index: number; readonly set: SignatureSet };
type Checked = { readonly ok: true; readonly candidate: Candidate } | { readonly ok: false; readonly failure: PoolFailure };

/**
 * Gossip-style checks of one phase0 `Attestation` (phase0/p2p-interface.md#beacon_attestation_subnet_id),
 * all but the signature: a known committee, exactly one aggregation bit over the committee's
 * length, target epoch = epoch of the slot, and the data this chain produces for that slot.
 */
function checkOne(ctx: PoolCheckContext, item: unknown, index: number, electra: boolean): Checked {
  const fail = (message: string): Checked => ({ ok: false, failure: { index, message } });
  if (electra) return checkSingle(ctx, item, index);
  let attestation;
  try {
    attestation = ssz.phase0.Attestation.fromJson(item);
  } catch (error) {
    return fail(`malformed attestation: ${(error as Error).message}`);
  }
  const dataJson = ssz.phase0.AttestationData.toJson(attestation.data) as unknown as AttestationDataJson;
  const slot = attestation.data.slot;
  const committeeIndex = attestation.data.index;
  const epoch = epochAtSlot(slot, ctx.slotsPerEpoch);
  if (attestation.data.target.epoch !== epoch) {
    return fail(`target epoch ${attestation.data.target.epoch} is not the epoch ${epoch} of slot ${slot}`);
  }
  const committee = committeeAt(ctx.committeesAt(epoch), slot, committeeIndex, ctx.slotsPerEpoch);
  if (!committee || committee.members.length === 0) return fail(`no committee ${committeeIndex} at slot ${slot}`);
  const bits = attestation.aggregationBits;
  if (bits.bitLen !== committee.members.length) {
    return fail(`aggregation_bits length ${bits.bitLen} != committee length ${committee.members.length}`);
  }
  const setBits = bits.getTrueBitIndexes();
  if (setBits.length !== 1) return fail(`expected exactly one aggregation bit set, found ${setBits.length}`);
  const validatorIndex = committee.members[setBits[0]!]!;
  if (ctx.isElectra(slot)) return fail(`slot ${slot} is in Electra or later: submit SingleAttestations on the v2 route`);
  return candidateOf(ctx, index, dataJson, attestationDataAt(slot, committeeIndex, ctx.slotsPerEpoch), validatorIndex, committeeIndex, attestation.signature);
}

/** An Electra `SingleAttestation`: the attester named, in a committee of the slot, data index 0. */
function checkSingle(ctx: PoolCheckContext, item: unknown, index: number): Checked {
  const fail = (message: string): Checked => ({ ok: false, failure: { index, message } });
  let attestation;
  try {
    attestation = ssz.electra.SingleAttestation.fromJson(item);
  } catch (error) {
    return fail(`malformed SingleAttestation: ${(error as Error).message}`);
  }
  const { slot } = attestation.data;
  if (!ctx.isElectra(slot)) return fail(`slot ${slot} is before Electra: submit phase0 Attestations`);
  if (attestation.data.index !== 0) return fail(`data.index must be 0 from Electra, got ${attestation.data.index}`);
  const epoch = epochAtSlot(slot, ctx.slotsPerEpoch);
  if (attestation.data.target.epoch !== epoch) return fail(`target epoch ${attestation.data.target.epoch} is not the epoch ${epoch} of slot ${slot}`);
  const committee = committeeAt(ctx.committeesAt(epoch), slot, attestation.committeeIndex, ctx.slotsPerEpoch);
  if (!committee || !committee.members.includes(attestation.attesterIndex)) {
    return fail(`validator ${attestation.attesterIndex} is not in committee ${attestation.committeeIndex} at slot ${slot}`);
  }
  const dataJson = ssz.phase0.AttestationData.toJson(attestation.data) as unknown as AttestationDataJson;
  return candidateOf(ctx, index, dataJson, attestationDataAt(slot, 0, ctx.slotsPerEpoch), attestation.attesterIndex, attestation.committeeIndex, attestation.signature);
}

/** The data must be what this chain produces for the slot; the signature is kept for the batch check. */
function candidateOf(
  ctx: PoolCheckContext,
  index: number,
  dataJson: AttestationDataJson,
  chainData: AttestationDataJson,
  validatorIndex: number,
  committeeIndex: number,
  signature: Uint8Array,
): Checked {
  const slot = Number(dataJson.slot);
  const dataRoot = attestationDataRoot(dataJson);
  if (dataRoot !== attestationDataRoot(chainData)) {
    return { ok: false, failure: { index, message: `attestation data for slot ${slot} does not match this chain (unknown block or checkpoint)` } };
  }
  let sig: Signature;
  try {
    sig = Signature.fromBytes(signature, true);
  } catch {
    return { ok: false, failure: { index, message: 'signature is not a valid G2 point' } };
  }
  const pubkey = ctx.validatorPubkeys[validatorIndex] as Hex;
  const set: SignatureSet = { msg: fromHex(attestationSigningRoot(ctx.signing, dataJson)), pk: PublicKey.fromBytes(fromHex(pubkey)), sig };
  return { ok: true, candidate: { index, slot, validatorIndex, pubkey, committeeIndex, dataRoot, signature: toHex(signature), set } };
}

/**
 * Checks a `POST /eth/v1/beacon/pool/attestations` body item by item. Signatures are verified
 * as one batch (the cheap path when all are good) and one by one only to name the bad ones.
 */
export function checkPoolAttestations(
  ctx: PoolCheckContext,
  items: readonly unknown[],
  electra = false,
): { readonly accepted: readonly PooledAttestation[]; readonly failures: readonly PoolFailure[] } {
  const checked = items.map((item, index) => checkOne(ctx, item, index, electra));
  const failures: PoolFailure[] = checked.flatMap((c) => (c.ok ? [] : [c.failure]));
  const candidates = checked.flatMap((c) => (c.ok ? [c.candidate] : []));
  const batchValid = candidates.length > 0 && verifyMultipleAggregateSignatures(candidates.map((c) => c.set));
  const accepted: PooledAttestation[] = [];
  for (const { set, index, ...attestation } of candidates) {
    if (batchValid || verify(set.msg, set.pk, set.sig)) accepted.push(attestation);
    else failures.push({ index, message: `invalid signature for validator ${attestation.validatorIndex}` });
  }
  failures.sort((a, b) => a.index - b.index);
  return { accepted, failures };
}

/** One attester's vote in the pool, as aggregation reads it. */
export interface PoolVote {
  readonly validatorIndex: number;
  readonly committeeIndex: number;
  readonly signature: Hex;
}

/**
 * The pool's votes by (slot, data root), one per attester: what `aggregate_attestation` folds
 * into an aggregate. Before Electra the data root names the committee (`data.index`); from
 * Electra every committee of a slot shares one data root, so each vote keeps its committee.
 */
export class AttestationVotes {
  private readonly bySlotAndRoot = new Map<string, Map<number, PoolVote>>();

  add(attestation: PooledAttestation): void {
    const key = `${attestation.slot}/${attestation.dataRoot}`;
    let votes = this.bySlotAndRoot.get(key);
    if (!votes) {
      votes = new Map();
      this.bySlotAndRoot.set(key, votes);
    }
    // The first valid signature of an attester stands; a repeat signs the same root anyway.
    if (!votes.has(attestation.validatorIndex)) {
      votes.set(attestation.validatorIndex, { validatorIndex: attestation.validatorIndex, committeeIndex: attestation.committeeIndex, signature: attestation.signature });
    }
  }

  /** Votes over `dataRoot` at `slot`, in the order they arrived. */
  at(slot: number, dataRoot: Hex): readonly PoolVote[] {
    return [...(this.bySlotAndRoot.get(`${slot}/${dataRoot}`)?.values() ?? [])];
  }
}
