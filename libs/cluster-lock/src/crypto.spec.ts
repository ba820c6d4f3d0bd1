import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '#lib/contracts';
import { secp256k1PublicKey, signK1, verifyK1 } from '#lib/p2p';
import { ClusterFileError, decodeEnr, ethereumAddress, recoverAddress, recoverPublicKey } from './index.js';
import { initG1 } from './g1.js';
import { testOperators } from './test-cluster.js';

const vectors = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../../../shared/vectors/obol-dv-specs/${name}`, import.meta.url), 'utf8'));

/**
 * shared/vectors/obol-dv-specs/secp256k1_signatures.json: Charon k1util Sign/Recover outputs.
 * The signing itself is #lib/p2p's (pinned there too); here: address recovery for EIP-712.
 */
describe('secp256k1 R || S || V (secp256k1_signatures.json)', () => {
  const suite = vectors('secp256k1_signatures.json') as {
    secret_hex: string;
    pubkey_hex: string;
    cases: { name: string; input: { hash_hex: string }; signature_hex: string; recovered_pubkey_hex: string }[];
  };
  const secret = fromHex(suite.secret_hex);

  it('derives the vector public key', () => {
    expect(secp256k1PublicKey(secret)).toBe(`0x${suite.pubkey_hex}`);
  });

  it.each(suite.cases.map((c) => [c.name, c] as const))('%s: signs byte for byte, verifies, recovers', (_, c) => {
    const digest = fromHex(c.input.hash_hex);
    expect(toHex(signK1(secret, digest))).toBe(`0x${c.signature_hex}`);
    expect(verifyK1(fromHex(suite.pubkey_hex), digest, fromHex(c.signature_hex))).toBe(true);
    expect(recoverAddress(digest, fromHex(c.signature_hex))).toBe(ethereumAddress(fromHex(c.recovered_pubkey_hex)));
    // Wallets write V as 27/28.
    const walletStyle = fromHex(c.signature_hex);
    walletStyle[64] = (walletStyle[64] ?? 0) + 27;
    expect(recoverAddress(digest, walletStyle)).toBe(ethereumAddress(fromHex(c.recovered_pubkey_hex)));
  });

  it('refuses a signature of another digest', () => {
    const c = suite.cases[0];
    if (!c) throw new Error('no case');
    const other = fromHex(c.input.hash_hex).map((b, i) => (i === 0 ? b ^ 1 : b));
    expect(verifyK1(fromHex(suite.pubkey_hex), other, fromHex(c.signature_hex))).toBe(false);
  });
});

describe('ENR decoding', () => {
  const hashing = vectors('cluster_hashing.json') as {
    lock: { name: string; input: { cluster_definition: { operators: { enr: string }[] } }; node_pubkeys?: string[] }[];
  };
  const real = hashing.lock.find((c) => c.name === 'real_keys_3_of_4');

  it("reads Charon's ENRs (sequence number 0) and finds each operator's node key", () => {
    expect(real?.node_pubkeys).toHaveLength(4);
    real?.input.cluster_definition.operators.forEach((op, i) => {
      expect(decodeEnr(op.enr, `operators[${i}].enr`).publicKey).toBe(`0x${real.node_pubkeys?.[i]}`);
    });
  });

  it('reads IP and TCP port when the record has them', () => {
    const [op] = testOperators(1);
    const decoded = decodeEnr(op?.enr ?? '', 'enr');
    expect(decoded).toEqual({ publicKey: secp256k1PublicKey(op?.secretKey ?? new Uint8Array()), ip: '127.0.0.1', tcp: 9000 });
  });

  it('refuses a record whose signature does not cover its content, naming the field', () => {
    const enr = real?.input.cluster_definition.operators[0]?.enr ?? '';
    // Change one character of the key (the last base64url characters carry it).
    const tampered = `${enr.slice(0, -2)}${enr.endsWith('A') ? 'B' : 'A'}${enr.slice(-1)}`;
    expect(() => decodeEnr(tampered, 'cluster_definition.operators[0].enr')).toThrow(ClusterFileError);
    expect(() => decodeEnr(tampered, 'cluster_definition.operators[0].enr')).toThrow(/^cluster_definition\.operators\[0\]\.enr: /);
    expect(() => decodeEnr('enr:not-base64!', 'x')).toThrow(/^x: is not a valid signed ENR/);
  });
});

/** shared/vectors/obol-dv-specs/bls_threshold.json: Charon tbls 3-of-4 sharing. */
describe('Lagrange interpolation of public shares in G1 (bls_threshold.json)', () => {
  const suite = vectors('bls_threshold.json') as {
    group_pubkey_hex: string;
    partials: { input: { share_idx: number }; pubshare_hex: string }[];
  };
  const shares = new Map(suite.partials.map((p) => [p.input.share_idx, fromHex(p.pubshare_hex)]));

  it.each([
    [[1, 2, 3]],
    [[1, 2, 4]],
    [[1, 3, 4]],
    [[2, 3, 4]],
  ])('shares %j give the group public key', async (indices) => {
    await initG1();
    const subset = new Map(indices.map((i) => [i, shares.get(i) as Uint8Array]));
    expect(toHex(recoverPublicKey(subset))).toBe(`0x${suite.group_pubkey_hex}`);
  });

  it('two shares (below threshold) do not', async () => {
    await initG1();
    const subset = new Map([1, 2].map((i) => [i, shares.get(i) as Uint8Array]));
    expect(toHex(recoverPublicKey(subset))).not.toBe(`0x${suite.group_pubkey_hex}`);
  });
});
