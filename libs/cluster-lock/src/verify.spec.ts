import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeLockHash,
  LockVerificationError,
  parseClusterLock,
  verifyDefinition,
  verifyLock,
  withDefinitionHashes,
  type ClusterLock,
  type LockCheck,
  type VerifyOptions,
} from './index.js';
import type { Hex } from '#lib/contracts';

/** shared/vectors/obol-dv-specs/cluster_hashing.json, case real_keys_3_of_4 (Charon-generated). */
const suite = JSON.parse(
  readFileSync(new URL('../../../../shared/vectors/obol-dv-specs/cluster_hashing.json', import.meta.url), 'utf8'),
) as { lock: { name: string; input: unknown }[] };
const realKeys = (): ClusterLock => parseClusterLock(suite.lock.find((c) => c.name === 'real_keys_3_of_4')?.input);

/** Real locks from DKG ceremonies (testdata/obol-sdk/README.md). */
const obolLock = (name: string): ClusterLock =>
  parseClusterLock(readFileSync(new URL(`../testdata/obol-sdk/${name}.json`, import.meta.url), 'utf8'));

async function refusal(lock: ClusterLock, options?: VerifyOptions): Promise<{ check: LockCheck; field: string; message: string }> {
  try {
    await verifyLock(lock, options);
  } catch (error) {
    if (error instanceof LockVerificationError) return { check: error.check, field: error.field, message: error.message };
    throw error;
  }
  throw new Error('the lock verified');
}

/** Flips the lowest bit of byte `index` of a hex string. */
function flip(hex: Hex, index = 10): Hex {
  const body = hex.slice(2);
  const byte = (parseInt(body.slice(index * 2, index * 2 + 2), 16) ^ 1).toString(16).padStart(2, '0');
  return `0x${body.slice(0, index * 2)}${byte}${body.slice(index * 2 + 2)}`;
}

/** What someone editing the file would do next: recompute every hash so they match again. */
function resealed(lock: ClusterLock): ClusterLock {
  const definition = withDefinitionHashes(lock.definition);
  const relocked = { ...lock, definition };
  return { ...relocked, lockHash: computeLockHash(relocked) };
}

function withShare(lock: ClusterLock, position: number, share: Hex): ClusterLock {
  const [v, ...rest] = lock.distributedValidators;
  if (!v) throw new Error('no validator');
  return { ...lock, distributedValidators: [{ ...v, publicShares: v.publicShares.map((s, i) => (i === position ? share : s)) }, ...rest] };
}

describe('the signed real_keys_3_of_4 lock', () => {
  it('passes hashes, shares, signature aggregate and node signatures; its EIP-712 placeholders are refused', async () => {
    // The vector's operator and creator signatures are placeholder bytes (see its notes), so the
    // first check that can fail is the operator signatures: everything before it held.
    const r = await refusal(realKeys());
    expect(r.check).toBe('operator_signatures');
    expect(r.message).toMatch(/^cluster_definition\.operators\[0\]\.config_signature: is not an EIP-712 signature of the config hash by operator 0's address/);
  });

  it('lock_hash flipped', async () => {
    const lock = realKeys();
    const r = await refusal({ ...lock, lockHash: flip(lock.lockHash) });
    expect(r.field).toBe('lock_hash');
    expect(r.message).toBe(`lock_hash: does not match the lock's contents (computed ${lock.lockHash}, file says ${flip(lock.lockHash)})`);
  });

  it('a public share flipped: the lock hash no longer matches', async () => {
    const lock = realKeys();
    expect((await refusal(withShare(lock, 2, flip(lock.distributedValidators[0]?.publicShares[2] as Hex)))).field).toBe('lock_hash');
  });

  it('a public share flipped and the hashes recomputed: that share is named', async () => {
    const lock = realKeys();
    const r = await refusal(resealed(withShare(lock, 2, flip(lock.distributedValidators[0]?.publicShares[2] as Hex, 47))));
    expect(r.check).toBe('public_shares');
    expect(r.field).toBe('distributed_validators[0].public_shares[2]');
  });

  it.each([0, 1, 2, 3])('public share %i replaced by another valid key, hashes recomputed: named as off the polynomial', async (position) => {
    const lock = realKeys();
    const other = lock.distributedValidators[0]?.distributedPublicKey as Hex; // a valid G1 point, not this share
    const r = await refusal(resealed(withShare(lock, position, other)));
    expect(r.message).toBe(`distributed_validators[0].public_shares[${position}]: does not lie on the polynomial of distributed_public_key`);
  });

  it('a node signature flipped', async () => {
    const lock = realKeys();
    const r = await refusal({ ...lock, nodeSignatures: lock.nodeSignatures.map((s, i) => (i === 1 ? flip(s) : s)) });
    expect(r.message).toBe("node_signatures[1]: not signed by operator 1's ENR key");
  });

  it('node signatures swapped between operators', async () => {
    const lock = realKeys();
    const [a, b, ...rest] = lock.nodeSignatures;
    const r = await refusal({ ...lock, nodeSignatures: [b as Hex, a as Hex, ...rest] });
    expect(r.field).toBe('node_signatures[0]');
  });

  it('a node signature missing', async () => {
    const lock = realKeys();
    expect((await refusal({ ...lock, nodeSignatures: lock.nodeSignatures.slice(1) })).message).toBe('node_signatures: has 3 entries for 4 operators');
  });

  it('the signature aggregate flipped', async () => {
    const lock = realKeys();
    const r = await refusal({ ...lock, signatureAggregate: flip(lock.signatureAggregate, 95) });
    expect(r.field).toBe('signature_aggregate');
    expect(r.check).toBe('signature_aggregate');
  });

  it('the signature aggregate empty', async () => {
    expect((await refusal({ ...realKeys(), signatureAggregate: '0x' })).message).toBe('signature_aggregate: is empty');
  });

  it('a definition field changed: the config hash no longer matches', async () => {
    const lock = realKeys();
    const r = await refusal({ ...lock, definition: { ...lock.definition, threshold: 2 } });
    expect(r.field).toBe('cluster_definition.config_hash');
    expect(r.message).toMatch(/^cluster_definition\.config_hash: does not match the definition's contents \(computed 0x[0-9a-f]{64}, file says 0x3bead12c/);
  });

  it('an operator signature flipped: the definition hash no longer matches', async () => {
    const lock = realKeys();
    const operators = lock.definition.operators.map((op, i) => (i === 3 ? { ...op, enrSignature: flip(op.enrSignature) } : op));
    expect((await refusal({ ...lock, definition: { ...lock.definition, operators } })).field).toBe('cluster_definition.definition_hash');
  });

  it('structure: shares missing, threshold out of range, num_validators wrong', async () => {
    const lock = realKeys();
    const v = lock.distributedValidators[0];
    if (!v) throw new Error('no validator');
    expect((await refusal(resealed({ ...lock, distributedValidators: [{ ...v, publicShares: v.publicShares.slice(0, 3) }] }))).message).toBe(
      'distributed_validators[0].public_shares: has 3 entries, expected one per operator (4)',
    );
    expect((await refusal(resealed({ ...lock, definition: { ...lock.definition, threshold: 5 } }))).message).toBe(
      'cluster_definition.threshold: must be within 1..4 for 4 operators, got 5',
    );
    expect((await refusal(resealed({ ...lock, distributedValidators: [v, v], definition: { ...lock.definition, numValidators: 2, validators: [...lock.definition.validators, ...lock.definition.validators] } }))).message).toBe(
      'distributed_validators[1].distributed_public_key: repeats distributed_validators[0]',
    );
  });
});

describe('real locks from DKG ceremonies verify completely', () => {
  it.each([
    ['cluster_lock_v1_6_0_goerli', 'verified', 'absent'],
    ['cluster_lock_v1_7_0_goerli', 'verified', 'verified'],
    ['cluster_lock_v1_8_0_mainnet_unsigned', 'unsigned', 'verified'],
    ['cluster_lock_v1_10_0_hoodi_solo', 'unsigned', 'verified'],
  ])('%s', async (name, operatorSignatures, nodeSignatures) => {
    const lock = obolLock(name);
    await expect(verifyLock(lock)).resolves.toMatchObject({ lockHash: lock.lockHash, operatorSignatures, nodeSignatures });
  });

  it('an operator EIP-712 signature of the wrong operator is named', () => {
    const { definition } = obolLock('cluster_lock_v1_7_0_goerli');
    const operators = definition.operators.map((op, i) =>
      i === 2 ? { ...op, configSignature: definition.operators[3]?.configSignature as Hex } : op,
    );
    expect(() => verifyDefinition(withDefinitionHashes({ ...definition, operators }))).toThrow(
      "operators[2].config_signature: is not an EIP-712 signature of the config hash by operator 2's address 0x33807D6F1DCe44b9C599fFE03640762A6F08C496",
    );
  });

  it('an ENR signature over another ENR is named', () => {
    const { definition } = obolLock('cluster_lock_v1_6_0_goerli');
    const operators = definition.operators.map((op, i) => (i === 0 ? { ...op, enr: definition.operators[1]?.enr as string } : op));
    expect(() => verifyDefinition(withDefinitionHashes({ ...definition, operators }))).toThrow(/^operators\[0\]\.enr_signature: is not an EIP-712 signature of the ENR/);
  });

  it("a creator-only definition (operators unsigned) checks the creator's signature", () => {
    const { definition } = obolLock('cluster_lock_v1_10_0_hoodi_solo');
    expect(verifyDefinition(definition)).toMatchObject({ operatorSignatures: 'unsigned' });
    const forged = { ...definition, creator: { ...definition.creator, address: '0x86B8145c98e5BD25BA722645b15eD65f024a87EC' } };
    expect(() => verifyDefinition(withDefinitionHashes(forged))).toThrow(/^creator\.config_signature: is not an EIP-712 signature of the config hash by the creator/);
  });

  it('a network without a known chain id needs one for EIP-712', () => {
    const { definition } = obolLock('cluster_lock_v1_7_0_goerli');
    expect(() => verifyDefinition(withDefinitionHashes({ ...definition, forkVersion: '0x1000101b' }))).toThrow(
      'fork_version: 0x1000101b is no network with a known chain id; pass chainId to verify the EIP-712 signatures',
    );
  });

  it('requireOperatorSignatures and requireNodeSignatures refuse the unsigned cases', async () => {
    expect((await refusal(obolLock('cluster_lock_v1_8_0_mainnet_unsigned'), { requireOperatorSignatures: true })).message).toBe(
      'cluster_definition.operators: carry no operator signatures, and signed ones are required',
    );
    expect((await refusal(obolLock('cluster_lock_v1_6_0_goerli'), { requireNodeSignatures: true })).message).toBe('node_signatures: are absent, and required');
  });

  it('changing a withdrawal address and recomputing the hashes breaks the signature aggregate', async () => {
    const lock = obolLock('cluster_lock_v1_8_0_mainnet_unsigned');
    const validators = lock.definition.validators.map((v, i) => (i === 1 ? { ...v, withdrawalAddress: `0x${'11'.repeat(20)}` } : v));
    const r = await refusal(resealed({ ...lock, definition: { ...lock.definition, validators } }));
    // The shares signed the old lock hash: a lock cannot be edited without their consent.
    expect(r.field).toBe('signature_aggregate');
  });
});
