import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Hex } from '#lib/contracts';
import { KeyFileError } from './errors.js';
import { writeNewSecretDir, writeNewSecretFile } from './files.js';
import {
  decryptKeystore,
  encryptKeystore,
  parseKeystoreText,
  type EncryptKeystoreOptions,
  type Eip2335Keystore,
} from './keystore.js';

/**
 * A folder of keystores as Lodestar, Charon and the other stock VCs import them:
 * `keystore-N.json` (EIP-2335) next to `keystore-N.txt` (its password), N = 0, 1, … in the
 * order of the validators.
 */

export const keystoreFileName = (index: number): string => `keystore-${index}.json`;
export const passwordFileName = (index: number): string => `keystore-${index}.txt`;

const KEYSTORE_FILE = /^keystore-(0|[1-9][0-9]*)\.json$/;

/** A fresh password for one keystore: 32 random bytes as hex (ASCII, so no normalisation surprises). */
export function generateKeystorePassword(): string {
  return randomBytes(32).toString('hex');
}

export interface WriteKeystoreDirOptions extends EncryptKeystoreOptions {
  /** One password per secret; by default a fresh random one each (`generateKeystorePassword`). */
  readonly passwords?: readonly string[];
  /** Called after each keystore is encrypted (scrypt at the standard cost takes ~1.3 s each). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface WrittenKeystore {
  readonly index: number;
  readonly keystoreFile: string;
  readonly passwordFile: string;
  readonly pubkey: Hex;
}

/**
 * Writes `secrets` as `dir/keystore-N.json` + `dir/keystore-N.txt` (files 0600, `dir` 0700).
 * `dir` must be absent or empty; on any error nothing is left behind (see `writeNewSecretDir`).
 */
export async function writeKeystoreDir(
  dir: string,
  secrets: readonly Uint8Array[],
  opts: WriteKeystoreDirOptions,
): Promise<WrittenKeystore[]> {
  if (secrets.length === 0) throw new RangeError('no secrets to write');
  if (opts.passwords !== undefined && opts.passwords.length !== secrets.length) {
    throw new RangeError(`${opts.passwords.length} passwords for ${secrets.length} secrets`);
  }
  const passwords = opts.passwords ?? secrets.map(() => generateKeystorePassword());
  const written: WrittenKeystore[] = [];
  const names = secrets.flatMap((_, i) => [keystoreFileName(i), passwordFileName(i)]);
  await writeNewSecretDir(dir, names, async (_name, n) => {
    const index = Math.floor(n / 2);
    const password = passwords[index] ?? '';
    if (n % 2 === 1) return password;
    const keystore = await encryptKeystore(secrets[index] ?? new Uint8Array(), password, opts);
    written.push({
      index,
      keystoreFile: join(dir, keystoreFileName(index)),
      passwordFile: join(dir, passwordFileName(index)),
      pubkey: `0x${keystore.pubkey}`,
    });
    opts.onProgress?.(index + 1, secrets.length);
    await yieldToEventLoop();
    return keystoreJson(keystore);
  });
  return written;
}

/** Writes one keystore to a new file `path` (0600, refuses to overwrite, atomic). */
export async function writeKeystoreFile(path: string, keystore: Eip2335Keystore): Promise<void> {
  await writeNewSecretFile(path, keystoreJson(keystore));
}

export interface LoadedKeystore {
  readonly index: number;
  readonly keystoreFile: string;
  readonly secret: Uint8Array;
  readonly pubkey: Hex;
}

/**
 * Reads `dir/keystore-N.json` with `dir/keystore-N.txt`, N = 0..count-1 without gaps, and
 * returns the secrets in N order. Any unreadable, corrupt or undecryptable file, a missing
 * password file, a gap in the numbering or the same key twice is a `KeyFileError`.
 */
export async function loadKeystoreDir(
  dir: string,
  opts: { readonly onProgress?: (done: number, total: number) => void } = {},
): Promise<LoadedKeystore[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    throw new KeyFileError(dir, 'file', `cannot read directory: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  const indices = names
    .map((name) => KEYSTORE_FILE.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  if (indices.length === 0) throw new KeyFileError(dir, 'file', 'contains no keystore-N.json files');
  indices.forEach((n, i) => {
    if (n !== i) {
      throw new KeyFileError(
        join(dir, keystoreFileName(i)),
        'file',
        `missing: keystores must be numbered 0..${indices.length - 1} without gaps (found ${indices.map(keystoreFileName).join(', ')})`,
      );
    }
  });
  const loaded: LoadedKeystore[] = [];
  const seen = new Map<Hex, string>();
  for (const index of indices) {
    const keystoreFile = join(dir, keystoreFileName(index));
    const passwordFile = join(dir, passwordFileName(index));
    const text = await readText(keystoreFile, 'cannot read keystore');
    const password = await readText(passwordFile, `missing or unreadable password file for ${keystoreFileName(index)}`);
    const { secret, pubkey } = await decryptKeystore(parseKeystoreText(text, keystoreFile), password, keystoreFile);
    const twin = seen.get(pubkey);
    if (twin !== undefined) throw new KeyFileError(keystoreFile, 'pubkey', `${pubkey} is the same key as ${twin}`);
    seen.set(pubkey, keystoreFile);
    loaded.push({ index, keystoreFile, secret, pubkey });
    opts.onProgress?.(index + 1, indices.length);
    await yieldToEventLoop();
  }
  return loaded;
}

/**
 * Reads a password file. EIP-2335 normalisation strips control codes, so a trailing newline
 * an editor added does not change the password.
 */
export async function readPasswordFile(path: string): Promise<string> {
  return readText(path, 'missing or unreadable password file');
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new KeyFileError(path, 'file', `${what} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
  }
}

/**
 * The kdf runs synchronously (~0.1–1.3 s per keystore); between keystores, let timers and
 * pending writes (progress lines on a pipe, signals) run.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function keystoreJson(keystore: Eip2335Keystore): string {
  return `${JSON.stringify(keystore, null, 2)}\n`;
}
