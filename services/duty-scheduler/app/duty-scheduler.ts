import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Counter } from 'prom-client';
import { BeaconApiError, type BeaconClient, type ChainContext } from '#lib/beacon';
import {
  aggregationDueMs,
  aggregatorsSettledMs,
  attestationDueMs,
  dutyDeadlineMs,
  dutyId,
  epochOf,
  epochStartSlot,
  slotAt,
  slotStartMs,
  assertNever,
  slotDurationMs,
  syncSelectionKey,
  type AggregatorDuty,
  type AttestationDataJson,
  type AttesterDuty,
  type AttesterUnsignedData,
  type Duty,
  type ProposerDuty,
  type SyncCommitteeDuty,
  type SyncContributionDuty,
  type UnsignedDataSet,
  type ValidatorDuty,
  type Hex,
} from '#lib/contracts';
import {
  attestationDataRoot,
  blockForkAtSlot,
  forkHasBlockContents,
  forkIsElectraOrLater,
  isAggregator,
  isSyncCommitteeAggregator,
  syncSubcommitteeOf,
} from '#lib/signing';
import { RUNTIME, type ServiceRuntime } from '#lib/service-kit';
import {
  agreedSyncRoot,
  committeesOf,
  dutiesBySlot,
  proposerChanges,
  selectAggregators,
  selectSyncAggregators,
  unsignedAttesterData,
  unsignedProposerData,
} from '../domain/schedule.js';


/** The duty lists the scheduler asks the BN for each epoch. */
const EPOCH_DUTY_KINDS = ['attester', 'proposer', 'sync'] as const;
type EpochDutyKind = (typeof EPOCH_DUTY_KINDS)[number];

/**
 * Drives the cluster's duties from the BN. At each epoch start, the duties of the current and
 * next epoch (DutyScheduled, one per slot and duty type):
 * - attester: at 1/3 of the slot, the attestation data of its committees (UnsignedDataFetched);
 * - proposer: a randao duty and a proposer duty; once the aggregator has combined the RANDAO
 *   reveal from the VCs' shares (SignaturesAggregated of the randao duty), the block from the BN
 *   with it (UnsignedDataFetched);
 * - sync committee (from Altair): a sync_message duty per slot; no data to fetch, each VC signs
 *   its head root.
 * BN errors are retried until the duty's deadline, then recorded as `bn_fetch_failed`.
 */
@Injectable()
export class DutyScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private chain?: ChainContext;
  private readonly bn: BeaconClient;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Duty ids already scheduled, and `<kind>/<epoch>` lists already fetched. */
  private readonly scheduledDuties = new Set<string>();
  private readonly scheduledEpochs = new Set<string>();
  /** `<kind>/<epoch>` lists whose failed fetch was logged at warn (the retries log at debug). */
  private readonly retryWarned = new Set<string>();
  /** Proposer duties whose block was fetched (or is being fetched). */
  private readonly blocksRequested = new Set<number>();
  /** Per epoch: the dependent root of the proposer duties scheduled, and this cluster's among them. */
  private readonly proposers = new Map<number, { readonly dependentRoot: Hex; readonly duties: readonly ProposerDuty[] }>();
  /** Proposer duties scheduled, then given to another validator by a re-org, by slot. */
  private readonly withdrawnProposals = new Map<number, ProposerDuty>();
  private readonly closers: (() => unknown)[] = [];
  private indices = new Map<Hex, number>();
  /** Per slot: the duties aggregation is prepared for, the combined selection proofs, and what aggregation needs from other duties. */
  private readonly aggregation = new Map<number, SlotAggregation>();
  private readonly abort = new AbortController();
  private stopped = false;
  private readonly bnErrors: Counter;

  constructor(@Inject(RUNTIME) private readonly rt: ServiceRuntime) {
    this.bn = rt.beacon;
    this.bnErrors = new Counter({
      name: 'cohort_scheduler_bn_errors_total',
      help: 'Failed beacon node calls, by call',
      labelNames: ['call'],
      registers: [rt.metrics],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.chain = await this.rt.loadChain(this.abort.signal);
    if (!this.rt.config.duties.aggregation) this.rt.log.warn('aggregation duties are off (duties.aggregation = false): no aggregates or sync contributions from this cluster');
    const combined = await this.rt.events.on('SignaturesAggregated', (e) => {
      const { slot } = e.duty;
      switch (e.duty.type) {
        case 'randao': {
          const reveal = e.data.signatures[0]?.signature;
          if (reveal) void this.fetchBlock(slot, reveal);
          return;
        }
        case 'prepare_aggregator':
          for (const { pubkey, signature } of e.data.signatures) this.slotAggregation(slot).attesterProofs.set(pubkey, signature);
          return;
        case 'prepare_sync_contribution':
          for (const { pubkey, signature, object } of e.data.signatures) {
            const subcommittee = Number(object?.['subcommittee_index']);
            if (Number.isSafeInteger(subcommittee)) this.slotAggregation(slot).syncProofs.set(syncSelectionKey(pubkey, subcommittee), signature);
          }
          return;
        case 'sync_message': {
          const roots = this.slotAggregation(slot).syncRoots;
          for (const { object } of e.data.signatures) {
            const root = object?.['beacon_block_root'] as Hex | undefined;
            if (root) roots.set(root, (roots.get(root) ?? 0) + 1);
          }
          return;
        }
        default:
          return;
      }
    });
    const decided = await this.rt.events.on('DutyDecided', (e) => {
      if (e.duty.type === 'attester' && e.data.value.type === 'attester') this.slotAggregation(e.duty.slot).decidedAttestations = e.data.value.byCommittee;
    });
    this.closers.push(() => combined.close(), () => decided.close());
    this.onEpochTick();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.abort.abort();
    for (const timer of this.timers) clearTimeout(timer);
    for (const close of this.closers) void close();
  }

  private at(timeMs: number, work: () => Promise<void> | void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopped) return;
      Promise.resolve(work()).catch((error: unknown) => this.rt.log.error('scheduled work failed', { error: String(error) }));
    }, Math.max(0, timeMs - Date.now()));
    this.timers.add(timer);
  }

  /**
   * Each epoch: attester and sync duties of this one and the next (known one epoch ahead).
   * Proposer duties of the next epoch depend on the last block of this one (their dependent
   * root): they are asked for at 2/3 into this epoch's last slot, when that block is in, and
   * asked again at the next epoch's start, when a re-org may have changed them. Asked for earlier
   * (before genesis, say), the BN answers from a state the chain then leaves, and the cluster
   * would check the VC's RANDAO share against a validator that is not the slot's proposer.
   */
  private onEpochTick(): void {
    const chain = this.chain;
    if (!chain || this.stopped) return;
    const epoch = epochOf(chain.timing, slotAt(chain.timing, Date.now()));
    void (async () => {
      await this.scheduleEpoch(epoch, 'proposer');
      for (const e of [epoch, epoch + 1]) for (const kind of EPOCH_DUTY_KINDS) if (kind !== 'proposer') await this.scheduleEpoch(e, kind);
    })();
    const lastSlot = epochStartSlot(chain.timing, epoch + 1) - 1;
    this.at(aggregationDueMs(chain.timing, lastSlot), () => this.scheduleEpoch(epoch + 1, 'proposer'));
    this.at(slotStartMs(chain.timing, lastSlot + 1), () => this.onEpochTick());
  }

  private async resolveIndices(): Promise<void> {
    const missing = this.rt.config.cluster.validators.map((v) => v.groupPubkey).filter((pk) => !this.indices.has(pk));
    if (missing.length === 0) return;
    const found = await this.bn.validators(missing);
    for (const v of found) this.indices.set(v.pubkey, v.index);
    const unknown = missing.filter((pk) => !this.indices.has(pk));
    if (unknown.length > 0) this.rt.log.warn('validators unknown to the beacon node (not yet deposited?)', { count: unknown.length });
  }

  private async scheduleEpoch(epoch: number, kind: EpochDutyKind): Promise<void> {
    const chain = this.chain;
    const key = `${kind}/${epoch}`;
    // proposer duties are asked for again: a re-org may have changed them (onEpochTick)
    if (!chain || (this.scheduledEpochs.has(key) && kind !== 'proposer')) return;
    try {
      await this.resolveIndices();
      const indices = [...this.indices.values()];
      const nowSlot = slotAt(chain.timing, Date.now());
      let count = 0;
      switch (kind) {
        case 'attester': {
          const { duties } = await this.bn.attesterDuties(epoch, indices);
          for (const [slot, slotDuties] of dutiesBySlot(duties)) {
            if (slot < nowSlot) continue;
            const duty: Duty = { slot, type: 'attester' };
            if (!(await this.schedule(duty, slotDuties))) continue;
            count += slotDuties.length;
            this.at(attestationDueMs(chain.timing, slot), () => this.fetchAttestationData(duty, committeesOf(slotDuties), slotDuties.map((d) => d.pubkey)));
            // Aggregation: the VCs' selection proofs are combined first (DV selection endpoints).
            if (!this.rt.config.duties.aggregation) continue;
            await this.schedule({ slot, type: 'prepare_aggregator' }, slotDuties);
            this.slotAggregation(slot).attesters = slotDuties;
            this.at(aggregatorsSettledMs(chain.timing, slot), () => this.settleAggregators(slot));
          }
          break;
        }
        case 'proposer':
          count = await this.scheduleProposers(chain, epoch, nowSlot);
          break;
        case 'sync': {
          // Sync committees exist from Altair (altair/validator.md#sync-committee).
          if (blockForkAtSlot(chain.signing, epochStartSlot(chain.timing, epoch)) === 'phase0') break;
          const members = await this.bn.syncDuties(epoch, indices);
          if (members.length === 0) break;
          const first = epochStartSlot(chain.timing, epoch);
          for (let slot = Math.max(first, nowSlot); slot < first + chain.timing.slotsPerEpoch; slot++) {
            const slotMembers = members.map((m) => ({ ...m, slot }));
            if (!(await this.schedule({ slot, type: 'sync_message' }, slotMembers))) continue;
            count += members.length;
            if (!this.rt.config.duties.aggregation) continue;
            await this.schedule({ slot, type: 'prepare_sync_contribution' }, slotMembers);
            this.slotAggregation(slot).syncMembers = slotMembers;
            this.at(aggregatorsSettledMs(chain.timing, slot), () => this.settleSyncAggregators(slot));
          }
          break;
        }
        default:
          assertNever(kind);
      }
      this.scheduledEpochs.add(key);
      this.retryWarned.delete(key);
      if (count > 0) this.rt.log.info('epoch scheduled', { epoch, kind, duties: count });
    } catch (error) {
      if (this.stopped) return; // shutting down: the connection closed under us, nothing to retry
      this.bnErrors.inc({ call: `${kind}_duties` });
      // Once per epoch and kind at warn: a BN refuses the next epoch's duties before genesis
      // (Lodestar: "more than one ahead"), and the retries every second then say nothing new.
      const first = !this.retryWarned.has(key);
      this.retryWarned.add(key);
      this.rt.log[first ? 'warn' : 'debug']('could not schedule epoch; retrying every second', { epoch, kind, error: String(error) });
      this.at(Date.now() + 1000, () => this.scheduleEpoch(epoch, kind));
    }
  }

  private slotAggregation(slot: number): SlotAggregation {
    let entry = this.aggregation.get(slot);
    if (!entry) {
      entry = { attesterProofs: new Map(), syncProofs: new Map(), syncRoots: new Map() };
      this.aggregation.set(slot, entry);
      for (const old of this.aggregation.keys()) if (old < slot - 64) this.aggregation.delete(old);
    }
    return entry;
  }

  /** Half-way into the slot: the attesters whose combined selection proof selects them aggregate; fetch at 2/3. */
  private async settleAggregators(slot: number): Promise<void> {
    const chain = this.chain;
    if (!chain) return;
    const entry = this.slotAggregation(slot);
    const aggregators = selectAggregators(entry.attesters ?? [], entry.attesterProofs, isAggregator);
    this.rt.log.debug('aggregators settled', { slot, combined: entry.attesterProofs.size, aggregators: aggregators.length });
    if (aggregators.length === 0 || !(await this.schedule({ slot, type: 'aggregator' }, aggregators))) return;
    this.at(aggregationDueMs(chain.timing, slot), () => this.fetchAggregates(slot, aggregators));
  }

  /**
   * At 2/3 of the slot: the BN's aggregate per committee with an aggregator, over the attestation
   * data the cluster decided for it (waited for). Committees the BN has no aggregate for yet are
   * retried; those still missing a slot later fail as `bn_fetch_failed`.
   */
  private async fetchAggregates(slot: number, aggregators: readonly AggregatorDuty[]): Promise<void> {
    const chain = this.chain;
    if (!chain) return;
    const fork = blockForkAtSlot(chain.signing, slot);
    const byCommittee = await this.fetchEach({ slot, type: 'aggregator' }, aggregators.map((a) => a.committeeIndex), 'aggregate_attestation', async (committee) => {
      const data = this.slotAggregation(slot).decidedAttestations?.[String(committee)];
      if (!data) throw new Error('the attestation data of the slot is not decided yet');
      const dataRoot = attestationDataRoot(data);
      const { fork: answered, aggregate } = await this.bn.aggregateAttestation(slot, dataRoot, committee);
      if (answered !== undefined && answered !== fork) throw new Error(`BN answered a ${answered} aggregate, fork ${fork} is in force at slot ${slot}`);
      if (attestationDataRoot(aggregate.data) !== dataRoot) throw new Error(`BN answered an aggregate over other data than asked for committee ${committee}`);
      return aggregate;
    });
    await this.recordFetched({ slot, type: 'aggregator' }, byCommittee, aggregators.map((a) => ({ pubkey: a.pubkey, key: a.committeeIndex })), (fetched) => ({
      type: 'aggregator',
      fork,
      byCommittee: fetched,
    }));
  }

  /** Half-way into the slot: the (member, subcommittee) pairs whose combined sync selection proof selects them. */
  private async settleSyncAggregators(slot: number): Promise<void> {
    const chain = this.chain;
    if (!chain) return;
    const entry = this.slotAggregation(slot);
    const size = Number(chain.spec['SYNC_COMMITTEE_SIZE']);
    const aggregators = selectSyncAggregators(entry.syncMembers ?? [], entry.syncProofs, (seat) => syncSubcommitteeOf(size, seat), (proof) => isSyncCommitteeAggregator(size, proof));
    if (aggregators.length === 0 || !(await this.schedule({ slot, type: 'sync_contribution' }, aggregators))) return;
    this.at(aggregationDueMs(chain.timing, slot), () => this.fetchContributions(slot, aggregators));
  }

  /**
   * At 2/3 of the slot: the BN's contribution per subcommittee with an aggregator, over the head
   * root the cluster's sync committee messages were combined over (the most common one).
   */
  private async fetchContributions(slot: number, aggregators: readonly SyncContributionDuty[]): Promise<void> {
    const duty: Duty = { slot, type: 'sync_contribution' };
    const bySubcommittee = await this.fetchEach(duty, aggregators.map((a) => a.subcommitteeIndex), 'sync_committee_contribution', async (subcommittee) => {
      const root = agreedSyncRoot(this.slotAggregation(slot).syncRoots);
      if (!root) throw new Error('no sync committee message of the slot was combined: no block root to aggregate');
      const contribution = await this.bn.syncCommitteeContribution(slot, subcommittee, root);
      if (Number(contribution.slot) !== slot || contribution.subcommittee_index !== String(subcommittee) || contribution.beacon_block_root.toLowerCase() !== root) {
        throw new Error(`BN answered a contribution for slot ${contribution.slot} subcommittee ${contribution.subcommittee_index} when asked for ${slot}/${subcommittee}`);
      }
      return contribution;
    });
    await this.recordFetched(duty, bySubcommittee, aggregators.map((a) => ({ pubkey: a.pubkey, key: a.subcommitteeIndex })), (fetched) => ({
      type: 'sync_contribution',
      bySubcommittee: fetched,
    }));
  }

  /**
   * Fetches one value per key (committee, subcommittee), retrying the missing ones every 100 ms
   * until all are in or a slot before the duty's deadline (consensus needs the rest).
   */
  private async fetchEach<T>(duty: Duty, keys: readonly number[], call: string, fetchOne: (key: number) => Promise<T>): Promise<{ fetched: Record<string, T>; lastError?: unknown }> {
    const chain = this.chain;
    const fetched: Record<string, T> = {};
    if (!chain) return { fetched };
    const until = dutyDeadlineMs(chain.timing, duty) - slotDurationMs(chain.timing);
    const wanted = [...new Set(keys)];
    let lastError: unknown;
    while (!this.stopped && Date.now() < until && Object.keys(fetched).length < wanted.length) {
      for (const key of wanted.filter((k) => !(String(k) in fetched))) {
        try {
          fetched[String(key)] = await fetchOne(key);
        } catch (error) {
          lastError = error;
          this.bnErrors.inc({ call });
        }
      }
      if (Object.keys(fetched).length < wanted.length) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { fetched, lastError };
  }

  /** The fetched part as the duty's value (UnsignedDataFetched); the validators whose part is missing fail as `bn_fetch_failed`. */
  private async recordFetched<T>(
    duty: Duty,
    { fetched, lastError }: { fetched: Record<string, T>; lastError?: unknown },
    parts: readonly { readonly pubkey: Hex; readonly key: number }[],
    valueOf: (fetched: Record<string, T>) => UnsignedDataSet,
  ): Promise<void> {
    if (this.stopped) return;
    const named = [...new Set(parts.filter((p) => String(p.key) in fetched).map((p) => p.pubkey))];
    if (named.length > 0) await this.rt.events.record('UnsignedDataFetched', duty, named, { value: valueOf(fetched) });
    const missing = [...new Set(parts.filter((p) => !(String(p.key) in fetched)).map((p) => p.pubkey))];
    if (missing.length === 0) return;
    this.rt.log.warn('aggregation data not fetched in time', { duty: dutyId(duty), validators: missing.length, error: String(lastError) });
    await this.rt.events.record('DutyFailed', duty, missing, { reason: 'bn_fetch_failed', detail: String(lastError) }, { discriminator: 'fetch' });
  }

  /** Records DutyScheduled once per duty; false when it already was. */
  private async schedule(duty: Duty, duties: readonly ValidatorDuty[]): Promise<boolean> {
    const id = dutyId(duty);
    if (this.scheduledDuties.has(id)) return false;
    this.scheduledDuties.add(id);
    await this.rt.events.record('DutyScheduled', duty, duties.map((d) => d.pubkey), { duties });
    return true;
  }

  /**
   * The cluster's RANDAO reveal is combined: ask the BN for a block with it, retrying until the
   * proposer deadline. Every node does this; consensus picks one node's block.
   */
  private async fetchBlock(slot: number, randaoReveal: Hex): Promise<void> {
    const chain = this.chain;
    if (!chain || this.blocksRequested.has(slot) || !this.scheduledDuties.has(dutyId({ slot, type: 'proposer' }))) return;
    this.blocksRequested.add(slot);
    const duty: Duty = { slot, type: 'proposer' };
    const deadline = dutyDeadlineMs(chain.timing, duty);
    let lastError: unknown;
    while (!this.stopped && Date.now() < deadline) {
      try {
        const produced = await this.bn.produceBlock(slot, randaoReveal);
        const fork = blockForkAtSlot(chain.signing, slot);
        if (produced.fork !== fork) throw new Error(`BN answered a ${produced.fork} block, fork ${fork} is in force at slot ${slot}`);
        const result = unsignedProposerData(slot, produced, forkHasBlockContents(fork));
        if (!result.ok) throw new Error(result.detail);
        const proposer = String(result.value.block.proposer_index);
        const pubkey = [...this.indices.entries()].find(([, index]) => String(index) === proposer)?.[0];
        await this.rt.events.record('UnsignedDataFetched', duty, pubkey ? [pubkey] : [], { value: result.value });
        return;
      } catch (error) {
        lastError = error;
        this.bnErrors.inc({ call: 'produce_block' });
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    if (this.stopped) return;
    this.rt.log.warn('block not fetched before the deadline', { duty: dutyId(duty), error: String(lastError) });
    await this.rt.events.record('DutyFailed', duty, [], { reason: 'bn_fetch_failed', detail: String(lastError) });
  }

  /**
   * Schedules this cluster's proposer duties of the epoch; asked again with the same dependent
   * root, nothing changes. With another one (a re-org), the new slots are scheduled and the ones
   * no longer ours fail as `duty_withdrawn`. Returns the number of duties newly scheduled.
   */
  private async scheduleProposers(chain: ChainContext, epoch: number, nowSlot: number): Promise<number> {
    const { dependentRoot, duties } = await this.bn.proposerDuties(epoch);
    const known = this.proposers.get(epoch);
    if (known?.dependentRoot === dependentRoot) return 0;
    const ours = duties.filter((d) => this.indices.has(d.pubkey));
    this.proposers.set(epoch, { dependentRoot, duties: ours });
    for (const old of this.proposers.keys()) if (old < epoch - 2) this.proposers.delete(old);
    const { added, withdrawn } = proposerChanges(known?.duties ?? [], ours);
    if (known) this.rt.log.warn('proposer duties changed: a re-org moved their dependent root', { epoch, before: known.dependentRoot, after: dependentRoot, added: added.length, withdrawn: withdrawn.length });
    for (const gone of withdrawn.filter((d) => d.slot >= nowSlot)) {
      this.withdrawnProposals.set(gone.slot, gone);
      await this.rt.events.record('DutyFailed', { slot: gone.slot, type: 'proposer' }, [gone.pubkey], {
        reason: 'duty_withdrawn',
        detail: `proposer duties of epoch ${epoch} changed (dependent root ${known?.dependentRoot} → ${dependentRoot}): slot ${gone.slot} is not validator ${gone.validatorIndex}'s any more`,
      }, { discriminator: 'withdrawn' });
    }
    let count = 0;
    for (const proposer of added.filter((d) => d.slot >= nowSlot)) {
      if (this.scheduledDuties.has(dutyId({ slot: proposer.slot, type: 'proposer' }))) {
        // a re-org back: the duty as first scheduled stands again
        if (this.withdrawnProposals.get(proposer.slot)?.pubkey === proposer.pubkey) this.withdrawnProposals.delete(proposer.slot);
        // one of ours before, another of ours now: a duty is scheduled once, for one validator
        else this.rt.log.error('proposer of a scheduled slot changed to another validator of this cluster; the slot is not proposed', { slot: proposer.slot, validatorIndex: proposer.validatorIndex });
        continue;
      }
      // The RANDAO reveal first: its shares come with the VCs' block requests at the slot start.
      await this.schedule({ slot: proposer.slot, type: 'randao' }, [proposer]);
      if (await this.schedule({ slot: proposer.slot, type: 'proposer' }, [proposer])) count++;
      this.at(dutyDeadlineMs(chain.timing, { slot: proposer.slot, type: 'proposer' }), () => this.proposalMissed(proposer.slot, proposer.pubkey));
    }
    return count;
  }

  /** At the proposer deadline: no combined RANDAO reveal ever came, so no block was asked for. */
  private async proposalMissed(slot: number, pubkey: Hex): Promise<void> {
    if (this.blocksRequested.has(slot) || this.withdrawnProposals.has(slot)) return;
    this.rt.log.warn('no combined RANDAO reveal: no block requested', { slot });
    await this.rt.events.record('DutyFailed', { slot, type: 'proposer' }, [pubkey], {
      reason: 'no_randao_reveal',
      detail: 'the RANDAO reveal shares did not reach threshold before the proposer deadline',
    }, { discriminator: 'randao' });
  }

  private async fetchAttestationData(duty: Duty, committees: readonly number[], pubkeys: readonly Hex[]): Promise<void> {
    const chain = this.chain;
    if (!chain) return;
    const deadline = dutyDeadlineMs(chain.timing, duty);
    let lastError: unknown;
    while (!this.stopped && Date.now() < deadline) {
      try {
        const fetched: { committeeIndex: number; data: AttestationDataJson }[] = await Promise.all(
          committees.map(async (committeeIndex) => ({ committeeIndex, data: await this.bn.attestationData(duty.slot, committeeIndex) })),
        );
        const result = unsignedAttesterData(duty.slot, fetched, !forkIsElectraOrLater(blockForkAtSlot(chain.signing, duty.slot)));
        if (!result.ok) throw new Error(result.detail);
        await this.rt.events.record('UnsignedDataFetched', duty, pubkeys, { value: result.value });
        return;
      } catch (error) {
        lastError = error;
        this.bnErrors.inc({ call: 'attestation_data' });
        await new Promise((resolve) => setTimeout(resolve, error instanceof BeaconApiError && error.status === 'timeout' ? 0 : 250));
      }
    }
    if (this.stopped) return;
    this.rt.log.warn('attestation data not fetched before the deadline', { duty: dutyId(duty), error: String(lastError) });
    await this.rt.events.record('DutyFailed', duty, pubkeys, { reason: 'bn_fetch_failed', detail: String(lastError) });
  }
}

/** What the aggregation duties of one slot need, gathered from the other duties' events. */
interface SlotAggregation {
  attesters?: readonly AttesterDuty[];
  syncMembers?: readonly SyncCommitteeDuty[];
  /** Combined selection proofs: by pubkey (attestations), by syncSelectionKey (sync subcommittees). */
  readonly attesterProofs: Map<Hex, Hex>;
  readonly syncProofs: Map<string, Hex>;
  /** Block roots the slot's sync committee messages were combined over, with how many validators. */
  readonly syncRoots: Map<Hex, number>;
  decidedAttestations?: AttesterUnsignedData['byCommittee'];
}
