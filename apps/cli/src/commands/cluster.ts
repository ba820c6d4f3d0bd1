import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { networksChainConfig, type NetworkName } from '@lodestar/config/networks';
import { isHex, type Hex } from '#lib/contracts';
import { depositNetwork, loadKeystoreDir, readPasswordFile, writeKeystoreDir, type DepositNetwork, type KdfName } from '#lib/keys';
import { createClusterFiles, isAddress, recoverClusterKeys } from '../cluster-files.js';
import { UsageError } from '../command.js';

export const createClusterUsage = `Usage:
  cohort create cluster (--nodes N [--p2p-host 127.0.0.1] [--p2p-base-port 3610] | --operator-enrs ENR,ENR,...)
                        (--num-validators V | --split-existing-keys --split-keys-dir DIR)
                        (--network NAME | --fork-version 0x… [--chain-id N]) --withdrawal-address 0x… --fee-recipient 0x…
                        [--threshold T] [--name cohort] [--cluster-dir ./cluster] [--kdf pbkdf2|scrypt]
      Creates a cluster as a trusted dealer, in Obol Charon's file formats (cluster lock v1.10):
      per operator, <cluster-dir>/node<i>/ with cluster-lock.json, deposit-data.json and
      validator_keys/ (EIP-2335 share keystores, each with its password in the sibling .txt).
      --nodes N makes every operator's identity key too (node<i>/identity-key; ENR at
      --p2p-host:--p2p-base-port+i): for test and development clusters, where one person holds
      every operator's folder. --operator-enrs takes the ENRs operators made with
      \`cohort create enr\`. --split-existing-keys splits the keystores in --split-keys-dir
      (keystore-N.json with keystore-N.txt) instead of making new validator keys.
      --threshold defaults to ceil(2n/3), the smallest safe one. --kdf defaults to pbkdf2
      (as Charon; ~0.1 s per keystore; scrypt ~1.3 s). Refuses an existing --cluster-dir;
      writes nothing on any error. Networks: ${Object.keys(networksChainConfig).join(', ')}.
      A devnet (--fork-version) with --nodes needs --chain-id, the EIP-712 chain id the operators'
      lock signatures are made under (the devnet's DEPOSIT_CHAIN_ID).
`;

export const combineClusterUsage = `Usage:
  cohort combine --cluster-dir DIR --output-dir OUT [--kdf pbkdf2|scrypt]
      Recovers every validator's full secret key from the share keystores of at least threshold
      operator folders DIR/node<i>/ (lock + validator_keys/), each checked against the lock's group
      pubkey, and writes OUT/keystore-<j>.json with its password in keystore-<j>.txt.
      DANGER: never run a recovered key while the cluster still runs the validator (slashing).
`;

/** `cohort create cluster …` (args after `create cluster`). */
export async function createClusterCommand(args: readonly string[], progress: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      nodes: { type: 'string' },
      'operator-enrs': { type: 'string' },
      'p2p-host': { type: 'string' },
      'p2p-base-port': { type: 'string' },
      'num-validators': { type: 'string' },
      'split-existing-keys': { type: 'boolean' },
      'split-keys-dir': { type: 'string' },
      network: { type: 'string' },
      'fork-version': { type: 'string' },
      'chain-id': { type: 'string' },
      'withdrawal-address': { type: 'string' },
      'fee-recipient': { type: 'string' },
      threshold: { type: 'string' },
      name: { type: 'string' },
      'cluster-dir': { type: 'string' },
      kdf: { type: 'string' },
    },
  });
  const problems: string[] = [];
  const enrs = values['operator-enrs']?.split(',').map((e) => e.trim()).filter(Boolean);
  if ((values.nodes === undefined) === (enrs === undefined)) problems.push('give exactly one of --nodes N and --operator-enrs');
  const n = enrs?.length ?? integer('nodes', values.nodes, 1, problems) ?? 0;
  if (n > 0 && n < 3) problems.push(`a cluster needs at least 3 operators (got ${n}): with fewer, one fault stops it`);
  const threshold = values.threshold === undefined ? Math.ceil((2 * n) / 3) : (integer('threshold', values.threshold, 1, problems) ?? 0);
  if (n > 0 && threshold < Math.ceil((2 * n) / 3)) problems.push(`--threshold ${threshold} is below ceil(2n/3) = ${Math.ceil((2 * n) / 3)}: unsafe`);
  if (threshold > n) problems.push(`--threshold ${threshold} is more than the ${n} operators`);
  const split = values['split-existing-keys'] === true;
  if (split === (values['num-validators'] !== undefined)) problems.push('give exactly one of --num-validators V and --split-existing-keys');
  if (split && values['split-keys-dir'] === undefined) problems.push('--split-existing-keys needs --split-keys-dir DIR');
  const count = split ? 0 : (integer('num-validators', values['num-validators'], 1, problems) ?? 0);
  const network = networkOf(values.network, values['fork-version'], problems);
  const chainId = values['chain-id'] === undefined ? undefined : integer('chain-id', values['chain-id'], 1, problems);
  const withdrawal = values['withdrawal-address'];
  const feeRecipient = values['fee-recipient'];
  if (!isAddress(withdrawal)) problems.push('--withdrawal-address: required, a 0x-prefixed 20-byte address');
  if (!isAddress(feeRecipient)) problems.push('--fee-recipient: required, a 0x-prefixed 20-byte address');
  const kdf = kdfOf(values.kdf, problems);
  const basePort = values['p2p-base-port'] === undefined ? 3610 : (integer('p2p-base-port', values['p2p-base-port'], 1, problems) ?? 0);
  if (basePort + n > 65535) problems.push(`--p2p-base-port ${basePort}: ports up to ${basePort + n - 1} do not fit`);
  if (problems.length > 0) throw new UsageError(problems.join('\n  '));

  let secrets: Uint8Array[] | undefined;
  if (split) {
    const dir = values['split-keys-dir'] as string;
    progress(`reading the keystores to split from ${dir}…`);
    secrets = (await loadKeystoreDir(dir, { onProgress: (done, total) => done === total && progress(`decrypted ${total} keystores`) })).map((k) => k.secret);
  }
  const created = await createClusterFiles({
    clusterDir: values['cluster-dir'] ?? './cluster',
    name: values.name ?? 'cohort',
    operators: enrs ? { enrs } : { generate: n, host: values['p2p-host'] ?? '127.0.0.1', basePort },
    threshold,
    validators: secrets ? { secrets } : { count },
    network: network as DepositNetwork,
    ...(chainId !== undefined && { chainId }),
    withdrawalAddress: (withdrawal as Hex).toLowerCase() as Hex,
    feeRecipientAddress: (feeRecipient as Hex).toLowerCase() as Hex,
    kdf,
    progress,
  });
  process.stdout.write(
    `created ${created.clusterDir}: ${created.operators} operators, threshold ${threshold}, ${created.validators.length} validators, lock hash ${created.lockHash}\n` +
      `give each operator its node<i> folder (and nothing else); deposit-data.json is the same in every folder\n`,
  );
  return 0;
}

/** `cohort combine --cluster-dir DIR --output-dir OUT`. */
export async function combineClusterCommand(args: readonly string[], warn: (text: string) => void = (t) => process.stderr.write(t)): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { 'cluster-dir': { type: 'string' }, 'output-dir': { type: 'string' }, kdf: { type: 'string' }, 'password-file': { type: 'string' } },
  });
  const problems: string[] = [];
  if (!values['cluster-dir']) problems.push('--cluster-dir DIR is required');
  if (!values['output-dir']) problems.push('--output-dir OUT is required');
  const kdf = kdfOf(values.kdf, problems);
  if (problems.length > 0) throw new UsageError(problems.join('\n  '));
  warn(
    "WARNING: this recovers validators' FULL secret keys. Never load them into a validator client while the cluster still runs these validators: two signers for one key WILL get it slashed.\n",
  );
  const { cluster, secrets } = await recoverClusterKeys(values['cluster-dir'] as string);
  const password = values['password-file'] ? await readPasswordFile(values['password-file']) : undefined;
  const out = resolve(values['output-dir'] as string);
  await writeKeystoreDir(out, secrets, { kdf, ...(password === undefined ? {} : { passwords: secrets.map(() => password) }) });
  process.stdout.write(`recovered ${secrets.length} validator keys of cluster ${cluster.lockHash}, each matching its group pubkey, into ${join(out, 'keystore-*.json')}\n`);
  return 0;
}

function integer(flag: string, raw: string | undefined, min: number, problems: string[]): number | undefined {
  const value = Number(raw);
  if (raw === undefined || !Number.isSafeInteger(value) || value < min) {
    problems.push(`--${flag}: expected an integer >= ${min}, got ${raw ?? 'nothing'}`);
    return undefined;
  }
  return value;
}

function networkOf(name: string | undefined, forkVersion: string | undefined, problems: string[]): DepositNetwork | undefined {
  if ((name === undefined) === (forkVersion === undefined)) {
    problems.push('give exactly one of --network NAME and --fork-version 0x… (a devnet\'s genesis fork version)');
    return undefined;
  }
  if (forkVersion !== undefined) {
    if (!isHex(forkVersion.toLowerCase(), 4)) problems.push(`--fork-version: 4 bytes of 0x hex, got ${forkVersion}`);
    return { name: 'devnet', genesisForkVersion: forkVersion.toLowerCase() as Hex };
  }
  if (!(name as string in networksChainConfig)) {
    problems.push(`--network: one of ${Object.keys(networksChainConfig).join(', ')}; got ${name}`);
    return undefined;
  }
  return depositNetwork(name as NetworkName);
}

function kdfOf(raw: string | undefined, problems: string[]): KdfName {
  if (raw === undefined || raw === 'pbkdf2' || raw === 'scrypt') return raw ?? 'pbkdf2';
  problems.push(`--kdf: pbkdf2 or scrypt, got ${raw}`);
  return 'pbkdf2';
}
