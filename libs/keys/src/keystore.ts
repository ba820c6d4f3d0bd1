import {
  create,
  defaultPbkdfModule,
  defaultScryptModule,
  schemaValidationErrors,
  decrypt,
  type IKeystore,
} from '@chainsafe/bls-keystore';
import { isHex, toHex, type Hex } from '#lib/contracts';
import { SECRET_KEY_LENGTH, secretKeyToPublicKey } from '#lib/bls';
import { KeyFileError } from './errors.js';

/**
 * EIP-2335 BLS keystores (https://eips.ethereum.org/EIPS/eip-2335), with
 * @chainsafe/bls-keystore doing the cryptography: kdf (scrypt or pbkdf2), sha256 checksum,
 * aes-128-ctr, and the password normalisation of the EIP (NFKD, C0/C1/DEL control codes
 * stripped). This module only chooses parameters, derives the pubkey with blst, and turns
 * every failure into a `KeyFileError` naming the file and the field.
 */

export type Eip2335Keystore = IKeystore;

export type KdfName = 'scrypt' | 'pbkdf2';

/**
 * The EIP-2335 test vectors' and staking-deposit-cli's cost: scrypt n = 2^18 (r = 8, p = 1,
 * ~1.3 s and 256 MiB per keystore on this machine) or pbkdf2 c = 2^18 (~0.1 s).
 */
export const STANDARD_KDF_COST = 262_144;

/**
 * Shares are not derived from a mnemonic, so they have no real EIP-2334 path; stock VCs
 * expect one, so share keystores carry the first validator signing path, as Charon's do.
 */
export const DEFAULT_KEYSTORE_PATH = 'm/12381/3600/0/0/0';

export interface EncryptKeystoreOptions {
  readonly kdf: KdfName;
  /** EIP-2334 path recorded in the keystore (informative only); default `DEFAULT_KEYSTORE_PATH`. */
  readonly path?: string;
  readonly description?: string;
  /**
   * scrypt n (a power of two) or pbkdf2 c. Default `STANDARD_KDF_COST`; anything lower is for
   * tests only — it makes a stolen keystore cheap to brute-force.
   */
  readonly cost?: number;
}

/** Encrypts a 32-byte BLS secret key; the keystore's `pubkey` is derived from it with blst. */
export async function encryptKeystore(
  secret: Uint8Array,
  password: string,
  opts: EncryptKeystoreOptions,
): Promise<Eip2335Keystore> {
  const pubkey = secretKeyToPublicKey(secret); // refuses a malformed or zero secret (BlsError)
  const cost = opts.cost ?? STANDARD_KDF_COST;
  if (!Number.isSafeInteger(cost) || cost < 2) throw new RangeError(`kdf cost must be an integer >= 2, got ${cost}`);
  if (opts.kdf === 'scrypt' && (cost & (cost - 1)) !== 0) throw new RangeError(`scrypt n must be a power of two, got ${cost}`);
  if (password.length === 0) throw new RangeError('keystore password must not be empty');
  const kdf = opts.kdf === 'scrypt' ? defaultScryptModule() : defaultPbkdfModule();
  if (kdf.function === 'scrypt') kdf.params.n = cost;
  else kdf.params.c = cost;
  return create(password, secret, pubkey, opts.path ?? DEFAULT_KEYSTORE_PATH, opts.description ?? null, kdf);
}

export interface DecryptedKeystore {
  readonly secret: Uint8Array;
  /** Derived from the decrypted secret (and checked against the keystore's `pubkey` field when present). */
  readonly pubkey: Hex;
}

/**
 * Validates `json` as an EIP-2335 version-4 keystore and decrypts it. `source` names the file
 * in errors. Wrong password, malformed fields, a plaintext that is not a BLS secret key, and
 * a `pubkey` field that does not match the secret are all `KeyFileError`s.
 */
export async function decryptKeystore(json: unknown, password: string, source: string): Promise<DecryptedKeystore> {
  const keystore = validKeystore(json, source);
  let secret: Uint8Array;
  try {
    // One kdf run (scrypt at the standard cost is ~1.3 s): decrypt verifies the checksum first.
    secret = await decrypt(keystore, password);
  } catch (cause) {
    // bls-keystore's documented refusal for a checksum mismatch.
    if (messageOf(cause) === 'Invalid password') {
      throw new KeyFileError(source, 'crypto.checksum', 'wrong password (checksum mismatch)');
    }
    throw new KeyFileError(source, 'crypto', `cannot decrypt: ${messageOf(cause)}`, { cause });
  }
  if (secret.length !== SECRET_KEY_LENGTH) {
    throw new KeyFileError(source, 'crypto.cipher.message', `decrypts to ${secret.length} bytes, not a ${SECRET_KEY_LENGTH}-byte BLS secret key`);
  }
  let pubkey: Hex;
  try {
    pubkey = toHex(secretKeyToPublicKey(secret));
  } catch (cause) {
    throw new KeyFileError(source, 'crypto.cipher.message', 'decrypts to a value that is not a BLS secret key (zero or not below the curve order)', { cause });
  }
  if (keystore.pubkey !== undefined && keystore.pubkey !== '' && `0x${keystore.pubkey.toLowerCase()}` !== pubkey) {
    throw new KeyFileError(source, 'pubkey', `0x${keystore.pubkey} is not the public key of the decrypted secret (${pubkey})`);
  }
  return { secret, pubkey };
}

/** Parses a keystore file's text; a JSON syntax error names the file. */
export function parseKeystoreText(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new KeyFileError(source, 'file', `not JSON: ${messageOf(cause)}`, { cause });
  }
}

function validKeystore(json: unknown, source: string): Eip2335Keystore {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new KeyFileError(source, 'file', 'not a JSON object');
  }
  const version = (json as { version?: unknown }).version;
  if (version !== 4) throw new KeyFileError(source, 'version', `must be 4 (EIP-2335), got ${JSON.stringify(version)}`);
  const errors = schemaValidationErrors(json);
  if (errors && errors.length > 0) throw schemaError(json, errors, source);
  const keystore = json as Eip2335Keystore;
  if (keystore.pubkey !== undefined && keystore.pubkey !== '' && !isHex(`0x${keystore.pubkey.toLowerCase()}`, 48)) {
    throw new KeyFileError(source, 'pubkey', 'must be 48 bytes of hex');
  }
  return keystore;
}

type SchemaError = NonNullable<ReturnType<typeof schemaValidationErrors>>[number];

/**
 * The one schema complaint worth showing. The kdf/checksum/cipher modules are a `oneOf` over
 * the supported functions, so a pbkdf2 module missing its salt also fails the scrypt branch
 * ("function must match ^scrypt$"): drop the branches the file did not choose.
 */
function schemaError(json: object, errors: readonly SchemaError[], source: string): KeyFileError {
  const concrete = errors.filter((e) => e.keyword !== 'oneOf');
  const otherBranch = (e: SchemaError) => e.keyword === 'pattern' && e.instancePath.endsWith('/function');
  const chosen = concrete.find((e) => !otherBranch(e)) ?? concrete[0] ?? errors[0];
  const field = (chosen?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  if (chosen !== undefined && otherBranch(chosen)) {
    const supported = concrete
      .filter((e) => e.instancePath === chosen.instancePath)
      .map((e) => String((e.params as { pattern?: string }).pattern ?? '').replace(/^\^|\$$/g, ''));
    const value = field.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], json);
    return new KeyFileError(source, field, `unsupported ${JSON.stringify(value)} (supported: ${supported.join(', ')})`);
  }
  const missing = (chosen?.params as { missingProperty?: string } | undefined)?.missingProperty;
  if (missing !== undefined) return new KeyFileError(source, field === '' ? missing : `${field}.${missing}`, 'missing');
  return new KeyFileError(source, field === '' ? 'file' : field, chosen?.message ?? 'invalid');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
