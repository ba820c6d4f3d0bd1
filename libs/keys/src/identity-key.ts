import { readFile, stat } from 'node:fs/promises';
import { type Hex } from '#lib/contracts';
import { generateIdentityKey, secp256k1PublicKey } from '#lib/p2p';
import { KeyFileError } from './errors.js';
import { SECRET_FILE_MODE, writeNewSecretFile } from './files.js';

/**
 * The operator's identity key file: a secp256k1 secret as 64 hex characters, no `0x`, no
 * newline — the layout of Charon's `charon-enr-private-key`, so an Obol operator's existing key
 * file can be used as is. The same key is the node's ENR key and libp2p PeerId (#lib/p2p).
 */

/** File name of the identity key inside a node's data directory. */
export const IDENTITY_KEY_FILE = 'identity-key';

export interface IdentityKey {
  readonly privateKey: Uint8Array;
  /** 33-byte compressed secp256k1 public key, as `secp256k1PublicKey` (#lib/p2p) and cluster operators carry it. */
  readonly publicKey: Hex;
}

/** Writes a fresh identity key to `path` (mode 0600); refuses if the file exists. */
export async function createIdentityKeyFile(path: string): Promise<IdentityKey> {
  const privateKey = generateIdentityKey();
  await writeNewSecretFile(path, Buffer.from(privateKey).toString('hex'));
  return { privateKey, publicKey: secp256k1PublicKey(privateKey) };
}

export interface LoadedIdentityKey extends IdentityKey {
  /** Non-fatal findings for the operator, e.g. a file other users can read. */
  readonly warnings: readonly string[];
}

/** Reads an identity key file; tolerates a `0x` prefix and surrounding whitespace. */
export async function loadIdentityKey(path: string): Promise<LoadedIdentityKey> {
  let text: string;
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const detail = code === 'ENOENT' ? 'missing (create one with `cohort create enr`)' : `cannot read (${code ?? String(cause)})`;
    throw new KeyFileError(path, 'file', detail, { cause });
  }
  const body = text.trim().replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{64}$/.test(body)) {
    throw new KeyFileError(path, 'key', `expected 64 hex characters (a 32-byte secp256k1 secret), got ${body.length} characters`);
  }
  const privateKey = new Uint8Array(Buffer.from(body, 'hex'));
  let publicKey: Hex;
  try {
    publicKey = secp256k1PublicKey(privateKey);
  } catch (cause) {
    throw new KeyFileError(path, 'key', 'not a valid secp256k1 secret (zero or not below the curve order)', { cause });
  }
  const warnings =
    (mode & 0o077) !== 0
      ? [`${path}: mode 0${mode.toString(8)} lets other users read the identity key; run chmod ${SECRET_FILE_MODE.toString(8)} ${path}`]
      : [];
  return { privateKey, publicKey, warnings };
}

