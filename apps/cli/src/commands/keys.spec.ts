import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHex, type Hex } from '#lib/contracts';
import { generateSecretKey, secretKeyToPublicKey } from '#lib/bls';
import {
  KeyFileError,
  KeyMaterialError,
  decryptKeystore,
  encryptKeystore,
  loadIdentityKey,
  parseEnr,
  splitExistingKeys,
  writeKeystoreFile,
} from '#lib/keys';
import type { CommandIo } from '../command.js';
import { KeysUsageError, combineCommand, combineShares, createEnrCommand } from './keys.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cohort-cli-keys-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function captureIo(): CommandIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    out: () => out,
    err: () => err,
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('cohort create enr', () => {
  it('creates <data-dir>/identity-key (0600) and prints the ENR of that key', async () => {
    const dataDir = join(root, '.cohort');
    const io = captureIo();
    expect(await createEnrCommand(['--data-dir', dataDir], io)).toBe(0);
    const keyFile = join(dataDir, 'identity-key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = await loadIdentityKey(keyFile);
    const enr = io.out().trim();
    expect(parseEnr(enr).publicKey).toBe(key.publicKey);
    expect(io.err()).toContain(`created ${keyFile} (mode 0600)`);
  });

  it('with --ip and --tcp-port the ENR carries the address', async () => {
    const io = captureIo();
    await createEnrCommand(['--data-dir', root, '--ip', '10.1.2.3', '--tcp-port', '3610'], io);
    expect(parseEnr(io.out().trim())).toMatchObject({ ip: '10.1.2.3', tcp: 3610 });
  });

  it('refuses when the key exists (unchanged); --show prints the existing ENR instead', async () => {
    await createEnrCommand(['--data-dir', root], captureIo());
    const keyFile = join(root, 'identity-key');
    const before = readFileSync(keyFile, 'utf8');
    const error = await rejection(createEnrCommand(['--data-dir', root], captureIo()));
    expect(error).toBeInstanceOf(KeysUsageError);
    expect(error.message).toBe(`${keyFile} already exists; refusing to overwrite an operator identity (use --show to print its ENR)`);
    expect(readFileSync(keyFile, 'utf8')).toBe(before);

    const io = captureIo();
    expect(await createEnrCommand(['--data-dir', root, '--show', '--ip', '127.0.0.1', '--tcp-port', '9000'], io)).toBe(0);
    const shown = parseEnr(io.out().trim());
    expect(shown.publicKey).toBe((await loadIdentityKey(keyFile)).publicKey);
    expect(shown).toMatchObject({ ip: '127.0.0.1', tcp: 9000 });
  });

  it('usage errors: --show without a key, a bad ip or port, an unknown flag', async () => {
    expect((await rejection(createEnrCommand(['--data-dir', root, '--show'], captureIo()))).message).toContain(
      'there is no identity key',
    );
    expect((await rejection(createEnrCommand(['--data-dir', root, '--ip', '300.1.1.1'], captureIo()))).message).toBe(
      '--ip: expected an IPv4 address, got 300.1.1.1',
    );
    expect((await rejection(createEnrCommand(['--data-dir', root, '--tcp-port', '0'], captureIo()))).message).toBe(
      '--tcp-port: expected a port in 1..65535, got 0',
    );
    expect(await rejection(createEnrCommand(['--nope'], captureIo()))).toBeInstanceOf(KeysUsageError);
    expect(readdirSync(root)).toEqual([]); // nothing created by a refused command
  });
});

describe('combineShares', () => {
  it('recovers the group key from t shares and refuses t-1', () => {
    const secret = generateSecretKey();
    const [v] = splitExistingKeys([secret], { total: 4, threshold: 3 });
    if (!v) throw new Error('nothing dealt');
    const keystores = [2, 4, 3].map((shareIndex) => ({ shareIndex, secret: v.shares.get(shareIndex) ?? new Uint8Array() }));
    expect(combineShares({ keystores, groupPubkey: v.groupPubkey }).secret).toEqual(secret);
    expect(() => combineShares({ keystores: keystores.slice(0, 2), groupPubkey: v.groupPubkey })).toThrow(KeyMaterialError);
  });
});

describe('cohort combine', () => {
  const LOW_COST = 16; // test-only kdf cost for the share keystores
  let groupSecret: Uint8Array;
  let groupPubkey: Hex;
  let shareFiles: Map<number, string>;

  beforeEach(async () => {
    groupSecret = generateSecretKey();
    groupPubkey = toHex(secretKeyToPublicKey(groupSecret));
    const [v] = splitExistingKeys([groupSecret], { total: 4, threshold: 3 });
    if (!v) throw new Error('nothing dealt');
    shareFiles = new Map();
    // Charon's layout: node<i>/validator_keys/keystore-0.json holds share i+1 of validator 0.
    for (const [shareIndex, share] of v.shares) {
      const file = join(root, `node${shareIndex - 1}`, 'validator_keys', 'keystore-0.json');
      await writeKeystoreFile(file, await encryptKeystore(share, `pw-${shareIndex}`, { kdf: 'pbkdf2', cost: LOW_COST }));
      writeFileSync(file.replace(/\.json$/, '.txt'), `pw-${shareIndex}`);
      shareFiles.set(shareIndex, file);
    }
    writeFileSync(join(root, 'out-password.txt'), 'group-password\n');
  });

  const args = (indices: readonly number[], extra: readonly string[] = []) => [
    '--keystores',
    ...indices.map((i) => shareFiles.get(i) ?? ''),
    '--share-indices',
    indices.join(','),
    '--group-pubkey',
    groupPubkey,
    '--out',
    join(root, 'recovered.json'),
    '--password-file',
    join(root, 'out-password.txt'),
    '--kdf',
    'pbkdf2',
    ...extra,
  ];

  it('writes the recovered key as a keystore (0600) that decrypts to the group secret, after a loud warning', async () => {
    const io = captureIo();
    expect(await combineCommand(args([4, 1, 3]), io)).toBe(0);
    const out = join(root, 'recovered.json');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const { secret, pubkey } = await decryptKeystore(JSON.parse(readFileSync(out, 'utf8')), 'group-password', out);
    expect(secret).toEqual(groupSecret);
    expect(pubkey).toBe(groupPubkey);
    expect(io.err()).toContain('WARNING');
    expect(io.err()).toContain('slashed');
    expect(io.out()).toContain(`recovered ${groupPubkey} from 3 shares`);
  });

  it('refuses shares that do not recover the group pubkey, and writes nothing', async () => {
    const io = captureIo();
    // Two shares only: below threshold.
    const few = await rejection(combineCommand(args([1, 2]), io));
    expect(few).toBeInstanceOf(KeyMaterialError);
    expect((few as KeyMaterialError).code).toBe('group_pubkey_mismatch');
    expect(io.err()).toContain('WARNING'); // the warning comes before any work
    // Three shares with their indices swapped.
    const swapped = [...args([1, 2, 3])];
    swapped[swapped.indexOf('1,2,3')] = '2,1,3';
    expect(((await rejection(combineCommand(swapped, captureIo()))) as KeyMaterialError).code).toBe('group_pubkey_mismatch');
    // Another validator's group pubkey.
    const other = args([1, 2, 3]);
    other[other.indexOf(groupPubkey)] = toHex(secretKeyToPublicKey(generateSecretKey()));
    expect(((await rejection(combineCommand(other, captureIo()))) as KeyMaterialError).code).toBe('group_pubkey_mismatch');
    expect(readdirSync(root).filter((n) => !n.startsWith('node'))).toEqual(['out-password.txt']);
  });

  it('refuses an existing --out file without touching it', async () => {
    const out = join(root, 'recovered.json');
    writeFileSync(out, 'precious');
    const error = await rejection(combineCommand(args([1, 2, 3]), captureIo()));
    expect(error).toBeInstanceOf(KeyFileError);
    expect(error.message).toBe(`${out}: file: already exists; refusing to overwrite`);
    expect(readFileSync(out, 'utf8')).toBe('precious');
  });

  it('a wrong share password names the keystore file and field', async () => {
    const file = shareFiles.get(2) ?? '';
    writeFileSync(file.replace(/\.json$/, '.txt'), 'not-it');
    const error = await rejection(combineCommand(args([1, 2, 3]), captureIo()));
    expect(error.message).toBe(`${file}: crypto.checksum: wrong password (checksum mismatch)`);
    expect(readdirSync(root)).not.toContain('recovered.json');
  });

  it('a missing share password file names it', async () => {
    const file = shareFiles.get(3) ?? '';
    rmSync(file.replace(/\.json$/, '.txt'));
    const error = await rejection(combineCommand(args([1, 2, 3]), captureIo()));
    expect(error).toBeInstanceOf(KeyFileError);
    expect((error as KeyFileError).file).toBe(file.replace(/\.json$/, '.txt'));
  });

  it('usage errors', async () => {
    const usage = async (argv: readonly string[]) => {
      const error = await rejection(combineCommand(argv, captureIo()));
      expect(error).toBeInstanceOf(KeysUsageError);
      return error.message;
    };
    const full = args([1, 2, 3]);
    const without = (flag: string) => {
      const i = full.indexOf(flag);
      return [...full.slice(0, i), ...full.slice(i + 2)];
    };
    expect(await usage(without('--group-pubkey'))).toBe('--group-pubkey 0x… is required');
    expect(await usage(without('--out'))).toBe('--out FILE is required');
    expect(await usage(without('--password-file'))).toMatch(/^--password-file FILE is required/);
    expect(await usage(without('--share-indices'))).toMatch(/^--share-indices 1,2,3 is required/);
    expect(await usage(args([1, 2, 3]).map((a) => (a === '1,2,3' ? '1,2' : a)))).toBe('--share-indices: 2 indices for 3 keystores');
    expect(await usage(args([1, 2, 3]).map((a) => (a === '1,2,3' ? '1,1,2' : a)))).toBe('--share-indices: 1 appears twice');
    expect(await usage(args([1, 2, 3]).map((a) => (a === groupPubkey ? '0x1234' : a)))).toBe(
      '--group-pubkey: expected 48 bytes of 0x-hex, got 0x1234',
    );
    expect(await usage(args([1, 2, 3], ['--kdf', 'argon2']))).toBe(
      '--kdf: one of scrypt, pbkdf2, got argon2',
    );
    expect(await usage(['--share-indices', '1'])).toBe('--keystores FILE... is required');
  });
});

