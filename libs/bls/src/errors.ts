/**
 * Why a BLS operation refused its input. These are programming or data-integrity errors
 * (a caller passed a malformed key, an empty set, a bad share index), never business
 * outcomes: a signature that merely fails to verify is reported as `false`, not thrown.
 */
export type BlsErrorCode =
  | 'not_initialised'
  | 'invalid_secret_key'
  | 'invalid_public_key'
  | 'invalid_signature'
  | 'invalid_share_index'
  | 'invalid_threshold'
  | 'empty_input';

export class BlsError extends Error {
  override readonly name = 'BlsError';
  readonly code: BlsErrorCode;

  constructor(code: BlsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
