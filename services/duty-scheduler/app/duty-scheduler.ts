import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Counter } from 'prom-client';
import { BeaconApiError, type BeaconClient, type ChainContext } from '#lib/beacon';
import {
  attestationDueMs,
  dutyDeadlineMs,
  dutyId,
  epochOf,
  epochStartSlot,
  slotAt,
  slotStartMs,
  assertNever,
  type AttestationDataJson,
  type Duty,
  type ValidatorDuty,
  type Hex,
} from '#lib/contracts';
import { blockForkAtSlot, forkHasBlockContents, forkIsElectraOrLater } from '#lib/signing';
import { RUNTIME, type ServiceRuntime } from '#lib/service-kit';
import { committeesOf, dutiesBySlot, unsignedAttesterData, unsignedProposerData } from '../domain/schedule.js';

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
  /** Proposer duties whose block was fetched (or is being fetched). */
  private readonly blocksRequested = new Set<number>();
  private readonly closers: (() => unknown)[] = [];
  private indices = new Map<Hex, number>();
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
    const randao = await this.rt.events.on('SignaturesAggregated', (e) => {
      if (e.duty.type !== 'randao') return;
      const reveal = e.data.signatures[0]?.signature;
      if (reveal) void this.fetchBlock(e.duty.slot, reveal);
    });
    this.closers.push(() => randao.close());
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

  /** Each epoch: schedule this one and the next (duties are known one epoch ahead). */
  private onEpochTick(): void {
    const chain = this.chain;
    if (!chain || this.stopped) return;
    const epoch = epochOf(chain.timing, slotAt(chain.timing, Date.now()));
    void (async () => {
      for (const e of [epoch, epoch + 1]) for (const kind of EPOCH_DUTY_KINDS) await this.scheduleEpoch(e, kind);
    })();
    this.at(slotStartMs(chain.timing, epochStartSlot(chain.timing, epoch + 1)), () => this.onEpochTick());
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
    if (!chain || this.scheduledEpochs.has(key)) return;
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
          }
          break;
        }
        case 'proposer': {
          const ours = new Set(this.indices.keys());
          const { duties } = await this.bn.proposerDuties(epoch);
          for (const proposer of duties.filter((d) => ours.has(d.pubkey) && d.slot >= nowSlot)) {
            // The RANDAO reveal first: its shares come with the VCs' block requests at the slot start.
            await this.schedule({ slot: proposer.slot, type: 'randao' }, [proposer]);
            if (await this.schedule({ slot: proposer.slot, type: 'proposer' }, [proposer])) count++;
            this.at(dutyDeadlineMs(chain.timing, { slot: proposer.slot, type: 'proposer' }), () => this.proposalMissed(proposer.slot, proposer.pubkey));
          }
          break;
        }
        case 'sync': {
          // Sync committees exist from Altair (altair/validator.md#sync-committee).
          if (blockForkAtSlot(chain.signing, epochStartSlot(chain.timing, epoch)) === 'phase0') break;
          const members = await this.bn.syncDuties(epoch, indices);
          if (members.length === 0) break;
          const first = epochStartSlot(chain.timing, epoch);
          for (let slot = Math.max(first, nowSlot); slot < first + chain.timing.slotsPerEpoch; slot++) {
            if (await this.schedule({ slot, type: 'sync_message' }, members.map((m) => ({ ...m, slot })))) count += members.length;
          }
          break;
        }
        default:
          assertNever(kind);
      }
      this.scheduledEpochs.add(key);
      if (count > 0) this.rt.log.info('epoch scheduled', { epoch, kind, duties: count });
    } catch (error) {
      if (this.stopped) return; // shutting down: the connection closed under us, nothing to retry
      this.bnErrors.inc({ call: `${kind}_duties` });
      this.rt.log.warn('could not schedule epoch; retrying', { epoch, kind, error: String(error) });
      this.at(Date.now() + 1000, () => this.scheduleEpoch(epoch, kind));
    }
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

  /** At the proposer deadline: no combined RANDAO reveal ever came, so no block was asked for. */
  private async proposalMissed(slot: number, pubkey: Hex): Promise<void> {
    if (this.blocksRequested.has(slot)) return;
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
