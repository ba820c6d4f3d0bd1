import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '#lib/contracts';
import {
  BlsError,
  aggregatePublicKeys,
  aggregateSignatures,
  combinePartialSignatures,
  fastAggregateVerify,
  findInvalid,
  generateSecretKey,
  initBls,
  recoverSecret,
  secretKeyToPublicKey,
  sign,
  splitSecret,
  verify,
} from './index.js';

/** Obol DV-spec `bls_threshold.json`: values produced by Charon's tbls (herumi, Ethereum mode). */
interface ThresholdSuite {
  readonly message_hex: string;
  readonly group_secret_hex: string;
  readonly group_pubkey_hex: string;
  readonly group_signature_hex: string;
  readonly keys: readonly { name: string; input: { secret_hex: string }; pubkey_hex: string }[];
  readonly partials: readonly {
    name: string;
    input: { share_idx: number; secret_hex: string };
    pubshare_hex: string;
    signature_hex: string;
  }[];
  readonly threshold_aggregates: readonly { name: string; input: { share_indices: number[] }; signature_hex: string }[];
  readonly recovery: readonly { name: string; input: { share_indices: number[] }; pubkey_hex: string }[];
  readonly plain_aggregate: readonly { name: string; input: { share_indices: number[] }; signature_hex: string }[];
}

const suite = JSON.parse(
  readFileSync(new URL('../../../../shared/vectors/obol-dv-specs/bls_threshold.json', import.meta.url), 'utf8'),
) as ThresholdSuite;

const bare = (bytes: Uint8Array): string => toHex(bytes).slice(2);
const message = fromHex(suite.message_hex);
const partialAt = (shareIndex: number) => {
  const partial = suite.partials.find((p) => p.input.share_idx === shareIndex);
  if (!partial) throw new Error(`suite has no partial for share ${shareIndex}`);
  return partial;
};

beforeAll(() => initBls());

describe('obol bls_threshold vectors', () => {
  it('suite is the one expected', () => {
    expect(suite.partials.length).toBe(4);
    expect(suite.threshold_aggregates.length).toBeGreaterThan(0);
  });

  it.each(suite.keys.map((c) => [c.name, c] as const))('key %s: big-endian secret → pubkey', (_, c) => {
    expect(bare(secretKeyToPublicKey(fromHex(c.input.secret_hex)))).toBe(c.pubkey_hex);
  });

  it('group key signs the message to group_signature', () => {
    const groupSecret = fromHex(suite.group_secret_hex);
    expect(bare(secretKeyToPublicKey(groupSecret))).toBe(suite.group_pubkey_hex);
    expect(bare(sign(groupSecret, message))).toBe(suite.group_signature_hex);
  });

  it.each(suite.partials.map((c) => [c.name, c] as const))('partial %s: public share and signature', (_, c) => {
    const share = fromHex(c.input.secret_hex);
    expect(bare(secretKeyToPublicKey(share))).toBe(c.pubshare_hex);
    expect(bare(sign(share, message))).toBe(c.signature_hex);
    expect(verify(fromHex(c.pubshare_hex), message, fromHex(c.signature_hex))).toBe(true);
  });

  it.each(suite.threshold_aggregates.map((c) => [c.name, c] as const))('threshold combine %s', (_, c) => {
    const partials = new Map(c.input.share_indices.map((i) => [i, fromHex(partialAt(i).signature_hex)]));
    const combined = combinePartialSignatures(partials);
    expect(bare(combined)).toBe(c.signature_hex);
    expect(verify(fromHex(suite.group_pubkey_hex), message, combined)).toBe(true);
  });

  it.each(suite.recovery.map((c) => [c.name, c] as const))('recover secret %s', (_, c) => {
    const shares = new Map(c.input.share_indices.map((i) => [i, fromHex(partialAt(i).input.secret_hex)]));
    const secret = recoverSecret(shares);
    expect(bare(secret)).toBe(suite.group_secret_hex);
    expect(bare(secretKeyToPublicKey(secret))).toBe(c.pubkey_hex);
  });

  it.each(suite.plain_aggregate.map((c) => [c.name, c] as const))('plain aggregate %s', (_, c) => {
    const signatures = c.input.share_indices.map((i) => fromHex(partialAt(i).signature_hex));
    const pubshares = c.input.share_indices.map((i) => fromHex(partialAt(i).pubshare_hex));
    const aggregate = aggregateSignatures(signatures);
    expect(bare(aggregate)).toBe(c.signature_hex);
    // A multi-signature of the shares: verifies under their sum, not under the group key.
    expect(fastAggregateVerify(pubshares, message, aggregate)).toBe(true);
    expect(verify(aggregatePublicKeys(pubshares), message, aggregate)).toBe(true);
    expect(verify(fromHex(suite.group_pubkey_hex), message, aggregate)).toBe(false);
  });
});

/** All k-element subsets of `items`, in lexicographic order. */
function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((first, i) => subsets(items.slice(i + 1), k - 1).map((rest) => [first, ...rest]));
}

describe('split → sign with t shares → combine → verify under the group key', () => {
  const root = fromHex(`0x${'5a'.repeat(32)}`);

  it.each([
    [4, 3],
    [7, 5],
    [10, 7],
  ])('n=%i, t=%i', (total, threshold) => {
    const secret = generateSecretKey();
    const { shares, publicShares, groupPublicKey } = splitSecret(secret, { total, threshold });
    expect(toHex(groupPublicKey)).toBe(toHex(secretKeyToPublicKey(secret)));
    expect([...shares.keys()]).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    const partials = new Map([...shares].map(([i, share]) => [i, sign(share, root)]));
    // Every partial verifies against its public share (one batch).
    const sets = [...partials].map(([i, signature]) => ({ pubkey: publicShares.get(i)!, message: root, signature }));
    expect(findInvalid(sets)).toEqual([]);

    // Every t-subset (4, 21 and 120 of them) interpolates the group signature and secret.
    const quorums = subsets([...shares.keys()], threshold);
    for (const quorum of quorums) {
      const combined = combinePartialSignatures(new Map(quorum.map((i) => [i, partials.get(i)!])));
      expect(verify(groupPublicKey, root, combined), `quorum ${quorum.join(',')}`).toBe(true);
      const recovered = recoverSecret(new Map(quorum.map((i) => [i, shares.get(i)!])));
      expect(toHex(recovered)).toBe(toHex(secret));
    }

    // t−1 shares interpolate a different point: neither signature nor secret comes out.
    const short = quorums[quorums.length - 1]!.slice(1);
    const shortCombined = combinePartialSignatures(new Map(short.map((i) => [i, partials.get(i)!])));
    expect(verify(groupPublicKey, root, shortCombined)).toBe(false);
    expect(toHex(recoverSecret(new Map(short.map((i) => [i, shares.get(i)!]))))).not.toBe(toHex(secret));
  });

  it('more than t partials still interpolate the same signature', () => {
    const secret = generateSecretKey();
    const { shares, groupPublicKey } = splitSecret(secret, { total: 4, threshold: 3 });
    const partials = new Map([...shares].map(([i, share]) => [i, sign(share, root)]));
    expect(verify(groupPublicKey, root, combinePartialSignatures(partials))).toBe(true);
  });

  it('two splits of the same secret give different shares and the same group key', () => {
    const secret = generateSecretKey();
    const a = splitSecret(secret, { total: 4, threshold: 3 });
    const b = splitSecret(secret, { total: 4, threshold: 3 });
    expect(toHex(a.groupPublicKey)).toBe(toHex(b.groupPublicKey));
    expect(toHex(a.shares.get(1)!)).not.toBe(toHex(b.shares.get(1)!));
  });
});

describe('threshold input errors', () => {
  const secret = generateSecretKey();
  const code = (run: () => unknown): string | undefined => {
    try {
      run();
      return undefined;
    } catch (error) {
      return error instanceof BlsError ? error.code : `not a BlsError: ${String(error)}`;
    }
  };

  it('refuses impossible thresholds and zero or oversized secrets', () => {
    expect(code(() => splitSecret(secret, { total: 3, threshold: 4 }))).toBe('invalid_threshold');
    expect(code(() => splitSecret(secret, { total: 3, threshold: 0 }))).toBe('invalid_threshold');
    expect(code(() => splitSecret(new Uint8Array(32), { total: 4, threshold: 3 }))).toBe('invalid_secret_key');
    expect(code(() => splitSecret(new Uint8Array(32).fill(0xff), { total: 4, threshold: 3 }))).toBe('invalid_secret_key');
  });

  it('refuses bad share indices, empty input and malformed partials', () => {
    const sig = sign(secret, new Uint8Array(32));
    expect(code(() => combinePartialSignatures(new Map()))).toBe('empty_input');
    expect(code(() => combinePartialSignatures(new Map([[0, sig]])))).toBe('invalid_share_index');
    expect(code(() => combinePartialSignatures(new Map([[1.5, sig]])))).toBe('invalid_share_index');
    expect(code(() => combinePartialSignatures(new Map([[1, sig.subarray(1)]])))).toBe('invalid_signature');
    expect(code(() => recoverSecret(new Map([[-1, secret]])))).toBe('invalid_share_index');
  });
});
