import type { Hex, SignedValidatorRegistrationJson } from '#lib/contracts';
import { decodeEnr } from './enr.js';
import { parseClusterLock } from './json.js';
import type { ClusterLock } from './types.js';
import { verifyLock, type LockVerification, type VerifyOptions } from './verify.js';

/** What a Cohort node needs from a lock: who the operators are and what each validator's keys are. */
export interface ClusterOperator {
  /** Operator position, 0-based; its share index is `index + 1`. */
  readonly index: number;
  readonly enr: string;
  /** The node's secp256k1 identity key from the ENR, 33 bytes compressed. */
  readonly publicKey: Hex;
  /** IPv4 address and TCP port from the ENR, when it carries them. */
  readonly p2pHost?: string;
  readonly p2pPort?: number;
}

export interface ClusterValidator {
  readonly groupPubkey: Hex;
  /** Public share of operator i at position i. */
  readonly publicShares: readonly Hex[];
  /** v1.7+ locks: the validator's builder registration, signed with its whole key at creation (Beacon API JSON). */
  readonly builderRegistration?: SignedValidatorRegistrationJson;
}


export interface ClusterFromLock {
  readonly name: string;
  /** The lock hash, the cluster's identity (Cohort's `clusterHash`). */
  readonly lockHash: Hex;
  readonly threshold: number;
  readonly forkVersion: Hex;
  readonly operators: readonly ClusterOperator[];
  readonly validators: readonly ClusterValidator[];
}

/**
 * The node-config view of a lock. It does not verify: call `verifyLock` first (or use
 * `loadClusterLock`). Throws `ClusterFileError` for an operator ENR that does not decode.
 */
export function clusterFromLock(lock: ClusterLock): ClusterFromLock {
  return {
    name: lock.definition.name,
    lockHash: lock.lockHash,
    threshold: lock.definition.threshold,
    forkVersion: lock.definition.forkVersion,
    operators: lock.definition.operators.map((op, index) => {
      const enr = decodeEnr(op.enr, `cluster_definition.operators[${index}].enr`);
      return {
        index,
        enr: op.enr,
        publicKey: enr.publicKey,
        ...(enr.ip === undefined ? {} : { p2pHost: enr.ip }),
        ...(enr.tcp === undefined ? {} : { p2pPort: enr.tcp }),
      };
    }),
    validators: lock.distributedValidators.map((v) => ({
      groupPubkey: v.distributedPublicKey,
      publicShares: [...v.publicShares],
      ...(v.builderRegistration && {
        builderRegistration: {
          message: {
            fee_recipient: v.builderRegistration.message.feeRecipient,
            gas_limit: String(v.builderRegistration.message.gasLimit),
            timestamp: String(v.builderRegistration.message.timestamp),
            pubkey: v.builderRegistration.message.pubkey,
          },
          signature: v.builderRegistration.signature,
        },
      }),
    })),
  };
}

export interface LoadedClusterLock {
  readonly lock: ClusterLock;
  readonly verification: LockVerification;
  readonly cluster: ClusterFromLock;
}

/**
 * cluster-lock.json text → parsed, verified, and the node-config view. Throws
 * `ClusterFileError` (unreadable) or `LockVerificationError` (fails verification), each naming
 * the field; a node must not start on either.
 */
export async function loadClusterLock(json: string | unknown, options: VerifyOptions = {}): Promise<LoadedClusterLock> {
  const lock = parseClusterLock(json);
  const verification = await verifyLock(lock, options);
  return { lock, verification, cluster: clusterFromLock(lock) };
}
