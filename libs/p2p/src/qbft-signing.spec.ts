import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, type Duty, type Hex } from '#lib/contracts';
import {
  charonHashRoot,
  encodeCharonAnyString,
  encodeCharonDuty,
  encodeCharonQbftMsg,
  encodeCharonUnsignedDataSet,
} from './charon-proto.js';
import { generateIdentityKey } from './identity.js';
import { k1Verifier, recoverK1, signK1, verifyK1 } from './k1.js';
import { qbftSigningRoot, signOwnQbftMessages, verifyQbftSignatures, type SignableQbftMessage } from './qbft-signing.js';

/**
 * shared/vectors/obol-dv-specs (Obol distributed-validator-specs, MIT): qbft_hashing.json
 * (Charon's hashProto output) and secp256k1_signatures.json (Charon's k1util), which signs
 * the qbft_signing_root of `attester_pre_prepare`, so the two suites chain.
 */
const VECTORS = resolve(process.cwd(), '../shared/vectors/obol-dv-specs');
// Slots up to 2^64-1 appear: quote big integers before JSON.parse so they stay exact.
const load = <T>(file: string): T => JSON.parse(readFileSync(resolve(VECTORS, file), 'utf8').replace(/(:\s*)(\d{16,})/g, '$1"$2"')) as T;

interface Case<I> {
  readonly name: string;
  readonly input: I;
  readonly encoding_hex: string;
  readonly hash_hex: string;
}
interface Hashing {
  readonly duty: readonly Case<{ slot: number | string; type: number }>[];
  readonly unsigned_data_set: readonly Case<{ set: Record<string, string> }>[];
  readonly qbft_signing_root: readonly Case<{
    type: number;
    slot: number | string;
    duty_type: number;
    peer_idx: number;
    round: number;
    prepared_round: number;
    value_hash: string;
    prepared_value_hash: string;
    signature: string | null;
  }>[];
  readonly any_string: readonly Case<{ string_value: string }>[];
}
interface Signatures {
  readonly secret_hex: string;
  readonly pubkey_hex: string;
  readonly cases: readonly { name: string; input: { hash_hex: string }; signature_hex: string; recovered_pubkey_hex: string }[];
}

const hashing = load<Hashing>('qbft_hashing.json');
const signatures = load<Signatures>('secp256k1_signatures.json');
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('Charon protobuf encodings and hash roots (qbft_hashing.json)', () => {
  for (const c of hashing.duty) {
    it(`duty: ${c.name}`, () => {
      const encoding = encodeCharonDuty({ slot: BigInt(c.input.slot), type: c.input.type });
      expect(hex(encoding)).toBe(c.encoding_hex);
      expect(hex(charonHashRoot(encoding))).toBe(c.hash_hex);
    });
  }
  for (const c of hashing.unsigned_data_set) {
    it(`unsigned data set: ${c.name}`, () => {
      const set = new Map(Object.entries(c.input.set).map(([k, v]) => [k, fromHex(v)]));
      const encoding = encodeCharonUnsignedDataSet(set);
      expect(hex(encoding)).toBe(c.encoding_hex);
      expect(hex(charonHashRoot(encoding))).toBe(c.hash_hex);
    });
  }
  for (const c of hashing.qbft_signing_root) {
    it(`QBFT signing root: ${c.name}`, () => {
      const encoding = encodeCharonQbftMsg({
        type: c.input.type,
        duty: { slot: BigInt(c.input.slot), type: c.input.duty_type },
        peerIdx: c.input.peer_idx,
        round: c.input.round,
        preparedRound: c.input.prepared_round,
        valueHash: fromHex(c.input.value_hash),
        preparedValueHash: fromHex(c.input.prepared_value_hash),
      });
      expect(hex(encoding)).toBe(c.encoding_hex);
      expect(hex(charonHashRoot(encoding))).toBe(c.hash_hex);
    });
  }
  for (const c of hashing.any_string) {
    it(`Any-wrapped string: ${c.name}`, () => {
      const encoding = encodeCharonAnyString(c.input.string_value);
      expect(hex(encoding)).toBe(c.encoding_hex);
      expect(hex(charonHashRoot(encoding))).toBe(c.hash_hex);
    });
  }

  it('Cohort attester messages get the same root as Charon for the same fields (attester_pre_prepare)', () => {
    const c = hashing.qbft_signing_root.find((x) => x.name === 'attester_pre_prepare')!;
    const duty: Duty = { slot: Number(c.input.slot), type: 'attester' };
    const root = qbftSigningRoot(duty, {
      type: 'PRE-PREPARE',
      source: c.input.peer_idx,
      round: c.input.round,
      valueHash: `0x${c.input.value_hash}`,
      preparedRound: 0,
      preparedValueHash: null,
    });
    expect(hex(root)).toBe(c.hash_hex);
  });
});

describe('secp256k1 R ‖ S ‖ V signatures (secp256k1_signatures.json)', () => {
  const secret = fromHex(signatures.secret_hex);
  it('the suite key is the one it names', () => {
    expect(hex(secp256k1.getPublicKey(secret, true))).toBe(signatures.pubkey_hex);
  });
  for (const c of signatures.cases) {
    it(c.name, () => {
      const digest = fromHex(c.input.hash_hex);
      const signature = signK1(secret, digest);
      expect(hex(signature)).toBe(c.signature_hex);
      expect(hex(recoverK1(digest, fromHex(c.signature_hex))!)).toBe(c.recovered_pubkey_hex);
      expect(verifyK1(fromHex(signatures.pubkey_hex), digest, signature)).toBe(true);
    });
  }
  it('chains with qbft_hashing: the signed digest is the attester_pre_prepare signing root', () => {
    const root = hashing.qbft_signing_root.find((x) => x.name === 'attester_pre_prepare')!.hash_hex;
    expect(signatures.cases.find((x) => x.name === 'qbft_attester_pre_prepare')!.input.hash_hex).toBe(root);
  });
  it('refuses a wrong recovery id, a high-S twin and a wrong length', () => {
    const digest = fromHex(signatures.cases[0]!.input.hash_hex);
    const good = fromHex(signatures.cases[0]!.signature_hex);
    const badV = Uint8Array.from(good);
    badV[64] = 7;
    expect(recoverK1(digest, badV)).toBeUndefined();
    const s = BigInt(`0x${hex(good.subarray(32, 64))}`);
    const highS = Uint8Array.from(good);
    highS.set(fromHex((secp256k1.Point.CURVE().n - s).toString(16).padStart(64, '0')), 32);
    highS[64] = good[64]! ^ 1;
    expect(recoverK1(digest, highS)).toBeUndefined();
    expect(recoverK1(digest, good.subarray(0, 64))).toBeUndefined();
  });
});

describe('k1Verifier (precomputed key) accepts exactly what recover-and-compare accepts', () => {
  it('over valid signatures, flipped V, high-S twins, tampered digests, a zero digest and another key', () => {
    const secret = fromHex(signatures.secret_hex);
    const publicKey = fromHex(signatures.pubkey_hex);
    const verifier = k1Verifier(publicKey);
    const other = k1Verifier(secp256k1.getPublicKey(generateIdentityKey(), true));
    const n = secp256k1.Point.CURVE().n;
    let accepted = 0;
    for (let i = 0; i < 24; i += 1) {
      const digest = i === 0 ? new Uint8Array(32) : Uint8Array.from({ length: 32 }, (_, j) => (i * 31 + j * 7) & 0xff);
      const good = signK1(secret, digest);
      const flippedV = Uint8Array.from(good);
      flippedV[64] = good[64]! ^ 1;
      const highS = Uint8Array.from(good);
      highS.set(fromHex((n - BigInt(`0x${hex(good.subarray(32, 64))}`)).toString(16).padStart(64, '0')), 32);
      highS[64] = good[64]! ^ 1;
      const tampered = Uint8Array.from(digest);
      tampered[i % 32] = tampered[i % 32]! ^ 1;
      for (const [d, sig] of [[digest, good], [digest, flippedV], [digest, highS], [tampered, good]] as const) {
        const expected = verifyK1(publicKey, d, sig);
        expect(verifier(d, sig)).toBe(expected);
        if (expected) accepted += 1;
      }
      expect(other(digest, good)).toBe(false);
    }
    expect(accepted).toBe(24); // exactly the untouched signatures
  });
});

describe('per-message QBFT signatures', () => {
  const keys = [0, 1, 2, 3].map(() => generateIdentityKey());
  const publicKeys = keys.map((k) => secp256k1.getPublicKey(k, true));
  const duty: Duty = { slot: 77, type: 'attester' };
  const H: Hex = `0x${'ab'.repeat(32)}`;
  const rc = (source: number): SignableQbftMessage => ({ type: 'ROUND-CHANGE', source, round: 2, valueHash: null, preparedRound: 0, preparedValueHash: null });
  const signedBy = (m: SignableQbftMessage, author: number) => signOwnQbftMessages(duty, m, author, keys[author]!);

  it('a PRE-PREPARE whose justification members are each signed by their authors verifies', () => {
    const justification = [0, 2, 3].map((s) => signedBy(rc(s), s));
    const proposal = signedBy({ type: 'PRE-PREPARE', source: 2, round: 2, valueHash: H, preparedRound: 0, preparedValueHash: null, justification }, 2);
    expect(verifyQbftSignatures(duty, proposal, publicKeys)).toBeNull();
  });

  it('signs only its own messages in a tree, keeping the others\' signatures', () => {
    const fromPeer = signedBy(rc(0), 0);
    const mine = signOwnQbftMessages(duty, { ...rc(1), type: 'ROUND-CHANGE', justification: [fromPeer, rc(1)] }, 1, keys[1]!);
    expect(mine.justification![0]!.signature).toBe(fromPeer.signature);
    expect(verifyQbftSignatures(duty, mine, publicKeys)).toBeNull();
  });

  it('rejects a forged justification: a ROUND-CHANGE claiming operator 3 but signed by the relayer (operator 1)', () => {
    const forged = signOwnQbftMessages(duty, rc(3), 3, keys[1]!); // relayer's key, author field says 3
    const justification = [signedBy(rc(0), 0), signedBy(rc(1), 1), forged];
    const proposal = signedBy({ type: 'PRE-PREPARE', source: 1, round: 2, valueHash: H, preparedRound: 0, preparedValueHash: null, justification }, 1);
    expect(verifyQbftSignatures(duty, proposal, publicKeys)).toEqual({ reason: 'bad_signature', source: 3, type: 'ROUND-CHANGE', depth: 1 });
  });

  it('rejects an unsigned justification member, a tampered field, a foreign author and another duty', () => {
    const good = signedBy(rc(0), 0);
    const wrap = (j: SignableQbftMessage) => signedBy({ type: 'PRE-PREPARE', source: 2, round: 2, valueHash: H, preparedRound: 0, preparedValueHash: null, justification: [j] }, 2);
    expect(verifyQbftSignatures(duty, wrap(rc(0)), publicKeys)?.reason).toBe('missing_signature');
    expect(verifyQbftSignatures(duty, wrap({ ...good, round: 3 }), publicKeys)?.reason).toBe('bad_signature');
    expect(verifyQbftSignatures(duty, wrap({ ...good, source: 9 }), publicKeys)?.reason).toBe('unknown_author');
    expect(verifyQbftSignatures({ slot: 78, type: 'attester' }, good, publicKeys)?.reason).toBe('bad_signature');
  });

  it('remembers verified messages when given a cache, and still refuses a bad one', () => {
    const cache = new Set<string>();
    const good = signedBy(rc(0), 0);
    expect(verifyQbftSignatures(duty, good, publicKeys, cache)).toBeNull();
    expect(cache.size).toBe(1);
    expect(verifyQbftSignatures(duty, { ...good, signature: toHex(new Uint8Array(65)) }, publicKeys, cache)?.reason).toBe('bad_signature');
  });
});
