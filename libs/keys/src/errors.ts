/**
 * A key file an operator handed us is unusable: the message names the file and the field
 * ("validator_keys/keystore-0.json: crypto.checksum: wrong password (checksum mismatch)"),
 * so the operator can fix the right thing. Never carries secret material.
 */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
  /** The file as the caller named it (relative paths stay relative). */
  readonly file: string;
  /** Dotted path of the offending field, or a short tag for the file as a whole (`file`, `mode`). */
  readonly field: string;

  constructor(file: string, field: string, detail: string, options?: ErrorOptions) {
    super(`${file}: ${field}: ${detail}`, options);
    this.file = file;
    this.field = field;
  }
}

/**
 * Why key material was refused, when no file is involved: a share set that does not
 * reconstruct the group key, an ENR that fails its signature, a deposit that would not be
 * valid. Refusing is the point of these checks; the caller writes nothing.
 */
export type KeyMaterialErrorCode =
  | 'invalid_secret_key'
  | 'duplicate_key'
  | 'invalid_share'
  | 'duplicate_share_index'
  | 'public_share_mismatch'
  | 'group_pubkey_mismatch'
  | 'invalid_enr'
  | 'invalid_deposit';

export class KeyMaterialError extends Error {
  override readonly name = 'KeyMaterialError';
  readonly code: KeyMaterialErrorCode;

  constructor(code: KeyMaterialErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
