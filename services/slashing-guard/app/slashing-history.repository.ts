import { createHash } from 'node:crypto';
import { Subjects, type Hex } from '#lib/contracts';
import { ConcurrencyConflictError, type EventStore } from '#lib/event-store';
import { emptySlashingState, evolve, type AttestationAttempt, type SlashingState } from '../domain/slashing.decider.js';

/** What one shard append stores: the attestations recorded for validators of that shard. */
export interface ShardEntry {
  readonly kind: 'AttestationsRecorded';
  readonly version: 1;
  readonly records: readonly AttestationAttempt[];
}

/** Validators partitioned into a fixed number of shards, one subject each (DESIGN.md "Scale"). */
export const SHARDS = 16;
export const shardOf = (pubkey: Hex): number => (createHash('sha256').update(pubkey).digest()[0] ?? 0) % SHARDS;

/**
 * The slashing history of one network (genesis validators root): a fold of its shard
 * subjects. Appends carry the last sequence this instance has seen on the shard, so a second
 * writer (or a stale view) is refused by JetStream instead of recording a conflicting value.
 */
export class SlashingHistory {
  private state: SlashingState = emptySlashingState;
  private readonly lastSeq = new Map<number, number>();

  private constructor(
    private readonly store: EventStore,
    readonly genesisValidatorsRoot: Hex,
  ) {}

  static async load(store: EventStore, genesisValidatorsRoot: Hex): Promise<SlashingHistory> {
    const history = new SlashingHistory(store, genesisValidatorsRoot);
    for (let shard = 0; shard < SHARDS; shard++) await history.refreshShard(shard);
    return history;
  }

  get current(): SlashingState {
    return this.state;
  }

  /** Re-reads one shard from where this view stopped (after a conflict, another writer appended). */
  async refreshShard(shard: number): Promise<void> {
    const subject = Subjects.slashingShard(this.genesisValidatorsRoot, shard);
    const from = (this.lastSeq.get(shard) ?? 0) + 1;
    for await (const stored of this.store.read<ShardEntry>(subject, { fromSeq: from })) {
      this.state = evolve(this.state, { kind: 'AttestationsRecorded', records: stored.data.records });
      this.lastSeq.set(shard, stored.seq);
    }
  }

  /**
   * Appends records shard by shard with an expected last sequence. Returns the shards that
   * conflicted (nothing of theirs was written); the caller re-reads them and decides again.
   */
  async append(records: readonly AttestationAttempt[], msgIdPrefix: string): Promise<{ conflicted: number[] }> {
    const byShard = new Map<number, AttestationAttempt[]>();
    for (const record of records) byShard.set(shardOf(record.pubkey), [...(byShard.get(shardOf(record.pubkey)) ?? []), record]);
    const conflicted: number[] = [];
    for (const [shard, shardRecords] of byShard) {
      const entry: ShardEntry = { kind: 'AttestationsRecorded', version: 1, records: shardRecords };
      try {
        const { seq } = await this.store.append(Subjects.slashingShard(this.genesisValidatorsRoot, shard), entry, {
          msgId: `${msgIdPrefix}:${shard}`,
          expectedLastSubjectSeq: this.lastSeq.get(shard) ?? 0,
        });
        this.lastSeq.set(shard, seq);
        this.state = evolve(this.state, { kind: 'AttestationsRecorded', records: shardRecords });
      } catch (error) {
        if (!(error instanceof ConcurrencyConflictError)) throw error;
        conflicted.push(shard);
      }
    }
    return { conflicted };
  }
}
