import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import { generateSecretKey, secretKeyToPublicKey } from '#lib/bls';
import { dealValidators, recoverGroupSecret, sharesForOperator, splitExistingKeys, type DealtValidator, type SecretShare } from './dealer.js';
import { KeyMaterialError } from './errors.js';

/** Obol DV-spec `bls_threshold.json`: a 3-of-4 sharing produced with Charon's tbls. */
const suite = JSON.parse(
  readFileSync(new URL('../../../../shared/vectors/obol-dv-specs/bls_threshold.json', import.meta.url), 'utf8'),
) as {
  readonly group_secret_hex: string;
  readonly group_pubkey_hex: string;
  readonly partials: readonly { input: { share_idx: number; secret_hex: string }; pubshare_hex: string }[];
};
const vectorShare = (shareIndex: number): SecretShare => {
  const p = suite.partials.find((x) => x.input.share_idx === shareIndex);
  if (!p) throw new Error(`no share ${shareIndex} in the suite`);
  return { shareIndex, secret: fromHex(p.input.secret_hex) };
};
const vectorGroupPubkey = `0x${suite.group_pubkey_hex}` as Hex;

function refusal(fn: () => unknown): KeyMaterialError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyMaterialError);
    return error as KeyMaterialError;
  }
  throw new Error('expected a KeyMaterialError');
}

/** Every subset of `size` elements of `items`. */
function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  return items.flatMap((item, i) => subsets(items.slice(i + 1), size - 1).map((rest) => [item, ...rest]));
}

const sharesOf = (v: DealtValidator, indices: readonly number[]): SecretShare[] =>
  indices.map((shareIndex) => ({ shareIndex, secret: v.shares.get(shareIndex) ?? new Uint8Array() }));

describe('recoverGroupSecret', () => {
  it.each(subsets([1, 2, 3, 4], 3).map((s) => [s.join(', '), s] as const))('Charon vector: shares %s recover the group secret', (_, indices) => {
    const secret = recoverGroupSecret(indices.map(vectorShare), vectorGroupPubkey);
    expect(toHex(secret).slice(2)).toBe(suite.group_secret_hex);
  });

  it('refuses below threshold: two shares recover some other key', () => {
    const error = refusal(() => recoverGroupSecret([vectorShare(1), vectorShare(2)], vectorGroupPubkey));
    expect(error.code).toBe('group_pubkey_mismatch');
    expect(error.message).toContain('the 2 shares (indices 1, 2) recover a key');
    expect(error.message).toContain(`is not the group pubkey ${vectorGroupPubkey}`);
  });

  it('refuses shares paired with the wrong share indices', () => {
    const swapped = [
      { shareIndex: 2, secret: vectorShare(1).secret },
      { shareIndex: 1, secret: vectorShare(2).secret },
      vectorShare(3),
    ];
    expect(refusal(() => recoverGroupSecret(swapped, vectorGroupPubkey)).code).toBe('group_pubkey_mismatch');
  });

  it('names the wrong share when the public shares are given', () => {
    const publicShares = new Map(suite.partials.map((p) => [p.input.share_idx, `0x${p.pubshare_hex}` as Hex]));
    const foreign = { shareIndex: 3, secret: generateSecretKey() };
    const error = refusal(() => recoverGroupSecret([vectorShare(1), vectorShare(2), foreign], vectorGroupPubkey, { publicShares }));
    expect(error.code).toBe('public_share_mismatch');
    expect(error.message).toMatch(/^share 3: its public key 0x[0-9a-f]{96} is not the cluster's public share 0x/);
    expect(toHex(recoverGroupSecret([1, 2, 4].map(vectorShare), vectorGroupPubkey, { publicShares })).slice(2)).toBe(
      suite.group_secret_hex,
    );
  });

  it('refuses a duplicate index, a bad index, a malformed share and an empty set', () => {
    expect(refusal(() => recoverGroupSecret([vectorShare(1), vectorShare(1), vectorShare(2)], vectorGroupPubkey)).code).toBe(
      'duplicate_share_index',
    );
    expect(refusal(() => recoverGroupSecret([{ shareIndex: 0, secret: vectorShare(1).secret }], vectorGroupPubkey)).code).toBe(
      'invalid_share',
    );
    expect(refusal(() => recoverGroupSecret([{ shareIndex: 1, secret: new Uint8Array(31) }], vectorGroupPubkey)).code).toBe(
      'invalid_share',
    );
    expect(refusal(() => recoverGroupSecret([], vectorGroupPubkey)).code).toBe('invalid_share');
  });
});

describe('dealValidators', () => {
  it('deals count validators t-of-n: any t shares recover each, t-1 do not, public shares match', () => {
    const dealt = dealValidators({ count: 2, total: 4, threshold: 3 });
    expect(dealt).toHaveLength(2);
    expect(dealt[0]?.groupPubkey).not.toBe(dealt[1]?.groupPubkey);
    for (const v of dealt) {
      expect(v.groupPubkey).toBe(toHex(secretKeyToPublicKey(v.groupSecret)));
      expect([...v.shares.keys()]).toEqual([1, 2, 3, 4]);
      for (const [i, share] of v.shares) expect(v.publicShares.get(i)).toBe(toHex(secretKeyToPublicKey(share)));
      for (const indices of subsets([1, 2, 3, 4], 3)) {
        expect(recoverGroupSecret(sharesOf(v, indices), v.groupPubkey, { publicShares: v.publicShares })).toEqual(v.groupSecret);
      }
      for (const indices of subsets([1, 2, 3, 4], 2)) {
        expect(refusal(() => recoverGroupSecret(sharesOf(v, indices), v.groupPubkey)).code).toBe('group_pubkey_mismatch');
      }
    }
  });

  it('sharesForOperator lists one operator\'s share of every validator, in validator order', () => {
    const dealt = dealValidators({ count: 3, total: 4, threshold: 3 });
    expect(sharesForOperator(dealt, 2)).toEqual(dealt.map((v) => v.shares.get(2)));
    expect(() => sharesForOperator(dealt, 5)).toThrow(/has no share with index 5/);
  });

  it('refuses a bad count or threshold', () => {
    expect(() => dealValidators({ count: 0, total: 4, threshold: 3 })).toThrow(/count/);
    expect(() => dealValidators({ count: 1, total: 4, threshold: 5 })).toThrow(/threshold/);
  });
});

describe('splitExistingKeys', () => {
  it('splits the given keys, keeping their pubkeys (Charon vector group key)', () => {
    const other = generateSecretKey();
    const dealt = splitExistingKeys([fromHex(suite.group_secret_hex), other], { total: 7, threshold: 5 });
    expect(dealt.map((v) => v.groupPubkey)).toEqual([vectorGroupPubkey, toHex(secretKeyToPublicKey(other))]);
    const first = dealt[0];
    if (!first) throw new Error('nothing dealt');
    expect(first.shares.size).toBe(7);
    expect(toHex(recoverGroupSecret(sharesOf(first, [7, 1, 4, 2, 6]), vectorGroupPubkey)).slice(2)).toBe(suite.group_secret_hex);
  });

  it('refuses a malformed key or the same key twice, naming its position', () => {
    const key = generateSecretKey();
    const dup = refusal(() => splitExistingKeys([key, generateSecretKey(), key], { total: 4, threshold: 3 }));
    expect(dup.code).toBe('duplicate_key');
    expect(dup.message).toMatch(/^secret 2 is the same key as secret 0/);
    const bad = refusal(() => splitExistingKeys([key, new Uint8Array(32)], { total: 4, threshold: 3 }));
    expect(bad.code).toBe('invalid_secret_key');
    expect(bad.message).toMatch(/^secret 1: /);
  });
});
