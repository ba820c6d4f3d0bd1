import { ssz } from '@lodestar/types';
import * as blst from '@chainsafe/blst';
import { fastAggregateVerify, findInvalid, type SignatureSet } from '#lib/bls';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import { computeSigningRoot, depositMessageRoots, DomainType, genesisDomain } from '#lib/signing';
import { decodeEnr, type DecodedEnr } from './enr.js';
import { ClusterFileError, LockVerificationError, type LockCheck } from './errors.js';
import { computeConfigHash, computeDefinitionHash, computeLockHash } from './hashing.js';
import { initG1, publicShareInterpolator } from './g1.js';
import { verifyK1 } from '#lib/p2p';
import { CHAIN_ID_BY_FORK_VERSION, EIP712_TYPES, eip712Digest, recoverAddress } from './eip712.js';
import type { ClusterDefinition, ClusterLock } from './types.js';
import { featuresOf, minorOf, type ClusterVersion } from './version.js';

/**
 * Verifying a cluster definition and lock before a node runs with them.
 *
 * `verifyLock` runs, in this order, and stops at the first failure with a
 * `LockVerificationError` naming the field:
 *
 * 1. config_hash, definition_hash and lock_hash recomputed from the contents;
 * 2. structure: num_validators, threshold within 1..n, one public share per operator, no
 *    repeated group key or share, every operator ENR decodes and is signed;
 * 3. public shares: every share is a valid G1 point, the first t shares interpolate to the
 *    group key, and every further share lies on the same polynomial (interpolating with it in
 *    place of one of the first t, as Charon does), so a corrupt share is named;
 * 4. signature_aggregate: plain BLS aggregate over the lock hash by every public share of every
 *    validator (Charon `Lock.VerifySignatures`: `tbls.VerifyAggregate` over all pubshares);
 * 5. node_signatures: one secp256k1 signature (R || S || V, #lib/p2p `verifyK1`: low S, V the
 *    recovery id) of the lock hash per operator, by the key in its ENR;
 * 6. operator and creator EIP-712 signatures, by Charon's rules (`Definition.VerifySignatures`);
 * 7. deposit data: pubkey is the group key, withdrawal credentials are the definition's
 *    withdrawal address (0x01, or 0x02 when compounding), the signature verifies under
 *    DOMAIN_DEPOSIT; builder registrations that are present verify under
 *    DOMAIN_APPLICATION_BUILDER, as Charon's `verifyBuilderRegistrations`.
 *
 * Unsigned files. Charon's `create cluster` with operator ENRs from outside leaves every
 * operator unsigned (no address, no EIP-712 signatures), the creator empty, and no node
 * signatures; Charon accepts that: operators that are *all* completely unsigned are "a single
 * cluster-wide operator". Cohort mirrors it — a trusted dealer's lock is usable — but never
 * half-way: an operator with an address must have both signatures, and they must verify; some
 * signed while others not, or operators signed while the creator did not, is refused; node
 * signatures are all there or none. The result says which case held
 * (`operatorSignatures: 'unsigned'`, `nodeSignatures: 'absent'`), and
 * `requireOperatorSignatures` / `requireNodeSignatures` refuse the unsigned cases outright.
 */

export interface VerifyOptions {
  /** Refuse a definition whose operators are all unsigned (default: accept, as Charon). */
  readonly requireOperatorSignatures?: boolean;
  /** Refuse a lock without node signatures (default: accept, as Charon). */
  readonly requireNodeSignatures?: boolean;
  /**
   * EIP-712 chain id for a network Charon does not know (e.g. Ephemery); otherwise derived
   * from the fork version (`CHAIN_ID_BY_FORK_VERSION`).
   */
  readonly chainId?: number;
}

export interface DefinitionVerification {
  readonly version: ClusterVersion;
  readonly configHash: Hex;
  readonly definitionHash: Hex;
  /** 'verified': every operator (and the creator) signed; 'unsigned': none did. */
  readonly operatorSignatures: 'verified' | 'unsigned';
}

export interface LockVerification extends DefinitionVerification {
  readonly lockHash: Hex;
  readonly nodeSignatures: 'verified' | 'absent';
  readonly validators: number;
}

const DEFINITION = 'cluster_definition';

function fail(check: LockCheck, field: string, problem: string, cause?: unknown): never {
  throw new LockVerificationError(check, field, problem, cause === undefined ? undefined : { cause });
}

function join(prefix: string, key: string): string {
  return prefix === '$' ? key : `${prefix}.${key}`;
}

/** Runs a hashing step, turning an unhashable field into a verification failure. */
function hashOrFail(check: LockCheck, compute: () => Hex): Hex {
  try {
    return compute();
  } catch (cause) {
    if (cause instanceof ClusterFileError) fail(check, cause.field, cause.message.slice(cause.field.length + 2), cause);
    throw cause;
  }
}

function checkDefinitionHashes(d: ClusterDefinition, prefix: string): void {
  const configHash = hashOrFail('config_hash', () => computeConfigHash(d, prefix));
  if (configHash !== d.configHash) {
    fail('config_hash', join(prefix, 'config_hash'), `does not match the definition's contents (computed ${configHash}, file says ${d.configHash})`);
  }
  const definitionHash = hashOrFail('definition_hash', () => computeDefinitionHash(d, prefix));
  if (definitionHash !== d.definitionHash) {
    fail('definition_hash', join(prefix, 'definition_hash'), `does not match the definition's contents (computed ${definitionHash}, file says ${d.definitionHash})`);
  }
}

function chainIdOf(d: ClusterDefinition, prefix: string, options: VerifyOptions): number {
  const chainId = options.chainId ?? CHAIN_ID_BY_FORK_VERSION[d.forkVersion];
  if (chainId === undefined) {
    fail(
      'operator_signatures',
      join(prefix, 'fork_version'),
      `${d.forkVersion} is no network with a known chain id; pass chainId to verify the EIP-712 signatures`,
    );
  }
  return chainId;
}

function signedBy(address: string, digest: Uint8Array, signature: Hex): boolean {
  return recoverAddress(digest, fromHex(signature)) === address.toLowerCase();
}

/** Charon's `Definition.VerifySignatures`, with the policy above. */
function checkOperatorSignatures(d: ClusterDefinition, prefix: string, options: VerifyOptions): 'verified' | 'unsigned' {
  const check: LockCheck = 'operator_signatures';
  const at = (key: string) => join(prefix, key);
  const isUnsigned = (address: string, ...sigs: Hex[]) => address === '' && sigs.every((s) => s === '0x');
  const unsignedOperators = d.operators.filter((op) => isUnsigned(op.address, op.configSignature, op.enrSignature)).length;
  const allUnsigned = unsignedOperators === d.operators.length;

  if (allUnsigned && isUnsigned(d.creator.address, d.creator.configSignature)) {
    if (options.requireOperatorSignatures) fail(check, at('operators'), 'carry no operator signatures, and signed ones are required');
    return 'unsigned';
  }
  if (unsignedOperators > 0 && !allUnsigned) {
    const i = d.operators.findIndex((op) => isUnsigned(op.address, op.configSignature, op.enrSignature));
    fail(check, at(`operators[${i}]`), 'is unsigned while other operators signed the definition');
  }

  const chainId = chainIdOf(d, prefix, options);
  const configHashType = minorOf(d.version) === 3 ? EIP712_TYPES.configHashV1x3 : EIP712_TYPES.operatorConfigHash;
  const operatorConfigDigest = eip712Digest(configHashType, d.configHash, chainId);
  d.operators.forEach((op, i) => {
    if (allUnsigned) return;
    const opAt = (key: string) => at(`operators[${i}].${key}`);
    if (op.address === '') fail(check, opAt('address'), 'is empty but the operator carries signatures');
    if (op.configSignature === '0x') fail(check, opAt('config_signature'), 'is empty');
    if (op.enrSignature === '0x') fail(check, opAt('enr_signature'), 'is empty');
    if (!signedBy(op.address, operatorConfigDigest, op.configSignature)) {
      fail(check, opAt('config_signature'), `is not an EIP-712 signature of the config hash by operator ${i}'s address ${op.address}`);
    }
    if (!signedBy(op.address, eip712Digest(EIP712_TYPES.enr, op.enr, chainId), op.enrSignature)) {
      fail(check, opAt('enr_signature'), `is not an EIP-712 signature of the ENR by operator ${i}'s address ${op.address}`);
    }
  });

  if (!featuresOf(d.version).creator) return allUnsigned ? 'unsigned' : 'verified';
  if (isUnsigned(d.creator.address, d.creator.configSignature)) {
    fail(check, at('creator'), 'did not sign the definition while the operators did');
  }
  if (d.creator.configSignature === '0x') fail(check, at('creator.config_signature'), 'is empty');
  if (!signedBy(d.creator.address, eip712Digest(EIP712_TYPES.creatorConfigHash, d.configHash, chainId), d.creator.configSignature)) {
    fail(check, at('creator.config_signature'), `is not an EIP-712 signature of the config hash by the creator ${d.creator.address}`);
  }
  if (allUnsigned && options.requireOperatorSignatures) fail(check, at('operators'), 'carry no operator signatures, and signed ones are required');
  return allUnsigned ? 'unsigned' : 'verified';
}

/**
 * A cluster-definition.json on its own: both hashes and the operator/creator signatures.
 * Throws `LockVerificationError` naming the field.
 */
export function verifyDefinition(definition: ClusterDefinition, options: VerifyOptions = {}): DefinitionVerification {
  checkDefinitionHashes(definition, '$');
  return {
    version: definition.version,
    configHash: definition.configHash,
    definitionHash: definition.definitionHash,
    operatorSignatures: checkOperatorSignatures(definition, '$', options),
  };
}

function checkStructure(lock: ClusterLock): DecodedEnr[] {
  const d = lock.definition;
  const n = d.operators.length;
  if (n === 0) fail('structure', `${DEFINITION}.operators`, 'is empty');
  if (d.numValidators !== lock.distributedValidators.length) {
    fail('structure', 'distributed_validators', `has ${lock.distributedValidators.length} validators but num_validators is ${d.numValidators}`);
  }
  if (d.threshold < 1 || d.threshold > n) fail('structure', `${DEFINITION}.threshold`, `must be within 1..${n} for ${n} operators, got ${d.threshold}`);
  const enrs = d.operators.map((op, i) => {
    try {
      return decodeEnr(op.enr, `${DEFINITION}.operators[${i}].enr`);
    } catch (cause) {
      if (cause instanceof ClusterFileError) fail('structure', cause.field, cause.message.slice(cause.field.length + 2), cause);
      throw cause;
    }
  });
  const seenEnrKeys = new Map<string, number>();
  enrs.forEach((enr, i) => {
    const other = seenEnrKeys.get(enr.publicKey);
    if (other !== undefined) fail('structure', `${DEFINITION}.operators[${i}].enr`, `has the same node key as operator ${other}`);
    seenEnrKeys.set(enr.publicKey, i);
  });
  const seenGroupKeys = new Map<string, number>();
  lock.distributedValidators.forEach((v, i) => {
    const at = `distributed_validators[${i}]`;
    const other = seenGroupKeys.get(v.distributedPublicKey);
    if (other !== undefined) fail('structure', `${at}.distributed_public_key`, `repeats distributed_validators[${other}]`);
    seenGroupKeys.set(v.distributedPublicKey, i);
    if (v.publicShares.length !== n) fail('structure', `${at}.public_shares`, `has ${v.publicShares.length} entries, expected one per operator (${n})`);
    const seenShares = new Map<string, number>();
    v.publicShares.forEach((share, j) => {
      const prior = seenShares.get(share);
      if (prior !== undefined) fail('structure', `${at}.public_shares[${j}]`, `repeats public_shares[${prior}]`);
      seenShares.set(share, j);
    });
  });
  return enrs;
}

/** KeyValidate with blst (in G1, not infinity): the uncompressed point, or undefined. */
function validPublicKey(hex: Hex): Uint8Array | undefined {
  try {
    return blst.PublicKey.fromBytes(fromHex(hex), true).toBytes(false);
  } catch {
    return undefined;
  }
}

/** Step 3: Lagrange in G1 over every share (needs `initG1`). */
function checkPublicShares(lock: ClusterLock): void {
  const t = lock.definition.threshold;
  lock.distributedValidators.forEach((v, i) => {
    const at = `distributed_validators[${i}]`;
    if (!validPublicKey(v.distributedPublicKey)) fail('public_shares', `${at}.distributed_public_key`, 'is not a valid BLS12-381 G1 public key');
    const shares = v.publicShares.map((share, j) => {
      const point = validPublicKey(share);
      if (!point) fail('public_shares', `${at}.public_shares[${j}]`, 'is not a valid BLS12-381 G1 public key');
      return point;
    });
    const byIndex = publicShareInterpolator(new Map(shares.map((s, p) => [p + 1, s])));
    // Positions are 0-based, share indices 1-based.
    const interpolate = (positions: readonly number[]) => toHex(byIndex(positions.map((p) => p + 1)));
    const first = Array.from({ length: t }, (_, p) => p);
    if (interpolate(first) === v.distributedPublicKey) {
      // Every further share must lie on the same polynomial: swap it in for the last of the first t.
      for (let j = t; j < shares.length; j++) {
        if (interpolate([...first.slice(0, t - 1), j]) !== v.distributedPublicKey) {
          fail('public_shares', `${at}.public_shares[${j}]`, 'does not lie on the polynomial of distributed_public_key');
        }
      }
      return;
    }
    // The first t disagree with the group key: find a t-subset that agrees, to name the odd share.
    const good = findAgreeingSubset(shares.length, t, interpolate, v.distributedPublicKey);
    if (good) {
      const bad = Array.from({ length: shares.length }, (_, p) => p).find(
        (p) => !good.includes(p) && interpolate([...good.slice(0, t - 1), p]) !== v.distributedPublicKey,
      );
      if (bad !== undefined) fail('public_shares', `${at}.public_shares[${bad}]`, 'does not lie on the polynomial of distributed_public_key');
    }
    fail('public_shares', `${at}.public_shares`, `do not reconstruct distributed_public_key with threshold ${t}`);
  });
}

/** A t-subset of positions whose interpolation is `target`; tries at most 64 subsets. */
function findAgreeingSubset(
  n: number,
  t: number,
  interpolate: (positions: readonly number[]) => string,
  target: string,
): number[] | undefined {
  let tried = 0;
  const subset: number[] = [];
  const search = (from: number): number[] | undefined => {
    if (subset.length === t) {
      tried++;
      return interpolate(subset) === target ? [...subset] : undefined;
    }
    for (let p = from; p < n && tried < 64; p++) {
      subset.push(p);
      const found = search(p + 1);
      subset.pop();
      if (found) return found;
    }
    return undefined;
  };
  return search(0);
}

function checkSignatureAggregate(lock: ClusterLock, lockHash: Uint8Array): void {
  const sig = fromHex(lock.signatureAggregate);
  if (sig.length === 0) fail('signature_aggregate', 'signature_aggregate', 'is empty');
  if (sig.length !== 96) fail('signature_aggregate', 'signature_aggregate', `must be 96 bytes, got ${sig.length}`);
  const publicShares = lock.distributedValidators.flatMap((v) => v.publicShares.map((s) => fromHex(s)));
  if (!fastAggregateVerify(publicShares, lockHash, sig)) {
    fail('signature_aggregate', 'signature_aggregate', 'is not an aggregate signature of the lock hash by every public share');
  }
}

function checkNodeSignatures(lock: ClusterLock, lockHash: Uint8Array, enrs: readonly DecodedEnr[], options: VerifyOptions): 'verified' | 'absent' {
  const n = lock.definition.operators.length;
  if (lock.nodeSignatures.length === 0) {
    if (options.requireNodeSignatures) fail('node_signatures', 'node_signatures', 'are absent, and required');
    return 'absent';
  }
  if (lock.nodeSignatures.length !== n) fail('node_signatures', 'node_signatures', `has ${lock.nodeSignatures.length} entries for ${n} operators`);
  lock.nodeSignatures.forEach((hex, i) => {
    const sig = fromHex(hex);
    if (sig.length !== 65) fail('node_signatures', `node_signatures[${i}]`, `must be 65 bytes (R || S || V), got ${sig.length}`);
    const enr = enrs[i] as DecodedEnr;
    if (!verifyK1(fromHex(enr.publicKey), lockHash, sig)) fail('node_signatures', `node_signatures[${i}]`, `not signed by operator ${i}'s ENR key`);
  });
  return 'verified';
}


/** 0x01 (or 0x02 when compounding) || 11 zero bytes || the 20-byte address. */
export function withdrawalCredentials(withdrawalAddress: string, compounding: boolean): Hex {
  return `0x${compounding ? '02' : '01'}${'00'.repeat(11)}${withdrawalAddress.slice(2).toLowerCase()}`;
}

/** One signature to check in the batch, with the check and field to name if it fails. */
interface LabelledSet extends SignatureSet {
  readonly check: LockCheck;
  readonly field: string;
  readonly problem: string;
}

function checkDepositsAndRegistrations(lock: ClusterLock): void {
  const d = lock.definition;
  const partial = featuresOf(d.version).partialDeposits;
  const builderDomain = genesisDomain(DomainType.APPLICATION_BUILDER, d.forkVersion);
  const sets: LabelledSet[] = [];
  lock.distributedValidators.forEach((v, i) => {
    const at = `distributed_validators[${i}]`;
    const pubkey = fromHex(v.distributedPublicKey);
    const addresses = d.validators[i];
    v.depositData.forEach((deposit, k) => {
      const dAt = partial ? `${at}.partial_deposit_data[${k}]` : `${at}.deposit_data`;
      if (deposit.pubkey !== v.distributedPublicKey) fail('deposit_data', `${dAt}.pubkey`, 'is not the distributed_public_key');
      if (addresses && addresses.withdrawalAddress !== '') {
        const expected = withdrawalCredentials(addresses.withdrawalAddress, d.compounding);
        if (deposit.withdrawalCredentials !== expected) {
          fail('deposit_data', `${dAt}.withdrawal_credentials`, `must be ${expected} for withdrawal address ${addresses.withdrawalAddress}`);
        }
      }
      if (deposit.amount > BigInt(Number.MAX_SAFE_INTEGER)) fail('deposit_data', `${dAt}.amount`, 'is beyond any possible deposit');
      const { signingRoot } = depositMessageRoots(
        { pubkey: v.distributedPublicKey, withdrawalCredentials: deposit.withdrawalCredentials, amountGwei: Number(deposit.amount) },
        d.forkVersion,
      );
      sets.push({
        pubkey,
        message: fromHex(signingRoot),
        signature: fromHex(deposit.signature),
        check: 'deposit_data',
        field: `${dAt}.signature`,
        problem: 'is not a deposit signature by distributed_public_key',
      });
    });
    const r = v.builderRegistration;
    // Charon skips a registration with no signature, fee recipient or pubkey (not pre-generated).
    if (!r || r.signature === '0x' || r.message.feeRecipient === '0x' || r.message.pubkey === '0x') return;
    const rAt = `${at}.builder_registration`;
    if (r.message.pubkey !== v.distributedPublicKey) fail('builder_registration', `${rAt}.message.pubkey`, 'is not the distributed_public_key');
    const root = ssz.bellatrix.ValidatorRegistrationV1.hashTreeRoot({
      feeRecipient: fromHex(r.message.feeRecipient),
      gasLimit: r.message.gasLimit,
      timestamp: r.message.timestamp,
      pubkey,
    });
    sets.push({
      pubkey,
      message: fromHex(computeSigningRoot(root, builderDomain)),
      signature: fromHex(r.signature),
      check: 'builder_registration',
      field: `${rAt}.signature`,
      problem: 'is not a builder registration signature by distributed_public_key',
    });
  });
  // One batch when all hold; bisected only to name the first that does not.
  const [bad] = findInvalid(sets);
  if (bad !== undefined) {
    const set = sets[bad] as LabelledSet;
    fail(set.check, set.field, set.problem);
  }
}

/**
 * Verifies a parsed lock as described above; resolves with what held, or throws a
 * `LockVerificationError` naming the first field that failed.
 */
export async function verifyLock(lock: ClusterLock, options: VerifyOptions = {}): Promise<LockVerification> {
  checkDefinitionHashes(lock.definition, DEFINITION);
  const lockHash = hashOrFail('lock_hash', () => computeLockHash(lock));
  if (lockHash !== lock.lockHash) {
    fail('lock_hash', 'lock_hash', `does not match the lock's contents (computed ${lockHash}, file says ${lock.lockHash})`);
  }
  const enrs = checkStructure(lock);
  await initG1();
  checkPublicShares(lock);
  const lockHashBytes = fromHex(lockHash);
  checkSignatureAggregate(lock, lockHashBytes);
  const nodeSignatures = checkNodeSignatures(lock, lockHashBytes, enrs, options);
  const operatorSignatures = checkOperatorSignatures(lock.definition, DEFINITION, options);
  checkDepositsAndRegistrations(lock);
  return {
    version: lock.definition.version,
    configHash: lock.definition.configHash,
    definitionHash: lock.definition.definitionHash,
    lockHash,
    operatorSignatures,
    nodeSignatures,
    validators: lock.distributedValidators.length,
  };
}
