import * as blst from '@chainsafe/blst';
import { decodePublicKey, decodeSignature } from './signature.js';

/** One (pubkey, message, signature) triple to verify. */
export interface SignatureSet {
  readonly pubkey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * Below this many sets a failed batch is resolved by single verification: a batch of two
 * costs about as much as two single verifies, so bisecting further only adds batches.
 */
const SINGLE_VERIFY_AT_MOST = 2;

type Decoded = blst.SignatureSet | undefined;

function decodeSet(set: SignatureSet): Decoded {
  const pk = decodePublicKey(set.pubkey);
  const sig = decodeSignature(set.signature);
  return pk && sig ? { msg: set.message, pk, sig } : undefined;
}

/**
 * Random-linear-combination batch verification (blst `verifyMultipleAggregateSignatures`,
 * https://ethresear.ch/t/fast-verification-of-multiple-bls-signatures/5407): about a fifth of
 * the cost of verifying each set alone. Inputs are already decoded and subgroup-checked.
 */
function batchHolds(sets: readonly blst.SignatureSet[]): boolean {
  if (sets.length === 0) return true;
  try {
    return blst.verifyMultipleAggregateSignatures([...sets]);
  } catch {
    return false;
  }
}

function singleHolds(set: blst.SignatureSet): boolean {
  try {
    return blst.verify(set.msg, set.pk, set.sig);
  } catch {
    return false;
  }
}

/**
 * True when every set verifies (vacuously for none). Any undecodable pubkey or signature makes
 * it false. One batch, whatever the number of sets.
 */
export function verifyBatch(sets: readonly SignatureSet[]): boolean {
  const decoded = sets.map(decodeSet);
  if (!decoded.every((d) => d !== undefined)) return false;
  return batchHolds(decoded);
}

/**
 * Indices (ascending) of the sets that do not verify. The common case, all valid, costs one
 * batch; otherwise failing batches are bisected, and a half whose sibling passed is known to
 * fail without being re-verified, so k bad sets among n cost about 2k·log2(n/k) batches.
 */
export function findInvalid(sets: readonly SignatureSet[]): number[] {
  const decoded = sets.map(decodeSet);
  const undecodable = decoded.flatMap((d, i) => (d === undefined ? [i] : []));
  const candidates = decoded.flatMap((d, i) => (d === undefined ? [] : [i]));
  const invalid = [...undecodable, ...locateInvalid(decoded, candidates, false)];
  return invalid.sort((a, b) => a - b);
}

function locateInvalid(decoded: readonly Decoded[], indices: readonly number[], knownToFail: boolean): number[] {
  const setsAt = (at: readonly number[]) => at.map((i) => decoded[i]).filter((d) => d !== undefined);
  if (indices.length <= SINGLE_VERIFY_AT_MOST) {
    return indices.filter((i) => {
      const set = decoded[i];
      return set === undefined || !singleHolds(set);
    });
  }
  if (!knownToFail && batchHolds(setsAt(indices))) return [];
  const mid = indices.length >> 1;
  const left = indices.slice(0, mid);
  const right = indices.slice(mid);
  const leftInvalid = locateInvalid(decoded, left, false);
  // The whole failed; if the left half is clean, the fault is in the right half.
  return [...leftInvalid, ...locateInvalid(decoded, right, leftInvalid.length === 0)];
}
