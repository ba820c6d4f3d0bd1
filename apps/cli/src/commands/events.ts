import { parseArgs } from 'node:util';
import { DUTY_TYPES, NO_DUTY, SERVICES, isDutyType, isHex, type DutyType, type Hex, type ServiceName } from '#lib/contracts';
import {
  AmbiguousNodeError,
  DEFAULT_SLOTS_PER_EPOCH,
  EVENT_TYPES,
  collectEvents,
  connectEventSource,
  explain,
  exportEvents,
  fileEventSource,
  formatExplanation,
  isKnownEventType,
  ndjsonLine,
  slotsOfEpochs,
  tableHeader,
  tableRow,
  type EventQuery,
  type EventSource,
  type Explanation,
  type SlotRange,
} from '#lib/audit';
import { UsageError, processIo, type CommandIo } from '../command.js';

/**
 * `cohort events`, `cohort events export` and `cohort explain`: the operator's read side of the
 * event log. Argument parsing and output live here; querying, explaining and exporting live in
 * #lib/audit, so the same answers are available to code and tests.
 */

/** A bad command line: the caller prints the message with the usage and exits 2. */
export class EventsUsageError extends UsageError {
  override readonly name = 'EventsUsageError';
}

/** Where a command writes, and what stops `--follow`; tests pass their own. */
export interface EventsIo extends CommandIo {
  /** Ends `--follow`; default: SIGINT or SIGTERM. */
  readonly signal?: AbortSignal;
}

/** A node's own NATS server (the node config's default `nats.url`). */
const DEFAULT_NATS = 'nats://127.0.0.1:4222';

const SOURCE_USAGE = `      --nats URL            the node's NATS server (default ${DEFAULT_NATS})
      --file FILE           an exported file instead (NDJSON, gzip or plain): no NATS needed`;
const FILTER_USAGE = `      --slot A[..B]         one slot, or an inclusive range
      --epoch A[..B]        one epoch, or an inclusive range (with --slots-per-epoch)
      --slots-per-epoch N   ${DEFAULT_SLOTS_PER_EPOCH} (mainnet; the minimal preset and the simnet use 8)
      --duty TYPE           ${DUTY_TYPES.join('|')}|${NO_DUTY} (${NO_DUTY}: events outside any duty, e.g. refused peer messages)
      --validator PUBKEY    events that name this group pubkey
      --service NAME        the producing stage: ${SERVICES.join('|')}
      --node NAME           the producing node (for files merging several nodes' exports)
      --type EVENT          an event type, e.g. DutyFailed
      --network ROOT        one network's events (its genesis validators root): after a network
                            reset the slot numbers start again, and a slot can hold both`;

export const eventsUsage = `Usage:
  cohort events [--nats URL | --file FILE] [filters] [--format table|ndjson] [--follow]
      Lists recorded events, oldest first, as a table (default) or NDJSON (the stored envelopes).
      --follow keeps printing new events as they are recorded (NATS only), until Ctrl-C.
  cohort events export --out FILE [--nats URL | --file FILE] [filters]
      Writes the matching events as gzip-compressed NDJSON, for analysis off the box:
      \`cohort events --file FILE\` and \`cohort explain --file FILE\` read it without NATS.
      Refuses to overwrite FILE; the file appears only once complete.
${SOURCE_USAGE}
  filters:
${FILTER_USAGE}
`;

export const explainUsage = `Usage:
  cohort explain --slot N [--duty attester] [--validator PUBKEY] [--nats URL | --file FILE]
                 [--node NAME] [--network ROOT] [--genesis-time UNIX_SECONDS --seconds-per-slot 12]
                 [--operators N] [--format text|json]
      Why a duty succeeded or failed, as this node recorded it: the verdict and its failure reason
      from the catalog, the facts behind it (consensus rounds, slashing refusals, which share
      signatures arrived or were rejected and why), the furthest step reached, and the timeline.
      Times are relative to the slot start when --genesis-time is given (the BN's
      /eth/v1/beacon/genesis), else to the duty's first event. --validator narrows to one
      validator; --operators N also lists the shares nothing arrived from.
${SOURCE_USAGE}
      --node NAME           whose view, when the file holds several nodes' events
      --network ROOT        which network's duty (genesis validators root), when the slot holds
                            duties of two networks (after a reset)
`;

const FILTER_OPTIONS = {
  nats: { type: 'string' },
  file: { type: 'string' },
  slot: { type: 'string' },
  epoch: { type: 'string' },
  'slots-per-epoch': { type: 'string' },
  duty: { type: 'string' },
  validator: { type: 'string' },
  service: { type: 'string' },
  node: { type: 'string' },
  type: { type: 'string' },
  network: { type: 'string' },
} as const;

/** `cohort events …` (args after `events`). Returns the exit code. */
export async function eventsCommand(args: readonly string[], io: EventsIo = processIo): Promise<number> {
  if (args[0] === 'export') return exportCommand(args.slice(1), io);
  const { values } = parse(args, { ...FILTER_OPTIONS, format: { type: 'string' }, follow: { type: 'boolean' } });
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'ndjson') throw new EventsUsageError(`--format: table or ndjson, got ${format}`);
  const query = queryOf(values);
  if (values.follow && values.file !== undefined) throw new EventsUsageError('--follow needs a live node (--nats), not a file');
  const source = await openSource(values);
  const print = format === 'table' ? tableRow : ndjsonLine;
  try {
    if (format === 'table') await write(io, `${tableHeader()}\n`);
    if (values.follow && source.follow) {
      const follow = source.follow;
      await withStopSignal(io, (signal) => follow(query, (event) => write(io, `${print(event)}\n`), signal));
      return 0;
    }
    for await (const event of source.read(query)) await write(io, `${print(event)}\n`);
    return 0;
  } finally {
    await source.close();
  }
}

/** `cohort events export …` */
async function exportCommand(args: readonly string[], io: EventsIo): Promise<number> {
  const { values } = parse(args, { ...FILTER_OPTIONS, out: { type: 'string' } });
  if (!values.out) throw new EventsUsageError('events export: --out FILE is required');
  const query = queryOf(values);
  const source = await openSource(values);
  try {
    const result = await exportEvents(source, query, values.out, {
      onProgress: (exported, done) => {
        if (!done) io.stderr.write(`exporting: ${exported} events so far…\n`);
      },
    });
    io.stderr.write(`exported ${result.events} event(s) from ${source.label} to ${result.file}\n`);
    return 0;
  } finally {
    await source.close();
  }
}

/** `cohort explain …` (args after `explain`). Returns the exit code. */
export async function explainCommand(args: readonly string[], io: EventsIo = processIo): Promise<number> {
  const { values } = parse(args, {
    nats: { type: 'string' },
    file: { type: 'string' },
    slot: { type: 'string' },
    duty: { type: 'string' },
    validator: { type: 'string' },
    node: { type: 'string' },
    network: { type: 'string' },
    'genesis-time': { type: 'string' },
    'seconds-per-slot': { type: 'string' },
    operators: { type: 'string' },
    format: { type: 'string' },
  });
  if (values.slot === undefined) throw new EventsUsageError('explain: --slot N is required');
  const slot = integer('slot', values.slot, 0);
  const dutyType = dutyTypeOf(values.duty) ?? 'attester';
  const validator = values.validator === undefined ? undefined : pubkeyOf(values.validator);
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new EventsUsageError(`--format: text or json, got ${format}`);
  if (values['seconds-per-slot'] !== undefined && values['genesis-time'] === undefined) {
    throw new EventsUsageError('--seconds-per-slot only places times when --genesis-time is given too');
  }
  const timing =
    values['genesis-time'] === undefined
      ? undefined
      : { genesisTimeMs: integer('genesis-time', values['genesis-time'], 0) * 1000, secondsPerSlot: integer('seconds-per-slot', values['seconds-per-slot'] ?? '12', 1) };
  const operators = values.operators === undefined ? undefined : integer('operators', values.operators, 1);

  const source = await openSource(values);
  try {
    const network = values.network === undefined ? undefined : networkOf(values.network);
    const events = await collectEvents(source, {
      slots: { from: slot, to: slot },
      dutyType,
      ...(values.node !== undefined && { node: values.node }),
      ...(network !== undefined && { network }),
    });
    const networks = [...new Set(events.flatMap((e) => (e.network === undefined ? [] : [e.network])))];
    if (networks.length > 1) {
      throw new EventsUsageError(`slot ${slot} holds duties of ${networks.length} networks (a network reset): ${networks.join(', ')}; choose one with --network ROOT`);
    }
    let explanation: Explanation;
    try {
      explanation = explain(events, { slot, type: dutyType }, {
        ...(validator !== undefined && { validator }),
        ...(values.node !== undefined && { node: values.node }),
        ...(timing !== undefined && { timing }),
        ...(operators !== undefined && { operators }),
      });
    } catch (error) {
      if (error instanceof AmbiguousNodeError) throw new EventsUsageError(`${error.message} with --node NAME`, { cause: error });
      throw error;
    }
    await write(io, format === 'json' ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanation(explanation));
    return 0;
  } finally {
    await source.close();
  }
}

type Options = Parameters<typeof parseArgs>[0] extends infer C ? (C extends { options?: infer O } ? NonNullable<O> : never) : never;

function parse<O extends Options>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new EventsUsageError(error instanceof Error ? error.message : String(error));
  }
}

interface FilterValues {
  readonly slot?: string | undefined;
  readonly epoch?: string | undefined;
  readonly 'slots-per-epoch'?: string | undefined;
  readonly duty?: string | undefined;
  readonly validator?: string | undefined;
  readonly service?: string | undefined;
  readonly node?: string | undefined;
  readonly type?: string | undefined;
  readonly network?: string | undefined;
}

/** The filters of the command line as a query; every mistake is a usage error naming the flag. */
export function queryOf(values: FilterValues): EventQuery {
  if (values.slot !== undefined && values.epoch !== undefined) throw new EventsUsageError('--slot and --epoch exclude each other');
  if (values['slots-per-epoch'] !== undefined && values.epoch === undefined) throw new EventsUsageError('--slots-per-epoch only applies to --epoch');
  const slotsPerEpoch = values['slots-per-epoch'] === undefined ? DEFAULT_SLOTS_PER_EPOCH : integer('slots-per-epoch', values['slots-per-epoch'], 1);
  const slots =
    values.slot !== undefined ? rangeOf('slot', values.slot)
    : values.epoch !== undefined ? slotsOfEpochs(rangeOf('epoch', values.epoch), slotsPerEpoch)
    : undefined;
  const dutyType = values.duty === NO_DUTY ? NO_DUTY : dutyTypeOf(values.duty);
  if (values.service !== undefined && !(SERVICES as readonly string[]).includes(values.service)) {
    throw new EventsUsageError(`--service: one of ${SERVICES.join(', ')}; got ${values.service}`);
  }
  if (values.type !== undefined && !isKnownEventType(values.type)) throw new EventsUsageError(`--type: one of ${EVENT_TYPES.join(', ')}; got ${values.type}`);
  if (values.node === '') throw new EventsUsageError('--node: a node name');
  return {
    ...(slots !== undefined && { slots }),
    ...(dutyType !== undefined && { dutyType }),
    ...(values.validator !== undefined && { validator: pubkeyOf(values.validator) }),
    ...(values.service !== undefined && { service: values.service as ServiceName }),
    ...(values.node !== undefined && { node: values.node }),
    ...(values.type !== undefined && isKnownEventType(values.type) && { eventType: values.type }),
    ...(values.network !== undefined && { network: networkOf(values.network) }),
  };
}

/** `A` or `A..B`, inclusive, A <= B. */
export function rangeOf(flag: string, raw: string): SlotRange {
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(raw.trim());
  if (!match) throw new EventsUsageError(`--${flag}: expected N or A..B (non-negative integers), got ${raw}`);
  const from = integer(flag, match[1] as string, 0);
  const to = match[2] === undefined ? from : integer(flag, match[2], 0);
  if (to < from) throw new EventsUsageError(`--${flag}: the range ${raw} ends before it starts`);
  return { from, to };
}

function integer(flag: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min) throw new EventsUsageError(`--${flag}: expected an integer >= ${min}, got ${raw}`);
  return value;
}

function dutyTypeOf(raw: string | undefined): DutyType | undefined {
  if (raw === undefined) return undefined;
  if (!isDutyType(raw)) throw new EventsUsageError(`--duty: one of ${DUTY_TYPES.join(', ')}; got ${raw}`);
  return raw;
}

function pubkeyOf(raw: string): Hex {
  const pubkey = raw.toLowerCase();
  if (!isHex(pubkey, 48)) throw new EventsUsageError(`--validator: expected a 0x-prefixed 48-byte group pubkey, got ${raw}`);
  return pubkey;
}

/** `--network ROOT`: a genesis validators root, lower-cased; anything else is a usage error naming the flag. */
export function networkOf(raw: string): Hex {
  const root = raw.toLowerCase();
  if (!isHex(root, 32)) throw new EventsUsageError(`--network: expected a 0x-prefixed 32-byte genesis validators root, got ${raw}`);
  return root;
}

async function openSource(values: { readonly nats?: string | undefined; readonly file?: string | undefined }): Promise<EventSource> {
  if (values.nats !== undefined && values.file !== undefined) throw new EventsUsageError('--nats and --file exclude each other');
  if (values.file !== undefined) return fileEventSource(values.file);
  return connectEventSource(values.nats ?? DEFAULT_NATS);
}

/** Writes, waiting for a full pipe to drain, so a long listing never piles up in memory. */
async function write(io: EventsIo, text: string): Promise<void> {
  const out = io.stdout as { write(text: string): unknown; once?: (event: 'drain', listener: () => void) => unknown };
  if (out.write(text) === false && typeof out.once === 'function') await new Promise<void>((resolve) => out.once?.('drain', resolve));
}

async function withStopSignal(io: EventsIo, run: (signal: AbortSignal) => Promise<void>): Promise<void> {
  if (io.signal) return run(io.signal);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await run(stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

