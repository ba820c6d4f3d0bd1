import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isHex, type Hex } from '#lib/contracts';
import { connectJetStreamEventStore, type EventStore } from '#lib/event-store';
import { ensureSlashingStream, parseInterchange, SlashingHistories, type ImportProgress } from '#service/slashing-guard';
import { UsageError, processIo, type CommandIo } from '../command.js';

export const slashingUsage = `cohort slashing — the slashing-protection history (EIP-3076 interchange, format 5)

Usage:
  cohort slashing import FILE [--nats URL] [--genesis-validators-root HEX]
      Checks FILE completely, then merges it into the history of the network named in its
      metadata. A file with any error changes nothing. --genesis-validators-root, if given,
      must match the file's.
  cohort slashing export [--genesis-validators-root HEX] [--validator PUBKEY ...] [--out FILE] [--nats URL]
      Writes the history of one network as an interchange file (stdout without --out);
      --validator (repeatable) limits it to those validators. Without
      --genesis-validators-root, lists the roots that have a history.

  --nats URL   the node's NATS server (default nats://127.0.0.1:4222)
`;

const DEFAULT_NATS = 'nats://127.0.0.1:4222';
/** A progress line at most this often during a long import. */
const PROGRESS_EVERY_MS = 1_000;


/**
 * `cohort slashing import|export`. Returns the exit code; throws an Error with a message for
 * the user on a usage error, an unreadable or invalid file, or an unreachable NATS server.
 */
export async function slashingCommand(args: readonly string[], io: CommandIo = processIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'import':
      return importCommand(rest, io);
    case 'export':
      return exportCommand(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(slashingUsage);
      return 0;
    default:
      throw new UsageError(`slashing: unknown subcommand ${sub}\n\n${slashingUsage}`);
  }
}

const COMMON_OPTIONS = { nats: { type: 'string' }, 'genesis-validators-root': { type: 'string' } } as const;
const EXPORT_OPTIONS = { ...COMMON_OPTIONS, validator: { type: 'string', multiple: true }, out: { type: 'string' } } as const;

/** node:util parseArgs, with its errors turned into usage errors. */
function parse<T>(parseWith: () => T): T {
  try {
    return parseWith();
  } catch (error) {
    throw new UsageError(`slashing: ${(error as Error).message}\n\n${slashingUsage}`);
  }
}

function rootOption(raw: string | undefined): Hex | undefined {
  if (raw === undefined) return undefined;
  const lower = String(raw).toLowerCase();
  if (!isHex(lower, 32)) throw new UsageError(`slashing: --genesis-validators-root: expected 0x-prefixed hex of 32 bytes, got ${String(raw)}`);
  return lower;
}

async function withStore<T>(url: string, work: (store: EventStore) => Promise<T>): Promise<T> {
  const store = await connectJetStreamEventStore({ servers: url, name: 'cohort-slashing-cli' }).catch((error: unknown) => {
    throw new Error(`slashing: cannot reach NATS at ${url}: ${(error as Error).message}`);
  });
  try {
    await ensureSlashingStream(store);
    return await work(store);
  } finally {
    await store.close();
  }
}

async function importCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(() => parseArgs({ args: [...args], allowPositionals: true, options: COMMON_OPTIONS }));
  if (positionals.length !== 1) throw new UsageError(`slashing import: expected one FILE, got ${positionals.length}\n\n${slashingUsage}`);
  const file = positionals[0] as string;
  const wanted = rootOption(values['genesis-validators-root']);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`slashing import: cannot read ${file}: ${(error as Error).message}`);
  }
  // everything is checked before anything is written
  const records = parseInterchange(text, file);
  if (wanted !== undefined && wanted !== records.genesisValidatorsRoot) {
    throw new Error(`slashing import: ${file} is for genesis validators root ${records.genesisValidatorsRoot}, not ${wanted}; nothing imported`);
  }
  const validators = new Set([...records.attestations, ...records.blocks].map((r) => r.pubkey)).size;
  io.stderr.write(
    `importing ${file}: ${records.attestations.length} attestations, ${records.blocks.length} blocks, ${validators} validators, genesis validators root ${records.genesisValidatorsRoot}\n`,
  );
  return withStore(values.nats ?? DEFAULT_NATS, async (store) => {
    const history = await new SlashingHistories(store).forRoot(records.genesisValidatorsRoot);
    let lastLine = performance.now();
    const progress = (p: ImportProgress): void => {
      const now = performance.now();
      if (now - lastLine < PROGRESS_EVERY_MS && p.entriesWritten < p.entriesTotal) return;
      lastLine = now;
      io.stderr.write(`  ${p.entriesWritten}/${p.entriesTotal} entries written (${Math.round((100 * p.entriesWritten) / p.entriesTotal)}%)\n`);
    };
    const outcome = await history.importInterchange(records, progress);
    if (!outcome.ok) {
      io.stderr.write(`slashing import: the history kept changing under the import (another writer); run it again — records already written are skipped\n`);
      return 1;
    }
    const added = outcome.events.flatMap((e) => (e.kind === 'HistoryImported' ? [e] : []));
    const newAttestations = added.reduce((n, e) => n + e.attestations.length, 0);
    const newBlocks = added.reduce((n, e) => n + e.blocks.length, 0);
    io.stderr.write(
      `imported: ${newAttestations} attestations and ${newBlocks} blocks added; ${records.attestations.length - newAttestations + records.blocks.length - newBlocks} were already in the history\n`,
    );
    return 0;
  });
}

async function exportCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(() => parseArgs({ args: [...args], allowPositionals: true, options: EXPORT_OPTIONS }));
  if (positionals.length > 0) throw new UsageError(`slashing export: unexpected argument ${positionals[0]}\n\n${slashingUsage}`);
  const validators = (values.validator ?? []).map((raw) => {
    const lower = raw.toLowerCase();
    if (!isHex(lower, 48)) throw new UsageError(`slashing export: --validator: expected a 0x-prefixed 48-byte pubkey, got ${raw}`);
    return lower;
  });
  const wanted = rootOption(values['genesis-validators-root']);
  const url = values.nats ?? DEFAULT_NATS;
  return withStore(url, async (store) => {
    const histories = new SlashingHistories(store);
    if (wanted === undefined) {
      const roots = await histories.roots();
      throw new Error(
        roots.length === 0
          ? `slashing export: no slashing history on ${url}`
          : `slashing export: --genesis-validators-root is required; roots with a history on ${url}:\n  ${roots.join('\n  ')}`,
      );
    }
    const doc = await (await histories.forRoot(wanted)).exportInterchange(validators.length > 0 ? validators : undefined);
    const text = `${JSON.stringify(doc, null, 2)}\n`;
    if (values.out === undefined) io.stdout.write(text);
    else {
      writeFileSync(values.out, text);
      io.stderr.write(`exported ${doc.data.length} validators to ${values.out}\n`);
    }
    return 0;
  });
}
