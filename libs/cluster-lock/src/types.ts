import type { Hex } from '#lib/contracts';
import type { ClusterVersion } from './version.js';

/**
 * Charon's cluster definition and lock, version-neutral: the fields of every supported version
 * (v1.3–v1.10), with what an older version lacks set to its empty value. Names are camelCase;
 * the JSON codec maps them to Charon's snake_case keys.
 *
 * Byte strings are lower-case `0x` hex; an empty byte string (Charon writes `""`) is `'0x'`.
 * Ethereum addresses keep the spelling of the file (Charon hashes them case-insensitively and
 * writes them back as read), `''` when absent.
 */

export interface Operator {
  /** The operator's Ethereum address (signs the EIP-712 messages); `''` for an unsigned operator. */
  readonly address: string;
  /** The node's ENR: its secp256k1 identity key and, optionally, its IP and TCP port. */
  readonly enr: string;
  /** EIP-712 signature of the config hash by `address`, 65 bytes, or `'0x'`. */
  readonly configSignature: Hex;
  /** EIP-712 signature of the ENR by `address`, 65 bytes, or `'0x'`. */
  readonly enrSignature: Hex;
}

export interface Creator {
  readonly address: string;
  readonly configSignature: Hex;
}

export interface ValidatorAddresses {
  readonly feeRecipientAddress: string;
  readonly withdrawalAddress: string;
}

export interface ClusterDefinition {
  readonly name: string;
  readonly uuid: string;
  readonly version: ClusterVersion;
  /** RFC 3339, as written by the creator; `''` when absent. */
  readonly timestamp: string;
  readonly numValidators: number;
  readonly threshold: number;
  readonly dkgAlgorithm: string;
  /** Genesis fork version of the network, 4 bytes. */
  readonly forkVersion: Hex;
  readonly operators: readonly Operator[];
  /** v1.4+; empty address and signature before. */
  readonly creator: Creator;
  /** One per validator (v1.3/v1.4 files carry one pair, repeated here `numValidators` times). */
  readonly validators: readonly ValidatorAddresses[];
  /** Partial deposit amounts in Gwei (v1.8+); empty means one full deposit. */
  readonly depositAmounts: readonly bigint[];
  /** v1.9+; `''` before. */
  readonly consensusProtocol: string;
  /** v1.10+; 0 before. */
  readonly targetGasLimit: number;
  /** v1.10+; false before. */
  readonly compounding: boolean;
  readonly configHash: Hex;
  readonly definitionHash: Hex;
}

export interface DepositData {
  readonly pubkey: Hex;
  readonly withdrawalCredentials: Hex;
  /** Gwei. */
  readonly amount: bigint;
  readonly signature: Hex;
}

export interface Registration {
  readonly feeRecipient: Hex;
  readonly gasLimit: number;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly pubkey: Hex;
}

export interface BuilderRegistration {
  readonly message: Registration;
  readonly signature: Hex;
}

export interface DistributedValidator {
  /** The group public key, 48 bytes. */
  readonly distributedPublicKey: Hex;
  /** Public share of operator i (share index i + 1), 48 bytes each. */
  readonly publicShares: readonly Hex[];
  /**
   * Deposits of this validator: v1.8+ `partial_deposit_data`; v1.6/v1.7 `deposit_data` as a
   * list of zero or one; always empty before v1.6.
   */
  readonly depositData: readonly DepositData[];
  /** v1.7+; absent before. */
  readonly builderRegistration?: BuilderRegistration;
}

export interface ClusterLock {
  readonly definition: ClusterDefinition;
  readonly distributedValidators: readonly DistributedValidator[];
  /** Plain BLS aggregate over the lock hash by every public share of every validator. */
  readonly signatureAggregate: Hex;
  readonly lockHash: Hex;
  /** v1.7+: one 65-byte secp256k1 signature (R || S || V) of the lock hash per operator, or none. */
  readonly nodeSignatures: readonly Hex[];
}
