import { parseArgs } from 'node:util';
import { DEFAULT_SLOTS_PER_EPOCH, connectEventSource, fileEventSource, slotsOfEpochs, type EventSource, type SlotRange } from '#lib/audit';
import { UsageError, processIo, type CommandIo } from '../command.js';
import { AmbiguousReplayNetworkError, AmbiguousReplayNodeError, replay, type Divergence, type ReplayProgress, type ReplayReport } from '../replay/index.js';
import { networkOf, rangeOf } from './events.js';

/**
 * `cohort replay`: re-runs one node's recorded inputs of a slot or epoch range through the same
 * deciders (slashing guard, aggregation) and compares the result with what it recorded. The
 * engine, and what is and is not replayable from one node's log, is in ../replay.
 */

/** A node's own NATS server (the node config's default `nats.url`). */
const DEFAULT_NATS = 'nats://127.0.0.1:4222';

export const replayUsage = `Usage:
  cohort replay [--nats URL | --file FILE] (--slot A[..B] | --epoch A[..B]) [--slots-per-epoch N]
                [--node NAME] [--network ROOT]
      Re-runs the node's recorded inputs of the range through the same deciders — slashing guard
      (decided values against the history rebuilt from the log) and aggregation (own and peers'
      share signatures, threshold, recombined signatures, deadline failures) — and compares what
      they produce with the events the node recorded. Consensus is not replayed: peers' QBFT
      messages are not recorded; its decisions are inputs. Exits 0 with no divergence, 1 on the
      first divergence (printed with both values), 2 on a bad command line.
      --nats URL            the node's NATS server (default ${DEFAULT_NATS})
      --file FILE           an exported file instead (NDJSON, gzip or plain): no NATS needed
      --slot A[..B]         one slot, or an inclusive range
      --epoch A[..B]        one epoch, or an inclusive range (with --slots-per-epoch)
      --slots-per-epoch N   ${DEFAULT_SLOTS_PER_EPOCH} (mainnet; the minimal preset and the simnet use 8)
      --node NAME           whose log, when the source holds several nodes' events
      --network ROOT        which network's duties (genesis validators root), when the range
                            holds two networks' (after a network reset)
`;

export interface ReplayIo extends CommandIo {
  /** Whether stderr is a terminal (a redrawn progress bar) or not (a line every 10%); default: process.stderr.isTTY. */
  readonly stderrIsTty?: boolean;
}

/** `cohort replay …` (args after `replay`). Returns the exit code: 0 no divergence, 1 a divergence. */
export async function replayCommand(args: readonly string[], io: ReplayIo = processIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        nats: { type: 'string' },
        file: { type: 'string' },
        slot: { type: 'string' },
        epoch: { type: 'string' },
        'slots-per-epoch': { type: 'string' },
        node: { type: 'string' },
        network: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const slots = rangeFlags(values);
  if (values.node === '') throw new UsageError('--node: a node name');
  const network = values.network === undefined ? undefined : networkOf(values.network);
  if (values.nats !== undefined && values.file !== undefined) throw new UsageError('--nats and --file exclude each other');
  const source: EventSource = values.file !== undefined ? fileEventSource(values.file) : await connectEventSource(values.nats ?? DEFAULT_NATS);
  const progress = progressReporter(io, io.stderrIsTty ?? (process.stderr.isTTY === true));
  let report: ReplayReport;
  try {
    report = await replay(source, { slots, ...(values.node !== undefined && { node: values.node }), ...(network !== undefined && { network }), onProgress: progress.update });
  } catch (error) {
    if (error instanceof AmbiguousReplayNodeError) throw new UsageError(`${error.message} with --node NAME`, { cause: error });
    if (error instanceof AmbiguousReplayNetworkError) throw new UsageError(`${error.message} with --network ROOT`, { cause: error });
    throw error;
  } finally {
    progress.done();
    await source.close();
  }
  io.stdout.write(formatReplayReport(report, source.label));
  return report.divergences === 0 ? 0 : 1;
}

function rangeFlags(values: { slot?: string | undefined; epoch?: string | undefined; 'slots-per-epoch'?: string | undefined }): SlotRange {
  if (values.slot !== undefined && values.epoch !== undefined) throw new UsageError('--slot and --epoch exclude each other');
  if (values.slot === undefined && values.epoch === undefined) throw new UsageError('replay: --slot A[..B] or --epoch A[..B] is required');
  if (values['slots-per-epoch'] !== undefined && values.epoch === undefined) throw new UsageError('--slots-per-epoch only applies to --epoch');
  if (values.slot !== undefined) return rangeOf('slot', values.slot);
  const raw = values['slots-per-epoch'] ?? String(DEFAULT_SLOTS_PER_EPOCH);
  const slotsPerEpoch = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(slotsPerEpoch) || slotsPerEpoch < 1) throw new UsageError(`--slots-per-epoch: expected an integer >= 1, got ${raw}`);
  return slotsOfEpochs(rangeOf('epoch', values.epoch as string), slotsPerEpoch);
}

/** A redrawn bar on a terminal; otherwise a line at every 10% of the range (logs stay readable). */
export function progressReporter(io: CommandIo, tty: boolean): { update: (p: ReplayProgress) => void; done: () => void } {
  let lastDecile = -1;
  let drawn = false;
  return {
    update({ slot, slots, dutiesReplayed, done }) {
      const total = slots.to - slots.from + 1;
      // a slot's duty is replayed once later slots are read: 100% only when the engine says done
      const fraction = done ? 1 : Math.min(0.99, Math.max(0, (slot - slots.from) / total));
      if (tty) {
        const width = 30;
        const filled = Math.round(fraction * width);
        io.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.floor(fraction * 100)}% slot ${slot} · ${dutiesReplayed} duties`);
        drawn = true;
        return;
      }
      const decile = Math.floor(fraction * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        io.stderr.write(`replay: ${decile * 10}% (slot ${slot}, ${dutiesReplayed} duties)\n`);
      }
    },
    done() {
      if (drawn) io.stderr.write('\n');
    },
  };
}

export function formatReplayReport(report: ReplayReport, label: string): string {
  const lines = [
    `replayed ${report.node ?? '(no events)'} from ${label}, slots ${report.slots.from}..${report.slots.to}: ` +
      `${report.duties} duties, ${report.eventsCompared} recorded events compared (${report.factsCompared} per-validator facts), ` +
      `${report.eventsRead} events read, ${report.historyEvents} read before the range for the slashing history`,
    'stages replayed: slashing-guard, aggregator; consensus not replayable from one node\'s log (peers\' QBFT messages are not recorded)',
  ];
  if (report.skippedAggregations > 0) lines.push(`${report.skippedAggregations} duty(ies) skipped by the aggregator (started after the slot began): not compared`);
  if (report.firstDivergence === undefined) lines.push('no divergence');
  else lines.push(`${report.divergences} divergence(s); the first:`, ...formatDivergence(report.firstDivergence));
  return `${lines.join('\n')}\n`;
}

export function formatDivergence(d: Divergence): string[] {
  const who = [d.pubkey !== undefined && `validator ${d.pubkey}`, d.shareIndex !== undefined && `share ${d.shareIndex}`].filter(Boolean).join(', ');
  return [
    `  slot ${d.duty.slot} ${d.duty.type}, stage ${d.stage}, event ${d.eventType}${who ? `, ${who}` : ''}`,
    `  recorded: ${d.recorded ?? '(nothing)'}${d.recordedEventId !== undefined ? `  [${d.recordedEventId}]` : ''}`,
    `  replayed: ${d.replayed ?? '(nothing)'}`,
  ];
}
