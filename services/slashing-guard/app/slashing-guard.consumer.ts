import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { ChainContext } from '#lib/beacon';
import { Subjects, type CohortEvent, type Hex, type ValidatorDuty } from '#lib/contracts';
import { objectStoreSnapshotsOn } from '#lib/event-store';
import { decidedSigningItems, slashingAttemptsOf } from '#lib/signing';
import { RUNTIME, catchUpFrom, type ServiceRuntime } from '#lib/service-kit';
import { decide, type AttestationAttempt, type AttestationVerdict, type BlockAttempt, type BlockVerdict } from '../domain/slashing.decider.js';
import { SLASHING_SNAPSHOT_BUCKET, SlashingHistories, type SlashingHistory } from './slashing-history.repository.js';

/** `cohort.query.slashing.check`: attestations (as since the walking skeleton) and, optionally, blocks. */
export interface SlashingCheckRequest {
  readonly attempts: readonly AttestationAttempt[];
  readonly blocks?: readonly BlockAttempt[];
}
export interface SlashingCheckResponse {
  readonly verdicts: readonly AttestationVerdict[];
  /** Present when the request had `blocks`. */
  readonly blockVerdicts?: readonly BlockVerdict[];
}

/** How long a shutdown waits for the last snapshots. */
const SNAPSHOT_ON_SHUTDOWN_MS = 5_000;

async function withinMs(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Answers a check request from one history; read-only. */
export function answerSlashingCheck(history: SlashingHistory, request: SlashingCheckRequest): SlashingCheckResponse {
  const [checked] = decide({ kind: 'CheckAttestations', attempts: request.attempts ?? [] }, history.current);
  const verdicts = checked?.kind === 'AttestationsChecked' ? checked.verdicts : [];
  if (request.blocks === undefined) return { verdicts };
  const [blocks] = decide({ kind: 'CheckBlocks', attempts: request.blocks }, history.current);
  return { verdicts, blockVerdicts: blocks?.kind === 'BlocksChecked' ? blocks.verdicts : [] };
}

/**
 * The node's single writer of slashing history. Consensus asks it read-only questions while
 * deciding; once a value is decided, it records the value durably (write-ahead) and only then
 * emits ProposalApproved, which the gateway waits for before serving anything.
 */
@Injectable()
export class SlashingGuardConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private chain?: ChainContext;
  private histories?: SlashingHistories;
  /** The history the guard checks and records against: the BN's network (a reset switches it). */
  private history?: SlashingHistory;
  private readonly duties = new Map<string, readonly ValidatorDuty[]>();
  private readonly closers: (() => unknown)[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private readonly refusals: Counter;

  constructor(@Inject(RUNTIME) private readonly rt: ServiceRuntime) {
    this.refusals = new Counter({
      name: 'cohort_slashing_refusals_total',
      help: 'Values refused by the slashing guard, by reason',
      labelNames: ['reason'],
      registers: [rt.metrics],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.chain = await this.rt.loadChain(this.abort.signal);
    this.histories = new SlashingHistories(this.rt.store, {
      snapshots: objectStoreSnapshotsOn(this.rt.nc, { bucket: SLASHING_SNAPSHOT_BUCKET }),
      log: this.rt.log,
    });
    this.history = await this.histories.forRoot(this.chain.genesisValidatorsRoot);
    this.rt.log.info('slashing history loaded', { genesisValidatorsRoot: this.chain.genesisValidatorsRoot });
    const check = this.rt.bus.reply<SlashingCheckRequest, SlashingCheckResponse>(Subjects.slashingCheck, (request) =>
      answerSlashingCheck(this.currentHistory(), request),
    );
    this.closers.push(() => check.close());
    // After a restart: the duties still in flight, and any decided value not yet recorded
    // (recording again what is already recorded is an exact repeat, approved idempotently).
    const from = catchUpFrom(this.chain);
    const scheduled = await this.rt.events.on(
      'DutyScheduled',
      (e) => {
        this.duties.set(e.correlationId, e.data.duties);
        this.prune(e.duty.slot);
      },
      from,
    );
    const decided = await this.rt.events.on('DutyDecided', (e) => this.serialise(() => this.recordDecided(e)), from);
    this.closers.push(() => scheduled.close(), () => decided.close());
  }

  async onModuleDestroy(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.closers.map((close) => close()));
    await this.queue;
    // a snapshot of what moved since the last ones makes the next start quicker; bounded, as NATS may be gone
    if (this.history) await withinMs(SNAPSHOT_ON_SHUTDOWN_MS, this.history.snapshotNow());
  }

  private currentHistory(): SlashingHistory {
    if (!this.history) throw new Error('slashing history not loaded');
    return this.history;
  }

  /** One record at a time: the guard is the single writer of its history. */
  private serialise(work: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(work).catch((error: unknown) => this.rt.log.error('recording failed', { error: String(error) }));
    return this.queue;
  }

  private async recordDecided(event: CohortEvent<'DutyDecided'>): Promise<void> {
    const chain = this.chain;
    if (!chain) return;
    const duties = this.duties.get(event.correlationId) ?? [];
    const { value } = event.data;
    if (value.type === 'aggregator' || value.type === 'sync_contribution') return this.approveUnslashable(event, duties);
    // A decided value is attestations or one block; both are recorded before anything is served.
    const { attempts: attestations, blocks } = slashingAttemptsOf(decidedSigningItems(chain.signing, duties, event.data.value));
    const attempts = event.data.value.type === 'proposer' ? blocks : attestations;
    if (attempts.length === 0) {
      this.rt.log.error('decided value names no scheduled validator; nothing recorded, nothing served', { duty: event.correlationId });
      return;
    }
    const history = this.currentHistory();
    const outcome = await history.record(
      event.data.value.type === 'proposer' ? { kind: 'RecordBlocks', attempts: blocks } : { kind: 'RecordAttestations', attempts: attestations },
      event.id,
    );
    if (!outcome.ok) {
      this.rt.log.error('could not record the decided value: history kept changing; serving nothing', { duty: event.correlationId });
      this.refusals.inc({ reason: outcome.reason }, attempts.length);
      await this.rt.events.record(
        'ProposalRefused',
        event.duty,
        attempts.map((a) => a.pubkey),
        { valueHash: event.data.valueHash, refusals: attempts.map((a) => ({ pubkey: a.pubkey, reason: outcome.reason })) },
        { causationId: event.id },
      );
      return;
    }
    if (outcome.conflicts > 0) {
      // another writer appended to our shards: the value was decided again on the re-read history
      this.rt.log.warn('slashing history moved under us; decided again', { duty: event.correlationId, conflicts: outcome.conflicts });
    }
    const refusals: { pubkey: Hex; reason: string }[] = outcome.events.flatMap((e) =>
      e.kind === 'AttestationsRefused' || e.kind === 'BlocksRefused' ? [...e.refusals] : [],
    );
    const refused = new Set<Hex>(refusals.map((r) => r.pubkey));
    const approved = attempts.map((a) => a.pubkey).filter((pk) => !refused.has(pk));
    if (refusals.length > 0) {
      for (const r of refusals) this.refusals.inc({ reason: r.reason });
      this.rt.log.warn('decided value refused', { duty: event.correlationId, validators: refusals.length, reason: refusals[0]?.reason });
      await this.rt.events.record('ProposalRefused', event.duty, [...refused], { valueHash: event.data.valueHash, refusals }, { causationId: event.id });
    }
    if (approved.length > 0) {
      await this.rt.events.record('ProposalApproved', event.duty, approved, { valueHash: event.data.valueHash }, { causationId: event.id });
    }
  }

  /**
   * An AggregateAndProof or ContributionAndProof is not slashable (EIP-3076 keeps no history of
   * them): approved for the validators it names, with nothing recorded, so the gateway and the
   * aggregator see one gate for every decided value.
   */
  private async approveUnslashable(event: CohortEvent<'DutyDecided'>, duties: readonly ValidatorDuty[]): Promise<void> {
    const chain = this.chain;
    if (!chain) return;
    const approved = [...new Set(decidedSigningItems(chain.signing, duties, event.data.value).map((item) => item.pubkey))];
    if (approved.length === 0) {
      this.rt.log.error('decided value names no scheduled validator; nothing served', { duty: event.correlationId });
      return;
    }
    await this.rt.events.record('ProposalApproved', event.duty, approved, { valueHash: event.data.valueHash }, { causationId: event.id });
  }

  private prune(slot: number): void {
    for (const key of this.duties.keys()) if (Number(key.split('/')[0]) < slot - 64) this.duties.delete(key);
  }
}
