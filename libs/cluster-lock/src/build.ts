import { randomUUID } from 'node:crypto';
import { ssz } from '@lodestar/types';
import { aggregateSignatures, secretKeyToPublicKey, sign } from '#lib/bls';
import { fromHex, isHex, toHex, type Hex } from '#lib/contracts';
import { computeSigningRoot, depositMessageRoots, DomainType, genesisDomain } from '#lib/signing';
import { decodeEnr } from './enr.js';
import { ClusterBuildError, ClusterFileError } from './errors.js';
import { computeConfigHash, computeDefinitionHash, computeLockHash } from './hashing.js';
import { secp256k1PublicKey, signK1 } from '#lib/p2p';
import { CHAIN_ID_BY_FORK_VERSION, EIP712_TYPES, eip712Digest, ethereumAddress } from './eip712.js';
import type { ClusterDefinition, ClusterLock, DistributedValidator, Operator } from './types.js';
import { LATEST_CLUSTER_VERSION } from './version.js';
import { verifyLock, withdrawalCredentials } from './verify.js';

/**
 * A v1.10 definition and lock from a trusted dealer, as Charon's `create cluster` makes them.
 *
 * What is filled, and how:
 * - operators: the ENRs; with the operators' secp256k1 keys (all or none) each operator's
 *   `address` is the Ethereum address of its ENR key, and it signs the EIP-712 config-hash and
 *   ENR messages and its node signature of the lock hash; the creator signs too (its own key or
 *   operator 0's). Without keys everything is left unsigned, which Charon and `verifyLock` accept.
 * - validators: fee recipient and withdrawal address per validator; `partial_deposit_data`, one
 *   entry per deposit amount (default one of 32 ETH), signed by the group key under
 *   DOMAIN_DEPOSIT with withdrawal credentials 0x01 (0x02 when compounding) || address;
 *   `builder_registration` with the fee recipient, `targetGasLimit` and `registrationTimestamp`,
 *   signed under DOMAIN_APPLICATION_BUILDER, as Charon pre-generates it.
 * - signature_aggregate: every secret share of every validator signs the lock hash, plainly
 *   aggregated (Charon's DKG and `create cluster` do the same; `verifyLock` checks it against
 *   every public share).
 * - `deposit_amounts` is written as given (null when none), `dkg_algorithm` "default",
 *   `consensus_protocol` as given (default "", Charon's default protocol).
 *
 * The result is verified with `verifyLock` before it is returned.
 */

export interface BuildOperator {
  readonly enr: string;
  /** The operator's secp256k1 secret key (the ENR's key), when the dealer holds it. */
  readonly secretKey?: Uint8Array;
}

export interface BuildValidator {
  /** The validator's secret key: signs deposit data and the builder registration. */
  readonly groupSecretKey: Uint8Array;
  /** Secret share of operator i (share index i + 1), one per operator. */
  readonly secretShares: readonly Uint8Array[];
  readonly feeRecipientAddress: string;
  readonly withdrawalAddress: string;
}

export interface BuildClusterLockInput {
  readonly name: string;
  readonly operators: readonly BuildOperator[];
  readonly threshold: number;
  /** Genesis fork version of the network, e.g. '0x00000000' for mainnet. */
  readonly forkVersion: Hex;
  readonly validators: readonly BuildValidator[];
  /** Default: a random UUID, upper-case as Charon writes it. */
  readonly uuid?: string;
  /** Clock for the definition timestamp (and a registration timestamp on unknown networks). */
  readonly now?: () => Date;
  /** Partial deposit amounts in Gwei; default none in the definition, one 32 ETH deposit. */
  readonly depositAmounts?: readonly bigint[];
  readonly compounding?: boolean;
  /** Default 36,000,000. */
  readonly targetGasLimit?: number;
  readonly consensusProtocol?: string;
  /** Unix seconds for the pre-generated builder registrations; default the network's genesis time. */
  readonly registrationTimestamp?: number;
  /** Creator's secp256k1 key when operators sign; default operator 0's. */
  readonly creatorSecretKey?: Uint8Array;
  /** EIP-712 chain id for a network not in `CHAIN_ID_BY_FORK_VERSION`. */
  readonly chainId?: number;
}

const FULL_DEPOSIT_GWEI = 32_000_000_000n;
const DEFAULT_TARGET_GAS_LIMIT = 36_000_000;

/** Genesis times of the networks Charon knows (eth2util/network.go), by genesis fork version. */
const GENESIS_TIME_BY_FORK_VERSION: Readonly<Record<string, number>> = {
  '0x00000000': 1606824023,
  '0x00001020': 1616508000,
  '0x00000064': 1638993340,
  '0x0000006f': 1665396300,
  '0x90000069': 1655733600,
  '0x01017000': 1696000704,
  '0x10000910': 1742213400,
};

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Go's time.RFC3339 for a UTC time: no fraction, `Z`. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function refuse(field: string, problem: string, cause?: unknown): never {
  throw new ClusterBuildError(field, problem, cause === undefined ? undefined : { cause });
}

function checkInput(input: BuildClusterLockInput): void {
  const n = input.operators.length;
  if (n === 0 || n > 256) refuse('operators', `must list 1..256 operators, got ${n}`);
  if (!Number.isInteger(input.threshold) || input.threshold < 1 || input.threshold > n) {
    refuse('threshold', `must be within 1..${n}, got ${input.threshold}`);
  }
  if (!isHex(input.forkVersion, 4)) refuse('forkVersion', `must be 4 bytes of 0x hex, got ${String(input.forkVersion)}`);
  const withKeys = input.operators.filter((op) => op.secretKey !== undefined).length;
  if (withKeys !== 0 && withKeys !== n) refuse('operators', 'give every operator a secret key or none (Charon refuses partly signed definitions)');
  const seen = new Map<string, number>();
  input.operators.forEach((op, i) => {
    let publicKey: Hex;
    try {
      publicKey = decodeEnr(op.enr, `operators[${i}].enr`).publicKey;
    } catch (cause) {
      refuse(`operators[${i}].enr`, (cause as ClusterFileError).message.replace(/^[^:]*: /, ''), cause);
    }
    const other = seen.get(publicKey);
    if (other !== undefined) refuse(`operators[${i}].enr`, `has the same node key as operators[${other}]`);
    seen.set(publicKey, i);
    if (op.secretKey !== undefined) {
      let derived: Hex | undefined;
      try {
        derived = secp256k1PublicKey(op.secretKey);
      } catch {
        derived = undefined;
      }
      if (derived !== publicKey) refuse(`operators[${i}].secretKey`, "is not the key of the operator's ENR");
    }
  });
  if (input.validators.length === 0) refuse('validators', 'must list at least one validator');
  input.validators.forEach((v, i) => {
    if (v.secretShares.length !== n) refuse(`validators[${i}].secretShares`, `has ${v.secretShares.length} shares for ${n} operators`);
    if (!ADDRESS.test(v.feeRecipientAddress)) refuse(`validators[${i}].feeRecipientAddress`, 'must be a 0x-prefixed 20-byte address');
    if (!ADDRESS.test(v.withdrawalAddress)) refuse(`validators[${i}].withdrawalAddress`, 'must be a 0x-prefixed 20-byte address');
  });
  (input.depositAmounts ?? []).forEach((amount, i) => {
    if (amount <= 0n || amount > BigInt(Number.MAX_SAFE_INTEGER)) refuse(`depositAmounts[${i}]`, `is not a usable Gwei amount: ${amount}`);
  });
  if (input.targetGasLimit !== undefined && (!Number.isSafeInteger(input.targetGasLimit) || input.targetGasLimit <= 0)) {
    refuse('targetGasLimit', 'must be a positive integer');
  }
}

function blsPublicKey(secretKey: Uint8Array, field: string): Hex {
  try {
    return toHex(secretKeyToPublicKey(secretKey));
  } catch (cause) {
    refuse(field, 'is not a valid BLS secret key', cause);
  }
}

export async function buildClusterLock(input: BuildClusterLockInput): Promise<ClusterLock> {
  checkInput(input);
  const now = (input.now ?? (() => new Date()))();
  const keys = input.operators.every((op) => op.secretKey !== undefined) ? input.operators.map((op) => op.secretKey as Uint8Array) : undefined;
  const chainId = input.chainId ?? CHAIN_ID_BY_FORK_VERSION[input.forkVersion];
  if (keys && chainId === undefined) refuse('chainId', `is needed to sign EIP-712 messages on fork version ${input.forkVersion}`);
  const creatorKey = keys ? (input.creatorSecretKey ?? keys[0]) : undefined;
  const compounding = input.compounding ?? false;
  const targetGasLimit = input.targetGasLimit ?? DEFAULT_TARGET_GAS_LIMIT;

  const unsignedOperators: Operator[] = input.operators.map((op, i) => ({
    address: keys ? ethereumAddress(fromHex(secp256k1PublicKey(keys[i] as Uint8Array))) : '',
    enr: op.enr,
    configSignature: '0x',
    enrSignature: '0x',
  }));
  const draft: ClusterDefinition = {
    name: input.name,
    uuid: input.uuid ?? randomUUID().toUpperCase(),
    version: LATEST_CLUSTER_VERSION,
    timestamp: rfc3339(now),
    numValidators: input.validators.length,
    threshold: input.threshold,
    dkgAlgorithm: 'default',
    forkVersion: input.forkVersion,
    operators: unsignedOperators,
    creator: { address: creatorKey ? ethereumAddress(fromHex(secp256k1PublicKey(creatorKey))) : '', configSignature: '0x' },
    validators: input.validators.map((v) => ({ feeRecipientAddress: v.feeRecipientAddress, withdrawalAddress: v.withdrawalAddress })),
    depositAmounts: [...(input.depositAmounts ?? [])],
    consensusProtocol: input.consensusProtocol ?? '',
    targetGasLimit,
    compounding,
    configHash: '0x',
    definitionHash: '0x',
  };
  let configHash: Hex;
  try {
    configHash = computeConfigHash(draft);
  } catch (cause) {
    if (cause instanceof ClusterFileError) refuse(cause.field, cause.message.slice(cause.field.length + 2), cause);
    throw cause;
  }

  // EIP-712 signatures cover the config hash (which excludes them) and each ENR.
  const operators: Operator[] =
    keys && chainId !== undefined
      ? unsignedOperators.map((op, i) => ({
          ...op,
          configSignature: toHex(signK1(keys[i] as Uint8Array, eip712Digest(EIP712_TYPES.operatorConfigHash, configHash, chainId))),
          enrSignature: toHex(signK1(keys[i] as Uint8Array, eip712Digest(EIP712_TYPES.enr, op.enr, chainId))),
        }))
      : unsignedOperators;
  const creator =
    creatorKey && chainId !== undefined
      ? { ...draft.creator, configSignature: toHex(signK1(creatorKey, eip712Digest(EIP712_TYPES.creatorConfigHash, configHash, chainId))) }
      : draft.creator;
  const signedDraft: ClusterDefinition = { ...draft, operators, creator, configHash };
  const definition: ClusterDefinition = { ...signedDraft, definitionHash: computeDefinitionHash(signedDraft) };

  const builderDomain = genesisDomain(DomainType.APPLICATION_BUILDER, input.forkVersion);
  const registrationTimestamp =
    input.registrationTimestamp ?? GENESIS_TIME_BY_FORK_VERSION[input.forkVersion] ?? Math.floor(now.getTime() / 1000);
  const amounts = input.depositAmounts && input.depositAmounts.length > 0 ? input.depositAmounts : [FULL_DEPOSIT_GWEI];

  const distributedValidators: DistributedValidator[] = input.validators.map((v, i) => {
    const groupPubkey = blsPublicKey(v.groupSecretKey, `validators[${i}].groupSecretKey`);
    const publicShares = v.secretShares.map((share, j) => blsPublicKey(share, `validators[${i}].secretShares[${j}]`));
    const credentials = withdrawalCredentials(v.withdrawalAddress, compounding);
    const depositData = amounts.map((amount) => {
      const { signingRoot } = depositMessageRoots({ pubkey: groupPubkey, withdrawalCredentials: credentials, amountGwei: Number(amount) }, input.forkVersion);
      return { pubkey: groupPubkey, withdrawalCredentials: credentials, amount, signature: toHex(sign(v.groupSecretKey, fromHex(signingRoot))) };
    });
    const message = {
      feeRecipient: v.feeRecipientAddress.toLowerCase() as Hex,
      gasLimit: targetGasLimit,
      timestamp: registrationTimestamp,
      pubkey: groupPubkey,
    };
    const registrationRoot = ssz.bellatrix.ValidatorRegistrationV1.hashTreeRoot({
      feeRecipient: fromHex(message.feeRecipient),
      gasLimit: message.gasLimit,
      timestamp: message.timestamp,
      pubkey: fromHex(message.pubkey),
    });
    return {
      distributedPublicKey: groupPubkey,
      publicShares,
      depositData,
      builderRegistration: {
        message,
        signature: toHex(sign(v.groupSecretKey, fromHex(computeSigningRoot(registrationRoot, builderDomain)))),
      },
    };
  });

  const unsealed: ClusterLock = {
    definition,
    distributedValidators,
    signatureAggregate: '0x',
    lockHash: '0x',
    nodeSignatures: [],
  };
  const lockHash = computeLockHash(unsealed);
  const lockHashBytes = fromHex(lockHash);
  const shareSignatures = input.validators.flatMap((v) => v.secretShares.map((share) => sign(share, lockHashBytes)));
  const lock: ClusterLock = {
    ...unsealed,
    lockHash,
    signatureAggregate: toHex(aggregateSignatures(shareSignatures)),
    nodeSignatures: keys ? keys.map((key) => toHex(signK1(key, lockHashBytes))) : [],
  };

  // Never hand out a lock a node would refuse (e.g. shares that are not a sharing of the key).
  await verifyLock(lock, chainId === undefined ? {} : { chainId });
  return lock;
}
