import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aggregateSignatures, sign } from '#lib/bls';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import {
  buildClusterLock,
  ClusterBuildError,
  clusterFromLock,
  computeLockHash,
  LockVerificationError,
  loadClusterLock,
  parseClusterLock,
  serialiseClusterLock,
  verifyLock,
  withDefinitionHashes,
  type BuildClusterLockInput,
  type BuildValidator,
  type ClusterLock,
} from './index.js';
import { secp256k1PublicKey, signK1 } from '#lib/p2p';
import { testOperators, testValidators } from './test-cluster.js';

const FIXED_NOW = () => new Date('2026-07-29T12:00:00Z');
const UUID = '0194FDC2-FA2F-4CC0-81D3-FF12045B73C8';

function input(overrides: Partial<BuildClusterLockInput> = {}): BuildClusterLockInput {
  return {
    name: 'cohort test',
    operators: testOperators(4),
    threshold: 3,
    forkVersion: '0x90000069', // sepolia
    validators: testValidators(2, 4, 3),
    uuid: UUID,
    now: FIXED_NOW,
    ...overrides,
  };
}

async function buildError(run: () => Promise<unknown>): Promise<ClusterBuildError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ClusterBuildError) return error;
    throw error;
  }
  throw new Error('built');
}

/** Re-signs a lock after an edit, with the keys the test dealt (what a dishonest dealer could do). */
function resigned(lock: ClusterLock, validators: readonly BuildValidator[], operatorKeys: readonly Uint8Array[]): ClusterLock {
  const definition = withDefinitionHashes(lock.definition);
  const unsigned = { ...lock, definition };
  const lockHash = computeLockHash(unsigned);
  const digest = fromHex(lockHash);
  return {
    ...unsigned,
    lockHash,
    signatureAggregate: toHex(aggregateSignatures(validators.flatMap((v) => v.secretShares.map((s) => sign(s, digest))))),
    nodeSignatures: operatorKeys.map((k) => toHex(signK1(k, digest))),
  };
}

describe('buildClusterLock', () => {
  it('with operator keys: every signature present, and the lock verifies', async () => {
    const lock = await buildClusterLock(input());
    expect(lock.definition.version).toBe('v1.10.0');
    expect(lock.definition.timestamp).toBe('2026-07-29T12:00:00Z');
    expect(lock.definition.uuid).toBe(UUID);
    expect(lock.nodeSignatures).toHaveLength(4);
    expect(lock.definition.operators.every((op) => op.address !== '' && op.configSignature !== '0x' && op.enrSignature !== '0x')).toBe(true);
    await expect(verifyLock(lock, { requireOperatorSignatures: true, requireNodeSignatures: true })).resolves.toMatchObject({
      operatorSignatures: 'verified',
      nodeSignatures: 'verified',
      validators: 2,
      lockHash: lock.lockHash,
    });
  });

  it('with ENRs only (operators hold their keys): unsigned, and still a usable lock', async () => {
    const operators = testOperators(4).map(({ enr }) => ({ enr }));
    const lock = await buildClusterLock(input({ operators }));
    expect(lock.nodeSignatures).toEqual([]);
    expect(lock.definition.creator).toEqual({ address: '', configSignature: '0x' });
    await expect(verifyLock(lock)).resolves.toMatchObject({ operatorSignatures: 'unsigned', nodeSignatures: 'absent' });
    await expect(verifyLock(lock, { requireOperatorSignatures: true })).rejects.toThrow(LockVerificationError);
  });

  it('round-trips: build → serialise → parse → verify, and serialising again gives the same bytes', async () => {
    const lock = await buildClusterLock(input({ depositAmounts: [1_000_000_000n, 31_000_000_000n], compounding: true }));
    const text = serialiseClusterLock(lock);
    const parsed = parseClusterLock(text);
    expect(parsed).toEqual(lock);
    expect(serialiseClusterLock(parsed)).toBe(text);
    await expect(verifyLock(parsed)).resolves.toMatchObject({ lockHash: lock.lockHash });
    expect(parsed.distributedValidators[0]?.depositData.map((d) => d.amount)).toEqual([1_000_000_000n, 31_000_000_000n]);
    expect(parsed.distributedValidators[0]?.depositData[0]?.withdrawalCredentials.slice(0, 4)).toBe('0x02');
  });

  it('is deterministic for the same input (uuid and clock injected)', async () => {
    const same = input();
    expect(serialiseClusterLock(await buildClusterLock(same))).toBe(serialiseClusterLock(await buildClusterLock(same)));
  });

  it('fills deposit data and the builder registration as Charon does', async () => {
    const lock = await buildClusterLock(input({ targetGasLimit: 45_000_000 }));
    const [v] = lock.distributedValidators;
    expect(v?.depositData).toHaveLength(1);
    expect(v?.depositData[0]).toMatchObject({ pubkey: v?.distributedPublicKey, amount: 32_000_000_000n });
    expect(v?.depositData[0]?.withdrawalCredentials).toBe(`0x01${'00'.repeat(11)}${'de'.repeat(18)}0000`);
    expect(v?.builderRegistration?.message).toEqual({
      feeRecipient: `0x${'fe'.repeat(18)}0000`,
      gasLimit: 45_000_000,
      timestamp: 1655733600, // sepolia genesis
      pubkey: v?.distributedPublicKey,
    });
    expect(lock.definition.depositAmounts).toEqual([]);
  });

  it('refuses bad input, naming the field', async () => {
    const ops = testOperators(4);
    const mixed = ops.map((op, i) => (i === 2 ? { enr: op.enr } : op));
    expect((await buildError(() => buildClusterLock(input({ operators: mixed })))).field).toBe('operators');
    const wrongKey = ops.map((op, i) => (i === 1 ? { ...op, secretKey: ops[0]?.secretKey as Uint8Array } : op));
    expect((await buildError(() => buildClusterLock(input({ operators: wrongKey })))).message).toBe(
      "operators[1].secretKey: is not the key of the operator's ENR",
    );
    const badEnr = ops.map((op, i) => (i === 3 ? { enr: `${op.enr.slice(0, -3)}AAA` } : { enr: op.enr }));
    expect((await buildError(() => buildClusterLock(input({ operators: badEnr })))).field).toBe('operators[3].enr');
    expect((await buildError(() => buildClusterLock(input({ threshold: 5 })))).message).toBe('threshold: must be within 1..4, got 5');
    expect((await buildError(() => buildClusterLock(input({ forkVersion: '0x1234' })))).field).toBe('forkVersion');
    const [first, ...others] = testValidators(2, 4, 3);
    const short = [{ ...(first as BuildValidator), secretShares: first?.secretShares.slice(1) ?? [] }, ...others];
    expect((await buildError(() => buildClusterLock(input({ validators: short })))).message).toBe('validators[0].secretShares: has 3 shares for 4 operators');
    const badAddress = [{ ...(first as BuildValidator), withdrawalAddress: '0xdead' }];
    expect((await buildError(() => buildClusterLock(input({ validators: badAddress })))).field).toBe('validators[0].withdrawalAddress');
    expect((await buildError(() => buildClusterLock(input({ forkVersion: '0x1000101b' })))).field).toBe('chainId');
  });

  it('refuses shares that are not a sharing of the group key', async () => {
    const [a, b] = testValidators(2, 4, 3);
    const crossed = [{ ...(a as BuildValidator), secretShares: [...(a?.secretShares.slice(0, 3) ?? []), b?.secretShares[3] as Uint8Array] }];
    await expect(buildClusterLock(input({ validators: crossed }))).rejects.toThrow(
      'distributed_validators[0].public_shares[3]: does not lie on the polynomial of distributed_public_key',
    );
  });

  it('on a network Charon does not know, signs with the given chain id', async () => {
    const lock = await buildClusterLock(input({ forkVersion: '0x1000101b', chainId: 39438001, registrationTimestamp: 1_700_000_000 }));
    await expect(verifyLock(lock, { chainId: 39438001 })).resolves.toMatchObject({ operatorSignatures: 'verified' });
    await expect(verifyLock(lock)).rejects.toThrow(/fork_version: 0x1000101b is no network with a known chain id/);
  });
});

describe('verifyLock on edited and re-signed locks', () => {
  it('deposit data whose withdrawal credentials differ from the definition is named', async () => {
    const operators = testOperators(4);
    const validators = testValidators(1, 4, 3);
    const lock = await buildClusterLock(input({ operators, validators }));
    const [v] = lock.distributedValidators;
    const edited: ClusterLock = {
      ...lock,
      distributedValidators: [
        { ...(v as NonNullable<typeof v>), depositData: (v?.depositData ?? []).map((d) => ({ ...d, withdrawalCredentials: `0x01${'00'.repeat(11)}${'11'.repeat(20)}` as Hex })) },
      ],
    };
    await expect(verifyLock(resigned(edited, validators, operators.map((o) => o.secretKey)))).rejects.toThrow(
      `distributed_validators[0].partial_deposit_data[0].withdrawal_credentials: must be 0x01${'00'.repeat(11)}${'de'.repeat(18)}0000`,
    );
  });

  it('an operator that is unsigned while others signed is named', async () => {
    const operators = testOperators(4);
    const validators = testValidators(1, 4, 3);
    const lock = await buildClusterLock(input({ operators, validators }));
    const ops = lock.definition.operators.map((op, i) => (i === 2 ? { ...op, address: '', configSignature: '0x' as Hex, enrSignature: '0x' as Hex } : op));
    const edited = resigned({ ...lock, definition: { ...lock.definition, operators: ops } }, validators, operators.map((o) => o.secretKey));
    await expect(verifyLock(edited)).rejects.toThrow('cluster_definition.operators[2]: is unsigned while other operators signed the definition');
  });

  it('a node key other than the ENR says is named', async () => {
    const operators = testOperators(4);
    const validators = testValidators(1, 4, 3);
    const lock = await buildClusterLock(input({ operators, validators }));
    const keys = operators.map((o) => o.secretKey);
    const swapped = [keys[0], keys[1], keys[3], keys[2]] as Uint8Array[];
    await expect(verifyLock(resigned(lock, validators, swapped))).rejects.toThrow("node_signatures[2]: not signed by operator 2's ENR key");
  });
});

describe('clusterFromLock / loadClusterLock', () => {
  it("gives the node config's view: operators with their ENR key and address, validators with their shares and the lock's builder registration", async () => {
    const operators = testOperators(4);
    const lock = await buildClusterLock(input({ operators }));
    const cluster = clusterFromLock(lock);
    expect(cluster).toMatchObject({ name: 'cohort test', lockHash: lock.lockHash, threshold: 3, forkVersion: '0x90000069' });
    expect(cluster.operators).toEqual(
      operators.map((op, index) => ({ index, enr: op.enr, publicKey: secp256k1PublicKey(op.secretKey), p2pHost: '127.0.0.1', p2pPort: 9000 + index })),
    );
    expect(cluster.validators).toEqual(
      lock.distributedValidators.map((v) => ({
        groupPubkey: v.distributedPublicKey,
        publicShares: v.publicShares,
        // As the Beacon API's register_validator carries it: decimal strings, the group key signing.
        builderRegistration: {
          message: {
            fee_recipient: v.builderRegistration?.message.feeRecipient,
            gas_limit: String(v.builderRegistration?.message.gasLimit),
            timestamp: String(v.builderRegistration?.message.timestamp),
            pubkey: v.distributedPublicKey,
          },
          signature: v.builderRegistration?.signature,
        },
      })),
    );
  });

  it('loads a lock file: parse, verify, view; a tampered file is refused naming the field', async () => {
    const lock = await buildClusterLock(input());
    const text = serialiseClusterLock(lock);
    const loaded = await loadClusterLock(text);
    expect(loaded.verification.lockHash).toBe(lock.lockHash);
    expect(loaded.cluster.validators).toHaveLength(2);
    const tampered = text.replace(lock.nodeSignatures[0] as string, toHex(signK1(new Uint8Array(32).fill(7), fromHex(lock.lockHash))));
    await expect(loadClusterLock(tampered)).rejects.toThrow("node_signatures[0]: not signed by operator 0's ENR key");
  });

  it('without ENR addresses, the operators carry no p2p host', () => {
    // shared/vectors/obol-dv-specs/cluster_hashing.json: Charon's ENRs there carry only the key.
    const suite = JSON.parse(
      readFileSync(new URL('../../../../shared/vectors/obol-dv-specs/cluster_hashing.json', import.meta.url), 'utf8'),
    ) as { lock: { name: string; input: unknown }[] };
    const lock = parseClusterLock(suite.lock.find((c) => c.name === 'real_keys_3_of_4')?.input);
    expect(clusterFromLock(lock).operators[0]).toEqual({
      index: 0,
      enr: lock.definition.operators[0]?.enr,
      publicKey: '0x03e68acfc0253a10620dff706b0a1b1f1f5833ea3beb3bde2250d5f271f3563606',
    });
  });
});
