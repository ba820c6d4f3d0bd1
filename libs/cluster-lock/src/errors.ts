/**
 * Two kinds of failure, both naming the offending field by its JSON path in Charon's file
 * format (`cluster_definition.operators[1].enr`, `distributed_validators[3].public_shares[2]`):
 *
 * - `ClusterFileError`: the file is not a cluster definition or lock we can read (malformed
 *   JSON, a missing field, a hex string of the wrong length, an unknown version).
 * - `LockVerificationError`: the file reads, but what it claims does not hold (a hash that does
 *   not match the contents, a signature that does not verify, shares that do not reconstruct).
 *
 * The message always starts with the field path, then a colon.
 */
export class ClusterFileError extends Error {
  override readonly name = 'ClusterFileError';
  /** JSON path of the offending field; `$` for the document itself. */
  readonly field: string;

  constructor(field: string, problem: string, options?: ErrorOptions) {
    super(`${field}: ${problem}`, options);
    this.field = field;
  }
}

/** Which verification step refused the lock, in the order `verifyLock` runs them. */
export type LockCheck =
  | 'config_hash'
  | 'definition_hash'
  | 'lock_hash'
  | 'structure'
  | 'public_shares'
  | 'signature_aggregate'
  | 'node_signatures'
  | 'operator_signatures'
  | 'deposit_data'
  | 'builder_registration';

export class LockVerificationError extends Error {
  override readonly name = 'LockVerificationError';
  readonly check: LockCheck;
  /** JSON path of the offending field. */
  readonly field: string;

  constructor(check: LockCheck, field: string, problem: string, options?: ErrorOptions) {
    super(`${field}: ${problem}`, options);
    this.check = check;
    this.field = field;
  }
}

/** `buildClusterLock` refused its input; `field` is the path inside the input object. */
export class ClusterBuildError extends Error {
  override readonly name = 'ClusterBuildError';
  readonly field: string;

  constructor(field: string, problem: string, options?: ErrorOptions) {
    super(`${field}: ${problem}`, options);
    this.field = field;
  }
}
