import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '#lib/contracts';
import { generateSecretKey, secretKeyToPublicKey } from '#lib/bls';
import { STANDARD_KDF_COST, decryptKeystore, encryptKeystore, parseKeystoreText } from './keystore.js';
import { refusal } from './refusal.fixture.js';

/**
 * EIP-2335 test cases, https://eips.ethereum.org/EIPS/eip-2335#test-cases (CC0), copied
 * verbatim. The password is the EIP's "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑": after NFKD and control-code stripping
 * it is the UTF-8 bytes 0x7465737470617373776f7264f09f9491 ("testpassword🔑").
 */
const EIP2335_PASSWORD = '𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑';
const EIP2335_SECRET = '0x000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f';
const EIP2335_PUBKEY = '0x9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07';

const SCRYPT_VECTOR = {
  crypto: {
    kdf: {
      function: 'scrypt',
      params: { dklen: 32, n: 262144, p: 1, r: 8, salt: 'd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3' },
      message: '',
    },
    checksum: { function: 'sha256', params: {}, message: 'd2217fe5f3e9a1e34581ef8a78f7c9928e436d36dacc5e846690a5581e8ea484' },
    cipher: {
      function: 'aes-128-ctr',
      params: { iv: '264daa3f303d7259501c93d997d84fe6' },
      message: '06ae90d55fe0a6e9c5c3bc5b170827b2e5cce3929ed3f116c2811e6366dfe20f',
    },
  },
  description: 'This is a test keystore that uses scrypt to secure the secret.',
  pubkey: '9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07',
  path: 'm/12381/60/3141592653/589793238',
  uuid: '1d85ae20-35c5-4611-98e8-aa14a633906f',
  version: 4,
};

const PBKDF2_VECTOR = {
  crypto: {
    kdf: {
      function: 'pbkdf2',
      params: { dklen: 32, c: 262144, prf: 'hmac-sha256', salt: 'd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3' },
      message: '',
    },
    checksum: { function: 'sha256', params: {}, message: '8a9f5d9912ed7e75ea794bc5a89bca5f193721d30868ade6f73043c6ea6febf1' },
    cipher: {
      function: 'aes-128-ctr',
      params: { iv: '264daa3f303d7259501c93d997d84fe6' },
      message: 'cee03fde2af33149775b7223e7845e4fb2c8ae1792e5f99fe9ecf474cc8c16ad',
    },
  },
  description: 'This is a test keystore that uses PBKDF2 to secure the secret.',
  pubkey: '9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07',
  path: 'm/12381/60/0/0',
  uuid: '64625def-3331-4eea-ab6f-782f3ed16a83',
  version: 4,
};

/** Test-only kdf cost: keeps each encryption in the milliseconds. */
const LOW_COST = 16;

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('EIP-2335 test vectors', () => {
  it('the password normalises to the EIP\'s encoded bytes (NFKD, control codes stripped)', () => {
    const normalised = EIP2335_PASSWORD.normalize('NFKD');
    expect(toHex(new TextEncoder().encode(normalised))).toBe('0x7465737470617373776f7264f09f9491');
  });

  it.each([
    ['scrypt', SCRYPT_VECTOR],
    ['pbkdf2', PBKDF2_VECTOR],
  ] as const)('%s vector decrypts to the EIP secret and pubkey', async (_, vector) => {
    const { secret, pubkey } = await decryptKeystore(clone(vector), EIP2335_PASSWORD, 'eip2335.json');
    expect(toHex(secret)).toBe(EIP2335_SECRET);
    expect(pubkey).toBe(EIP2335_PUBKEY);
  });

  it('pbkdf2 vector: the normalised form and control codes in the password decrypt the same', async () => {
    const { secret } = await decryptKeystore(clone(PBKDF2_VECTOR), 'test\u0007pass\u007fword\u0085🔑\n', 'eip2335.json');
    expect(toHex(secret)).toBe(EIP2335_SECRET);
  });

  it('pbkdf2 vector: a wrong password names the file and the checksum field', async () => {
    const error = await refusal(decryptKeystore(clone(PBKDF2_VECTOR), 'testpassword', 'validator_keys/keystore-0.json'));
    expect(error.message).toBe('validator_keys/keystore-0.json: crypto.checksum: wrong password (checksum mismatch)');
    expect(error.file).toBe('validator_keys/keystore-0.json');
    expect(error.field).toBe('crypto.checksum');
  });
});

describe('encryptKeystore / decryptKeystore', () => {
  it.each(['scrypt', 'pbkdf2'] as const)('%s round trip: the secret comes back, the pubkey is derived with blst', async (kdf) => {
    const secret = generateSecretKey();
    const keystore = await encryptKeystore(secret, 'correct horse', { kdf, cost: LOW_COST, description: 'share 1' });
    expect(keystore.version).toBe(4);
    expect(keystore.crypto.kdf.function).toBe(kdf);
    expect(`0x${keystore.pubkey}`).toBe(toHex(secretKeyToPublicKey(secret)));
    expect(keystore.path).toBe('m/12381/3600/0/0/0');
    expect(keystore.description).toBe('share 1');
    const decrypted = await decryptKeystore(JSON.parse(JSON.stringify(keystore)), 'correct horse', 'k.json');
    expect(decrypted.secret).toEqual(secret);
    expect(decrypted.pubkey).toBe(toHex(secretKeyToPublicKey(secret)));
  });

  it('defaults to the standard cost: pbkdf2 c = 262144', async () => {
    const keystore = await encryptKeystore(generateSecretKey(), 'pw', { kdf: 'pbkdf2' });
    expect(keystore.crypto.kdf.params).toMatchObject({ c: STANDARD_KDF_COST, dklen: 32, prf: 'hmac-sha256' });
  });

  it('defaults to the standard cost: scrypt n = 262144, r = 8, p = 1', async () => {
    const keystore = await encryptKeystore(generateSecretKey(), 'pw', { kdf: 'scrypt' });
    expect(keystore.crypto.kdf.params).toMatchObject({ n: STANDARD_KDF_COST, r: 8, p: 1, dklen: 32 });
  });

  it('refuses a secret that is not a BLS secret key, an empty password and a scrypt n that is not a power of two', async () => {
    await expect(encryptKeystore(new Uint8Array(32), 'pw', { kdf: 'pbkdf2', cost: LOW_COST })).rejects.toThrow(/zero/);
    await expect(encryptKeystore(generateSecretKey(), '', { kdf: 'pbkdf2', cost: LOW_COST })).rejects.toThrow(/empty/);
    await expect(encryptKeystore(generateSecretKey(), 'pw', { kdf: 'scrypt', cost: 100 })).rejects.toThrow(/power of two/);
  });
});

describe('decryptKeystore refuses bad files, naming file and field', () => {
  const make = async () =>
    JSON.parse(JSON.stringify(await encryptKeystore(generateSecretKey(), 'pw', { kdf: 'pbkdf2', cost: LOW_COST }))) as Record<string, any>;

  it('not JSON', () => {
    expect(() => parseKeystoreText('{"version": 4,', 'ks/keystore-3.json')).toThrow(/^ks\/keystore-3\.json: file: not JSON/);
  });

  it('not an object, or not version 4', async () => {
    expect((await refusal(decryptKeystore([], 'pw', 'a.json'))).message).toBe('a.json: file: not a JSON object');
    const ks = await make();
    ks.version = 3;
    expect((await refusal(decryptKeystore(ks, 'pw', 'a.json'))).message).toBe('a.json: version: must be 4 (EIP-2335), got 3');
  });

  it('a missing checksum module', async () => {
    const ks = await make();
    delete ks.crypto.checksum;
    const error = await refusal(decryptKeystore(ks, 'pw', 'a.json'));
    expect(error.field).toBe('crypto.checksum');
    expect(error.message).toBe('a.json: crypto.checksum: missing');
  });

  it('an unsupported kdf', async () => {
    const ks = await make();
    ks.crypto.kdf.function = 'argon2';
    expect((await refusal(decryptKeystore(ks, 'pw', 'a.json'))).message).toBe(
      'a.json: crypto.kdf.function: unsupported "argon2" (supported: pbkdf2, scrypt)',
    );
  });

  it('a cipher message that is not hex', async () => {
    const ks = await make();
    ks.crypto.cipher.message = 'zz';
    expect((await refusal(decryptKeystore(ks, 'pw', 'a.json'))).field).toBe('crypto.cipher.message');
  });

  it('a tampered ciphertext fails the checksum', async () => {
    const ks = await make();
    const message = ks.crypto.cipher.message as string;
    ks.crypto.cipher.message = `${message.slice(0, -2)}${message.endsWith('00') ? '01' : '00'}`;
    expect((await refusal(decryptKeystore(ks, 'pw', 'a.json'))).field).toBe('crypto.checksum');
  });

  it('a pubkey field that is not the key inside', async () => {
    const ks = await make();
    ks.pubkey = toHex(secretKeyToPublicKey(generateSecretKey())).slice(2);
    const error = await refusal(decryptKeystore(ks, 'pw', 'a.json'));
    expect(error.field).toBe('pubkey');
    expect(error.message).toContain('is not the public key of the decrypted secret');
  });

  it('accepts a keystore without a pubkey field (EIP-2335 makes it optional)', async () => {
    const ks = await make();
    const expected = `0x${ks.pubkey as string}`;
    delete ks.pubkey;
    expect((await decryptKeystore(ks, 'pw', 'a.json')).pubkey).toBe(expected);
  });

  it('the EIP secret round-trips through a fresh keystore too', async () => {
    const ks = await encryptKeystore(fromHex(EIP2335_SECRET), EIP2335_PASSWORD, { kdf: 'scrypt', cost: LOW_COST });
    expect(`0x${ks.pubkey}`).toBe(EIP2335_PUBKEY);
    expect(toHex((await decryptKeystore(ks, 'testpassword🔑', 'a.json')).secret)).toBe(EIP2335_SECRET);
  });
});
