#!/usr/bin/env node
import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, parseNodeConfig } from '#lib/config';
import { SERVICES, type ServiceName } from '#lib/contracts';
import { AmbiguousNodeError, EventFileError, ExportTargetExistsError } from '#lib/audit';
import { ClusterBuildError, ClusterFileError, LockVerificationError } from '#lib/cluster-lock';
import { KeyFileError, KeyMaterialError } from '#lib/keys';
import { InterchangeError } from '#service/slashing-guard';
import { ClusterDirError, loadSimnetCluster, resolveNodeConfigFiles } from './cluster-files.js';
import { combineClusterCommand, combineClusterUsage, createClusterCommand, createClusterUsage } from './commands/cluster.js';
import { eventsCommand, eventsUsage, explainCommand, explainUsage } from './commands/events.js';
import { combineCommand, combineUsage, createEnrCommand, createEnrUsage } from './commands/keys.js';
import { replayCommand, replayUsage } from './commands/replay.js';
import { slashingCommand, slashingUsage } from './commands/slashing.js';
import { startNode, startService } from './node.js';
import { runSimnet } from './simnet.js';
import { UsageError } from './command.js';

const SIMNET_USAGE = `  cohort simnet [--nodes 4] [--validators 8] [--slots 16] [--seconds-per-slot 2] [--stop 4,...]
               [--wrong-vc-keys 2,...] [--cluster-dir DIR] [--duties all|attester] [--log-level warn]
      A whole cluster on loopback (beacon mock, n nodes, n VC mocks); one line per slot.
      --duties all (the default): the cluster attests, proposes and signs sync committee
      messages; attester: attestations alone.
      --slots 0 runs until Ctrl-C. --stop takes 1-based node numbers to stop right after start;
      --wrong-vc-keys makes those nodes' VCs sign with a key that is not their share.
      --cluster-dir runs a cluster made by \`cohort create cluster --nodes N\` from its files
      (locks verified, identity keys and share keystores decrypted) instead of dealing keys.
`;

const NODE_USAGE = `  cohort node --config node.json
      All services of one node in this process. The config may name its cluster by lock file
      ("cluster": {"lockFile": "cluster-lock.json"}) and its identity by key file
      ("p2p": {"privateKeyFile": "identity-key"}), relative to the config file; the node refuses
      to start on a lock that fails verification, saying why.
  cohort service <${SERVICES.join('|')}> --config node.json
      One service (one container per service in docker-compose / Kubernetes).
`;

const USAGE = `cohort — an event-sourced distributed validator node

Usage:
${SIMNET_USAGE}${NODE_USAGE}  cohort create enr …          this operator's identity key and ENR
  cohort create cluster …      a cluster's lock, share keystores and deposit data (trusted dealer)
  cohort combine …             recover validator keys from threshold share keystores
  cohort events …              query, follow or export a node's event log
  cohort explain …             why a duty failed (or how it succeeded), from the event log
  cohort replay …              re-run a slot range's recorded inputs through the deciders; report divergences
  cohort slashing …            slashing-protection history: EIP-3076 import and export
  cohort help [COMMAND]        this text, or a command's flags (e.g. \`cohort help create cluster\`)
`;

const COMMAND_USAGE: Readonly<Record<string, string>> = {
  simnet: `Usage:\n${SIMNET_USAGE}`,
  node: `Usage:\n${NODE_USAGE}`,
  service: `Usage:\n${NODE_USAGE}`,
  'create enr': createEnrUsage,
  'create cluster': createClusterUsage,
  combine: `${combineUsage}\n${combineClusterUsage}`,
  events: eventsUsage,
  explain: explainUsage,
  replay: replayUsage,
  slashing: slashingUsage,
};

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'simnet':
      return simnet(rest);
    case 'node':
    case 'service':
      return serve(command, rest);
    case 'create':
      if (rest[0] === 'enr') return createEnrCommand(rest.slice(1));
      if (rest[0] === 'cluster') return createClusterCommand(rest.slice(1));
      throw new UsageError(`create: \`create enr\` or \`create cluster\`, got ${rest[0] ?? 'nothing'}`);
    case 'combine':
      return rest.includes('--cluster-dir') ? combineClusterCommand(rest) : combineCommand(rest);
    case 'events':
      return eventsCommand(rest);
    case 'explain':
      return explainCommand(rest);
    case 'replay':
      return replayCommand(rest);
    case 'slashing':
      return slashingCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h': {
      const topic = rest.join(' ');
      process.stdout.write(topic && COMMAND_USAGE[topic] ? COMMAND_USAGE[topic] : USAGE);
      return 0;
    }
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name}: expected an integer >= ${min}, got ${raw}`);
  return value;
}

async function simnet(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      nodes: { type: 'string' },
      validators: { type: 'string' },
      slots: { type: 'string' },
      'seconds-per-slot': { type: 'string' },
      stop: { type: 'string' },
      'wrong-vc-keys': { type: 'string' },
      'cluster-dir': { type: 'string' },
      duties: { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  const duties = values.duties ?? 'all';
  if (duties !== 'all' && duties !== 'attester') throw new UsageError('--duties: all or attester');
  const fileCluster = values['cluster-dir'] ? await loadSimnetCluster(values['cluster-dir']) : undefined;
  if (fileCluster && values.nodes !== undefined) throw new UsageError('--nodes: the cluster in --cluster-dir fixes the number of nodes');
  const nodes = fileCluster ? fileCluster.cluster.operators.length : positiveInt('nodes', values.nodes, 4);
  const nodeList = (flag: 'stop' | 'wrong-vc-keys'): number[] => {
    const list = (values[flag] ?? '')
      .split(',')
      .filter(Boolean)
      .map((s) => positiveInt(flag, s, 0, 1) - 1);
    if (list.some((i) => i >= nodes)) throw new UsageError(`--${flag}: nodes are numbered 1..${nodes}`);
    return list;
  };
  const stopped = nodeList('stop');
  const wrongVcKeys = nodeList('wrong-vc-keys');
  const level = values['log-level'] ?? 'warn';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`--log-level: one of debug, info, warn, error`);
  const abort = new AbortController();
  const onSignal = () => {
    process.stdout.write('\nstopping: shutting down nodes, VCs and nats-servers…\n');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const slots = positiveInt('slots', values.slots, 16, 0);
  const result = await runSimnet({
    nodes,
    validators: positiveInt('validators', values.validators, 8),
    secondsPerSlot: positiveInt('seconds-per-slot', values['seconds-per-slot'], 2),
    slots: slots === 0 ? Number.MAX_SAFE_INTEGER : slots,
    stopped,
    wrongVcKeys,
    duties,
    ...(fileCluster ? { cluster: fileCluster } : {}),
    logLevel: level as 'warn',
    signal: abort.signal,
  });
  const expected = result.slots.reduce((sum, s) => sum + s.duties, 0);
  const accepted = result.slots.reduce((sum, s) => sum + s.accepted, 0);
  process.stdout.write(`done: ${accepted}/${expected} attestations accepted by the beacon node under the group keys\n`);
  if (duties === 'all') {
    const mock = result.beaconMock;
    process.stdout.write(`      ${mock.acceptedBlocks.length} blocks and ${mock.acceptedSyncMessages.length} sync committee messages accepted\n`);
  }
  return 0;
}

async function serve(command: 'node' | 'service', args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { config: { type: 'string' } }, allowPositionals: true });
  if (!values.config) throw new UsageError('--config FILE is required');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(values.config, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${values.config}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const config = parseNodeConfig(await resolveNodeConfigFiles(raw, values.config));
  let stop: () => Promise<void>;
  if (command === 'service') {
    const name = positionals[0];
    if (!name || !(SERVICES as readonly string[]).includes(name)) throw new UsageError(`service: one of ${SERVICES.join(', ')}`);
    const service = await startService(name as ServiceName, config);
    stop = () => service.close();
  } else {
    const node = await startNode(config);
    stop = () => node.stop();
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await stop();
  return 0;
}

/** Errors that say what is wrong with the operator's input (a file, a key, a lock): the message is the whole story. */
const INPUT_ERRORS = [
  ClusterDirError,
  ClusterFileError,
  LockVerificationError,
  ClusterBuildError,
  KeyFileError,
  KeyMaterialError,
  EventFileError,
  ExportTargetExistsError,
  AmbiguousNodeError,
  InterchangeError,
];

// `cohort events | head`: a closed pipe ends the output, it is not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`cohort: ${error.message}\n(\`cohort help ${process.argv[2] ?? ''}\` lists the flags)\n`);
      process.exit(2);
    }
    if (INPUT_ERRORS.some((type) => error instanceof type)) {
      process.stderr.write(`cohort: ${(error as Error).message}\nnothing was changed.\n`);
      process.exit(1);
    }
    process.stderr.write(`cohort: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
