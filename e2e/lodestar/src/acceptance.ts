import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { secretKeyToPublicKey, initBls } from '#lib/bls';
import { toHex, type Hex } from '#lib/contracts';
import { IDENTITY_KEY_FILE, decryptKeystore, encryptKeystore } from '#lib/keys';
import { freePort, startNatsServer, type NatsServerHandle } from '#lib/test-support';
import { createClusterFiles, nodeDirName } from '../../../apps/cli/src/cluster-files.js';

/**
 * Cohort between a real Lodestar beacon node and real Lodestar validator clients (issue 7,
 * first step), beside single-node validators in the same chain:
 * - a Lodestar dev BN (minimal preset, Altair from genesis, 64 interop validators, loopback);
 * - validators 4–7 on a plain Lodestar VC against the BN (the control group);
 * - validators 8–63 on another plain VC (bystanders, not measured). With 8 validators the minimal
 *   preset makes every committee one validator, so each validator's attestation reaches a block
 *   only through its own aggregate (Lodestar packs aggregates, not single attestations), and a VC
 *   without a distributed mode cannot aggregate for a distributed validator (issue 4): the DV
 *   group's attestations were never included. With 64, committees of 4 mix the groups, and other
 *   aggregators carry the DV group's attestations, as on any real network;
 * - validators 0–3 split 3-of-4 from their interop keys (`create cluster` with existing keys),
 *   4 Cohort nodes (`cohort node`, each with its own nats-server), 4 Lodestar VCs with the share
 *   keystores, each against its own node's gateway.
 * After the chain finalizes it measures `--epochs` epochs from the BN's own state (the Altair
 * participation flags) and proposals from its blocks, and prints both groups side by side.
 *
 * Lodestar runs on the machine's Node (1.5.1 predates Node 24); its install is
 * e2e/lodestar/install.sh's. Every process's log is kept under the run directory.
 */

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../../..');
const LODESTAR_DIR = process.env['COHORT_LODESTAR_DIR'] ?? join(process.env['HOME'] ?? '/root', '.cache/cohort/lodestar-1.5.1');
const LODESTAR_NODE = process.env['COHORT_LODESTAR_NODE'] ?? '/usr/bin/node';

interface Options {
  readonly secondsPerSlot: number;
  readonly epochs: number;
  readonly keep: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    if (i === -1) return fallback;
    const n = Number(argv[i + 1]);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name}: a positive integer, got ${argv[i + 1]}`);
    return n;
  };
  return { secondsPerSlot: value('seconds-per-slot', 3), epochs: value('epochs', 4), keep: argv.includes('--keep') };
}

const SLOTS_PER_EPOCH = 8; // minimal preset
const GENESIS_VALIDATORS = 64;
const DV = [0, 1, 2, 3];
const CONTROL = [4, 5, 6, 7];
/** Validators on a third VC, neither measured nor distributed: they make committees of several validators. */
const BYSTANDERS = { first: 8, last: GENESIS_VALIDATORS - 1 };
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

/** BLS12-381 group order: interop secrets are reduced modulo it. */
const CURVE_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

/** The interop ("mocked start") secret of validator i: sha256 of i as 32 little-endian bytes, read little-endian, mod r. */
export function interopSecret(index: number): Uint8Array {
  const seed = Buffer.alloc(32);
  seed.writeUInt32LE(index, 0);
  const digest = createHash('sha256').update(seed).digest();
  let x = 0n;
  for (let k = 31; k >= 0; k--) x = (x << 8n) | BigInt(digest[k] as number);
  x %= CURVE_ORDER;
  const out = new Uint8Array(32);
  for (let k = 31; k >= 0; k--) {
    out[k] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

class Processes {
  private readonly children: { name: string; child: ChildProcess }[] = [];
  constructor(private readonly logDir: string) {}

  start(name: string, command: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
    const out = createWriteStream(join(this.logDir, `${name}.log`));
    const child = spawn(command, args, { cwd: opts.cwd ?? repo, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    child.on('exit', (code, signal) => {
      if (!this.stopping) log(`${name} exited (${code ?? signal})`);
    });
    this.children.push({ name, child });
    return child;
  }

  private stopping = false;

  /** SIGINT, then SIGKILL after 8 s (a Lodestar shutdown can hang). */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.children.map(
        ({ child }) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const kill = setTimeout(() => child.kill('SIGKILL'), 8000);
            child.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            child.kill('SIGINT');
          }),
      ),
    );
  }
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  return (await response.json()) as T;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Lodestar's chain parameters: the BN and every VC must be given the same. */
const chainParams = (secondsPerSlot: number) => ['--preset', 'minimal', '--params.SECONDS_PER_SLOT', String(secondsPerSlot), '--params.ALTAIR_FORK_EPOCH', '0'];

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  await initBls();
  const runDir = await mkdtemp(join(tmpdir(), 'cohort-lodestar-'));
  const logDir = join(runDir, 'logs');
  await mkdir(logDir);
  log(`run directory ${runDir} (logs in ${logDir})`);
  const procs = new Processes(logDir);
  const nats: NatsServerHandle[] = [];
  const lodestar = join(LODESTAR_DIR, 'node_modules/.bin/lodestar');
  const lodestarEnv = { ...process.env, PATH: `${dirname(LODESTAR_NODE)}:/usr/bin:/bin` };
  const startLodestar = (name: string, args: readonly string[]) => procs.start(name, LODESTAR_NODE, [lodestar, ...args], { cwd: LODESTAR_DIR, env: lodestarEnv });
  // Interrupted (Ctrl-C, a CI timeout): the BN, the VCs, the Cohort nodes and their nats-servers go too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping every process of the run`);
      void Promise.all([procs.stopAll(), ...nats.map((n) => n.stop())]).finally(() => process.exit(130));
    });
  }
  try {
    // 1. The beacon node, genesis far enough ahead for every process to be up.
    const restPort = await freePort();
    const bnUrl = `http://127.0.0.1:${restPort}`;
    const genesisTime = Math.floor(Date.now() / 1000) + 45;
    startLodestar('bn', [
      'dev',
      ...chainParams(opts.secondsPerSlot),
      '--genesisValidators', String(GENESIS_VALIDATORS),
      '--genesisTime', String(genesisTime),
      '--eth1', 'false',
      '--rest.address', '127.0.0.1',
      '--rest.port', String(restPort),
      '--rest.namespace', '*',
      '--listenAddress', '127.0.0.1',
      '--port', String(await freePort()),
      '--discv5', 'false',
      '--mdns', 'false',
      '--dataDir', join(runDir, 'bn'),
      '--reset',
    ]);
    const genesis = await waitFor('the beacon node', () => getJson<{ data: { genesis_validators_root: Hex } }>(`${bnUrl}/eth/v1/beacon/genesis`), 60_000);
    const spec = (await getJson<{ data: Record<string, string> }>(`${bnUrl}/eth/v1/config/spec`)).data;
    log(`BN up: genesis validators root ${genesis.data.genesis_validators_root}, genesis in ${genesisTime - Math.floor(Date.now() / 1000)} s`);

    // 2. The interop keys match the BN's validators; 0–3 are split into a 3-of-4 cluster.
    const validators = (await getJson<{ data: { index: string; validator: { pubkey: Hex } }[] }>(`${bnUrl}/eth/v1/beacon/states/head/validators`)).data;
    for (const i of [...DV, ...CONTROL]) {
      if (toHex(secretKeyToPublicKey(interopSecret(i))) !== validators.find((v) => Number(v.index) === i)?.validator.pubkey) {
        throw new Error(`interop key ${i} does not match the BN's validator ${i}`);
      }
    }
    const clusterDir = join(runDir, 'cluster');
    const p2pBase = await freePort();
    await createClusterFiles({
      clusterDir,
      name: 'lodestar-acceptance',
      operators: { generate: 4, host: '127.0.0.1', basePort: p2pBase },
      threshold: 3,
      validators: { secrets: DV.map(interopSecret) },
      network: { name: 'lodestar-dev', genesisForkVersion: spec['GENESIS_FORK_VERSION'] as Hex },
      chainId: Number(spec['DEPOSIT_CHAIN_ID']),
      withdrawalAddress: `0x${'11'.repeat(20)}`,
      feeRecipientAddress: `0x${'22'.repeat(20)}`,
      kdf: 'pbkdf2',
      kdfCost: 1024,
    });
    log('cluster created from interop keys 0–3');

    // 3. Four Cohort nodes, each with its own nats-server; SSZ schemas of the BN's preset.
    const gatewayPorts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const server = await startNatsServer();
      nats.push(server);
      const gatewayPort = await freePort();
      gatewayPorts.push(gatewayPort);
      const dir = join(clusterDir, nodeDirName(i));
      const config = {
        cluster: { lockFile: 'cluster-lock.json', chainId: Number(spec['DEPOSIT_CHAIN_ID']) },
        p2p: { privateKeyFile: IDENTITY_KEY_FILE },
        beacon: { url: bnUrl },
        nats: { url: server.url },
        gateway: { port: gatewayPort },
        observability: { logLevel: 'info' },
      };
      await writeFile(join(dir, 'node.json'), JSON.stringify(config, null, 2));
      procs.start(`cohort${i}`, process.execPath, [join(repo, 'dist/apps/cli/src/main.js'), 'node', '--config', join(dir, 'node.json')], {
        env: { ...process.env, LODESTAR_PRESET: spec['PRESET_BASE'] ?? 'mainnet' },
      });
    }

    // 4. The VCs: one Lodestar VC per operator with its share keystores (one password, as 1.5.1 takes),
    //    and the control group's VC on the BN itself.
    for (let i = 0; i < 4; i++) {
      const keys = join(clusterDir, nodeDirName(i), 'validator_keys');
      const vcKeys = join(runDir, `vc${i}-keystores`);
      await mkdir(vcKeys);
      const password = `vc${i}-password-for-this-run`;
      for (const file of (await readdir(keys)).filter((f) => f.endsWith('.json'))) {
        const stored = JSON.parse(await readFile(join(keys, file), 'utf8')) as unknown;
        const secret = (await decryptKeystore(stored, (await readFile(join(keys, file.replace(/\.json$/, '.txt')), 'utf8')).trim(), file)).secret;
        await writeFile(join(vcKeys, file), JSON.stringify(await encryptKeystore(secret, password, { kdf: 'pbkdf2', cost: 1024 })));
      }
      await writeFile(join(runDir, `vc${i}-password.txt`), password);
      startLodestar(`vc${i}`, [
        'validator',
        ...chainParams(opts.secondsPerSlot),
        '--network', 'dev',
        '--beaconNodes', `http://127.0.0.1:${gatewayPorts[i]}`,
        '--importKeystores', vcKeys,
        '--importKeystoresPassword', join(runDir, `vc${i}-password.txt`),
        '--dataDir', join(runDir, `vc${i}`),
      ]);
    }
    startLodestar('vc-control', [
      'validator',
      ...chainParams(opts.secondsPerSlot),
      '--network', 'dev',
      '--beaconNodes', bnUrl,
      '--interopIndexes', `${CONTROL[0]}..${CONTROL.at(-1)}`,
      '--dataDir', join(runDir, 'vc-control'),
    ]);
    startLodestar('vc-bystanders', [
      'validator',
      ...chainParams(opts.secondsPerSlot),
      '--network', 'dev',
      '--beaconNodes', bnUrl,
      '--interopIndexes', `${BYSTANDERS.first}..${BYSTANDERS.last}`,
      '--dataDir', join(runDir, 'vc-bystanders'),
    ]);

    // 5. Finality, then the measured window.
    const slotMs = opts.secondsPerSlot * 1000;
    const epochOfNow = () => Math.floor((Date.now() / 1000 - genesisTime) / opts.secondsPerSlot / SLOTS_PER_EPOCH);
    const finalizedEpoch = await waitFor(
      'the first finalized epoch',
      async () => {
        const { data } = await getJson<{ data: { finalized: { epoch: string } } }>(`${bnUrl}/eth/v1/beacon/states/head/finality_checkpoints`);
        return Number(data.finalized.epoch) > 0 ? Number(data.finalized.epoch) : undefined;
      },
      (12 * SLOTS_PER_EPOCH * slotMs) + 60_000,
    );
    const from = epochOfNow();
    log(`finalized epoch ${finalizedEpoch}; measuring epochs ${from}..${from + opts.epochs - 1}`);
    const proposers = new Map<number, number>();
    for (let e = from; e < from + opts.epochs + 2; e++) {
      const duties = await getJson<{ data: { slot: string; validator_index: string }[] }>(`${bnUrl}/eth/v1/validator/duties/proposer/${e}`).catch(() => undefined);
      for (const d of duties?.data ?? []) proposers.set(Number(d.slot), Number(d.validator_index));
      const nextEpochMs = (genesisTime + (e + 1) * SLOTS_PER_EPOCH * opts.secondsPerSlot) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, nextEpochMs - Date.now())));
    }

    // 6. The BN's view: participation flags of each measured epoch (state at the last slot of the
    //    next epoch: previous_epoch_participation), and the blocks of the window.
    const flags = { dv: { source: 0, target: 0, head: 0, duties: 0 }, control: { source: 0, target: 0, head: 0, duties: 0 } };
    for (let e = from; e < from + opts.epochs; e++) {
      const stateSlot = (e + 2) * SLOTS_PER_EPOCH - 1;
      const state = await getJson<{ data: { previous_epoch_participation: string[] } }>(`${bnUrl}/eth/v2/debug/beacon/states/${stateSlot}`);
      for (const [group, indices] of [['dv', DV], ['control', CONTROL]] as const) {
        for (const i of indices) {
          const f = Number(state.data.previous_epoch_participation[i] ?? 0);
          flags[group].duties++;
          flags[group].source += f & 1;
          flags[group].target += (f >> 1) & 1;
          flags[group].head += (f >> 2) & 1;
        }
      }
    }
    const blocks = { dv: { assigned: 0, landed: 0 }, control: { assigned: 0, landed: 0 } };
    for (let slot = from * SLOTS_PER_EPOCH; slot < (from + opts.epochs) * SLOTS_PER_EPOCH; slot++) {
      const proposer = proposers.get(slot);
      if (proposer === undefined) continue;
      const group = DV.includes(proposer) ? 'dv' : CONTROL.includes(proposer) ? 'control' : undefined;
      if (group === undefined) continue;
      blocks[group].assigned++;
      const header = await getJson<{ data: { header: { message: { slot: string; proposer_index: string } } } }>(`${bnUrl}/eth/v1/beacon/headers/${slot}`).catch(() => undefined);
      if (header && Number(header.data.header.message.slot) === slot && Number(header.data.header.message.proposer_index) === proposer) blocks[group].landed++;
    }
    const pct = (n: number, d: number) => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)} %`);
    log(`epochs ${from}..${from + opts.epochs - 1}, ${opts.secondsPerSlot} s slots`);
    for (const group of ['dv', 'control'] as const) {
      const f = flags[group];
      log(
        `${group.padEnd(8)} attestations ${f.duties}: timely source ${pct(f.source, f.duties)}, target ${pct(f.target, f.duties)}, head ${pct(f.head, f.duties)}; ` +
          `proposals ${blocks[group].landed}/${blocks[group].assigned}`,
      );
    }
    log(`DV/control timely target ratio ${(flags.dv.target / Math.max(1, flags.control.target)).toFixed(3)}`);
    return 0;
  } finally {
    await procs.stopAll();
    await Promise.all(nats.map((n) => n.stop()));
    if (!opts.keep) await rm(runDir, { recursive: true, force: true }).catch(() => undefined);
    else log(`kept ${runDir}`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`lodestar acceptance failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
