import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHex } from '#lib/contracts';
import { generateSecretKey, secretKeyToPublicKey } from '#lib/bls';
import { encryptKeystore } from './keystore.js';
import { loadKeystoreDir, writeKeystoreDir, writeKeystoreFile } from './keystore-dir.js';
import { refusal } from './refusal.fixture.js';

const LOW_COST = 16; // test-only kdf cost
const opts = { kdf: 'pbkdf2', cost: LOW_COST } as const;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cohort-keys-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('writeKeystoreDir', () => {
  it('writes keystore-N.json + keystore-N.txt (0600) in a 0700 folder, and loadKeystoreDir reads them back in order', async () => {
    const secrets = [generateSecretKey(), generateSecretKey(), generateSecretKey()];
    const dir = join(root, 'node0', 'validator_keys');
    const progress: number[] = [];
    const written = await writeKeystoreDir(dir, secrets, { ...opts, onProgress: (done) => progress.push(done) });

    expect(readdirSync(dir).sort()).toEqual([
      'keystore-0.json', 'keystore-0.txt', 'keystore-1.json', 'keystore-1.txt', 'keystore-2.json', 'keystore-2.txt',
    ]);
    expect(modeOf(dir)).toBe(0o700);
    for (const name of readdirSync(dir)) expect(modeOf(join(dir, name))).toBe(0o600);
    expect(readdirSync(join(root, 'node0'))).toEqual(['validator_keys']); // no temporary left over
    expect(progress).toEqual([1, 2, 3]);
    expect(written.map((w) => w.pubkey)).toEqual(secrets.map((s) => toHex(secretKeyToPublicKey(s))));
    // Passwords are distinct, random, and the password file holds exactly the password.
    const passwords = [0, 1, 2].map((i) => readFileSync(join(dir, `keystore-${i}.txt`), 'utf8'));
    expect(new Set(passwords).size).toBe(3);
    for (const p of passwords) expect(p).toMatch(/^[0-9a-f]{64}$/);

    const loaded = await loadKeystoreDir(dir);
    expect(loaded.map((k) => k.index)).toEqual([0, 1, 2]);
    expect(loaded.map((k) => k.secret)).toEqual(secrets);
    expect(loaded.map((k) => k.pubkey)).toEqual(written.map((w) => w.pubkey));
    expect(loaded[1]?.keystoreFile).toBe(join(dir, 'keystore-1.json'));
  });

  it('uses the given passwords, and writes into an existing empty folder', async () => {
    const dir = join(root, 'keys');
    mkdirSync(dir);
    await writeKeystoreDir(dir, [generateSecretKey()], { ...opts, passwords: ['hunter2'] });
    expect(readFileSync(join(dir, 'keystore-0.txt'), 'utf8')).toBe('hunter2');
    expect(modeOf(dir)).toBe(0o700);
  });

  it('refuses a folder that is not empty, and changes nothing in it', async () => {
    const dir = join(root, 'keys');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keystore-0.json'), 'precious');
    const error = await refusal(writeKeystoreDir(dir, [generateSecretKey()], opts));
    expect(error.message).toBe(`${join(dir, 'keystore-0.json')}: file: already exists (${dir} must be empty or absent); refusing to overwrite`);
    expect(readdirSync(dir)).toEqual(['keystore-0.json']);
    expect(readFileSync(join(dir, 'keystore-0.json'), 'utf8')).toBe('precious');
    expect(readdirSync(root)).toEqual(['keys']);
  });

  it('a failure half-way leaves nothing behind', async () => {
    const dir = join(root, 'keys');
    // The third secret is zero: not a BLS secret key, refused after two keystores were written.
    await expect(writeKeystoreDir(dir, [generateSecretKey(), generateSecretKey(), new Uint8Array(32)], opts)).rejects.toThrow(/zero/);
    expect(readdirSync(root)).toEqual([]);
  });

  it('writeKeystoreFile refuses to overwrite and leaves no temporary', async () => {
    const path = join(root, 'group.json');
    const keystore = await encryptKeystore(generateSecretKey(), 'pw', opts);
    await writeKeystoreFile(path, keystore);
    expect(modeOf(path)).toBe(0o600);
    const before = readFileSync(path, 'utf8');
    const error = await refusal(writeKeystoreFile(path, await encryptKeystore(generateSecretKey(), 'pw', opts)));
    expect(error.message).toBe(`${path}: file: already exists; refusing to overwrite`);
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(readdirSync(root)).toEqual(['group.json']);
  });
});

describe('loadKeystoreDir refuses bad folders, naming file and field', () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(root, 'validator_keys');
    await writeKeystoreDir(dir, [generateSecretKey(), generateSecretKey()], { ...opts, passwords: ['pw0', 'pw1'] });
  });

  it('a wrong password', async () => {
    writeFileSync(join(dir, 'keystore-1.txt'), 'pw0');
    const error = await refusal(loadKeystoreDir(dir));
    expect(error.message).toBe(`${join(dir, 'keystore-1.json')}: crypto.checksum: wrong password (checksum mismatch)`);
  });

  it('a password file with a trailing newline still works (control codes are stripped by EIP-2335)', async () => {
    writeFileSync(join(dir, 'keystore-0.txt'), 'pw0\n');
    expect(await loadKeystoreDir(dir)).toHaveLength(2);
  });

  it('a missing password file', async () => {
    unlinkSync(join(dir, 'keystore-0.txt'));
    const error = await refusal(loadKeystoreDir(dir));
    expect(error.file).toBe(join(dir, 'keystore-0.txt'));
    expect(error.message).toContain('missing or unreadable password file for keystore-0.json (ENOENT)');
  });

  it('corrupt JSON', async () => {
    writeFileSync(join(dir, 'keystore-1.json'), '{"crypto": ');
    const error = await refusal(loadKeystoreDir(dir));
    expect(error.file).toBe(join(dir, 'keystore-1.json'));
    expect(error.field).toBe('file');
    expect(error.message).toContain('not JSON');
  });

  it('a field missing', async () => {
    const file = join(dir, 'keystore-0.json');
    const ks = JSON.parse(readFileSync(file, 'utf8')) as { crypto: { kdf: { params: Record<string, unknown> } } };
    delete ks.crypto.kdf.params.salt;
    writeFileSync(file, JSON.stringify(ks));
    const error = await refusal(loadKeystoreDir(dir));
    expect(error.message).toBe(`${file}: crypto.kdf.params.salt: missing`);
  });

  it('a gap in the numbering', async () => {
    writeFileSync(join(dir, 'keystore-3.json'), readFileSync(join(dir, 'keystore-1.json')));
    const error = await refusal(loadKeystoreDir(dir));
    expect(error.file).toBe(join(dir, 'keystore-2.json'));
    expect(error.message).toContain('without gaps');
  });

  it('the same key twice', async () => {
    writeFileSync(join(dir, 'keystore-1.json'), readFileSync(join(dir, 'keystore-0.json')));
    writeFileSync(join(dir, 'keystore-1.txt'), 'pw0');
    const error = await refusal(loadKeystoreDir(dir));
    expect(error.field).toBe('pubkey');
    expect(error.message).toContain(`is the same key as ${join(dir, 'keystore-0.json')}`);
  });

  it('no keystores, or no folder', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect((await refusal(loadKeystoreDir(empty))).message).toBe(`${empty}: file: contains no keystore-N.json files`);
    expect((await refusal(loadKeystoreDir(join(root, 'absent')))).message).toContain('cannot read directory: ENOENT');
  });
});
