import { createHash, randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Streams, Subjects, isHex, type Hex } from '#lib/contracts';
import { ConcurrencyConflictError, type EventStore, type SnapshotStore, type StoredEvent } from '#lib/event-store';
import type { Logger } from '#lib/observability';
import { toInterchange, type Interchange, type InterchangeRecords } from '../domain/interchange.js';
import {
  decide,
  emptySlashingState,
  evolveAll,
  type AttestationAttempt,
  type AttestationRecord,
  type BlockAttempt,
  type BlockRecord,
  type SlashingCommand,
  type SlashingEvent,
  type SlashingState,
} from '../domain/slashing.decider.js';
import { decodeShardSnapshot, encodeShardSnapshotInSlices, shardSnapshotName, type ShardSnapshot } from './slashing-snapshot.js';

/**
 * What one shard append stored, version 1 (walking skeleton): attestations signed by the
 * guard. Released: never changes; read through `upcastShardEntry`.
 */
export interface ShardEntryV1 {
  readonly kind: 'AttestationsRecorded';
  readonly version: 1;
  readonly records: readonly AttestationAttempt[];
}

/**
 * Version 2: attestations and blocks, grouped by validator, signed by this guard or imported
 * from an interchange file (then a signing root may be missing). Carries the full genesis
 * validators root: subjects hold only its first 8 bytes.
 */
export interface ShardEntryV2 {
  readonly kind: 'HistoryAppended';
  readonly version: 2;
  readonly genesisValidatorsRoot: Hex;
  readonly origin: 'signed' | 'imported';
  readonly validators: readonly {
    readonly pubkey: Hex;
    readonly attestations?: readonly AttestationRecord[];
    readonly blocks?: readonly BlockRecord[];
  }[];
}

export type ShardEntry = ShardEntryV1 | ShardEntryV2;

/** A stored entry this code cannot read: stop rather than guard with a partial history. */
export class UnreadableShardEntryError extends Error {
  constructor(subject: string, seq: number, detail: string) {
    super(`slashing history entry ${subject} seq ${seq} cannot be read: ${detail}`);
    this.name = 'UnreadableShardEntryError';
  }
}

/** The domain facts one stored entry stands for (v1 is upcast on the way). */
export function shardEntryEvents(entry: unknown, where: { subject: string; seq: number; genesisValidatorsRoot: Hex }): SlashingEvent[] {
  const e = entry as { kind?: unknown; version?: unknown } | null;
  if (e?.kind === 'AttestationsRecorded' && e.version === 1) {
    return [{ kind: 'AttestationsRecorded', records: (e as ShardEntryV1).records }];
  }
  if (e?.kind === 'HistoryAppended' && e.version === 2) {
    const v2 = e as ShardEntryV2;
    if (v2.genesisValidatorsRoot !== where.genesisValidatorsRoot) {
      throw new UnreadableShardEntryError(where.subject, where.seq, `it belongs to genesis validators root ${String(v2.genesisValidatorsRoot)}`);
    }
    const attestations = v2.validators.flatMap((v) => (v.attestations ?? []).map((a) => ({ ...a, pubkey: v.pubkey })));
    const blocks = v2.validators.flatMap((v) => (v.blocks ?? []).map((b) => ({ ...b, pubkey: v.pubkey })));
    if (v2.origin === 'imported') return [{ kind: 'HistoryImported', attestations, blocks }];
    if (v2.origin === 'signed') {
      if ([...attestations, ...blocks].some((r) => !isHex(r.signingRoot, 32))) {
        throw new UnreadableShardEntryError(where.subject, where.seq, 'a signed record has no signing root');
      }
      return [
        { kind: 'AttestationsRecorded', records: attestations as AttestationAttempt[] },
        { kind: 'BlocksRecorded', records: blocks as BlockAttempt[] },
      ];
    }
  }
  throw new UnreadableShardEntryError(where.subject, where.seq, `unknown kind/version ${String(e?.kind)}/${String(e?.version)}`);
}

/** Validators partitioned into a fixed number of shards, one subject each (DESIGN.md "Scale"). */
export const SHARDS = 16;
export const shardOf = (pubkey: Hex): number => (createHash('sha256').update(pubkey).digest()[0] ?? 0) % SHARDS;
/**
 * Records per stored entry (~100 bytes each): every message stays well under NATS's 1 MB
 * payload limit, and a read's 256 messages in flight (~13 MB) under the server's pending limit.
 */
export const MAX_RECORDS_PER_ENTRY = 500;
/** How often a record or import re-reads and re-decides after another writer moved the history. */
export const MAX_ATTEMPTS = 5;
/**
 * Shard entries between two snapshots of a shard. A restart then folds at most this many
 * entries per shard after the snapshots (16 × 1,000 at ~16,000 entries/s: about a second);
 * with 1,000 validators a shard takes ~32 entries an epoch, so each shard is written about
 * every 30 epochs (~3 h), a few hundred KB each time.
 */
export const SNAPSHOT_EVERY = 1000;
/** After a failed snapshot write, the next try waits for this many more entries of the shard. */
const SNAPSHOT_RETRY_ENTRIES = 100;
/** Object-store bucket of the shard snapshots. */
export const SLASHING_SNAPSHOT_BUCKET = 'cohort-slashing-snapshots';

export interface SlashingHistoryOptions {
  /** Where shard snapshots are kept; without one, a load folds every shard entry (the CLI does). */
  readonly snapshots?: SnapshotStore;
  /** Where an unusable snapshot, or a failed snapshot write, is reported; stderr by default. */
  readonly log?: Pick<Logger, 'warn'>;
  /** Shard entries between two snapshots of a shard; SNAPSHOT_EVERY by default. */
  readonly snapshotEvery?: number;
}

const stderrLog: Pick<Logger, 'warn'> = {
  warn: (message, fields) => process.stderr.write(`[slashing-guard] ${message} ${JSON.stringify(fields ?? {})}\n`),
};

/** Creates (or updates) the stream holding every network's slashing history. */
export async function ensureSlashingStream(store: EventStore): Promise<void> {
  await store.ensureStream({ name: Streams.slashing.name, subjects: Streams.slashing.subjects });
}

export type RecordCommand = Extract<SlashingCommand, { kind: 'RecordAttestations' | 'RecordBlocks' | 'ImportHistory' }>;

export type RecordOutcome =
  /** Durable: every record the events carry is on the stream; `conflicts` = re-decisions after another writer moved it. */
  | { readonly ok: true; readonly events: readonly SlashingEvent[]; readonly conflicts: number }
  /** The history kept moving under us (another writer): nothing of the last attempt may be served. */
  | { readonly ok: false; readonly reason: 'history_conflict' };

export interface ImportProgress {
  readonly entriesWritten: number;
  readonly entriesTotal: number;
}

/**
 * The slashing history of one network (genesis validators root): a fold of its shard
 * subjects, started from the shards' snapshots when there are usable ones. Every change goes
 * read → decide → append with the last sequence this view has seen on the shard, so a second
 * writer (or a stale view) is refused by JetStream instead of recording a conflicting value;
 * the loser re-reads and decides again. Snapshots are written in the background, never on the
 * way to an answer.
 */
export class SlashingHistory {
  private state: SlashingState = emptySlashingState;
  /** Per shard: stream sequence and msgId of the last entry folded (the expectation of the next append). */
  private readonly lastSeq = new Map<number, number>();
  private readonly lastMsgId = new Map<number, string>();
  /** Per shard: every entry up to this stream sequence is folded (beyond lastSeq when the shard had none since). */
  private readonly completeTo = new Map<number, number>();
  private registered = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** Per shard: entries folded since the last snapshot, and the count at which the next write is due after a failure. */
  private readonly sinceSnapshot: number[] = new Array<number>(SHARDS).fill(0);
  private readonly retrySnapshotAt: number[] = new Array<number>(SHARDS).fill(0);
  private readonly writing = new Map<number, Promise<void>>();
  private readonly shardByPubkey = new Map<Hex, number>();
  private readonly log: Pick<Logger, 'warn'>;

  private constructor(
    private readonly store: EventStore,
    readonly genesisValidatorsRoot: Hex,
    private readonly options: SlashingHistoryOptions,
  ) {
    this.log = options.log ?? stderrLog;
  }

  static async load(store: EventStore, genesisValidatorsRoot: Hex, options: SlashingHistoryOptions = {}): Promise<SlashingHistory> {
    const history = new SlashingHistory(store, genesisValidatorsRoot, options);
    history.registered = (await listRoots(store)).includes(genesisValidatorsRoot);
    if (options.snapshots) await history.restore(options.snapshots);
    await history.refresh();
    history.snapshotIfDue();
    return history;
  }

  get current(): SlashingState {
    return this.state;
  }

  /** Last stream sequence this view has folded, per shard (0 = none). */
  lastSequences(): number[] {
    return Array.from({ length: SHARDS }, (_, shard) => this.lastSeq.get(shard) ?? 0);
  }

  /** Re-reads one shard from where this view stopped (after a conflict, another writer appended). */
  async refreshShard(shard: number): Promise<void> {
    await this.fold(Subjects.slashingShard(this.genesisValidatorsRoot, shard), this.foldedTo(shard) + 1, [shard]);
  }

  /**
   * Re-reads every shard from where this view stopped, in one ordered read over the shards'
   * wildcard: one consumer instead of sixteen (a rebuild is bound by the read), starting where
   * the least advanced shard stopped; what a shard already holds is skipped. Shards hold
   * disjoint validators, so folding them interleaved gives the same state as one by one.
   */
  async refresh(): Promise<void> {
    const shards = Array.from({ length: SHARDS }, (_, shard) => shard);
    await this.fold(Subjects.slashingShards(this.genesisValidatorsRoot), Math.min(...shards.map((s) => this.foldedTo(s))) + 1, shards);
  }

  /** Every entry of the shard up to this stream sequence is in the view. */
  private foldedTo(shard: number): number {
    return Math.max(this.lastSeq.get(shard) ?? 0, this.completeTo.get(shard) ?? 0);
  }

  /** Folds what the filter holds from `fromSeq` on; afterwards `shards` (those the filter covers) are complete up to the last entry read. */
  private async fold(filter: string, fromSeq: number, shards: readonly number[]): Promise<void> {
    let batch: SlashingEvent[] = [];
    let lastRead = 0;
    for await (const stored of this.store.read(filter, { fromSeq })) {
      lastRead = stored.seq;
      const shard = Number(stored.subject.slice(stored.subject.lastIndexOf('.') + 1));
      if (!Number.isInteger(shard) || shard < 0 || shard >= SHARDS || stored.seq <= this.foldedTo(shard)) continue;
      batch.push(...shardEntryEvents(stored.data, { subject: stored.subject, seq: stored.seq, genesisValidatorsRoot: this.genesisValidatorsRoot }));
      this.lastSeq.set(shard, stored.seq);
      this.lastMsgId.set(shard, stored.msgId);
      this.sinceSnapshot[shard] = (this.sinceSnapshot[shard] ?? 0) + 1;
      if (batch.length >= 256) {
        this.state = evolveAll(this.state, batch);
        batch = [];
      }
    }
    this.state = evolveAll(this.state, batch);
    for (const shard of shards) this.completeTo.set(shard, Math.max(this.completeTo.get(shard) ?? 0, lastRead));
  }

  /**
   * Starts the view from the shards' snapshots. A shard whose snapshot is missing or unusable
   * is folded from the stream: alone (its own subject) when others have a snapshot, else by the
   * one wildcard read of `refresh`. The stream decides what a snapshot may claim: its covered
   * entry must still be on the shard's subject, with the same sequence and msgId.
   */
  private async restore(snapshots: SnapshotStore): Promise<void> {
    const shards = Array.from({ length: SHARDS }, (_, shard) => shard);
    const lastOf = (shard: number): Promise<number> => this.store.lastSubjectSeq(Subjects.slashingShard(this.genesisValidatorsRoot, shard));
    const lastOnStream = await Promise.all(shards.map(lastOf));
    // A shard still empty at a second look, after every first look answered, holds nothing up to
    // `newest`: all of that was appended before the second look began.
    const newest = Math.max(0, ...lastOnStream);
    const empty = await Promise.all(shards.map(async (shard) => lastOnStream[shard] === 0 && (await lastOf(shard)) === 0));
    const restored = await Promise.all(shards.map((shard) => this.usableSnapshot(snapshots, shard, lastOnStream[shard] ?? 0)));
    const validators = new Map(this.state.validators);
    const unfolded: number[] = [];
    for (const shard of shards) {
      const snapshot = restored[shard];
      if (snapshot !== undefined) {
        for (const [pubkey, history] of snapshot.validators) validators.set(pubkey, history);
        this.lastSeq.set(shard, snapshot.coveredSeq);
        this.lastMsgId.set(shard, snapshot.coveredMsgId);
      } else if (empty[shard]) {
        this.completeTo.set(shard, newest);
      } else {
        unfolded.push(shard);
      }
    }
    this.state = { validators };
    if (unfolded.length < empty.filter((e) => !e).length) for (const shard of unfolded) await this.refreshShard(shard);
  }

  /** The shard's stored snapshot if it can stand for the stream's entries up to its covered sequence; a warning otherwise. */
  private async usableSnapshot(snapshots: SnapshotStore, shard: number, lastOnStream: number): Promise<ShardSnapshot | undefined> {
    const ignored = (problem: string): undefined => {
      this.log.warn('slashing snapshot ignored; the shard is folded from the stream', { genesisValidatorsRoot: this.genesisValidatorsRoot, shard, problem });
      return undefined;
    };
    let bytes: Uint8Array | undefined;
    try {
      bytes = await snapshots.load(shardSnapshotName(this.genesisValidatorsRoot, shard));
    } catch (error) {
      return ignored(`not readable: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (bytes === undefined) return undefined;
    const decoded = decodeShardSnapshot(bytes, { genesisValidatorsRoot: this.genesisValidatorsRoot, shard });
    if (!decoded.ok) return ignored(decoded.problem);
    const { snapshot } = decoded;
    if (snapshot.coveredSeq > lastOnStream) return ignored(`it covers stream sequence ${snapshot.coveredSeq}, the shard ends at ${lastOnStream} (stream recreated?)`);
    if (snapshot.validators.some(([pubkey]) => this.shardOf(pubkey) !== shard)) return ignored('it holds validators of another shard');
    // a recreated stream may have reached that sequence again, with other entries
    const subject = Subjects.slashingShard(this.genesisValidatorsRoot, shard);
    let covered: StoredEvent | undefined;
    for await (const stored of this.store.read(subject, { fromSeq: snapshot.coveredSeq, toSeq: snapshot.coveredSeq })) covered = stored;
    if (covered?.seq !== snapshot.coveredSeq || covered.msgId !== snapshot.coveredMsgId) return ignored(`the entry it covers (sequence ${snapshot.coveredSeq}) is not on the stream`);
    return snapshot;
  }

  private shardOf(pubkey: Hex): number {
    let shard = this.shardByPubkey.get(pubkey);
    if (shard === undefined) {
      shard = shardOf(pubkey);
      this.shardByPubkey.set(pubkey, shard);
    }
    return shard;
  }

  /**
   * Starts a background snapshot of every shard that took SNAPSHOT_EVERY entries since its
   * last one (one write per shard at a time). Called where the view is consistent: after a
   * load, and at the end of each serialised change or re-read.
   */
  private snapshotIfDue(): void {
    if (this.options.snapshots === undefined) return;
    const every = this.options.snapshotEvery ?? SNAPSHOT_EVERY;
    for (let shard = 0; shard < SHARDS; shard++) {
      const since = this.sinceSnapshot[shard] ?? 0;
      if (since >= Math.max(every, this.retrySnapshotAt[shard] ?? 0)) this.startSnapshot(shard);
    }
  }

  private startSnapshot(shard: number): Promise<void> {
    const snapshots = this.options.snapshots;
    const running = this.writing.get(shard);
    if (snapshots === undefined || running !== undefined || (this.lastSeq.get(shard) ?? 0) === 0) return running ?? Promise.resolve();
    // taken now, in one piece: the histories are immutable, and the sequence is the one they reach
    const snapshot: ShardSnapshot = {
      genesisValidatorsRoot: this.genesisValidatorsRoot,
      shard,
      coveredSeq: this.lastSeq.get(shard) ?? 0,
      coveredMsgId: this.lastMsgId.get(shard) ?? '',
      validators: [...this.state.validators].filter(([pubkey]) => this.shardOf(pubkey) === shard),
    };
    const counted = this.sinceSnapshot[shard] ?? 0;
    const write = (async () => {
      try {
        // the change that triggered it answers first; the encoding leaves the event loop between slices
        const bytes = await encodeShardSnapshotInSlices(snapshot, nextTurn);
        await snapshots.save(shardSnapshotName(this.genesisValidatorsRoot, shard), bytes);
        this.sinceSnapshot[shard] = (this.sinceSnapshot[shard] ?? 0) - counted;
        this.retrySnapshotAt[shard] = 0;
      } catch (error) {
        // the stream has everything: only the next restart is slower
        this.retrySnapshotAt[shard] = (this.sinceSnapshot[shard] ?? 0) + SNAPSHOT_RETRY_ENTRIES;
        this.log.warn('slashing snapshot not written; retried later', {
          genesisValidatorsRoot: this.genesisValidatorsRoot,
          shard,
          error: error instanceof Error ? error.message : String(error),
        });
      } finally {
        this.writing.delete(shard);
      }
    })();
    this.writing.set(shard, write);
    return write;
  }

  /** Writes a snapshot of every shard that moved since its last one, and waits for it (a clean shutdown). */
  snapshotNow(): Promise<void> {
    return this.serialised(async () => {
      await this.snapshotsWritten();
      await Promise.all(Array.from({ length: SHARDS }, (_, shard) => ((this.sinceSnapshot[shard] ?? 0) > 0 ? this.startSnapshot(shard) : undefined)));
    });
  }

  /** Resolves when no snapshot write is under way (failures are logged, never thrown). */
  async snapshotsWritten(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing.values());
  }

  /**
   * Decides `command` on this view and makes what it records durable; on a conflict re-reads
   * the shards that moved and decides again, up to MAX_ATTEMPTS. Calls on one instance run
   * one at a time.
   */
  record(command: RecordCommand, msgIdPrefix: string, onProgress?: (p: ImportProgress) => void): Promise<RecordOutcome> {
    return this.serialised(async () => {
      try {
        return await this.recordNow(command, msgIdPrefix, onProgress);
      } finally {
        this.snapshotIfDue();
      }
    });
  }

  /** Merges an interchange file's records (all checked before this is called). */
  async importInterchange(records: InterchangeRecords, onProgress?: (p: ImportProgress) => void): Promise<RecordOutcome> {
    if (records.genesisValidatorsRoot !== this.genesisValidatorsRoot) {
      throw new Error(
        `interchange is for genesis validators root ${records.genesisValidatorsRoot}, this history is for ${this.genesisValidatorsRoot}`,
      );
    }
    return this.record({ kind: 'ImportHistory', attestations: records.attestations, blocks: records.blocks }, `import:${randomUUID()}`, onProgress);
  }

  /** Re-reads the stream first, so an export from a long-lived view includes other writers' records. */
  exportInterchange(pubkeys?: readonly Hex[]): Promise<Interchange> {
    return this.serialised(async () => {
      await this.refresh();
      this.snapshotIfDue();
      return toInterchange(this.genesisValidatorsRoot, this.state, pubkeys);
    });
  }

  /** One change (or re-read) of this view at a time. */
  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async recordNow(command: RecordCommand, msgIdPrefix: string, onProgress?: (p: ImportProgress) => void): Promise<RecordOutcome> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const events = decide(command, this.state);
      const { conflicted } = await this.append(events, `${msgIdPrefix}:${attempt}`, onProgress);
      if (conflicted.length === 0) return { ok: true, events, conflicts: attempt };
      // Another writer got there first: re-read what moved, decide again on the fresh history.
      for (const shard of conflicted) await this.refreshShard(shard);
    }
    return { ok: false, reason: 'history_conflict' };
  }

  /**
   * Appends the records the events carry, shard by shard, each entry with an expected last
   * sequence. Returns the shards that conflicted (their remaining entries were not written).
   */
  private async append(events: readonly SlashingEvent[], msgIdPrefix: string, onProgress?: (p: ImportProgress) => void): Promise<{ conflicted: number[] }> {
    const byShard = shardEntries(this.genesisValidatorsRoot, events);
    const entriesTotal = [...byShard.values()].reduce((n, entries) => n + entries.length, 0);
    let entriesWritten = 0;
    const conflicted: number[] = [];
    const written: SlashingEvent[] = [];
    const failures: unknown[] = [];
    // shards are independent subjects: their appends go out together (the write-ahead is on
    // every duty's critical path); a shard's own entries go one after another
    await Promise.all(
      [...byShard].map(async ([shard, entries]) => {
        const subject = Subjects.slashingShard(this.genesisValidatorsRoot, shard);
        for (const [chunk, entry] of entries.entries()) {
          try {
            // deduplication is stream-wide and a reset starts the slots (and the duty ids callers
            // name their entries by) again: the root keeps a new network's entry from being dropped
            // as a duplicate of the old network's
            const msgId = `${msgIdPrefix}@${this.genesisValidatorsRoot}:${shard}:${chunk}`;
            const { seq, duplicate } = await this.store.append(subject, entry, { msgId, expectedLastSubjectSeq: this.lastSeq.get(shard) ?? 0 });
            if (duplicate) {
              // stored before (an earlier try whose answer was lost), maybe not in this view: re-read the shard, decide again
              conflicted.push(shard);
              return;
            }
            this.lastSeq.set(shard, seq);
            this.lastMsgId.set(shard, msgId);
            this.sinceSnapshot[shard] = (this.sinceSnapshot[shard] ?? 0) + 1;
            written.push(...shardEntryEvents(entry, { subject, seq, genesisValidatorsRoot: this.genesisValidatorsRoot }));
            entriesWritten++;
            onProgress?.({ entriesWritten, entriesTotal });
          } catch (error) {
            if (error instanceof ConcurrencyConflictError) conflicted.push(shard);
            else failures.push(error);
            return;
          }
        }
      }),
    );
    // what is durable joins the view with its sequence, even when another shard failed
    this.state = evolveAll(this.state, written);
    if (failures.length > 0) throw failures[0];
    if (entriesWritten > 0 && !this.registered) {
      await this.store.append(Subjects.slashingRoots, { kind: 'RootRegistered', version: 1, genesisValidatorsRoot: this.genesisValidatorsRoot }, { msgId: `root:${this.genesisValidatorsRoot}` });
      this.registered = true;
    }
    return { conflicted };
  }
}

/** The stored entries for what the events record, per shard, at most MAX_RECORDS_PER_ENTRY records each. */
export function shardEntries(genesisValidatorsRoot: Hex, events: readonly SlashingEvent[]): Map<number, ShardEntryV2[]> {
  const out = new Map<number, ShardEntryV2[]>();
  const add = (origin: ShardEntryV2['origin'], attestations: readonly (AttestationRecord & { pubkey: Hex })[], blocks: readonly (BlockRecord & { pubkey: Hex })[]) => {
    const perShard = new Map<number, Map<Hex, { attestations: AttestationRecord[]; blocks: BlockRecord[] }>>();
    const slot = (pubkey: Hex) => {
      const shard = shardOf(pubkey);
      const validators = perShard.get(shard) ?? new Map<Hex, { attestations: AttestationRecord[]; blocks: BlockRecord[] }>();
      perShard.set(shard, validators);
      const v = validators.get(pubkey) ?? { attestations: [], blocks: [] };
      validators.set(pubkey, v);
      return v;
    };
    for (const { pubkey, ...record } of attestations) slot(pubkey).attestations.push(record);
    for (const { pubkey, ...record } of blocks) slot(pubkey).blocks.push(record);
    for (const [shard, validators] of perShard) {
      const entries = out.get(shard) ?? [];
      out.set(shard, entries);
      let current: ShardEntryV2['validators'][number][] = [];
      let size = 0;
      const flush = (): void => {
        if (current.length > 0) entries.push({ kind: 'HistoryAppended', version: 2, genesisValidatorsRoot, origin, validators: current });
        current = [];
        size = 0;
      };
      for (const [pubkey, v] of validators) {
        // a validator with a very long history is split over several entries
        let a = 0;
        let b = 0;
        do {
          const room = MAX_RECORDS_PER_ENTRY - size;
          const atts = v.attestations.slice(a, a + room);
          const blks = v.blocks.slice(b, b + room - atts.length);
          a += atts.length;
          b += blks.length;
          current.push({ pubkey, ...(atts.length > 0 ? { attestations: atts } : {}), ...(blks.length > 0 ? { blocks: blks } : {}) });
          size += atts.length + blks.length;
          if (size >= MAX_RECORDS_PER_ENTRY) flush();
        } while (a < v.attestations.length || b < v.blocks.length);
      }
      flush();
    }
  };
  for (const event of events) {
    switch (event.kind) {
      case 'AttestationsRecorded':
        add('signed', event.records, []);
        break;
      case 'BlocksRecorded':
        add('signed', [], event.records);
        break;
      case 'HistoryImported':
        add('imported', event.attestations, event.blocks);
        break;
      default:
        break;
    }
  }
  return out;
}

async function listRoots(store: EventStore): Promise<Hex[]> {
  const roots = new Set<Hex>();
  for await (const e of store.read<{ genesisValidatorsRoot: Hex }>(Subjects.slashingRoots)) roots.add(e.data.genesisValidatorsRoot);
  return [...roots];
}

/**
 * Every network's slashing history on one store, keyed by genesis validators root. A network
 * reset (Ephemery) asks for a new root and gets a fresh, empty history on new subjects; the old
 * one stays on the stream, loadable and exportable.
 */
export class SlashingHistories {
  private readonly loaded = new Map<Hex, Promise<SlashingHistory>>();

  constructor(
    private readonly store: EventStore,
    private readonly options: SlashingHistoryOptions = {},
  ) {}

  /** The history of one network, loaded from the stream (and its snapshots) once and then kept current by its writes. */
  forRoot(genesisValidatorsRoot: Hex): Promise<SlashingHistory> {
    let history = this.loaded.get(genesisValidatorsRoot);
    if (history === undefined) {
      history = SlashingHistory.load(this.store, genesisValidatorsRoot, this.options);
      this.loaded.set(genesisValidatorsRoot, history);
      history.catch(() => this.loaded.delete(genesisValidatorsRoot));
    }
    return history;
  }

  /** Roots that have any history on the stream. */
  roots(): Promise<Hex[]> {
    return listRoots(this.store);
  }
}
