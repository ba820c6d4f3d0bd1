import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secretKeyToPublicKey } from '#lib/bls';
import { toHex, type Hex } from '#lib/contracts';
import { parseNodeConfig } from '#lib/config';
import { enrOf, writeKeystoreDir } from '#lib/keys';
import { generateIdentityKey } from '#lib/p2p';
import {
  ClusterDirError,
  createClusterFiles,
  loadOperatorDir,
  loadSimnetCluster,
  recoverClusterKeys,
  resolveNodeConfigFiles,
  type CreateClusterOptions,
} from './cluster-files.js';

/** Test clusters use a KDF cost of 16: the standard cost is for real keys, not for tests. */
const base = (clusterDir: string): CreateClusterOptions => ({
  clusterDir,
  name: 'test',
  operators: { generate: 4, host: '127.0.0.1', basePort: 41000 },
  threshold: 3,
  validators: { count: 2 },
  network: { name: 'devnet', genesisForkVersion: '0x00000000' },
  withdrawalAddress: `0x${'11'.repeat(20)}` as Hex,
  feeRecipientAddress: `0x${'22'.repeat(20)}` as Hex,
  kdf: 'pbkdf2',
  kdfCost: 16,
});

describe('cluster files: create → load → run config → combine', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cohort-cluster-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes every operator folder, loadable and consistent with the lock', async () => {
    const lines: string[] = [];
    const created = await createClusterFiles({ ...base(join(root, 'c')), progress: (l) => lines.push(l) });
    expect(await readdir(created.clusterDir)).toEqual(['node0', 'node1', 'node2', 'node3']);
    expect((await readdir(join(created.clusterDir, 'node2'))).sort()).toEqual(['cluster-lock.json', 'deposit-data.json', 'identity-key', 'validator_keys']);
    expect(lines.some((l) => l.includes('built and verified'))).toBe(true);
    const sim = await loadSimnetCluster(created.clusterDir);
    expect(sim.cluster.clusterHash).toBe(created.lockHash);
    expect(sim.cluster.validators.map((v) => v.groupPubkey)).toEqual(created.validators);
    expect(sim.p2pPorts).toEqual([41000, 41001, 41002, 41003]);
    // every operator's shares are its public shares in the lock
    sim.shareSecrets.forEach((shares, i) =>
      shares.forEach((secret, j) => expect(toHex(secretKeyToPublicKey(secret))).toBe(sim.cluster.validators[j]?.publicShares[i])),
    );
    const deposits = JSON.parse(await readFile(join(created.clusterDir, 'node0', 'deposit-data.json'), 'utf8')) as { pubkey: string }[];
    expect(deposits.map((d) => `0x${d.pubkey}`)).toEqual(created.validators);
  });

  it('a node config naming its lock and key files resolves to the node config of that operator', async () => {
    const created = await createClusterFiles(base(join(root, 'c')));
    const nodeDir = join(created.clusterDir, 'node2');
    const configPath = join(nodeDir, 'node.json');
    const raw = {
      beacon: { url: 'http://127.0.0.1:5052' },
      nats: { url: 'nats://127.0.0.1:4222' },
      cluster: { lockFile: 'cluster-lock.json' },
      p2p: { privateKeyFile: 'identity-key' },
      gateway: { port: 0 },
    };
    const config = parseNodeConfig(await resolveNodeConfigFiles(raw, configPath));
    expect(config.node.index).toBe(2);
    expect(config.cluster.clusterHash).toBe(created.lockHash);
    expect(config.cluster.threshold).toBe(3);
    expect(config.cluster.operators.map((o) => o.p2pPort)).toEqual([41000, 41001, 41002, 41003]);
    expect(config.cluster.validators.map((v) => v.groupPubkey)).toEqual(created.validators);
    // the key file of another cluster's operator is refused, naming the file
    await writeFile(join(nodeDir, 'other-key'), `${toHex(generateIdentityKey()).slice(2)}\n`, { mode: 0o600 });
    await expect(resolveNodeConfigFiles({ ...raw, p2p: { privateKeyFile: 'other-key' } }, configPath)).rejects.toThrow(
      /other-key: this identity key is not an operator of the cluster lock/,
    );
  });

  it('refuses to start on a tampered lock, naming the file and the field', async () => {
    const created = await createClusterFiles(base(join(root, 'c')));
    const lockPath = join(created.clusterDir, 'node1', 'cluster-lock.json');
    const lock = JSON.parse(await readFile(lockPath, 'utf8')) as { distributed_validators: { public_shares: string[] }[] };
    const share = lock.distributed_validators[1]?.public_shares[2] as string;
    (lock.distributed_validators[1] as { public_shares: string[] }).public_shares[2] = share.replace(/.$/, share.endsWith('0') ? '1' : '0');
    await writeFile(lockPath, JSON.stringify(lock, null, 2));
    const failure = await resolveNodeConfigFiles({ cluster: { lockFile: 'cluster-lock.json' } }, join(created.clusterDir, 'node1', 'node.json')).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ClusterDirError);
    expect((failure as Error).message).toContain(lockPath);
    expect((failure as Error).message).toMatch(/distributed_validators\[1\]|lock_hash/);
  });

  it('refuses an operator folder whose keystores are not its shares', async () => {
    const created = await createClusterFiles(base(join(root, 'c')));
    // swap node1's keystores for node2's
    const { rename } = await import('node:fs/promises');
    await rename(join(created.clusterDir, 'node1', 'validator_keys'), join(root, 'keys1'));
    await rename(join(created.clusterDir, 'node2', 'validator_keys'), join(created.clusterDir, 'node1', 'validator_keys'));
    await expect(loadOperatorDir(join(created.clusterDir, 'node1'), 1)).rejects.toThrow(/keystore-0\.json: pubkey 0x[0-9a-f]+ is not operator 1's public share of validator 0/);
  });

  it('refuses an existing cluster dir and leaves nothing behind after bad input', async () => {
    const target = join(root, 'c');
    await createClusterFiles(base(target));
    await expect(createClusterFiles(base(target))).rejects.toThrow(/already exists; refusing to overwrite/);
    // a malformed operator ENR: nothing written, not even the staging folder
    const fresh = join(root, 'd');
    const enrs = [0, 1, 2].map((i) => enrOf(generateIdentityKey(), { ip: '127.0.0.1', tcp: 42000 + i }));
    await expect(createClusterFiles({ ...base(fresh), operators: { enrs: [...enrs, 'enr:-not-an-enr'] } })).rejects.toThrow(/operators\[3\]/);
    expect((await readdir(root)).sort()).toEqual(['c']);
  });

  it('splits existing keys and recovers them with combine: the same secrets, matching the group pubkeys', async () => {
    const existing = Array.from({ length: 3 }, (_, i) => Uint8Array.from({ length: 32 }, (_, b) => (b === 0 ? 0x10 + i : b)));
    const keysDir = join(root, 'existing');
    await writeKeystoreDir(keysDir, existing, { kdf: 'pbkdf2', cost: 16 });
    const created = await createClusterFiles({ ...base(join(root, 'c')), validators: { secrets: existing } });
    expect(created.validators).toEqual(existing.map((s) => toHex(secretKeyToPublicKey(s))));
    // any 3 of the 4 operator folders
    await rm(join(created.clusterDir, 'node1'), { recursive: true });
    const { secrets, cluster } = await recoverClusterKeys(created.clusterDir);
    expect(cluster.lockHash).toBe(created.lockHash);
    expect(secrets.map(toHex)).toEqual(existing.map(toHex));
    // 2 folders are not enough
    await rm(join(created.clusterDir, 'node3'), { recursive: true });
    await expect(recoverClusterKeys(created.clusterDir)).rejects.toThrow(/2 operator folders, the cluster needs 3/);
  });
});
