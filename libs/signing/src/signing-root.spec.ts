import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toHex, type Hex } from '#lib/contracts';
import { ssz } from '@lodestar/types';
import {
  DomainType,
  computeDomain,
  computeSigningRoot,
  isSigningObjectType,
  signingObjectRoot,
  signingObjectRootHex,
} from './index.js';

/**
 * shared/vectors/signing_roots: Web3Signer acceptance-test signing roots (via r-signer),
 * with object roots and domains recomputed by an independent SSZ merkleizer.
 */
interface SigningRootCase {
  readonly name: string;
  /** Spec container name, primitives written `Epoch(uint64)`. */
  readonly ssz_type: string;
  readonly value: unknown;
  readonly domain_type: Hex;
  readonly fork_version: Hex;
  readonly genesis_validators_root: Hex;
  readonly hash_tree_root: Hex;
  readonly domain: Hex;
  readonly signing_root: Hex;
  readonly expected_signing_root: Hex;
  readonly match: boolean;
}

const { cases } = JSON.parse(
  readFileSync(
    new URL('../../../../shared/vectors/signing_roots/web3signer_style_signing_roots.json', import.meta.url),
    'utf8',
  ),
) as { cases: SigningRootCase[] };

/** `Epoch(uint64)` → `Epoch`. */
const typeName = (sszType: string): string => sszType.replace(/\(.*\)$/, '');

describe('web3signer-style signing roots', () => {
  it('covers every signing-object type in the suite', () => {
    expect(cases.length).toBeGreaterThan(0);
    expect(cases.map((c) => typeName(c.ssz_type)).filter((name) => !isSigningObjectType(name))).toEqual([]);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    expect(c.match).toBe(true); // the suite's own two sources agree
    const name = typeName(c.ssz_type);
    if (!isSigningObjectType(name)) throw new Error(`no signing object type ${c.ssz_type}`);

    const objectRoot = signingObjectRoot(name, c.value);
    expect(toHex(objectRoot)).toBe(c.hash_tree_root);

    const domain = computeDomain(c.domain_type, c.fork_version, c.genesis_validators_root);
    expect(domain).toBe(c.domain);

    const signingRoot = computeSigningRoot(objectRoot, domain);
    expect(signingRoot).toBe(c.signing_root);
    expect(signingRoot).toBe(c.expected_signing_root);
  });

  it('uint64 values above 2^53 hash exactly (Lodestar number schemas refuse them)', () => {
    const header = cases.find((c) => c.ssz_type === 'BeaconBlockHeader');
    if (!header) throw new Error('suite has no BeaconBlockHeader case');
    // proposer_index 4666673844721362956 > 2^53: the number-typed schema cannot read it.
    expect(() => ssz.phase0.BeaconBlockHeader.fromJson(header.value)).toThrow(/MAX_SAFE_INTEGER/);
    expect(signingObjectRootHex('BeaconBlockHeader', header.value)).toBe(header.hash_tree_root);
  });

  it('domain types used by the suite are the spec constants', () => {
    const used = new Set(cases.map((c) => c.domain_type));
    const known = new Set<string>(Object.values(DomainType));
    expect([...used].filter((d) => !known.has(d))).toEqual([]);
  });
});
