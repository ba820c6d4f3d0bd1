import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENR } from '@chainsafe/enr';
import { toHex } from '#lib/contracts';
import { generateIdentityKey, peerIdOf, secp256k1PublicKey } from '#lib/p2p';
import { KeyMaterialError } from './errors.js';
import { enrOf, parseEnr } from './enr.js';
import { createIdentityKeyFile, loadIdentityKey } from './identity-key.js';
import { refusal } from './refusal.fixture.js';

/**
 * Obol DV-spec `cluster_hashing.json`, lock case `real_keys_3_of_4`: Charon-written operator
 * ENRs, and `node_pubkeys` — the secp256k1 keys those ENRs carry (the suite's notes say Charon
 * verifies the lock's node signatures from the ENRs alone).
 */
interface LockCase {
  readonly name: string;
  readonly node_pubkeys?: readonly string[];
  readonly input: { readonly cluster_definition: { readonly operators: readonly { readonly enr: string }[] } };
}
const clusterHashing = JSON.parse(
  readFileSync(new URL('../../../../shared/vectors/obol-dv-specs/cluster_hashing.json', import.meta.url), 'utf8'),
) as { lock: readonly LockCase[] };
const realKeys = clusterHashing.lock.find((c) => c.name === 'real_keys_3_of_4');

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cohort-identity-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('identity key file', () => {
  it('creates a 0600 file of 64 hex characters (Charon layout) that loads back to the same key', async () => {
    const path = join(root, '.cohort', 'identity-key');
    const created = await createIdentityKeyFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^[0-9a-f]{64}$/);
    expect(created.publicKey).toBe(secp256k1PublicKey(created.privateKey));
    const loaded = await loadIdentityKey(path);
    expect(loaded.privateKey).toEqual(created.privateKey);
    expect(loaded.publicKey).toBe(created.publicKey);
    expect(loaded.warnings).toEqual([]);
  });

  it('refuses to overwrite an existing key, leaving it unchanged', async () => {
    const path = join(root, 'identity-key');
    await createIdentityKeyFile(path);
    const before = readFileSync(path, 'utf8');
    const error = await refusal(createIdentityKeyFile(path));
    expect(error.message).toBe(`${path}: file: already exists; refusing to overwrite`);
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(readdirSync(root)).toEqual(['identity-key']);
  });

  it('reads a 0x prefix and a trailing newline; warns when others can read the file', async () => {
    const key = generateIdentityKey();
    const path = join(root, 'k');
    writeFileSync(path, `0x${Buffer.from(key).toString('hex')}\n`);
    chmodSync(path, 0o644);
    const loaded = await loadIdentityKey(path);
    expect(loaded.privateKey).toEqual(key);
    expect(loaded.warnings).toEqual([`${path}: mode 0644 lets other users read the identity key; run chmod 600 ${path}`]);
  });

  it('a missing file, a malformed file and an invalid scalar are clear errors', async () => {
    const missing = join(root, 'nope');
    expect((await refusal(loadIdentityKey(missing))).message).toBe(`${missing}: file: missing (create one with \`cohort create enr\`)`);
    const short = join(root, 'short');
    writeFileSync(short, 'abcd', { mode: 0o600 });
    expect((await refusal(loadIdentityKey(short))).message).toBe(
      `${short}: key: expected 64 hex characters (a 32-byte secp256k1 secret), got 4 characters`,
    );
    const zero = join(root, 'zero');
    writeFileSync(zero, '00'.repeat(32), { mode: 0o600 });
    expect((await refusal(loadIdentityKey(zero))).field).toBe('key');
  });
});

describe('ENR', () => {
  it('has the Charon vectors it needs', () => {
    expect(realKeys?.node_pubkeys).toHaveLength(4);
  });

  it.each((realKeys?.input.cluster_definition.operators ?? []).map((op, i) => [i, op.enr] as const))(
    'Charon operator %i: parseEnr verifies the record and yields the node key',
    (i, enr) => {
      const parsed = parseEnr(enr);
      expect(parsed.publicKey).toBe(`0x${realKeys?.node_pubkeys?.[i]}`);
      expect(parsed.ip).toBeUndefined();
      expect(parsed.tcp).toBeUndefined();
      expect(parsed.seq).toBe(0n); // Charon writes seq 0: the case @chainsafe/enr 5.0.0 cannot decode
    },
  );

  it('enrOf → parseEnr round trip carries the key, ip, tcp and udp; the key gives the libp2p PeerId', () => {
    const key = generateIdentityKey();
    const text = enrOf(key, { ip: '10.0.0.7', tcp: 3610, udp: 3630 });
    expect(text.startsWith('enr:')).toBe(true);
    const parsed = parseEnr(text);
    expect(parsed).toMatchObject({ publicKey: secp256k1PublicKey(key), ip: '10.0.0.7', tcp: 3610, udp: 3630 });
    expect(peerIdOf(parsed.publicKey)).toMatch(/^16Uiu2/); // secp256k1 PeerIds
    const bare = parseEnr(enrOf(key));
    expect(bare.publicKey).toBe(secp256k1PublicKey(key));
    expect('ip' in bare || 'tcp' in bare || 'udp' in bare).toBe(false);
  });

  it('agrees with @chainsafe/enr on records it can decode (seq >= 1)', () => {
    for (const address of [{}, { ip: '192.168.1.20', tcp: 13_000 }, { ip: '127.0.0.1', tcp: 3610, udp: 3630 }]) {
      const text = enrOf(generateIdentityKey(), address);
      const ours = parseEnr(text);
      const theirs = ENR.decodeTxt(text);
      expect(ours.publicKey).toBe(toHex(theirs.publicKey));
      expect(ours.seq).toBe(theirs.seq);
      expect([ours.ip, ours.tcp, ours.udp]).toEqual([theirs.ip, theirs.tcp, theirs.udp]);
    }
  });

  it('refuses non-canonical framing: trailing bytes, a truncated record', () => {
    const raw = Buffer.from(enrOf(generateIdentityKey()).slice(4), 'base64url');
    const trailing = `enr:${Buffer.concat([raw, Buffer.from([0x00])]).toString('base64url')}`;
    expect(() => parseEnr(trailing)).toThrow('enr: cannot decode: trailing bytes after the record');
    const truncated = `enr:${raw.subarray(0, raw.length - 3).toString('base64url')}`;
    expect(() => parseEnr(truncated)).toThrow(/^enr: cannot decode: unexpected end of input/);
  });

  it('refuses a record whose signature does not verify', () => {
    const text = enrOf(generateIdentityKey(), { ip: '127.0.0.1', tcp: 3610 });
    // Re-sign-free tampering: swap the record's key for another operator's key, so the
    // signature no longer matches the content.
    const other = enrOf(generateIdentityKey(), { ip: '127.0.0.1', tcp: 3610 });
    const bytes = (t: string) => Buffer.from(t.slice(4), 'base64url');
    const a = bytes(text);
    const b = bytes(other);
    // Same layout (same fields), so the 33-byte key sits at the same offset at the end region.
    const keyA = Buffer.from(parseEnr(text).publicKey.slice(2), 'hex');
    const keyB = Buffer.from(parseEnr(other).publicKey.slice(2), 'hex');
    const at = a.indexOf(keyA);
    expect(at).toBeGreaterThan(0);
    const forged = Buffer.from(a);
    keyB.copy(forged, at);
    expect(b.indexOf(keyB)).toBe(at);
    const forgedText = `enr:${forged.toString('base64url')}`;
    expect(() => parseEnr(forgedText, 'cluster-definition.json: operators[1].enr')).toThrow(KeyMaterialError);
    expect(() => parseEnr(forgedText, 'cluster-definition.json: operators[1].enr')).toThrow(
      'cluster-definition.json: operators[1].enr: signature does not verify against its secp256k1 key',
    );
  });

  it('refuses text that is not an ENR, and malformed addresses when creating one', () => {
    expect(() => parseEnr('16Uiu2HAm…')).toThrow('enr: must start with "enr:"');
    expect(() => parseEnr('enr:AAAA')).toThrow(/^enr: cannot decode/);
    expect(() => enrOf(generateIdentityKey(), { ip: '::1' })).toThrow(/IPv4/);
    expect(() => enrOf(generateIdentityKey(), { tcp: 70_000 })).toThrow(/1\.\.65535/);
    expect(() => enrOf(new Uint8Array(32))).toThrow(/secp256k1/);
  });
});
