import { describe, expect, it } from 'vitest';
import { findInvalid, generateSecretKey, secretKeyToPublicKey, sign, verify, verifyBatch, type SignatureSet } from './index.js';

const keys = Array.from({ length: 8 }, () => {
  const sk = generateSecretKey();
  return { sk, pubkey: secretKeyToPublicKey(sk) };
});

function validSets(count: number): SignatureSet[] {
  return Array.from({ length: count }, (_, i) => {
    const { sk, pubkey } = keys[i % keys.length]!;
    const message = new Uint8Array(32).fill(i);
    return { pubkey, message, signature: sign(sk, message) };
  });
}

/** Ways a peer's partial signature can be wrong. */
const corruptions: readonly ((set: SignatureSet, other: SignatureSet) => SignatureSet)[] = [
  (set) => ({ ...set, message: new Uint8Array(32).fill(0xee) }), // signed something else
  (set, other) => ({ ...set, signature: other.signature }), // valid signature, wrong key/message
  (set) => ({ ...set, signature: set.signature.subarray(0, 95) }), // truncated
  (set) => ({ ...set, pubkey: new Uint8Array(48) }), // not a point
];

const singlyInvalid = (sets: readonly SignatureSet[]) =>
  sets.flatMap((s, i) => (verify(s.pubkey, s.message, s.signature) ? [] : [i]));

describe('verifyBatch / findInvalid', () => {
  it('all valid: one batch says so, nothing to find', () => {
    const sets = validSets(33);
    expect(verifyBatch(sets)).toBe(true);
    expect(findInvalid(sets)).toEqual([]);
  });

  it('empty input has nothing invalid', () => {
    expect(verifyBatch([])).toBe(true);
    expect(findInvalid([])).toEqual([]);
  });

  it.each([
    [1, [0]],
    [2, [1]],
    [5, [0, 4]],
    [17, [16]],
    [32, [3, 4, 5, 30]],
    [33, [0, 8, 9, 10, 11, 12, 13, 14, 15, 32]],
    [9, [0, 1, 2, 3, 4, 5, 6, 7, 8]],
  ])('n=%i, bad at %j: located exactly as single verification would', (count, bad) => {
    const sets = validSets(count);
    bad.forEach((index, k) => {
      const corrupt = corruptions[k % corruptions.length]!;
      sets[index] = corrupt(sets[index]!, sets[(index + 1) % count]!);
    });
    const invalid = findInvalid(sets);
    expect(invalid).toEqual(bad);
    expect(invalid).toEqual(singlyInvalid(sets));
    expect(verifyBatch(sets)).toBe(false);
  });
});
