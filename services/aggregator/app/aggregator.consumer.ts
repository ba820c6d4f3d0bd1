import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ssz } from '@lodestar/types';
import { Counter, Histogram } from 'prom-client';
import type { ChainContext } from '#lib/beacon';
import { combinePartialSignatures, findInvalid, initBls, verify as blsVerify } from '#lib/bls';
import { shareIndexOf } from '#lib/config';
import {
  assertNever,
  dutyDeadlineMs,
  dutyId,
  fromHex,
  slotStartMs,
  Subjects,
  toHex,
  type AttesterDuty,
  type Duty,
  type FailureReason,
  type Hex,
  type PartialSignature,
  type PeerInbound,
  type PeerOutbound,
  type UnsignedDataSet,
} from '#lib/contracts';
import { attesterSigningItems, type AttesterSigningItem } from '#lib/signing';
import { RUNTIME, catchUpFrom, type ServiceRuntime } from '#lib/service-kit';
import {
  decide,
  evolve,
  initialAggregationState,
  type AggregationCommand,
  type AggregationDefinition,
  type AggregationEvent,
  type AggregationState,
} from '../domain/aggregation.decider.js';
import { senderBindingRefusal, shareIndexMap, type ShareIndexMap } from '../domain/share-index-binding.js';

/** The wire payload of the `parsig` peer protocol: one node's share signatures for a duty. */
export interface ParsigWireMessage {
  readonly duty: Duty;
  readonly partials: readonly PartialSignature[];
}

interface DutyAggregation {
  readonly duty: Duty;
  state: AggregationState;
  duties: readonly AttesterDuty[];
  decided?: UnsignedDataSet;
  items: Map<Hex, AttesterSigningItem>;
  /** Peer partials that arrived before this node knew what was decided. */
  early: { shareIndex: number; partials: readonly PartialSignature[] }[];
  queue: Promise<void>;
  /** Inputs recorded for replay so far: makes each one's event id unique (a repeated message is an input too). */
  inputs: number;
  deadline?: NodeJS.Timeout;
  firstLocalAtMs?: number;
}

/**
 * Exchanges this node's share signatures with its peers, verifies theirs (batched), and at
 * threshold combines, checks the result under the group key and submits it to the BN.
 */
@Injectable()
export class AggregatorConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private chain?: ChainContext;
  private readonly def: AggregationDefinition;
  private readonly duties = new Map<string, DutyAggregation>();
  private readonly publicShares: ReadonlyMap<Hex, readonly Hex[]>;
  /** Share index of each operator (by operator index): who may contribute under which index. */
  private readonly shareIndices: ShareIndexMap<number>;
  private readonly closers: (() => unknown)[] = [];
  private readonly abort = new AbortController();
  /** Duties whose slot began before this process started are sat out: their partials from before are gone. */
  private readonly bootMs = Date.now();
  private readonly rejected: Counter;
  private readonly outcomes: Counter;
  private readonly latency: Histogram;

  constructor(@Inject(RUNTIME) private readonly rt: ServiceRuntime) {
    this.def = {
      threshold: rt.config.cluster.threshold,
      totalShares: rt.config.cluster.operators.length,
      selfShareIndex: shareIndexOf(rt.config),
    };
    this.publicShares = new Map(rt.config.cluster.validators.map((v) => [v.groupPubkey, v.publicShares]));
    // Operators are 0-based, share indices 1-based (DESIGN.md "Keys"); the map is checked once,
    // at start, so an operator without a share index fails here rather than timing out later.
    const operators = rt.config.cluster.operators.map((o) => o.index);
    const peerMap = shareIndexMap(operators, new Map(operators.map((index) => [index, index + 1])));
    if (!peerMap.ok) throw new Error(`cluster.operators: no share index for operator(s) ${peerMap.peers.join(', ')}`);
    this.shareIndices = peerMap.map;
    this.rejected = new Counter({
      name: 'cohort_aggregator_partials_rejected_total',
      help: 'Share signatures rejected, by reason',
      labelNames: ['reason'],
      registers: [rt.metrics],
    });
    this.outcomes = new Counter({
      name: 'cohort_aggregator_validator_duties_total',
      help: 'Validator duties by outcome (broadcast, or a failure reason)',
      labelNames: ['outcome'],
      registers: [rt.metrics],
    });
    this.latency = new Histogram({
      name: 'cohort_aggregator_submit_seconds',
      help: 'From the local VC share signature to the aggregate accepted by the BN',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4],
      registers: [rt.metrics],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await initBls();
    this.chain = await this.rt.loadChain(this.abort.signal);
    const ev = this.rt.events;
    const subs = await Promise.all([
      // After a restart mid-epoch: the duties scheduled before it that are still ahead.
      ev.on(
        'DutyScheduled',
        (e) =>
          this.with(e.duty, async (d) => {
            d.duties = e.data.duties;
            await this.apply(d, { kind: 'ScheduleValidators', pubkeys: e.data.duties.map((x) => x.pubkey) });
          }),
        catchUpFrom(this.chain),
      ),
      ev.on('DutyDecided', (e) => this.with(e.duty, async (d) => void (d.decided = e.data.value))),
      ev.on('ProposalApproved', (e) => this.with(e.duty, (d) => this.expect(d, e.pubkeys))),
      ev.on('ProposalRefused', (e) => this.with(e.duty, (d) => this.apply(d, { kind: 'RecordRefusals', pubkeys: e.pubkeys }))),
      ev.on('PartialSignatureSubmitted', (e) =>
        this.with(e.duty, async (d) => {
          d.firstLocalAtMs ??= Date.now();
          // Verified by the gateway against this node's public share before it was recorded.
          this.rt.bus.publish<PeerOutbound<ParsigWireMessage>>(Subjects.peerOut('parsig'), { payload: { duty: e.duty, partials: e.data.partials } });
          await this.record(d, this.def.selfShareIndex, e.data.partials, true);
        }),
      ),
    ]);
    const inbound = this.rt.bus.subscribe<PeerInbound<ParsigWireMessage>>(Subjects.peerIn('parsig'), ({ from, payload }) => {
      if (!payload?.duty || !Array.isArray(payload.partials)) return void this.rejected.inc({ reason: 'malformed' });
      // The share index is the one the cluster assigned to the authenticated sender (peer map),
      // never the one the message claims nor one derived from a position.
      const shareIndex = this.shareIndices.get(from);
      const partials = payload.partials.filter((p) => {
        const refusal = senderBindingRefusal(this.shareIndices, from, p?.shareIndex);
        if (refusal !== null) this.rejected.inc({ reason: refusal });
        return refusal === null;
      });
      if (partials.length < payload.partials.length) {
        this.rt.log.warn('peer partial signatures refused: sender binding', { from, refused: payload.partials.length - partials.length, shareIndex });
      }
      if (shareIndex === undefined) return;
      // Only duties this node scheduled: a peer naming an unknown or far-future duty creates no state.
      if (typeof payload.duty?.slot !== 'number' || !this.duties.has(dutyId(payload.duty))) return void this.rejected.inc({ reason: 'unknown_duty' });
      return this.with(payload.duty, (d) => this.record(d, shareIndex, partials, false));
    });
    for (const sub of subs) this.closers.push(() => sub.close());
    this.closers.push(() => inbound.close());
  }

  async onModuleDestroy(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.closers.map((close) => close()));
    for (const d of this.duties.values()) clearTimeout(d.deadline);
  }

  /** Runs `work` on the duty's aggregation, one step at a time. */
  private with(duty: Duty, work: (d: DutyAggregation) => Promise<void>): Promise<void> {
    const chain = this.chain;
    if (!chain || typeof duty?.slot !== 'number') return Promise.resolve();
    const key = dutyId(duty);
    let d = this.duties.get(key);
    if (!d) {
      const deadlineMs = dutyDeadlineMs(chain.timing, duty);
      if (Date.now() >= deadlineMs || slotStartMs(chain.timing, duty.slot) <= this.bootMs) return Promise.resolve();
      const created: DutyAggregation = { duty, state: initialAggregationState, duties: [], items: new Map(), early: [], queue: Promise.resolve(), inputs: 0 };
      created.deadline = setTimeout(() => void this.with(duty, (x) => this.apply(x, { kind: 'ExpireDuty' })), deadlineMs - Date.now());
      this.duties.set(key, created);
      for (const [k, old] of this.duties) if (old.duty.slot < duty.slot - 64) this.duties.delete(k);
      d = created;
    }
    const target = d;
    target.queue = target.queue
      .then(() => work(target))
      .catch((error: unknown) => this.rt.log.error('aggregation step failed', { duty: key, error: String(error) }));
    return target.queue;
  }

  private async expect(d: DutyAggregation, approved: readonly Hex[]): Promise<void> {
    const chain = this.chain;
    if (!chain || !d.decided) return;
    const wanted = new Set(approved);
    for (const item of attesterSigningItems(chain.signing, d.duties, d.decided)) if (wanted.has(item.pubkey)) d.items.set(item.pubkey, item);
    const roots = [...wanted].flatMap((pk) => { const i = d.items.get(pk); return i ? [{ pubkey: pk, signingRoot: i.signingRoot }] : []; });
    // Recorded for `cohort replay`: the roots come from the chain's signing domain, which the log does not hold.
    if (roots.length > 0) {
      await this.rt.events.record('SignaturesExpected', d.duty, roots.map((r) => r.pubkey), { ...this.def, roots }, { discriminator: `in${++d.inputs}` });
    }
    await this.apply(d, { kind: 'ExpectSignatures', roots });
    const early = d.early.splice(0);
    for (const batch of early) await this.record(d, batch.shareIndex, batch.partials, false);
  }

  /** Verifies a batch of share signatures (blst multi-verify, bisecting only on failure). */
  private async record(d: DutyAggregation, shareIndex: number, partials: readonly PartialSignature[], trusted: boolean): Promise<void> {
    if (partials.length === 0) return;
    if (d.items.size === 0 && !d.state.expired) {
      d.early.push({ shareIndex, partials });
      return;
    }
    let invalid = new Set<number>();
    if (!trusted) {
      const sets = partials.map((p) => {
        const share = this.publicShares.get(p.pubkey)?.[shareIndex - 1];
        return { pubkey: share ? fromHex(share) : new Uint8Array(48), message: fromHex(p.signingRoot), signature: safeBytes(p.signature) };
      });
      invalid = new Set(findInvalid(sets));
    }
    const verified = partials.map((p, i) => ({ pubkey: p.pubkey, signingRoot: p.signingRoot, signature: p.signature, valid: !invalid.has(i) }));
    // A peer's message is recorded as applied (own partials are already, as PartialSignatureSubmitted): `cohort replay` re-runs it.
    if (!trusted) {
      await this.rt.events.record('PeerPartialsReceived', d.duty, verified.map((p) => p.pubkey), { shareIndex, partials: verified }, { discriminator: `in${++d.inputs}` });
    }
    await this.apply(d, { kind: 'RecordPartials', shareIndex, partials: verified });
  }

  private async apply(d: DutyAggregation, command: AggregationCommand): Promise<void> {
    const events = decide(command, d.state, this.def);
    for (const event of events) d.state = evolve(d.state, event);
    for (const event of events) await this.effect(d, event);
  }

  private async effect(d: DutyAggregation, event: AggregationEvent): Promise<void> {
    const { duty } = d;
    switch (event.kind) {
      case 'PartialsRecorded':
        if (event.shareIndex !== this.def.selfShareIndex) {
          await this.rt.events.record('PartialSignaturesRecorded', duty, event.partials.map((p) => p.pubkey), { shareIndex: event.shareIndex, count: event.partials.length }, { discriminator: `s${event.shareIndex}:${event.partials.map((p) => p.pubkey.slice(2, 10)).join('')}` });
        }
        return;
      case 'PartialsRejected':
        for (const r of event.rejections) this.rejected.inc({ reason: r.reason });
        this.rt.log.warn('share signatures rejected', { duty: dutyId(duty), shareIndex: event.shareIndex, count: event.rejections.length, reason: event.rejections[0]?.reason });
        await this.rt.events.record('PartialSignaturesRejected', duty, event.rejections.map((r) => r.pubkey), { shareIndex: event.shareIndex, rejections: event.rejections }, { discriminator: `s${event.shareIndex}:${event.rejections.map((r) => r.pubkey.slice(2, 10)).join('')}` });
        return;
      case 'ThresholdReached':
        await this.aggregateAndSubmit(d, event.sets);
        return;
      case 'DutyExpired': {
        const byReason = new Map<FailureReason, Hex[]>();
        for (const f of event.failures) byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f.pubkey]);
        for (const [reason, pubkeys] of byReason) {
          this.outcomes.inc({ outcome: reason }, pubkeys.length);
          this.rt.log.warn('duty failed', { duty: dutyId(duty), validators: pubkeys.length, reason });
          await this.rt.events.record('DutyFailed', duty, pubkeys, { reason, detail: `${pubkeys.length} validator(s) not aggregated by the deadline` }, { discriminator: reason });
        }
        return;
      }
      case 'ValidatorsScheduled':
      case 'ValidatorsRefused':
      case 'SignaturesExpected':
        return;
      default:
        assertNever(event);
    }
  }

  private async aggregateAndSubmit(
    d: DutyAggregation,
    sets: Extract<AggregationEvent, { kind: 'ThresholdReached' }>['sets'],
  ): Promise<void> {
    const { duty } = d;
    const signatures: { pubkey: Hex; signature: Hex }[] = [];
    const attestations: unknown[] = [];
    for (const set of sets) {
      const item = d.items.get(set.pubkey);
      if (!item) continue;
      const combined = combinePartialSignatures(new Map(set.shares.map((s) => [s.shareIndex, fromHex(s.signature)])));
      if (!blsVerify(fromHex(set.pubkey), fromHex(set.signingRoot), combined)) {
        this.outcomes.inc({ outcome: 'aggregate_invalid' });
        await this.rt.events.record('DutyFailed', duty, [set.pubkey], { reason: 'aggregate_invalid', detail: 'combined signature does not verify under the group key' }, { discriminator: `agg:${set.pubkey.slice(2, 10)}` });
        continue;
      }
      signatures.push({ pubkey: set.pubkey, signature: toHex(combined) });
      attestations.push(attestationJson(item, toHex(combined)));
    }
    if (signatures.length === 0) return;
    const discriminator = signatures.map((s) => s.pubkey.slice(2, 10)).join('');
    await this.rt.events.record('SignaturesAggregated', duty, signatures.map((s) => s.pubkey), { signatures }, { discriminator });
    try {
      await this.rt.beacon.submitAttestations(attestations);
      if (d.firstLocalAtMs !== undefined) this.latency.observe((Date.now() - d.firstLocalAtMs) / 1000);
      this.outcomes.inc({ outcome: 'broadcast' }, signatures.length);
      await this.rt.events.record('Broadcast', duty, signatures.map((s) => s.pubkey), { count: signatures.length }, { discriminator });
    } catch (error) {
      this.outcomes.inc({ outcome: 'bn_broadcast_failed' }, signatures.length);
      this.rt.log.warn('BN refused the aggregated attestations', { duty: dutyId(duty), error: String(error) });
      await this.rt.events.record('BroadcastFailed', duty, signatures.map((s) => s.pubkey), { reason: 'bn_broadcast_failed', detail: String(error).slice(0, 500) }, { discriminator });
    }
  }
}

/** The phase0 Attestation (JSON) for one validator: its committee bit, the decided data, the group signature. */
function attestationJson(item: AttesterSigningItem, signature: Hex): unknown {
  const bits = new Uint8Array(Math.floor(item.duty.committeeLength / 8) + 1);
  bits[item.duty.validatorCommitteeIndex >> 3] = 1 << (item.duty.validatorCommitteeIndex & 7);
  bits[item.duty.committeeLength >> 3] = (bits[item.duty.committeeLength >> 3] ?? 0) | (1 << (item.duty.committeeLength & 7));
  const attestation = ssz.phase0.Attestation.fromJson({ aggregation_bits: toHex(bits), data: item.data, signature });
  return ssz.phase0.Attestation.toJson(attestation);
}

function safeBytes(hex: string): Uint8Array {
  try {
    return fromHex(hex);
  } catch {
    return new Uint8Array(0);
  }
}
