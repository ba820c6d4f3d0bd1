import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { buildClusterLock, loadClusterLock, serialiseClusterLock, type ClusterFromLock } from '#lib/cluster-lock';
import { isHex, toHex, type Hex } from '#lib/contracts';
import {
  IDENTITY_KEY_FILE,
  createIdentityKeyFile,
  dealValidators,
  depositData,
  enrOf,
  loadIdentityKey,
  loadKeystoreDir,
  recoverGroupSecret,
  sharesForOperator,
  splitExistingKeys,
  writeKeystoreDir,
  type DealtValidator,
  type DepositNetwork,
  type KdfName,
} from '#lib/keys';
import type { SimnetCluster } from './simnet.js';

/**
 * The cluster's files on disk, Charon's layout so Obol tooling keeps working:
 *
 *     <cluster-dir>/node<i>/cluster-lock.json        the verified lock (same in every folder)
 *     <cluster-dir>/node<i>/deposit-data.json        staking-deposit-cli format
 *     <cluster-dir>/node<i>/validator_keys/keystore-<j>.json + .txt   share j of operator i (EIP-2335)
 *     <cluster-dir>/node<i>/identity-key             only when the dealer made the operators' keys
 *
 * Operator i's folder is all operator i needs: it is handed over as a whole.
 */
export const LOCK_FILE = 'cluster-lock.json';
export const DEPOSIT_FILE = 'deposit-data.json';
export const KEYS_DIR = 'validator_keys';
export const nodeDirName = (index: number): string => `node${index}`;

export interface CreateClusterOptions {
  readonly clusterDir: string;
  readonly name: string;
  /** Either the operators' ENRs, or a count: the dealer then makes each operator's identity key. */
  readonly operators: { readonly enrs: readonly string[] } | { readonly generate: number; readonly host: string; readonly basePort: number };
  readonly threshold: number;
  /** Fresh validator keys, or existing secrets to split (`--split-existing-keys`). */
  readonly validators: { readonly count: number } | { readonly secrets: readonly Uint8Array[] };
  readonly network: DepositNetwork;
  /** The EIP-712 chain id operators' signatures are made under; needed for a devnet fork version (its DEPOSIT_CHAIN_ID). */
  readonly chainId?: number;
  readonly withdrawalAddress: Hex;
  readonly feeRecipientAddress: Hex;
  readonly kdf: KdfName;
  /** Keystore KDF cost; default the EIP-2335 standard. Lower only in tests. */
  readonly kdfCost?: number;
  readonly progress?: (line: string) => void;
}

export interface CreatedCluster {
  readonly clusterDir: string;
  readonly lockHash: Hex;
  readonly operators: number;
  readonly validators: readonly Hex[];
}

export class ClusterDirError extends Error {
  override readonly name = 'ClusterDirError';
}

/**
 * `cohort create cluster` as a trusted dealer: deals (or splits) the validator keys, builds and
 * verifies the lock, and writes every operator's folder. Everything is written under a temporary
 * sibling and renamed into place at the end: on any error there is no cluster dir at all.
 */
export async function createClusterFiles(opts: CreateClusterOptions): Promise<CreatedCluster> {
  const progress = opts.progress ?? (() => undefined);
  const clusterDir = resolve(opts.clusterDir);
  if (await exists(clusterDir)) throw new ClusterDirError(`${clusterDir}: already exists; refusing to overwrite a cluster (choose another --cluster-dir)`);
  const n = 'enrs' in opts.operators ? opts.operators.enrs.length : opts.operators.generate;
  const params = { total: n, threshold: opts.threshold };
  const dealt: DealtValidator[] =
    'count' in opts.validators ? dealValidators({ count: opts.validators.count, ...params }) : splitExistingKeys(opts.validators.secrets, params);
  progress(`${'count' in opts.validators ? 'dealt' : 'split'} ${dealt.length} validator keys into ${n} shares each (threshold ${opts.threshold})`);

  const staging = join(dirname(clusterDir), `.${basename(clusterDir)}.partial-${process.pid}`);
  await mkdir(staging, { recursive: false, mode: 0o700 });
  try {
    for (let i = 0; i < n; i++) await mkdir(join(staging, nodeDirName(i)), { mode: 0o700 });
    // Operators' identities: theirs (ENRs given), or made here, one key file per operator folder.
    const generate = 'generate' in opts.operators ? opts.operators : undefined;
    const identities = generate
      ? await Promise.all(
          Array.from({ length: n }, async (_, i) => {
            const { privateKey } = await createIdentityKeyFile(join(staging, nodeDirName(i), IDENTITY_KEY_FILE));
            return { privateKey, enr: enrOf(privateKey, { ip: generate.host, tcp: generate.basePort + i }) };
          }),
        )
      : undefined;
    const enrs = identities ? identities.map((id) => id.enr) : (opts.operators as { enrs: readonly string[] }).enrs;
    const lock = await buildClusterLock({
      name: opts.name,
      operators: enrs.map((enr, i) => ({ enr, ...(identities ? { secretKey: identities[i]?.privateKey as Uint8Array } : {}) })),
      threshold: opts.threshold,
      forkVersion: opts.network.genesisForkVersion,
      ...(opts.chainId !== undefined && { chainId: opts.chainId }),
      validators: dealt.map((v) => ({
        groupSecretKey: v.groupSecret,
        secretShares: Array.from({ length: n }, (_, i) => v.shares.get(i + 1) as Uint8Array),
        feeRecipientAddress: opts.feeRecipientAddress,
        withdrawalAddress: opts.withdrawalAddress,
      })),
    });
    progress(`cluster lock ${lock.lockHash} built and verified`);
    const deposits = dealt.map((v) => depositData(v.groupSecret, { withdrawal: { address: opts.withdrawalAddress }, network: opts.network }));
    for (let i = 0; i < n; i++) {
      const nodeDir = join(staging, nodeDirName(i));
      await writeFile(join(nodeDir, LOCK_FILE), serialiseClusterLock(lock), { flag: 'wx', mode: 0o644 });
      await writeFile(join(nodeDir, DEPOSIT_FILE), `${JSON.stringify(deposits, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
      await writeKeystoreDir(join(nodeDir, KEYS_DIR), sharesForOperator(dealt, i + 1), {
        kdf: opts.kdf,
        ...(opts.kdfCost === undefined ? {} : { cost: opts.kdfCost }),
        onProgress: (done, total) => {
          if (done === total || done % 10 === 0) progress(`node${i}: ${done}/${total} share keystores written`);
        },
      });
    }
    await rename(staging, clusterDir);
    return { clusterDir, lockHash: lock.lockHash, operators: n, validators: dealt.map((v) => v.groupPubkey) };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Reads and verifies a lock file; errors name the file and the field. `chainId`: the EIP-712
 * chain id of the operators' signatures, for a devnet whose fork version names no known network.
 */
export async function readLockFile(path: string, chainId?: number): Promise<ClusterFromLock> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ClusterDirError(`${path}: cannot read the cluster lock: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return (await loadClusterLock(text, chainId === undefined ? {} : { chainId })).cluster;
  } catch (error) {
    throw new ClusterDirError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The operator folders of a cluster dir, in operator order (node0, node1, …). */
export async function operatorDirs(clusterDir: string): Promise<{ readonly index: number; readonly dir: string }[]> {
  let names: string[];
  try {
    names = await readdir(clusterDir);
  } catch (error) {
    throw new ClusterDirError(`${clusterDir}: cannot read the cluster dir: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return names
    .flatMap((name) => {
      const match = /^node(\d+)$/.exec(name);
      return match ? [{ index: Number(match[1]), dir: join(clusterDir, name) }] : [];
    })
    .sort((a, b) => a.index - b.index);
}

/**
 * One operator's folder, checked against its lock: the identity key is the key of operator
 * `index`'s ENR and every share keystore holds that operator's public share of its validator.
 */
export async function loadOperatorDir(
  dir: string,
  index: number,
): Promise<{ readonly cluster: ClusterFromLock; readonly identityKey: Uint8Array; readonly shares: readonly Uint8Array[] }> {
  const cluster = await readLockFile(join(dir, LOCK_FILE));
  const operator = cluster.operators[index];
  if (!operator) throw new ClusterDirError(`${dir}: operator ${index} is not in the lock (${cluster.operators.length} operators)`);
  const identity = await loadIdentityKey(join(dir, IDENTITY_KEY_FILE));
  if (identity.publicKey !== operator.publicKey) {
    throw new ClusterDirError(`${join(dir, IDENTITY_KEY_FILE)}: not the key of operator ${index}'s ENR (${operator.publicKey})`);
  }
  const keystores = await loadKeystoreDir(join(dir, KEYS_DIR));
  if (keystores.length !== cluster.validators.length) {
    throw new ClusterDirError(`${join(dir, KEYS_DIR)}: ${keystores.length} keystores for the lock's ${cluster.validators.length} validators`);
  }
  keystores.forEach((k, j) => {
    const expected = cluster.validators[j]?.publicShares[index];
    if (k.pubkey !== expected) {
      throw new ClusterDirError(`${k.keystoreFile}: pubkey ${k.pubkey} is not operator ${index}'s public share of validator ${j} (${expected})`);
    }
  });
  return { cluster, identityKey: identity.privateKey, shares: keystores.map((k) => k.secret) };
}

/** A cluster dir as the simnet runs it: every operator's folder, on loopback at its ENR's port. */
export async function loadSimnetCluster(clusterDir: string): Promise<SimnetCluster> {
  const dirs = await operatorDirs(clusterDir);
  if (dirs.length === 0) throw new ClusterDirError(`${clusterDir}: no node<i> folders (made by \`cohort create cluster\`)`);
  const loaded = [];
  for (const { index, dir } of dirs) loaded.push(await loadOperatorDir(dir, index));
  const cluster = loaded[0]?.cluster as ClusterFromLock;
  if (dirs.length !== cluster.operators.length || dirs.some((d, i) => d.index !== i)) {
    throw new ClusterDirError(`${clusterDir}: the simnet needs every operator's folder node0..node${cluster.operators.length - 1}`);
  }
  loaded.forEach((l, i) => {
    if (l.cluster.lockHash !== cluster.lockHash) throw new ClusterDirError(`${dirs[i]?.dir}: a different cluster lock (${l.cluster.lockHash} ≠ ${cluster.lockHash})`);
  });
  return {
    cluster: {
      name: cluster.name,
      clusterHash: cluster.lockHash,
      threshold: cluster.threshold,
      operators: cluster.operators.map((o) => ({ index: o.index, publicKey: o.publicKey, p2pHost: '127.0.0.1' })),
      validators: cluster.validators,
    },
    p2pPorts: cluster.operators.map((o) => o.p2pPort),
    identityKeys: loaded.map((l) => l.identityKey),
    shareSecrets: loaded.map((l) => l.shares),
  };
}

/**
 * `cohort combine --cluster-dir`: recovers every validator's group secret from the share
 * keystores of at least `threshold` operator folders, each recovery checked against the lock's
 * group pubkey and public shares. Returns the secrets in validator order; writes nothing.
 */
export async function recoverClusterKeys(clusterDir: string): Promise<{ readonly cluster: ClusterFromLock; readonly secrets: readonly Uint8Array[] }> {
  const dirs = await operatorDirs(clusterDir);
  const loaded: { index: number; shares: readonly Uint8Array[]; cluster: ClusterFromLock }[] = [];
  for (const { index, dir } of dirs) {
    const cluster = await readLockFile(join(dir, LOCK_FILE));
    const keystores = await loadKeystoreDir(join(dir, KEYS_DIR));
    loaded.push({ index, cluster, shares: keystores.map((k) => k.secret) });
  }
  const cluster = loaded[0]?.cluster;
  if (!cluster) throw new ClusterDirError(`${clusterDir}: no node<i> folders`);
  for (const l of loaded) if (l.cluster.lockHash !== cluster.lockHash) throw new ClusterDirError(`${clusterDir}/node${l.index}: a different cluster lock`);
  if (loaded.length < cluster.threshold) {
    throw new ClusterDirError(`${clusterDir}: ${loaded.length} operator folders, the cluster needs ${cluster.threshold} to recover a key`);
  }
  const secrets = cluster.validators.map((v, j) =>
    recoverGroupSecret(
      loaded.map((l) => {
        const secret = l.shares[j];
        if (!secret) throw new ClusterDirError(`${clusterDir}/node${l.index}/${KEYS_DIR}: no keystore for validator ${j}`);
        return { shareIndex: l.index + 1, secret };
      }),
      v.groupPubkey,
      { publicShares: new Map(v.publicShares.map((share, i) => [i + 1, share])) },
    ),
  );
  return { cluster, secrets };
}

/** Resolves a node config's file references (`cluster.lockFile`, `p2p.privateKeyFile`) relative to the config file. */
export async function resolveNodeConfigFiles(raw: unknown, configPath: string): Promise<unknown> {
  if (typeof raw !== 'object' || raw === null) return raw;
  const input = raw as Record<string, Record<string, unknown> | undefined>;
  const base = dirname(resolve(configPath));
  const out: Record<string, unknown> = { ...input };
  const lockFile = input['cluster']?.['lockFile'];
  const chainId = input['cluster']?.['chainId'];
  let cluster: ClusterFromLock | undefined;
  if (chainId !== undefined && (!Number.isSafeInteger(chainId) || (chainId as number) < 1)) {
    throw new ClusterDirError(`cluster.chainId: a positive integer (a devnet's DEPOSIT_CHAIN_ID), got ${JSON.stringify(chainId)}`);
  }
  if (typeof lockFile === 'string') {
    cluster = await readLockFile(resolve(base, lockFile), chainId as number | undefined);
    const missing = cluster.operators.filter((o) => o.p2pHost === undefined || o.p2pPort === undefined);
    if (missing.length > 0) {
      throw new ClusterDirError(
        `${lockFile}: the ENRs of operators ${missing.map((o) => o.index).join(', ')} carry no ip/tcp; Cohort dials each operator at its ENR's address (\`cohort create enr --ip … --tcp-port …\`)`,
      );
    }
    out['cluster'] = {
      name: cluster.name,
      clusterHash: cluster.lockHash,
      threshold: cluster.threshold,
      operators: cluster.operators.map((o) => ({ index: o.index, publicKey: o.publicKey, p2pHost: o.p2pHost, p2pPort: o.p2pPort })),
      validators: cluster.validators,
    };
  }
  const keyFile = input['p2p']?.['privateKeyFile'];
  if (typeof keyFile === 'string') {
    const identity = await loadIdentityKey(resolve(base, keyFile));
    for (const warning of identity.warnings) process.stderr.write(`cohort: warning: ${warning}\n`);
    out['p2p'] = { ...input['p2p'], privateKey: toHex(identity.privateKey), privateKeyFile: undefined };
    // This node's place in the cluster is where its identity key is among the lock's operators.
    if (cluster && (input['node'] as Record<string, unknown> | undefined)?.['index'] === undefined) {
      const index = cluster.operators.findIndex((o) => o.publicKey === identity.publicKey);
      if (index === -1) throw new ClusterDirError(`${keyFile}: this identity key is not an operator of the cluster lock ${lockFile as string}`);
      out['node'] = { ...input['node'], index };
    }
  }
  return out;
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export const isAddress = (value: unknown): value is Hex => isHex(value, 20);
