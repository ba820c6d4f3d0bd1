import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fromHex, isHex, toHex, type Hex } from '#lib/contracts';
import {
  IDENTITY_KEY_FILE,
  KeyFileError,
  createIdentityKeyFile,
  decryptKeystore,
  encryptKeystore,
  enrOf,
  loadIdentityKey,
  parseKeystoreText,
  readPasswordFile,
  recoverGroupSecret,
  writeKeystoreFile,
  type EnrAddress,
  type KdfName,
  type SecretShare,
} from '#lib/keys';
import { UsageError, processIo, type CommandIo } from '../command.js';

/**
 * `cohort create enr` and `cohort combine`: the operator-facing key commands. Parsing and
 * file handling live here; the key material rules (recovery check, keystore format, identity
 * file layout) live in #lib/keys.
 */

/** A bad command line: the caller prints the message with the usage and exits 2. */
export class KeysUsageError extends UsageError {
  override readonly name = 'KeysUsageError';
}


export const createEnrUsage = `Usage:
  cohort create enr [--data-dir .cohort] [--ip 127.0.0.1] [--tcp-port N] [--udp-port N] [--show]
      Creates this operator's identity (a secp256k1 key in <data-dir>/${IDENTITY_KEY_FILE}, mode 0600)
      and prints its ENR, to send to whoever creates the cluster. Refuses if the key exists;
      --show prints the ENR of the existing key instead. The key is the node's libp2p identity:
      back it up, and never give it to anyone.
`;

export const combineUsage = `Usage:
  cohort combine --keystores SHARE.json [SHARE.json ...] --share-indices 1,2,3
                 --group-pubkey 0x… --out KEYSTORE.json --password-file PASSWORD.txt [--kdf scrypt|pbkdf2]
      Recovers a validator's full secret key from threshold share keystores (EIP-2335, each with
      its password in the sibling .txt file) and writes it as one EIP-2335 keystore encrypted with
      the password in --password-file. --share-indices gives each keystore's share index (the
      operator's position in the cluster, 1-based), in the order of --keystores. Refuses unless
      the recovered key's public key is --group-pubkey; writes nothing on any error.
      DANGER: never run the recovered key while the cluster still runs this validator (slashing).
`;

const SLASHING_WARNING = `
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! WARNING: this recovers a validator's FULL secret key from its threshold shares.    !!
!! Never load it into a validator client while the cluster still runs this validator: !!
!! two signers for one key WILL get it slashed. Stop every node of the cluster first,  !!
!! and carry the slashing-protection history over (EIP-3076) before using the key.     !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
`;

/** `cohort create enr …` (args after `create enr`). Returns the exit code. */
export async function createEnrCommand(args: readonly string[], io: CommandIo = processIo): Promise<number> {
  const { values } = parse(args, {
    'data-dir': { type: 'string' },
    ip: { type: 'string' },
    'tcp-port': { type: 'string' },
    'udp-port': { type: 'string' },
    show: { type: 'boolean' },
  });
  const address: EnrAddress = {
    ...(values.ip !== undefined && { ip: ipv4('ip', values.ip) }),
    ...(values['tcp-port'] !== undefined && { tcp: port('tcp-port', values['tcp-port']) }),
    ...(values['udp-port'] !== undefined && { udp: port('udp-port', values['udp-port']) }),
  };
  const keyFile = join(values['data-dir'] ?? '.cohort', IDENTITY_KEY_FILE);
  const present = await fileExists(keyFile);
  if (values.show) {
    if (!present) throw new KeysUsageError(`--show: there is no identity key at ${keyFile}; run without --show to create one`);
    const key = await loadIdentityKey(keyFile);
    for (const warning of key.warnings) io.stderr.write(`warning: ${warning}\n`);
    io.stdout.write(`${enrOf(key.privateKey, address)}\n`);
    return 0;
  }
  if (present) {
    throw new KeysUsageError(`${keyFile} already exists; refusing to overwrite an operator identity (use --show to print its ENR)`);
  }
  const key = await createIdentityKeyFile(keyFile);
  io.stderr.write(`created ${keyFile} (mode 0600): this operator's identity key — back it up, never share it\n`);
  io.stdout.write(`${enrOf(key.privateKey, address)}\n`);
  return 0;
}

export interface CombineInput {
  /** Decrypted share keystores with the share index each belongs to. */
  readonly keystores: readonly SecretShare[];
  readonly groupPubkey: Hex;
}

/**
 * The recovery `cohort combine` performs, without files: Lagrange at 0 over the shares, and
 * the result only if its public key is the group pubkey (else `KeyMaterialError`).
 */
export function combineShares({ keystores, groupPubkey }: CombineInput): { readonly secret: Uint8Array; readonly pubkey: Hex } {
  const secret = recoverGroupSecret(keystores, groupPubkey);
  return { secret, pubkey: toHex(fromHex(groupPubkey)) };
}

/** `cohort combine …` (args after `combine`). Returns the exit code; writes nothing unless it succeeds. */
export async function combineCommand(args: readonly string[], io: CommandIo = processIo): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      keystores: { type: 'string', multiple: true },
      'share-indices': { type: 'string' },
      'group-pubkey': { type: 'string' },
      out: { type: 'string' },
      'password-file': { type: 'string' },
      kdf: { type: 'string' },
    },
    true,
  );
  // `--keystores a.json b.json c.json`: the files after the first arrive as positionals.
  const files = [...(values.keystores ?? []), ...positionals];
  if (values.keystores === undefined || files.length === 0) throw new KeysUsageError('--keystores FILE... is required');
  const indices = shareIndices(values['share-indices'], files.length);
  const groupPubkey = values['group-pubkey']?.toLowerCase();
  if (groupPubkey === undefined) throw new KeysUsageError('--group-pubkey 0x… is required');
  if (!isHex(groupPubkey, 48)) throw new KeysUsageError(`--group-pubkey: expected 48 bytes of 0x-hex, got ${values['group-pubkey']}`);
  const out = values.out;
  if (out === undefined) throw new KeysUsageError('--out FILE is required');
  const passwordFile = values['password-file'];
  if (passwordFile === undefined) throw new KeysUsageError('--password-file FILE is required (the password for the --out keystore)');
  const kdf = values.kdf ?? 'scrypt';
  if (kdf !== 'scrypt' && kdf !== 'pbkdf2') throw new KeysUsageError(`--kdf: one of scrypt, pbkdf2, got ${kdf}`);
  if (files.some((f) => !f.endsWith('.json'))) {
    throw new KeysUsageError('--keystores: each file must be a keystore-N.json with its password in the sibling keystore-N.txt');
  }

  io.stderr.write(SLASHING_WARNING);
  // Cheap refusals first: scrypt takes over a second per keystore.
  if (await fileExists(out)) throw new KeyFileError(out, 'file', 'already exists; refusing to overwrite');
  const password = await readPasswordFile(passwordFile);
  if (password.trim().length === 0) throw new KeyFileError(passwordFile, 'file', 'is empty; the output keystore needs a password');

  const shares: SecretShare[] = [];
  for (const [i, file] of files.entries()) {
    const text = await readText(file);
    const sharePassword = await readPasswordFile(file.replace(/\.json$/, '.txt'));
    const { secret } = await decryptKeystore(parseKeystoreText(text, file), sharePassword, file);
    shares.push({ shareIndex: indices[i] ?? 0, secret });
  }
  const { secret, pubkey } = combineShares({ keystores: shares, groupPubkey: groupPubkey as Hex });
  const keystore = await encryptKeystore(secret, password, {
    kdf: kdf satisfies KdfName,
    description: `cohort combine: group key recovered from shares ${indices.join(', ')}`,
  });
  await writeKeystoreFile(out, keystore);
  io.stdout.write(`recovered ${pubkey} from ${files.length} shares; wrote ${out} (password: ${passwordFile})\n`);
  return 0;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

function parse<T extends OptionSpec>(args: readonly string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals });
  } catch (cause) {
    throw new KeysUsageError(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

function shareIndices(raw: string | undefined, count: number): number[] {
  if (raw === undefined) throw new KeysUsageError('--share-indices 1,2,3 is required (one per --keystores file, in order)');
  const indices = raw.split(',').map((s) => s.trim());
  if (indices.length !== count) {
    throw new KeysUsageError(`--share-indices: ${indices.length} indices for ${count} keystores`);
  }
  const parsed = indices.map((s) => {
    const n = Number(s);
    if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(n) || n < 1) throw new KeysUsageError(`--share-indices: expected integers >= 1, got ${s}`);
    return n;
  });
  const duplicate = parsed.find((n, i) => parsed.indexOf(n) !== i);
  if (duplicate !== undefined) throw new KeysUsageError(`--share-indices: ${duplicate} appears twice`);
  return parsed;
}

function ipv4(flag: string, raw: string): string {
  if (!/^(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$/.test(raw)) {
    throw new KeysUsageError(`--${flag}: expected an IPv4 address, got ${raw}`);
  }
  return raw;
}

function port(flag: string, raw: string): number {
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || n < 1 || n > 65_535) throw new KeysUsageError(`--${flag}: expected a port in 1..65535, got ${raw}`);
  return n;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new KeyFileError(path, 'file', `cannot read keystore (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
  }
}
