import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import type { ChainContext } from '#lib/beacon';
import {
  assertNever,
  DUTY_ORDINAL,
  dutyDeadlineMs,
  dutyId,
  fromHex,
  isDutyType,
  slotAt,
  slotStartMs,
  DUTY_FLOW,
  Subjects,
  attesterDutiesOf,
  isSyncContributionDuty,
  type AttesterUnsignedData,
  type Duty,
  type DutyType,
  type Hex,
  type PeerInbound,
  type PeerOutbound,
  type PeerRefusalReason,
  type UnsignedDataSet,
  type ValidatorDuty,
} from '#lib/contracts';
import { verify as blsVerify } from '#lib/bls';
import {
  aggregateShape,
  attestationDataRoot,
  blockForkAtSlot,
  contributionParticipants,
  decidedSigningItems,
  epochOfSlot,
  forkHasBlindedBlocks,
  forkIsElectraOrLater,
  randaoSigningRoot,
  slashingAttemptsOf,
  valueHash,
} from '#lib/signing';
import { PeerRefusalLog } from '#lib/event-log';
import { RUNTIME, catchUpFrom, type ServiceRuntime } from '#lib/service-kit';
import {
  aggregatorValueMatchesDuty,
  attesterValueMatchesDuty,
  proposerValueMatchesDuty,
  syncContributionValueMatchesDuty,
  type Validity,
} from '../domain/value-validity.js';
import { decide, evolve, initialState } from '../domain/qbft.decider.js';
import type { QbftCommand, QbftEvent, QbftState } from '../domain/qbft.types.js';
import { roundDeadlineNs, type RoundTimerTiming, type TimerDutyType } from '../domain/round-timer.js';
import { checkInboundQbft, type InboundContext, type QbftWireMessage } from './qbft-inbound.js';

export type { QbftWireMessage } from './qbft-inbound.js';

/** Slashing guard's read-only answer (see slashing-guard's consumer). */
interface SlashingCheckResponse {
  readonly verdicts: readonly SlashingVerdict[];
  readonly blockVerdicts?: readonly SlashingVerdict[];
}
interface SlashingVerdict {
  readonly pubkey: Hex;
  readonly ok: boolean;
  readonly reason?: string;
}

/** Which round-timer duty class each Cohort duty type uses (its start offset into the slot). */
const TIMER_DUTY_TYPE = {
  attester: 'attester',
  proposer: 'proposer',
  randao: 'randao',
  sync_message: 'sync_message',
  aggregator: 'aggregator',
  sync_contribution: 'sync_contribution',
  exit: 'exit',
  prepare_aggregator: 'prepare_aggregator',
  prepare_sync_contribution: 'prepare_sync_contribution',
  builder_registration: 'builder_registration',
} as const satisfies Record<DutyType, TimerDutyType>;

interface Instance {
  readonly duty: Duty;
  state: QbftState;
  queue: Promise<void>;
  roundTimer?: NodeJS.Timeout;
  /** The round the round timer is armed for, and the rounds armed at least once (re-arming doubles). */
  timerRound: number;
  readonly armedRounds: Set<number>;
  /** Signatures already verified for this duty (author, root, signature), so relayed messages are checked once. */
  readonly verified: Set<string>;
  deadlineTimer?: NodeJS.Timeout;
  startedAtMs?: number;
  closed: boolean;
}

/**
 * Adapts the QBFT decider to the node: inputs from UnsignedDataFetched, peer messages from
 * the peer-gateway, timers from the clock; decisions become DutyDecided events. One instance
 * per duty; its commands are applied one at a time.
 */
@Injectable()
export class ConsensusConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private chain?: ChainContext;
  private readonly instances = new Map<string, Instance>();
  /** Scheduled validator duties by duty id. */
  private readonly duties = new Map<string, readonly ValidatorDuty[]>();
  /** Attestation data this node decided, by slot: an aggregate is valid only over it. */
  private readonly decidedAttestations = new Map<number, AttesterUnsignedData['byCommittee']>();
  private readonly closers: (() => unknown)[] = [];
  private readonly abort = new AbortController();
  /** Duties whose slot began before this process started are sat out (see onApplicationBootstrap). */
  private readonly bootMs = Date.now();
  private readonly rejected: Counter;
  private readonly decideLatency: Histogram;
  private readonly inboundContext: InboundContext;
  /** Refused peer messages, summarised per slot into PeerMessageRefused events (set once the chain is known). */
  private refusals?: PeerRefusalLog;

  constructor(@Inject(RUNTIME) private readonly rt: ServiceRuntime) {
    const operators = [...rt.config.cluster.operators].sort((a, b) => a.index - b.index);
    this.inboundContext = { nodes: operators.length, publicKeys: operators.map((o) => fromHex(o.publicKey)) };
    this.rejected = new Counter({
      name: 'cohort_consensus_messages_rejected_total',
      help: 'QBFT messages rejected, by reason',
      labelNames: ['reason'],
      registers: [rt.metrics],
    });
    this.decideLatency = new Histogram({
      name: 'cohort_consensus_decide_seconds',
      help: 'From consensus start (local input) to decision',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
      registers: [rt.metrics],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.chain = await this.rt.loadChain(this.abort.signal);
    this.refusals = new PeerRefusalLog({
      events: this.rt.events,
      timing: this.chain.timing,
      onError: (error) => this.rt.log.warn('refused peer messages not recorded', { error: String(error) }),
    });
    // Catch up on the duties scheduled before this start (a restart mid-epoch), but join no
    // instance already under way: this process does not know what it said in it before.
    const scheduled = await this.rt.events.on(
      'DutyScheduled',
      (e) => {
        this.duties.set(e.correlationId, e.data.duties);
        for (const [id, duties] of this.duties) if ((duties[0]?.slot ?? 0) < e.duty.slot - 64) this.duties.delete(id);
      },
      catchUpFrom(this.chain),
    );
    const fetched = await this.rt.events.on('UnsignedDataFetched', (e) => {
      const instance = this.instance(e.duty);
      if (!instance) return;
      instance.startedAtMs = Date.now();
      this.enqueue(instance, async () => {
        const value = e.data.value;
        const hash = valueHash(value);
        if (!(await this.isValid(e.duty, value))) {
          this.rt.log.warn('own proposal is not valid; taking no input', { duty: dutyId(e.duty) });
          return;
        }
        await this.apply(instance, { kind: 'Start', value, valueHash: hash });
      });
    });
    const inbound = this.rt.bus.subscribe<PeerInbound<QbftWireMessage>>(Subjects.peerIn('qbft'), (msg) => this.onPeerMessage(msg));
    this.closers.push(() => scheduled.close(), () => fetched.close(), () => inbound.close());
  }

  async onModuleDestroy(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.closers.map((close) => close()));
    for (const instance of this.instances.values()) this.close(instance);
    await this.refusals?.close();
  }

  /**
   * A peer's QBFT message refused: counted, recorded (PeerMessageRefused, summarised per slot)
   * and logged once per peer, reason and slot. Under its duty only if this node scheduled it.
   */
  private refuse(from: number, reason: PeerRefusalReason, detail: string, duty?: Duty): void {
    this.rejected.inc({ reason });
    const known = duty !== undefined && this.duties.has(dutyId(duty)) ? duty : undefined;
    const first = this.refusals?.refuse({ peer: from, protocol: 'qbft', reason, detail, ...(known && { duty: known }) }) ?? true;
    if (first) this.rt.log.warn('qbft message refused', { from, reason, detail, ...(known && { duty: dutyId(known) }) });
  }

  private onPeerMessage(inbound: PeerInbound<QbftWireMessage>): void {
    const checked = checkInboundQbft(inbound, this.inboundContext, (duty) => this.instance(duty)?.verified);
    if (!checked.ok) {
      const named = inbound.payload?.duty;
      const duty = Number.isSafeInteger(named?.slot) && isDutyType(named?.type) ? named : undefined;
      this.refuse(inbound.from, checked.reason, checked.detail, duty);
      return;
    }
    const { duty, message } = checked;
    const instance = this.instance(duty);
    if (!instance) {
      const reason = this.noInstanceReason(duty);
      this.refuse(inbound.from, reason, `${message.type} round ${message.round} for ${dutyId(duty)}`, duty);
      return;
    }
    this.enqueue(instance, async () => {
      const carried = message.value;
      const command: QbftCommand =
        carried === undefined
          ? { kind: 'Receive', message, valueValid: true }
          : {
              kind: 'Receive',
              message,
              valueValid: await this.isValid(duty, carried as UnsignedDataSet),
              computedValueHash: valueHash(carried),
            };
      await this.apply(instance, command);
    });
  }

  /** The validity predicate: the value matches the scheduled duty and the slashing guard would sign it. */
  private async isValid(duty: Duty, value: UnsignedDataSet): Promise<boolean> {
    const chain = this.chain;
    const duties = this.duties.get(dutyId(duty));
    if (!chain || !duties || typeof value !== 'object' || value === null) return false;
    let match: Validity;
    try {
      match = this.valueMatchesDuty(chain, duty, duties, value);
    } catch (error) {
      match = { ok: false, detail: `malformed value: ${String(error)}` };
    }
    if (!match.ok) {
      this.rt.log.warn('proposed value does not match the duty', { duty: dutyId(duty), detail: match.detail });
      return false;
    }
    let checks: ReturnType<typeof slashingAttemptsOf>;
    try {
      checks = slashingAttemptsOf(decidedSigningItems(chain.signing, duties, value));
    } catch (error) {
      this.rt.log.warn('proposed value has no signing root (malformed)', { duty: dutyId(duty), error: String(error) });
      return false;
    }
    const { attempts, blocks } = checks;
    // Aggregates and contributions are not slashable: nothing to ask the guard, but they must name validators of the duty.
    if (value.type === 'aggregator' || value.type === 'sync_contribution') return decidedSigningItems(chain.signing, duties, value).length > 0;
    try {
      const response = await this.rt.bus.request<unknown, SlashingCheckResponse>(Subjects.slashingCheck, { attempts, blocks }, { timeoutMs: 2000 });
      const verdicts = [...response.verdicts, ...(response.blockVerdicts ?? [])];
      const refused = verdicts.filter((v) => !v.ok);
      if (refused.length > 0) {
        this.rt.log.warn('slashing guard would refuse the proposed value', { duty: dutyId(duty), validators: refused.length, reason: refused[0]?.reason });
      }
      return refused.length === 0 && verdicts.length > 0 && verdicts.length === attempts.length + blocks.length;
    } catch (error) {
      // No answer is not an approval: a refusal is always better than a doubt.
      this.rt.log.warn('slashing guard did not answer; treating value as invalid', { duty: dutyId(duty), error: String(error) });
      return false;
    }
  }

  /** First half of validity, per duty type (domain/value-validity.ts), with what only the app knows: forks and BLS. */
  private valueMatchesDuty(chain: ChainContext, duty: Duty, duties: readonly ValidatorDuty[], value: UnsignedDataSet): Validity {
    const fork = blockForkAtSlot(chain.signing, duty.slot);
    switch (duty.type) {
      case 'attester':
        return attesterValueMatchesDuty(duty.slot, attesterDutiesOf(duties), value, !forkIsElectraOrLater(fork));
      case 'proposer': {
        const proposer = duties.find((d) => d.slot === duty.slot);
        const randaoRoot = fromHex(randaoSigningRoot(chain.signing, epochOfSlot(chain.signing, duty.slot)));
        return proposerValueMatchesDuty(duty.slot, duties, value, {
          fork,
          blindedAllowed: forkHasBlindedBlocks(fork),
          randaoRevealValid: (reveal) => {
            try {
              return !!proposer && blsVerify(fromHex(proposer.pubkey), randaoRoot, fromHex(reveal));
            } catch {
              return false;
            }
          },
        });
      }
      case 'aggregator': {
        const attesters = attesterDutiesOf(this.duties.get(dutyId({ slot: duty.slot, type: 'attester' })) ?? []);
        const lengths = new Map(attesters.map((d) => [String(d.committeeIndex), d.committeeLength]));
        const decided = this.decidedAttestations.get(duty.slot);
        const electra = forkIsElectraOrLater(fork);
        return aggregatorValueMatchesDuty(duty.slot, value, {
          fork,
          committees: new Set(lengths.keys()),
          sameAsDecided: (committee, data) => {
            const ours = decided?.[committee];
            return ours !== undefined && attestationDataRoot(ours) === attestationDataRoot(data);
          },
          malformed: (committee, aggregate) => {
            const shape = aggregateShape(fork, aggregate);
            if (shape.bitLength !== lengths.get(committee)) return `${shape.bitLength} aggregation bits, committee of ${lengths.get(committee)}`;
            if (shape.attesters === 0) return 'no attester in it';
            if (electra ? shape.committees?.join(',') !== committee || aggregate.data.index !== '0' : aggregate.data.index !== committee) {
              return `names committee ${electra ? String(shape.committees) : aggregate.data.index}`;
            }
            return undefined;
          },
        });
      }
      case 'sync_contribution':
        return syncContributionValueMatchesDuty(duty.slot, duties.filter(isSyncContributionDuty), value, (contribution) =>
          contributionParticipants(contribution) === 0 ? 'no participant in it' : undefined,
        );
      case 'randao':
      case 'sync_message':
      case 'exit':
      case 'prepare_aggregator':
      case 'prepare_sync_contribution':
      case 'builder_registration':
        return { ok: false, detail: `${duty.type} duties have no consensus` };
      default:
        return assertNever(duty.type);
    }
  }

  /** Why a peer's message for `duty` has no instance here (see `instance`): too late, sat out, or not a duty of this node. */
  private noInstanceReason(duty: Duty): PeerRefusalReason {
    const chain = this.chain;
    if (!chain) return 'unknown_duty';
    if (this.instances.get(dutyId(duty))?.closed || (this.duties.has(dutyId(duty)) && Date.now() >= dutyDeadlineMs(chain.timing, duty))) return 'deadline_expired';
    if (this.duties.has(dutyId(duty)) && slotStartMs(chain.timing, duty.slot) <= this.bootMs) return 'duty_before_start';
    return 'unknown_duty';
  }

  private instance(duty: Duty): Instance | undefined {
    const chain = this.chain;
    if (!chain) return undefined;
    const key = dutyId(duty);
    const existing = this.instances.get(key);
    if (existing) return existing.closed ? undefined : existing;
    if (slotStartMs(chain.timing, duty.slot) <= this.bootMs) return undefined;
    // Only duties this node scheduled, and none ahead of the slot clock (one slot of skew):
    // a peer naming some far slot must not create state, nor push live duties out of the window.
    if (DUTY_FLOW[duty.type] !== 'decided' || !this.duties.has(key) || duty.slot > slotAt(chain.timing, Date.now()) + 1) return undefined;
    const deadline = dutyDeadlineMs(chain.timing, duty);
    if (Date.now() >= deadline) return undefined;
    const { cluster, node } = this.rt.config;
    const instance: Instance = {
      duty,
      state: initialState({
        nodes: cluster.operators.length,
        self: node.index,
        quorum: cluster.threshold,
        leaderSeed: duty.slot + DUTY_ORDINAL[duty.type],
      }),
      queue: Promise.resolve(),
      timerRound: 0,
      armedRounds: new Set(),
      verified: new Set(),
      closed: false,
    };
    instance.deadlineTimer = setTimeout(() => this.enqueue(instance, () => this.expire(instance)), deadline - Date.now());
    this.instances.set(key, instance);
    for (const [k, other] of this.instances) if (other.duty.slot < duty.slot - 64) this.instances.delete(k);
    return instance;
  }

  private enqueue(instance: Instance, work: () => Promise<void>): void {
    instance.queue = instance.queue
      .then(() => (instance.closed ? undefined : work()))
      .catch((error: unknown) => this.rt.log.error('consensus step failed', { duty: dutyId(instance.duty), error: String(error) }));
  }

  private async apply(instance: Instance, command: QbftCommand): Promise<void> {
    const events = decide(command, instance.state);
    for (const event of events) instance.state = evolve(instance.state, event);
    for (const event of events) await this.effect(instance, event);
  }

  private async effect(instance: Instance, event: QbftEvent): Promise<void> {
    const { duty } = instance;
    switch (event.kind) {
      case 'RoundStarted': {
        this.armRoundTimer(instance, event.round);
        if (event.round === 1) await this.rt.events.record('ConsensusStarted', duty, this.pubkeysOf(duty), { round: event.round, leader: event.leader });
        return;
      }
      case 'MessageBroadcast':
        // The leader's own proposal counts as a justified PRE-PREPARE for its round, as in
        // Charon (where the leader receives its own broadcast): its timer doubles too.
        if (event.message.type === 'PRE-PREPARE' && event.message.round === instance.timerRound) this.armRoundTimer(instance, event.message.round);
        this.rt.bus.publish<PeerOutbound<QbftWireMessage>>(Subjects.peerOut('qbft'), { payload: { duty, message: event.message } });
        return;
      case 'RoundChanged':
        this.rt.log.info('round changed', { duty: dutyId(duty), from: event.from, to: event.to, reason: event.reason });
        await this.rt.events.record('RoundChanged', duty, this.pubkeysOf(duty), event, { discriminator: `r${event.to}` });
        return;
      case 'Decided': {
        clearTimeout(instance.roundTimer);
        const value = event.value as UnsignedDataSet;
        if (value.type === 'attester') {
          this.decidedAttestations.set(duty.slot, value.byCommittee);
          for (const slot of this.decidedAttestations.keys()) if (slot < duty.slot - 64) this.decidedAttestations.delete(slot);
        }
        if (instance.startedAtMs !== undefined) this.decideLatency.observe((Date.now() - instance.startedAtMs) / 1000);
        this.rt.log.info('decided', { duty: dutyId(duty), round: event.round, sinceSlotStartMs: this.chain ? Date.now() - slotStartMs(this.chain.timing, duty.slot) : undefined });
        await this.rt.events.record('DutyDecided', duty, this.pubkeysOf(duty), {
          round: event.round,
          valueHash: event.valueHash,
          value,
        });
        return;
      }
      case 'MessageRejected': {
        // Only peers' messages reach the decider (never its own), each from its authenticated author.
        // `already_decided` is not recorded: every correct peer's COMMIT or DECIDED that arrives
        // after this node decided gets it (several per duty in a healthy cluster); it is counted.
        const { message, reason } = event;
        const detail = `${message.type} round ${message.round}${message.valueHash ? ` value ${message.valueHash.slice(0, 10)}…` : ''}`;
        if (reason === 'already_decided') this.rejected.inc({ reason });
        else this.refuse(message.source, reason, detail, duty);
        this.rt.log.debug('qbft message rejected', { duty: dutyId(duty), type: message.type, source: message.source, reason });
        return;
      }
      case 'MessageAccepted':
        // A justified PRE-PREPARE for the round we are in: the leader is alive, give the round more time.
        if (event.message.type === 'PRE-PREPARE' && event.message.round === instance.timerRound && instance.state.decision === null) {
          this.armRoundTimer(instance, event.message.round);
        }
        return;
      case 'InputRecorded':
      case 'Prepared':
        return;
      default:
        assertNever(event);
    }
  }

  /**
   * Eager double linear (domain/round-timer.ts): round r first expires at the duty start + r s,
   * the same instant on every node; armed again for the same round (a justified PRE-PREPARE)
   * it expires a round timeout later. A deadline already past fires at once, so a node that
   * joins late catches up with the round the cluster is in.
   */
  private armRoundTimer(instance: Instance, round: number): void {
    const chain = this.chain;
    if (!chain) return;
    clearTimeout(instance.roundTimer);
    const timing: RoundTimerTiming = {
      genesisTimeNs: BigInt(Math.round(chain.timing.genesisTimeMs)) * 1_000_000n,
      slotDurationNs: BigInt(Math.round(chain.timing.secondsPerSlot * 1000)) * 1_000_000n,
    };
    const rearmed = instance.armedRounds.has(round);
    instance.armedRounds.add(round);
    instance.timerRound = round;
    const deadlineMs = Number(roundDeadlineNs(timing, instance.duty.slot, TIMER_DUTY_TYPE[instance.duty.type], round, rearmed) / 1_000_000n);
    instance.roundTimer = setTimeout(
      () => this.enqueue(instance, () => this.apply(instance, { kind: 'TimerExpired', round })),
      Math.max(0, deadlineMs - Date.now()),
    );
  }

  private async expire(instance: Instance): Promise<void> {
    if (instance.state.decision === null) {
      this.rt.log.warn('no consensus before the deadline', { duty: dutyId(instance.duty), round: instance.state.round });
      await this.rt.events.record('ConsensusTimedOut', instance.duty, this.pubkeysOf(instance.duty), {
        round: instance.state.round,
        reason: 'no_consensus',
      });
    }
    this.close(instance);
  }

  /** The validators a duty concerns: every event of the duty names them. */
  private pubkeysOf(duty: Duty): Hex[] {
    return (this.duties.get(dutyId(duty)) ?? []).map((d) => d.pubkey);
  }

  private close(instance: Instance): void {
    instance.closed = true;
    clearTimeout(instance.roundTimer);
    clearTimeout(instance.deadlineTimer);
  }
}
