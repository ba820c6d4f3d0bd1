import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { BeaconApiError, type ChainContext } from '#lib/beacon';
import { combinePartialSignatures, findInvalid, initBls, verify as blsVerify } from '#lib/bls';
import { shareIndexOf } from '#lib/config';
import {
  assertNever,
  dutyDeadlineMs,
  dutyId,
  fromHex,
  isDutyType,
  slotStartMs,
  Subjects,
  toHex,
  type Duty,
  type FailureReason,
  type Hex,
  type PartialSignature,
  type PeerInbound,
  type PeerOutbound,
  type PeerRefusalReason,
  type UnsignedDataSet,
  type ValidatorDuty,
  DUTY_FLOW,
  isSyncCommitteeDuty,
  type SignedObject,
} from '#lib/contracts';
import {
  blockForkAtSlot,
  decidedSigningItems,
  epochOfSlot,
  forkIsElectraOrLater,
  randaoSigningRoot,
  selectionProofSigningRoot,
  syncCommitteeMessageSigningRoot,
  syncSelectionSigningRoot,
  syncSubcommitteeOf,
  voluntaryExitSigningRoot,
  type DecidedSigningItem,
} from '#lib/signing';
import { PeerRefusalLog } from '#lib/event-log';
import { RUNTIME, catchUpFrom, type ServiceRuntime } from '#lib/service-kit';
import {
  decide,
  evolve,
  failureReasonOf,
  initialAggregationState,
  type AggregationCommand,
  type AggregationDefinition,
  type AggregationEvent,
  type AggregationState,
} from '../domain/aggregation.decider.js';
import { senderBindingRefusal, shareIndexMap, type ShareIndexMap } from '../domain/share-index-binding.js';
import { attestationJson, signedBlockJson, singleAttestationJson, syncCommitteeMessageJson } from './submissions.js';

/** Key of a signing item: a validator can sign several roots in one duty (one per sync subcommittee). */
const itemKey = (pubkey: Hex, signingRoot: Hex): string => `${pubkey}/${signingRoot}`;

/** The wire payload of the `parsig` peer protocol: one node's share signatures for a duty. */
export interface ParsigWireMessage {
  readonly duty: Duty;
  readonly partials: readonly PartialSignature[];
}

interface DutyAggregation {
  readonly duty: Duty;
  state: AggregationState;
  duties: readonly ValidatorDuty[];
  decided?: UnsignedDataSet;
  /** What each validator signs, by itemKey(pubkey, signingRoot). */
  items: Map<string, DecidedSigningItem>;
  /** `signed` flow: what each share signed, by validator and signing root (to build the submission). */
  objects: Map<Hex, Map<Hex, SignedObject>>;
  /** Roots are expected (decided and approved, or fixed by a `signed` duty): shares can count. */
  expecting: boolean;
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
  /** Peer messages refused before their signatures were looked at, summarised per slot (set once the chain is known). */
  private refusals?: PeerRefusalLog;
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
    this.refusals = new PeerRefusalLog({
      events: this.rt.events,
      timing: this.chain.timing,
      onError: (error) => this.rt.log.warn('refused peer messages not recorded', { error: String(error) }),
    });
    const ev = this.rt.events;
    const subs = await Promise.all([
      // After a restart mid-epoch: the duties scheduled before it that are still ahead.
      ev.on(
        'DutyScheduled',
        (e) =>
          this.with(e.duty, async (d) => {
            d.duties = e.data.duties;
            await this.apply(d, { kind: 'ScheduleValidators', pubkeys: e.data.duties.map((x) => x.pubkey) });
            if (DUTY_FLOW[e.duty.type] === 'signed') await this.expectSigned(d);
          }),
        catchUpFrom(this.chain),
      ),
      ev.on('DutyDecided', (e) => this.with(e.duty, async (d) => void (d.decided = e.data.value))),
      ev.on('ProposalApproved', (e) => this.with(e.duty, (d) => this.expect(d, e.pubkeys))),
      ev.on('ProposalRefused', (e) => this.with(e.duty, (d) => this.apply(d, { kind: 'RecordRefusals', pubkeys: e.pubkeys }))),
      ev.on('PartialSignatureSubmitted', (e) =>
        this.with(e.duty, async (d) => {
          d.firstLocalAtMs ??= Date.now();
          await this.openExit(d, e.data.partials);
          // Verified by the gateway against this node's public share before it was recorded.
          this.rt.bus.publish<PeerOutbound<ParsigWireMessage>>(Subjects.peerOut('parsig'), { payload: { duty: e.duty, partials: e.data.partials } });
          await this.record(d, this.def.selfShareIndex, e.data.partials, true);
        }),
      ),
    ]);
    const inbound = this.rt.bus.subscribe<PeerInbound<ParsigWireMessage>>(Subjects.peerIn('parsig'), ({ from, payload }) => {
      if (!payload?.duty || !Array.isArray(payload.partials)) {
        this.refusePeer(from, 'malformed', 'not {duty, partials}');
        return;
      }
      // The share index is the one the cluster assigned to the authenticated sender (peer map),
      // never the one the message claims nor one derived from a position.
      const shareIndex = this.shareIndices.get(from);
      const refused = new Map<PeerRefusalReason, number>();
      const partials = payload.partials.filter((p) => {
        const refusal = senderBindingRefusal(this.shareIndices, from, p?.shareIndex);
        if (refusal !== null) refused.set(refusal, (refused.get(refusal) ?? 0) + 1);
        return refusal === null;
      });
      const claimed = refused.size > 0 ? [...new Set(payload.partials.map((p) => String(p?.shareIndex)))].slice(0, 4).join(',') : '';
      for (const [reason, count] of refused) {
        this.refusePeer(from, reason, `${count} of ${payload.partials.length} share signature(s) claim share index ${claimed}, sender's is ${shareIndex ?? 'none'}`, payload.duty, count);
      }
      if (shareIndex === undefined) return;
      // Only duties this node scheduled: a peer naming an unknown or far-future duty creates no state.
      // An exit is never scheduled: a share for a validator of this cluster opens it (one duty per validator and exit epoch).
      const opensExit = payload.duty?.type === 'exit' && partials.some((p) => this.publicShares.has(p?.pubkey));
      if (typeof payload.duty?.slot !== 'number' || (!this.duties.has(dutyId(payload.duty)) && !opensExit)) {
        this.refusePeer(from, 'unknown_duty', `${payload.partials.length} share signature(s) for ${String(payload.duty?.slot)}/${String(payload.duty?.type)}`);
        return;
      }
      return this.with(payload.duty, async (d) => {
        await this.openExit(d, partials);
        await this.record(d, shareIndex, partials, false);
      });
    });
    for (const sub of subs) this.closers.push(() => sub.close());
    this.closers.push(() => inbound.close());
  }

  async onModuleDestroy(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.closers.map((close) => close()));
    for (const d of this.duties.values()) clearTimeout(d.deadline);
    await this.refusals?.close();
  }

  /**
   * A peer's `parsig` message (or some of its share signatures) refused before verification:
   * counted per share signature, recorded as PeerMessageRefused (summarised per slot, under the
   * duty if this node has it) and logged once per peer, reason and slot. Signatures refused
   * after verification are PartialSignaturesRejected instead.
   */
  private refusePeer(from: number, reason: PeerRefusalReason, detail: string, named?: Duty, signatures = 1): void {
    this.rejected.inc({ reason }, signatures);
    const known = named !== undefined && Number.isSafeInteger(named.slot) && isDutyType(named.type) && this.duties.has(dutyId(named)) ? named : undefined;
    const first = this.refusals?.refuse({ peer: from, protocol: 'parsig', reason, detail, ...(known && { duty: known }) }) ?? true;
    if (first) this.rt.log.warn('peer share signatures refused', { from, reason, detail });
  }

  /** Runs `work` on the duty's aggregation, one step at a time. */
  private with(duty: Duty, work: (d: DutyAggregation) => Promise<void>): Promise<void> {
    const chain = this.chain;
    if (!chain || typeof duty?.slot !== 'number') return Promise.resolve();
    const key = dutyId(duty);
    let d = this.duties.get(key);
    if (!d) {
      const deadlineMs = dutyDeadlineMs(chain.timing, duty);
      // An exit's slot is its epoch's start, usually before this process started: nothing of it was lost at boot.
      if (Date.now() >= deadlineMs || (duty.type !== 'exit' && slotStartMs(chain.timing, duty.slot) <= this.bootMs)) return Promise.resolve();
      const created: DutyAggregation = {
        duty,
        state: initialAggregationState,
        duties: [],
        items: new Map(),
        objects: new Map(),
        expecting: false,
        early: [],
        queue: Promise.resolve(),
        inputs: 0,
      };
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
    const roots: { pubkey: Hex; signingRoot: Hex }[] = [];
    for (const item of decidedSigningItems(chain.signing, d.duties, d.decided)) {
      if (!wanted.has(item.pubkey)) continue;
      d.items.set(itemKey(item.pubkey, item.signingRoot), item);
      roots.push({ pubkey: item.pubkey, signingRoot: item.signingRoot });
    }
    // Recorded for `cohort replay`: the roots come from the chain's signing domain, which the log does not hold.
    if (roots.length > 0) {
      await this.rt.events.record('SignaturesExpected', d.duty, roots.map((r) => r.pubkey), { ...this.def, roots }, { discriminator: `in${++d.inputs}` });
    }
    await this.apply(d, { kind: 'ExpectSignatures', roots });
    await this.releaseEarly(d);
  }

  /**
   * A `signed`-flow duty expects signatures as soon as it is scheduled: a RANDAO reveal's root
   * is fixed by the epoch, a selection proof's by the slot (and subcommittee); a sync committee
   * message counts on whichever root threshold shares agree.
   */
  private async expectSigned(d: DutyAggregation): Promise<void> {
    const chain = this.chain;
    if (!chain) return;
    const { duty } = d;
    const pubkeys = [...new Set(d.duties.map((x) => x.pubkey))];
    const roots = this.fixedRoots(chain, duty, d.duties);
    const agreeing = duty.type === 'sync_message' ? pubkeys : [];
    await this.rt.events.record('SignaturesExpected', duty, pubkeys, { ...this.def, roots, agreeing }, { discriminator: `in${++d.inputs}` });
    await this.apply(d, { kind: 'ExpectSignatures', roots });
    if (agreeing.length > 0) await this.apply(d, { kind: 'ExpectAgreement', pubkeys: agreeing });
    await this.releaseEarly(d);
  }

  /** The roots a `signed`-flow duty's validators sign, where the duty alone fixes them. */
  private fixedRoots(chain: ChainContext, duty: Duty, duties: readonly ValidatorDuty[]): { pubkey: Hex; signingRoot: Hex }[] {
    switch (duty.type) {
      case 'randao': {
        const signingRoot = randaoSigningRoot(chain.signing, epochOfSlot(chain.signing, duty.slot));
        return duties.map(({ pubkey }) => ({ pubkey, signingRoot }));
      }
      case 'prepare_aggregator': {
        const signingRoot = selectionProofSigningRoot(chain.signing, duty.slot);
        return duties.map(({ pubkey }) => ({ pubkey, signingRoot }));
      }
      case 'prepare_sync_contribution': {
        // One selection proof per subcommittee the member has a seat in (altair/validator.md#aggregation-selection).
        const size = Number(chain.spec['SYNC_COMMITTEE_SIZE']);
        return duties.filter(isSyncCommitteeDuty).flatMap(({ pubkey, validatorSyncCommitteeIndices }) =>
          [...new Set(validatorSyncCommitteeIndices.map((seat) => syncSubcommitteeOf(size, seat)))].map((subcommittee) => ({
            pubkey,
            signingRoot: syncSelectionSigningRoot(chain.signing, duty.slot, subcommittee),
          })),
        );
      }
      default:
        return [];
    }
  }

  /**
   * A voluntary exit comes from an operator, not the BN's schedule: the first share of a cluster
   * validator's exit opens the duty for it, expecting agreement on one signed exit.
   */
  private async openExit(d: DutyAggregation, partials: readonly PartialSignature[]): Promise<void> {
    if (d.duty.type !== 'exit') return;
    const pubkeys = [...new Set(partials.map((p) => p?.pubkey))].filter((pk) => this.publicShares.has(pk) && !d.state.validators.has(pk));
    if (pubkeys.length === 0) return;
    await this.apply(d, { kind: 'ScheduleValidators', pubkeys });
    await this.rt.events.record('SignaturesExpected', d.duty, pubkeys, { ...this.def, roots: [], agreeing: pubkeys }, { discriminator: `in${++d.inputs}` });
    await this.apply(d, { kind: 'ExpectAgreement', pubkeys });
    await this.releaseEarly(d);
  }

  private async releaseEarly(d: DutyAggregation): Promise<void> {
    d.expecting = true;
    const early = d.early.splice(0);
    for (const batch of early) await this.record(d, batch.shareIndex, batch.partials, false);
  }

  /**
   * The root a `signed`-flow share signs, recomputed from the object it names (a peer's claimed
   * root is never trusted); for decided duties the claimed root, which the decider compares.
   */
  private rootOf(duty: Duty, p: PartialSignature): Hex | undefined {
    const chain = this.chain;
    if (chain && duty.type === 'exit') {
      const epoch = p.object?.['epoch'];
      const index = p.object?.['validator_index'];
      // The exit of the duty's epoch only; the epoch and index as the Beacon API writes uint64.
      if (epoch !== String(epochOfSlot(chain.signing, duty.slot)) || typeof index !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(index)) return undefined;
      return voluntaryExitSigningRoot(chain.signing, { epoch, validator_index: index });
    }
    if (chain && duty.type === 'prepare_aggregator') return selectionProofSigningRoot(chain.signing, duty.slot);
    if (chain && duty.type === 'prepare_sync_contribution') {
      const subcommittee = p.object?.['subcommittee_index'];
      if (p.object?.['slot'] !== String(duty.slot) || typeof subcommittee !== 'string' || !/^[0-9]$/.test(subcommittee)) return undefined;
      return syncSelectionSigningRoot(chain.signing, duty.slot, Number(subcommittee));
    }
    if (!chain || duty.type !== 'sync_message') return p.signingRoot;
    const root = p.object?.['beacon_block_root'];
    if (typeof root !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(root)) return undefined;
    return syncCommitteeMessageSigningRoot(chain.signing, duty.slot, root.toLowerCase() as Hex);
  }

  /** Verifies a batch of share signatures (blst multi-verify, bisecting only on failure). */
  private async record(d: DutyAggregation, shareIndex: number, partials: readonly PartialSignature[], trusted: boolean): Promise<void> {
    if (partials.length === 0) return;
    if (!d.expecting && !d.state.expired) {
      d.early.push({ shareIndex, partials });
      return;
    }
    const roots = partials.map((p) => this.rootOf(d.duty, p));
    let invalid = new Set<number>(roots.flatMap((root, i) => (root === undefined ? [i] : [])));
    if (!trusted) {
      const sets = partials.map((p, i) => {
        const share = this.publicShares.get(p.pubkey)?.[shareIndex - 1];
        return { pubkey: share ? fromHex(share) : new Uint8Array(48), message: safeBytes(roots[i] ?? '0x'), signature: safeBytes(p.signature) };
      });
      invalid = new Set([...invalid, ...findInvalid(sets)]);
    }
    const verified = partials.map((p, i) => ({
      pubkey: p.pubkey,
      signingRoot: roots[i] ?? p.signingRoot,
      signature: p.signature,
      valid: !invalid.has(i),
      ...(p.object !== undefined && { object: p.object }),
    }));
    for (const p of verified) {
      if (!p.valid || p.object === undefined) continue;
      const byRoot = d.objects.get(p.pubkey) ?? new Map<Hex, SignedObject>();
      byRoot.set(p.signingRoot, p.object);
      d.objects.set(p.pubkey, byRoot);
    }
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
        for (const f of event.failures) {
          const reason = failureReasonOf(duty.type, f.reason);
          byReason.set(reason, [...(byReason.get(reason) ?? []), f.pubkey]);
        }
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
      case 'AgreementExpected':
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
    const signatures: { pubkey: Hex; signingRoot: Hex; signature: Hex; object?: SignedObject }[] = [];
    for (const set of sets) {
      const combined = combinePartialSignatures(new Map(set.shares.map((s) => [s.shareIndex, fromHex(s.signature)])));
      if (!blsVerify(fromHex(set.pubkey), fromHex(set.signingRoot), combined)) {
        this.outcomes.inc({ outcome: 'aggregate_invalid' });
        await this.rt.events.record('DutyFailed', duty, [set.pubkey], { reason: 'aggregate_invalid', detail: 'combined signature does not verify under the group key' }, { discriminator: `agg:${set.pubkey.slice(2, 10)}` });
        continue;
      }
      const object = d.objects.get(set.pubkey)?.get(set.signingRoot);
      signatures.push({ pubkey: set.pubkey, signingRoot: set.signingRoot, signature: toHex(combined), ...(object && { object }) });
    }
    if (signatures.length === 0) return;
    const discriminator = signatures.map((s) => `${s.pubkey.slice(2, 10)}${s.signingRoot.slice(2, 6)}`).join('');
    const pubkeys = [...new Set(signatures.map((s) => s.pubkey))];
    await this.rt.events.record('SignaturesAggregated', duty, pubkeys, { signatures: signatures.map(({ pubkey, signature, object }) => ({ pubkey, signature, ...(object && { object }) })) }, { discriminator });
    // A RANDAO reveal or a selection proof goes to no BN route: the scheduler and the gateway take it from SignaturesAggregated.
    if (duty.type === 'randao' || duty.type === 'prepare_aggregator' || duty.type === 'prepare_sync_contribution') {
      return void this.outcomes.inc({ outcome: 'combined' }, signatures.length);
    }
    try {
      await this.submit(d, signatures);
      if (d.firstLocalAtMs !== undefined) this.latency.observe((Date.now() - d.firstLocalAtMs) / 1000);
      this.outcomes.inc({ outcome: 'broadcast' }, signatures.length);
      await this.rt.events.record('Broadcast', duty, pubkeys, { count: signatures.length }, { discriminator });
    } catch (error) {
      // Every operator submits the same combined signature: a BN that has it already (another
      // operator's came first; Lodestar answers ALREADY_KNOWN) has what this node would give it.
      if (error instanceof BeaconApiError && error.alreadyKnown) {
        this.outcomes.inc({ outcome: 'broadcast' }, signatures.length);
        this.rt.log.debug('the BN already had the aggregated submission', { duty: dutyId(duty) });
        return void (await this.rt.events.record('Broadcast', duty, pubkeys, { count: signatures.length }, { discriminator }));
      }
      this.outcomes.inc({ outcome: 'bn_broadcast_failed' }, signatures.length);
      this.rt.log.warn('BN refused the aggregated submission', { duty: dutyId(duty), error: String(error) });
      await this.rt.events.record('BroadcastFailed', duty, pubkeys, { reason: 'bn_broadcast_failed', detail: String(error).slice(0, 500) }, { discriminator });
    }
  }

  /** Submits the combined signatures on the duty type's Beacon API route. */
  private async submit(d: DutyAggregation, signatures: readonly { pubkey: Hex; signingRoot: Hex; signature: Hex }[]): Promise<void> {
    const chain = this.chain;
    if (!chain) throw new Error('chain not loaded');
    const { duty } = d;
    const bn = this.rt.beacon;
    switch (duty.type) {
      case 'attester': {
        const fork = blockForkAtSlot(chain.signing, duty.slot);
        const items = signatures.flatMap((s) => {
          const item = d.items.get(itemKey(s.pubkey, s.signingRoot));
          return item?.kind === 'attestation' ? [{ item, signature: s.signature }] : [];
        });
        if (forkIsElectraOrLater(fork)) return bn.submitAttestations(items.map((i) => singleAttestationJson(i.item, i.signature)), fork);
        return bn.submitAttestations(items.map((i) => attestationJson(i.item, i.signature)));
      }
      case 'proposer': {
        const [signed] = signatures;
        if (!signed || d.decided?.type !== 'proposer') throw new Error('no decided block to publish');
        const { fork, body } = signedBlockJson(d.decided, signed.signature);
        return bn.publishBlock(fork, d.decided.blinded, body);
      }
      case 'sync_message': {
        const messages = signatures.flatMap((s) => {
          const scheduled = d.duties.find((x) => x.pubkey === s.pubkey);
          const object = d.objects.get(s.pubkey)?.get(s.signingRoot);
          return scheduled && isSyncCommitteeDuty(scheduled) && object ? [syncCommitteeMessageJson(scheduled, object, s.signature)] : [];
        });
        return bn.submitSyncCommitteeMessages(messages);
      }
      case 'randao':
      case 'prepare_aggregator':
      case 'prepare_sync_contribution':
      case 'builder_registration':
        return;
      case 'exit': {
        for (const s of signatures) {
          const object = d.objects.get(s.pubkey)?.get(s.signingRoot);
          if (object) await bn.submitVoluntaryExit({ message: object, signature: s.signature });
        }
        return;
      }
      case 'aggregator': {
        const fork = blockForkAtSlot(chain.signing, duty.slot);
        const signed = signatures.flatMap((s) => {
          const item = d.items.get(itemKey(s.pubkey, s.signingRoot));
          return item?.kind === 'aggregate' ? [{ message: item.message, signature: s.signature }] : [];
        });
        return bn.submitAggregateAndProofs(signed, fork);
      }
      case 'sync_contribution': {
        const signed = signatures.flatMap((s) => {
          const item = d.items.get(itemKey(s.pubkey, s.signingRoot));
          return item?.kind === 'contribution' ? [{ message: item.message, signature: s.signature }] : [];
        });
        return bn.submitContributionAndProofs(signed);
      }
      default:
        return assertNever(duty.type);
    }
  }
}

function safeBytes(hex: string): Uint8Array {
  try {
    return fromHex(hex);
  } catch {
    return new Uint8Array(0);
  }
}
