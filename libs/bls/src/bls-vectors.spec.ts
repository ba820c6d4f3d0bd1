import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '#lib/contracts';
import {
  BlsError,
  aggregateSignatures,
  aggregateVerify,
  fastAggregateVerify,
  findInvalid,
  isPublicKeyEncoding,
  isSignatureEncoding,
  sign,
  verify,
  verifyBatch,
} from './index.js';

/**
 * ethereum/bls12-381-tests v0.1.1 (shared/vectors/bls). Every case of every folder is run.
 * hash_to_G2 is not: its cases use the hash-to-curve test DST
 * `QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_`, not the Ethereum signature DST, and
 * nothing in Cohort hashes to G2 under any other DST (blst's binding does not even take one).
 */
const VECTORS = new URL('../../../../shared/vectors/bls/', import.meta.url);

function cases<T>(folder: string): [string, T][] {
  const dir = new URL(`${folder}/`, VECTORS);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no vectors in ${dir.pathname}`);
  return files.map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as T]);
}

const bytes = (hex: string): Uint8Array => fromHex(hex);

interface Case<I, O> {
  readonly input: I;
  readonly output: O;
}

describe('bls vectors: sign', () => {
  it.each(cases<Case<{ privkey: string; message: string }, string | null>>('sign'))('%s', (_, { input, output }) => {
    const run = () => toHex(sign(bytes(input.privkey), bytes(input.message)));
    if (output === null) {
      expect(run).toThrow(BlsError);
    } else {
      expect(run()).toBe(output);
    }
  });
});

describe('bls vectors: verify', () => {
  type Input = { pubkey: string; message: string; signature: string };
  it.each(cases<Case<Input, boolean>>('verify'))('%s', (_, { input, output }) => {
    expect(verify(bytes(input.pubkey), bytes(input.message), bytes(input.signature))).toBe(output);
  });
});

describe('bls vectors: aggregate', () => {
  it.each(cases<Case<string[], string | null>>('aggregate'))('%s', (_, { input, output }) => {
    const run = () => toHex(aggregateSignatures(input.map(bytes)));
    if (output === null) {
      expect(run).toThrow(BlsError);
    } else {
      expect(run()).toBe(output);
    }
  });
});

describe('bls vectors: fast_aggregate_verify', () => {
  type Input = { pubkeys: string[]; message: string; signature: string };
  it.each(cases<Case<Input, boolean>>('fast_aggregate_verify'))('%s', (_, { input, output }) => {
    expect(fastAggregateVerify(input.pubkeys.map(bytes), bytes(input.message), bytes(input.signature))).toBe(output);
  });
});

describe('bls vectors: aggregate_verify', () => {
  type Input = { pubkeys: string[]; messages: string[]; signature: string };
  it.each(cases<Case<Input, boolean>>('aggregate_verify'))('%s', (_, { input, output }) => {
    expect(aggregateVerify(input.pubkeys.map(bytes), input.messages.map(bytes), bytes(input.signature))).toBe(output);
  });
});

describe('bls vectors: batch_verify', () => {
  type Input = { pubkeys: string[]; messages: string[]; signatures: string[] };
  const toSets = (input: Input) =>
    input.pubkeys.map((pubkey, i) => ({
      pubkey: bytes(pubkey),
      message: bytes(input.messages[i] ?? ''),
      signature: bytes(input.signatures[i] ?? ''),
    }));

  it.each(cases<Case<Input, boolean>>('batch_verify'))('%s', (_, { input, output }) => {
    const sets = toSets(input);
    expect(verifyBatch(sets)).toBe(output);
    // findInvalid agrees with the batch verdict and with verifying each set alone.
    const invalid = findInvalid(sets);
    expect(invalid.length === 0).toBe(output);
    const singly = sets.flatMap((s, i) => (verify(s.pubkey, s.message, s.signature) ? [] : [i]));
    expect(invalid).toEqual(singly);
  });
});

describe('bls vectors: deserialization_G1', () => {
  it.each(cases<Case<{ pubkey: string }, boolean>>('deserialization_G1'))('%s', (_, { input, output }) => {
    expect(isPublicKeyEncoding(bytes(input.pubkey))).toBe(output);
  });
});

describe('bls vectors: deserialization_G2', () => {
  it.each(cases<Case<{ signature: string }, boolean>>('deserialization_G2'))('%s', (_, { input, output }) => {
    expect(isSignatureEncoding(bytes(input.signature))).toBe(output);
  });
});
