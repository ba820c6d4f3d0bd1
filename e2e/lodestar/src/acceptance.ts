import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectEvents, connectEventSource } from '#lib/audit';
import { secretKeyToPublicKey, initBls } from '#lib/bls';
import { SERVICES, toHex, type Hex } from '#lib/contracts';
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
 * participation flags), its blocks (inclusion distances, sync aggregates, proposals) and the
 * nodes' event logs (aggregation refused as `vc_not_distributed`), and prints both groups side by
 * side. Then (unless `--skip-reset`) the network resets under the running nodes (`networkReset`).
 * It exits 1 with the failed criteria and every process's last warnings if a pass criterion of
 * issue 7 does not hold.
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
  /** Skip the network reset (deliverable 5) after the measured window. */
  readonly skipReset: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    if (i === -1) return fallback;
    const n = Number(argv[i + 1]);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name}: a positive integer, got ${argv[i + 1]}`);
    return n;
  };
  return { secondsPerSlot: value('seconds-per-slot', 3), epochs: value('epochs', 4), keep: argv.includes('--keep'), skipReset: argv.includes('--skip-reset') };
}

const SLOTS_PER_EPOCH = 8; // minimal preset
const EPOCHS_PER_SYNC_COMMITTEE_PERIOD = 8; // minimal preset
const GENESIS_VALIDATORS = 64;
/** The reset's new devnet: one more validator, so another genesis validators root (the same keys for 0–63). */
const RESET_GENESIS_VALIDATORS = 65;
/** How far ahead of its start a devnet's genesis is: every process is up (and after a reset, every node switched) by then. */
const GENESIS_DELAY_S = 45;
const DV = [0, 1, 2, 3];
const CONTROL = [4, 5, 6, 7];
/** Validators on a third VC, neither measured nor distributed (8 to the devnet's last): they make committees of several validators. */
const FIRST_BYSTANDER = 8;
type Group = 'dv' | 'control';
const GROUPS = [['dv', DV], ['control', CONTROL]] as const;
const groupOf = (index: number): Group | undefined => (DV.includes(index) ? 'dv' : CONTROL.includes(index) ? 'control' : undefined);
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
  /** Stopped on purpose (all at the end, or some at a network reset): their exit is not news. */
  private readonly stopped = new Set<ChildProcess>();
  constructor(private readonly logDir: string) {}

  start(name: string, command: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
    const out = createWriteStream(join(this.logDir, `${name}.log`));
    const child = spawn(command, args, { cwd: opts.cwd ?? repo, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    child.on('exit', (code, signal) => {
      if (!this.stopped.has(child)) log(`${name} exited (${code ?? signal})`);
    });
    this.children.push({ name, child });
    return child;
  }

  stopAll(): Promise<void> {
    return this.stop(() => true);
  }

  /** Stops the processes whose names match: SIGINT, then SIGKILL after 8 s (a Lodestar shutdown can hang). */
  async stop(which: (name: string) => boolean): Promise<void> {
    const stopping = this.children.filter(({ name }) => which(name));
    for (const { child } of stopping) this.stopped.add(child);
    await Promise.all(
      stopping.map(
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

/** What a block of the BN says about the groups: its proposer, attestations and sync aggregate. */
interface SeenBlock {
  readonly slot: number;
  readonly proposerIndex: number;
  readonly attestations: readonly { readonly slot: number; readonly committee: number; readonly bits: readonly boolean[] }[];
  readonly syncBits: readonly boolean[];
}

/** SSZ bits from hex, least significant bit first; a bitlist drops its length sentinel (the highest set bit). */
function bitsOf(hex: string, list: boolean): boolean[] {
  const bytes = Buffer.from(hex.replace(/^0x/, ''), 'hex');
  const bits = Array.from({ length: bytes.length * 8 }, (_, i) => (((bytes[i >> 3] as number) >> (i & 7)) & 1) === 1);
  return list ? bits.slice(0, bits.lastIndexOf(true)) : bits;
}

/** The blocks of slots [from, to) (missed slots are absent). */
async function blocksSeen(bnUrl: string, from: number, to: number): Promise<Map<number, SeenBlock>> {
  type Body = { attestations: { aggregation_bits: string; data: { slot: string; index: string } }[]; sync_aggregate: { sync_committee_bits: string } };
  const seen = new Map<number, SeenBlock>();
  for (let slot = from; slot < to; slot++) {
    const block = await getJson<{ data: { message: { slot: string; proposer_index: string; body: Body } } }>(`${bnUrl}/eth/v2/beacon/blocks/${slot}`).catch(() => undefined);
    const message = block?.data.message;
    if (!message || Number(message.slot) !== slot) continue;
    seen.set(slot, {
      slot,
      proposerIndex: Number(message.proposer_index),
      attestations: message.body.attestations.map((a) => ({ slot: Number(a.data.slot), committee: Number(a.data.index), bits: bitsOf(a.aggregation_bits, true) })),
      syncBits: bitsOf(message.body.sync_aggregate.sync_committee_bits, false),
    });
  }
  return seen;
}

/** A measured validator's attestation duty: where its bit is in which committee's aggregation bits. */
interface AttesterSeat {
  readonly validator: number;
  readonly slot: number;
  readonly committee: number;
  readonly position: number;
}

/**
 * The measured validators' attester duties of an epoch (the BN answers the current and the next
 * epoch only, so they are read while current). Not the committees route: Lodestar 1.5.1 answers it
 * with each committee's index and slot-in-epoch in each other's place.
 */
async function attesterSeats(bnUrl: string, epoch: number): Promise<AttesterSeat[]> {
  const { data } = await fetch(`${bnUrl}/eth/v1/validator/duties/attester/${epoch}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([...DV, ...CONTROL].map(String)),
    signal: AbortSignal.timeout(10_000),
  }).then(async (response) => {
    if (!response.ok) throw new Error(`attester duties of epoch ${epoch}: ${response.status} ${(await response.text()).slice(0, 200)}`);
    return (await response.json()) as { data: { validator_index: string; slot: string; committee_index: string; validator_committee_index: string }[] };
  });
  return data.map((d) => ({ validator: Number(d.validator_index), slot: Number(d.slot), committee: Number(d.committee_index), position: Number(d.validator_committee_index) }));
}

/** Per group: the measured attestation duties included in a block, and their mean first-inclusion distance in slots. */
function inclusionDistances(seen: ReadonlyMap<number, SeenBlock>, seats: readonly AttesterSeat[]): Record<Group, { included: number; mean: number }> {
  const first = new Map<string, number>();
  const byCommittee = new Map<string, AttesterSeat[]>();
  for (const seat of seats) byCommittee.set(`${seat.slot}/${seat.committee}`, [...(byCommittee.get(`${seat.slot}/${seat.committee}`) ?? []), seat]);
  for (const block of seen.values()) {
    for (const a of block.attestations) {
      for (const seat of byCommittee.get(`${a.slot}/${a.committee}`) ?? []) {
        if (!a.bits[seat.position]) continue;
        const key = `${a.slot}/${seat.validator}`;
        first.set(key, Math.min(first.get(key) ?? Infinity, block.slot - a.slot));
      }
    }
  }
  const out = { dv: { included: 0, mean: 0 }, control: { included: 0, mean: 0 } };
  for (const [key, d] of first) {
    const group = groupOf(Number(key.split('/')[1])) as Group;
    out[group].mean = (out[group].mean * out[group].included + d) / (out[group].included + 1);
    out[group].included++;
  }
  return out;
}

const periodOf = (epoch: number): number => Math.floor(epoch / EPOCHS_PER_SYNC_COMMITTEE_PERIOD);

/** The sync committee (validator per seat) of the epoch's period, from the head state (read while current, as committees). */
async function syncCommitteeOf(bnUrl: string, epoch: number): Promise<number[]> {
  return (await getJson<{ data: { validators: string[] } }>(`${bnUrl}/eth/v1/beacon/states/head/sync_committees?epoch=${epoch}`)).data.validators.map(Number);
}

/** Per group: seats of the sync committee over the blocks, and how many of them the block's sync aggregate counts. */
function syncParticipation(seen: ReadonlyMap<number, SeenBlock>, byPeriod: ReadonlyMap<number, number[]>): Record<Group, { seats: number; signed: number }> {
  const out = { dv: { seats: 0, signed: 0 }, control: { seats: 0, signed: 0 } };
  for (const block of seen.values()) {
    const committee = byPeriod.get(periodOf(Math.floor(block.slot / SLOTS_PER_EPOCH)));
    if (!committee) throw new Error(`the sync committee of slot ${block.slot}'s period was not read while current`);
    committee.forEach((validator, seat) => {
      const group = groupOf(validator);
      if (group === undefined) return;
      out[group].seats++;
      if (block.syncBits[seat]) out[group].signed++;
    });
  }
  return out;
}

/** Over every node's event log: aggregation duties failed as `vc_not_distributed`, and aggregates broadcast (there must be none). */
async function aggregationOutcomes(natsUrls: readonly string[]): Promise<{ notDistributed: number; broadcast: number }> {
  let notDistributed = 0;
  let broadcast = 0;
  for (const url of natsUrls) {
    const source = await connectEventSource(url);
    try {
      for (const e of await collectEvents(source, { eventType: 'DutyFailed' })) if (e.type === 'DutyFailed' && e.data.reason === 'vc_not_distributed') notDistributed++;
      for (const e of await collectEvents(source, { eventType: 'Broadcast' })) if (e.duty.type === 'aggregator' || e.duty.type === 'sync_contribution') broadcast++;
    } finally {
      await source.close();
    }
  }
  return { notDistributed, broadcast };
}

/** A failed run: each process's last warnings and errors, the logs that explain it. */
async function printWarnings(logDir: string): Promise<void> {
  for (const file of (await readdir(logDir)).sort()) {
    const lines = (await readFile(join(logDir, file), 'utf8')).split('\n').filter((line) => /\b(WARN|ERROR|warn|error)\b/.test(line));
    if (lines.length === 0) continue;
    process.stdout.write(`--- ${file}: last ${Math.min(15, lines.length)} of ${lines.length} warnings and errors\n${lines.slice(-15).join('\n')}\n`);
  }
  log(`logs kept in ${logDir}`);
}

/** Per node: its services that recorded switching to the network `root` (NetworkChanged). */
async function servicesSwitched(natsUrls: readonly string[], root: Hex): Promise<number[]> {
  return Promise.all(
    natsUrls.map(async (url) => {
      const source = await connectEventSource(url);
      try {
        const events = await collectEvents(source, { eventType: 'NetworkChanged' });
        return new Set(events.flatMap((e) => (e.type === 'NetworkChanged' && e.data.to === root ? [e.producer.service] : []))).size;
      } finally {
        await source.close();
      }
    }),
  );
}

/** `cohort slashing export` of one network's history from a node's NATS, as an operator runs it. */
async function exportSlashingHistory(natsUrl: string, root: Hex, out: string): Promise<{ data: { pubkey: Hex; signed_attestations: { target_epoch: string }[] }[] }> {
  const child = spawn(process.execPath, [join(repo, 'dist/apps/cli/src/main.js'), 'slashing', 'export', '--genesis-validators-root', root, '--nats', natsUrl, '--out', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (code !== 0) throw new Error(`cohort slashing export --genesis-validators-root ${root} exited ${code}: ${stderr.trim()}`);
  return JSON.parse(await readFile(out, 'utf8')) as { data: { pubkey: Hex; signed_attestations: { target_epoch: string }[] }[] };
}

interface ResetContext {
  readonly opts: Options;
  readonly procs: Processes;
  readonly bnUrl: string;
  readonly natsUrls: readonly string[];
  readonly runDir: string;
  readonly oldRoot: Hex;
  startBeaconNode(): Promise<{ genesisTime: number; root: Hex }>;
  startValidatorClients(): Promise<void>;
}

/**
 * The network reset (issue 7, deliverable 5): the devnet ends and a new one starts on the same
 * REST port with one more genesis validator (so another genesis validators root), a new genesis
 * time and the same keys. The Cohort nodes are not touched: each of their services notices the
 * new root and restarts on it. The VCs start again with fresh data directories once the nodes
 * have switched, as an operator restarts them on a new chain (a VC reads the genesis once, from
 * its node). Checks, from the BN and the nodes: every service switched; the DV validators attest
 * within 2 epochs of the new genesis (epoch 1's participation flags); each node keeps the old
 * network's slashing history, exportable, beside a fresh one for the new network. Returns the
 * failed criteria.
 */
async function networkReset(ctx: ResetContext): Promise<string[]> {
  log('network reset: stopping the beacon node and every VC; the Cohort nodes keep running, untouched');
  await ctx.procs.stop((name) => name === 'bn' || name.startsWith('vc'));
  const stoppedAt = Date.now();
  const next = await ctx.startBeaconNode();
  if (next.root === ctx.oldRoot) throw new Error('the new devnet has the old genesis validators root');
  const switched = await waitFor(
    'every service of every node to switch to the new network',
    async () => {
      const counts = await servicesSwitched(ctx.natsUrls, next.root);
      return counts.every((c) => c === SERVICES.length) ? counts : undefined;
    },
    90_000,
  ).catch(async () => servicesSwitched(ctx.natsUrls, next.root));
  const allSwitched = switched.every((c) => c === SERVICES.length);
  log(`services switched to the new network per node: ${switched.join(', ')} of ${SERVICES.length}, ${((Date.now() - stoppedAt) / 1000).toFixed(0)} s after the old BN stopped`);
  if (!allSwitched) return [`network reset: services switched per node ${switched.join(', ')}, expected ${SERVICES.length} each`];
  await ctx.startValidatorClients();

  // Participation of the new chain's epochs 0 and 1 (previous_epoch_participation at the last
  // slot of epochs 1 and 2), read once epoch 2 is over.
  const lastSlot = 3 * SLOTS_PER_EPOCH - 1;
  await new Promise((r) => setTimeout(r, Math.max(0, (next.genesisTime + (lastSlot + 1) * ctx.opts.secondsPerSlot) * 1000 + 1000 - Date.now())));
  const attested: Record<Group, number[]> = { dv: [], control: [] };
  for (const epoch of [0, 1]) {
    const stateSlot = (epoch + 2) * SLOTS_PER_EPOCH - 1;
    const state = await waitFor(`the state at slot ${stateSlot}`, () => getJson<{ data: { previous_epoch_participation: string[] } }>(`${ctx.bnUrl}/eth/v2/debug/beacon/states/${stateSlot}`), 30_000);
    for (const [group, indices] of GROUPS) attested[group][epoch] = indices.filter((i) => Number(state.data.previous_epoch_participation[i] ?? 0) !== 0).length;
  }
  for (const [group, indices] of GROUPS) log(`after the reset: ${group.padEnd(8)} validators attesting in epoch 0: ${attested[group][0]}/${indices.length}, epoch 1: ${attested[group][1]}/${indices.length}`);

  // Each node: the old network's history exported as an operator would, and the new one's.
  const dvPubkeys = new Set(DV.map((i) => toHex(secretKeyToPublicKey(interopSecret(i)))));
  const histories: string[] = [];
  const problems: string[] = [];
  for (const [node, url] of ctx.natsUrls.entries()) {
    for (const [label, root] of [['old', ctx.oldRoot], ['new', next.root]] as const) {
      const doc = await exportSlashingHistory(url, root, join(ctx.runDir, `slashing-node${node}-${label}.json`)).catch((error: unknown) => {
        problems.push(`node ${node}: ${String(error)}`);
        return { data: [] };
      });
      const signed = doc.data.filter((v) => dvPubkeys.has(v.pubkey) && v.signed_attestations.length > 0);
      const highest = Math.max(-1, ...doc.data.flatMap((v) => v.signed_attestations.map((a) => Number(a.target_epoch))));
      histories.push(`node ${node} ${label}: ${signed.length} DV validators, highest target epoch ${highest}`);
      if (signed.length !== dvPubkeys.size) problems.push(`node ${node}: the ${label} network's slashing history has ${signed.length} of ${dvPubkeys.size} DV validators with attestations`);
    }
  }
  log(`slashing histories exported (cohort slashing export): ${histories.join('; ')}`);
  return [
    ...(attested.dv[1] === DV.length ? [] : [`after the reset: ${attested.dv[1]} of ${DV.length} DV validators attested in epoch 1 (all must, within 2 epochs of the new genesis)`]),
    ...problems,
  ];
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
  let keepRunDir = false;
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
    // 1. The beacon node, genesis far enough ahead for every process to be up. A reset starts
    //    another devnet on the same REST port: the nodes' config names it.
    const restPort = await freePort();
    const bnUrl = `http://127.0.0.1:${restPort}`;
    const startBeaconNode = async (name: string, genesisValidators: number): Promise<{ genesisTime: number; root: Hex }> => {
      const genesisTime = Math.floor(Date.now() / 1000) + GENESIS_DELAY_S;
      startLodestar(name, [
        'dev',
        ...chainParams(opts.secondsPerSlot),
        '--genesisValidators', String(genesisValidators),
        '--genesisTime', String(genesisTime),
        '--eth1', 'false',
        '--rest.address', '127.0.0.1',
        '--rest.port', String(restPort),
        '--rest.namespace', '*',
        '--listenAddress', '127.0.0.1',
        '--port', String(await freePort()),
        '--discv5', 'false',
        '--mdns', 'false',
        '--dataDir', join(runDir, name),
        '--reset',
      ]);
      const { data } = await waitFor(
        `the beacon node ${name}`,
        async () => {
          const answer = await getJson<{ data: { genesis_validators_root: Hex; genesis_time: string } }>(`${bnUrl}/eth/v1/beacon/genesis`);
          return Number(answer.data.genesis_time) === genesisTime ? answer : undefined;
        },
        60_000,
      );
      log(`${name} up: ${genesisValidators} genesis validators, genesis validators root ${data.genesis_validators_root}, genesis in ${genesisTime - Math.floor(Date.now() / 1000)} s`);
      return { genesisTime, root: data.genesis_validators_root };
    };
    const { genesisTime, root: firstRoot } = await startBeaconNode('bn', GENESIS_VALIDATORS);
    const spec = (await getJson<{ data: Record<string, string> }>(`${bnUrl}/eth/v1/config/spec`)).data;

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
    //    and the control group's VC on the BN itself. After a reset they start again with fresh
    //    data directories (`tag`): a VC's slashing protection is per network too.
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
    }
    const startValidatorClients = async (tag: string, genesisValidators: number) => {
      const vc = (name: string, beaconUrl: string, keys: readonly string[]) =>
        startLodestar(`${name}${tag}`, ['validator', ...chainParams(opts.secondsPerSlot), '--network', 'dev', '--beaconNodes', beaconUrl, ...keys, '--dataDir', join(runDir, `${name}${tag}`)]);
      for (let i = 0; i < 4; i++) {
        // a copy per start: a stopped 1.5.1 VC can leave its keystores' lock files behind, and the next refuses them
        const keystores = join(runDir, `vc${i}-keystores${tag}`);
        if (tag !== '') await cp(join(runDir, `vc${i}-keystores`), keystores, { recursive: true, filter: (path) => !path.endsWith('.lock') });
        vc(`vc${i}`, `http://127.0.0.1:${gatewayPorts[i]}`, ['--importKeystores', keystores, '--importKeystoresPassword', join(runDir, `vc${i}-password.txt`)]);
      }
      vc('vc-control', bnUrl, ['--interopIndexes', `${CONTROL[0]}..${CONTROL.at(-1)}`]);
      vc('vc-bystanders', bnUrl, ['--interopIndexes', `${FIRST_BYSTANDER}..${genesisValidators - 1}`]);
    };
    await startValidatorClients('', GENESIS_VALIDATORS);

    // 5. Finality, then the measured window. Proposer duties are polled all along: the BN answers
    //    only the current and the next epoch's.
    const slotMs = opts.secondsPerSlot * 1000;
    const epochOfNow = () => Math.floor((Date.now() / 1000 - genesisTime) / opts.secondsPerSlot / SLOTS_PER_EPOCH);
    const proposers = new Map<number, number>();
    const seatsByEpoch = new Map<number, AttesterSeat[]>();
    const syncCommittees = new Map<number, number[]>();
    const stopPolling = new AbortController();
    void (async () => {
      while (!stopPolling.signal.aborted) {
        for (const e of [epochOfNow(), epochOfNow() + 1]) {
          const duties = await getJson<{ data: { slot: string; validator_index: string }[] }>(`${bnUrl}/eth/v1/validator/duties/proposer/${Math.max(0, e)}`).catch(() => undefined);
          for (const d of duties?.data ?? []) proposers.set(Number(d.slot), Number(d.validator_index));
        }
        const current = epochOfNow();
        if (current >= 0 && !seatsByEpoch.has(current)) {
          await attesterSeats(bnUrl, current).then((seats) => seatsByEpoch.set(current, seats), () => undefined);
        }
        if (current >= 0 && !syncCommittees.has(periodOf(current))) {
          await syncCommitteeOf(bnUrl, current).then((seats) => syncCommittees.set(periodOf(current), seats), () => undefined);
        }
        await new Promise((r) => setTimeout(r, (SLOTS_PER_EPOCH * slotMs) / 4));
      }
    })();
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
    // Until the window ends (and a little after: the next epoch's blocks carry its last attestations).
    const windowEnd = (from + opts.epochs) * SLOTS_PER_EPOCH;
    await new Promise((r) => setTimeout(r, Math.max(0, (genesisTime + (windowEnd + SLOTS_PER_EPOCH + 1) * opts.secondsPerSlot) * 1000 - Date.now())));
    stopPolling.abort();

    // 6. The BN's view: participation flags of each measured epoch (state at the last slot of the
    //    next epoch: previous_epoch_participation), inclusion distances and sync aggregates from
    //    its blocks, proposals from its headers.
    const flags = { dv: { source: 0, target: 0, head: 0, duties: 0 }, control: { source: 0, target: 0, head: 0, duties: 0 } };
    for (let e = from; e < from + opts.epochs; e++) {
      const stateSlot = (e + 2) * SLOTS_PER_EPOCH - 1;
      const state = await getJson<{ data: { previous_epoch_participation: string[] } }>(`${bnUrl}/eth/v2/debug/beacon/states/${stateSlot}`);
      for (const [group, indices] of GROUPS) {
        for (const i of indices) {
          const f = Number(state.data.previous_epoch_participation[i] ?? 0);
          flags[group].duties++;
          flags[group].source += f & 1;
          flags[group].target += (f >> 1) & 1;
          flags[group].head += (f >> 2) & 1;
        }
      }
    }
    const seen = await blocksSeen(bnUrl, SLOTS_PER_EPOCH, windowEnd + SLOTS_PER_EPOCH);
    const measuredEpochs = Array.from({ length: opts.epochs }, (_, i) => from + i);
    const missing = measuredEpochs.filter((e) => !seatsByEpoch.has(e));
    if (missing.length > 0) throw new Error(`the attester duties of epochs ${missing.join(', ')} were not read while current`);
    const distance = inclusionDistances(seen, measuredEpochs.flatMap((e) => seatsByEpoch.get(e) ?? []));
    const sync = syncParticipation(seen, syncCommittees);
    // A block names its proposer; a missed slot's is the one the BN's duties named.
    const blocks = { dv: { assigned: 0, landed: 0 }, control: { assigned: 0, landed: 0 } };
    for (let slot = SLOTS_PER_EPOCH; slot < windowEnd; slot++) {
      const block = seen.get(slot);
      const group = groupOf(block?.proposerIndex ?? proposers.get(slot) ?? -1);
      if (group === undefined) continue;
      blocks[group].assigned++;
      if (block) blocks[group].landed++;
    }

    // 7. The report and the pass criteria (issue 7).
    const pct = (n: number, d: number) => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)} %`);
    log(`attestations: epochs ${from}..${from + opts.epochs - 1}; proposals and sync messages: slots ${SLOTS_PER_EPOCH}..${windowEnd - 1}; ${opts.secondsPerSlot} s slots`);
    for (const [group] of GROUPS) {
      const f = flags[group];
      log(
        `${group.padEnd(8)} attestations ${f.duties}: timely source ${pct(f.source, f.duties)}, target ${pct(f.target, f.duties)}, head ${pct(f.head, f.duties)}; ` +
          `included ${distance[group].included}, mean inclusion distance ${distance[group].mean.toFixed(2)} slot; ` +
          `proposals ${blocks[group].landed}/${blocks[group].assigned}; sync messages ${sync[group].signed}/${sync[group].seats} (${pct(sync[group].signed, sync[group].seats)})`,
      );
    }
    const rate = (n: number, d: number) => (d === 0 ? 0 : n / d);
    log(`DV/control: timely target ${(rate(flags.dv.target, flags.dv.duties) / Math.max(1e-9, rate(flags.control.target, flags.control.duties))).toFixed(3)}, inclusion distance ${(distance.dv.mean / Math.max(1e-9, distance.control.mean)).toFixed(3)}`);
    const aggregation = await aggregationOutcomes(nats.map((n) => n.url));
    log(`aggregation (a VC without a distributed mode): ${aggregation.notDistributed} duties failed as vc_not_distributed on the 4 nodes, ${aggregation.broadcast} aggregates broadcast`);
    const failed = [
      ...(rate(flags.dv.target, flags.dv.duties) >= rate(flags.control.target, flags.control.duties) - 0.01 ? [] : ['DV timely-target rate below the control group\'s minus 1 percentage point']),
      ...(distance.dv.included > 0 && distance.dv.mean <= distance.control.mean + 0.25 ? [] : ['DV mean inclusion distance above the control group\'s plus 0.25 slot (or nothing included)']),
      ...(blocks.dv.assigned > 0 && blocks.dv.landed === blocks.dv.assigned ? [] : [`DV proposals: ${blocks.dv.landed} of ${blocks.dv.assigned} landed (every one must, and at least one assigned)`]),
      ...(sync.dv.seats > 0 && rate(sync.dv.signed, sync.dv.seats) >= rate(sync.control.signed, sync.control.seats) - 0.05 ? [] : ['DV sync committee messages: rate below the control group\'s minus 5 percentage points (or no DV seat)']),
      ...(aggregation.notDistributed > 0 && aggregation.broadcast === 0 ? [] : ['aggregation: expected vc_not_distributed failures and no aggregate broadcast']),
    ];
    if (failed.length === 0 && !opts.skipReset) {
      failed.push(
        ...(await networkReset({
          opts,
          procs,
          bnUrl,
          natsUrls: nats.map((n) => n.url),
          runDir,
          oldRoot: firstRoot,
          startBeaconNode: () => startBeaconNode('bn-reset', RESET_GENESIS_VALIDATORS),
          startValidatorClients: () => startValidatorClients('-reset', RESET_GENESIS_VALIDATORS),
        })),
      );
    }
    for (const reason of failed) log(`FAIL: ${reason}`);
    if (failed.length > 0) {
      await printWarnings(logDir);
      keepRunDir = true;
      return 1;
    }
    log('PASS');
    return 0;
  } finally {
    await procs.stopAll();
    await Promise.all(nats.map((n) => n.stop()));
    if (!opts.keep && !keepRunDir) await rm(runDir, { recursive: true, force: true }).catch(() => undefined);
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
