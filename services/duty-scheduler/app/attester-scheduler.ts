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
  type AttestationDataJson,
  type Duty,
  type Hex,
} from '#lib/contracts';
import { RUNTIME, type ServiceRuntime } from '#lib/service-kit';
import { committeesOf, dutiesBySlot, unsignedAttesterData } from '../domain/schedule.js';

/**
 * Drives attester duties from the BN: duties of the current and next epoch at each epoch
 * start (DutyScheduled, one per slot), then at 1/3 of each slot the attestation data of its
 * committees (UnsignedDataFetched). BN errors are retried until the duty's deadline, then
 * recorded as `bn_fetch_failed`.
 */
@Injectable()
export class AttesterScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private chain?: ChainContext;
  private readonly bn: BeaconClient;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly scheduledSlots = new Set<number>();
  private readonly scheduledEpochs = new Set<number>();
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
    this.onEpochTick();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.abort.abort();
    for (const timer of this.timers) clearTimeout(timer);
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
    void this.scheduleEpoch(epoch).then(() => this.scheduleEpoch(epoch + 1));
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

  private async scheduleEpoch(epoch: number): Promise<void> {
    const chain = this.chain;
    if (!chain || this.scheduledEpochs.has(epoch)) return;
    try {
      await this.resolveIndices();
      const { duties } = await this.bn.attesterDuties(epoch, [...this.indices.values()]);
      this.scheduledEpochs.add(epoch);
      const nowSlot = slotAt(chain.timing, Date.now());
      for (const [slot, slotDuties] of dutiesBySlot(duties)) {
        if (slot < nowSlot || this.scheduledSlots.has(slot)) continue;
        this.scheduledSlots.add(slot);
        const duty: Duty = { slot, type: 'attester' };
        await this.rt.events.record('DutyScheduled', duty, slotDuties.map((d) => d.pubkey), { duties: slotDuties });
        this.at(attestationDueMs(chain.timing, slot), () => this.fetchAttestationData(duty, committeesOf(slotDuties), slotDuties.map((d) => d.pubkey)));
      }
      this.rt.log.info('epoch scheduled', { epoch, duties: duties.length });
    } catch (error) {
      if (this.stopped) return; // shutting down: the connection closed under us, nothing to retry
      this.bnErrors.inc({ call: 'attester_duties' });
      this.rt.log.warn('could not schedule epoch; retrying', { epoch, error: String(error) });
      this.at(Date.now() + 1000, () => this.scheduleEpoch(epoch));
    }
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
        const result = unsignedAttesterData(duty.slot, fetched);
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
