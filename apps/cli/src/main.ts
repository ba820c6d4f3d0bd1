#!/usr/bin/env node
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, parseNodeConfig } from '#lib/config';
import { SERVICES, type ServiceName } from '#lib/contracts';
import { startNode, startService } from './node.js';
import { runSimnet } from './simnet.js';

const USAGE = `cohort — an event-sourced distributed validator node

Usage:
  cohort simnet [--nodes 4] [--validators 8] [--slots 16] [--seconds-per-slot 2] [--stop 4,...]
               [--wrong-vc-keys 2,...] [--log-level warn]
      A whole cluster on loopback (beacon mock, n nodes, n VC mocks); one line per slot.
      --slots 0 runs until Ctrl-C. --stop takes 1-based node numbers to stop right after start;
      --wrong-vc-keys makes those nodes' VCs sign with a key that is not their share.
  cohort node --config node.json
      All services of one node in this process.
  cohort service <${SERVICES.join('|')}> --config node.json
      One service (one container per service in docker-compose / Kubernetes).
  cohort help
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'simnet':
      return simnet(rest);
    case 'node':
    case 'service':
      return serve(command, rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
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

class UsageError extends Error {}

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
      'log-level': { type: 'string' },
    },
  });
  const nodes = positiveInt('nodes', values.nodes, 4);
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
    logLevel: level as 'warn',
    signal: abort.signal,
  });
  const expected = result.slots.reduce((sum, s) => sum + s.duties, 0);
  const accepted = result.slots.reduce((sum, s) => sum + s.accepted, 0);
  process.stdout.write(`done: ${accepted}/${expected} attestations accepted by the beacon node under the group keys\n`);
  return 0;
}

async function serve(command: 'node' | 'service', args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { config: { type: 'string' } }, allowPositionals: true });
  if (!values.config) throw new UsageError('--config FILE is required');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(values.config, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${values.config}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const config = parseNodeConfig(raw);
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`cohort: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`cohort: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
