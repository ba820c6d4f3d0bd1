import { initBls } from '#lib/bls';
import { dutyId, isNoDuty, type AnyCohortEvent, type Duty, type EventType, type Hex } from '#lib/contracts';
import { type EventSource, type SlotRange } from '#lib/audit';
import { replayAggregation, type AggregationInputs } from './aggregation.replay.js';
import { replayDecided, type SlashingReplay } from './slashing.replay.js';
import { factsOf, type Fact, type ReplayedStage } from './facts.js';

/**
 * `cohort replay`: re-runs the recorded inputs of one node's log through the same deciders
 * and compares what they produce with what the node recorded (DESIGN.md rule 4, issue 6).
 *
 * What one node's log can replay, and what it cannot:
 *
 * - **slashing-guard — replayed.** Inputs: `DutyScheduled` (the slot's duties) and `DutyDecided`
 *   (the value), in the order the node recorded them; outputs `ProposalApproved` /
 *   `ProposalRefused`. The history each decision reads is rebuilt by running the same decider
 *   over every earlier `DutyDecided` the source holds (the node's own log, not the slashing
 *   stream: a file export has no slashing stream, and the log is what the decisions were made
 *   from). The log does not hold the chain's signing domain, so attempts carry the attestation
 *   data root in place of the signing root: within one network the domain of an attestation is
 *   fixed by its target epoch, and the EIP-3076 checks compare roots only at one target, so the
 *   verdicts are the same. Not reproduced: records imported from an interchange file or older
 *   than the source (a refusal they caused shows as a divergence) and `history_conflict` (a
 *   second writer). One network's duties are replayed, against that network's history: after a
 *   reset a slot number can name two networks' duties, and the range then needs `network`.
 * - **aggregator — replayed.** Inputs: `DutyScheduled`, `SignaturesExpected` (roots and
 *   threshold, recorded by the aggregator because the signing domain is not in the log),
 *   `ProposalRefused`, the node's own `PartialSignatureSubmitted`, and `PeerPartialsReceived`
 *   (each peer message as applied, with its verification verdict); the deadline is applied
 *   where the node recorded its first deadline `DutyFailed`, else after the duty's last input.
 *   Outputs compared: `PartialSignaturesRecorded` / `Rejected` per share and validator,
 *   `SignaturesAggregated` (the threshold signature is recombined and verified under the group
 *   key) and `DutyFailed` per validator. Not compared: `Broadcast` / `BroadcastFailed` (the BN's
 *   answer is an input, not a decision). A duty the aggregator sat out (its slot began before a
 *   restart) recorded nothing of its own and is skipped.
 * - **consensus — not replayable from one node's log**: the peers' QBFT messages are not
 *   recorded; its outcome `DutyDecided` is an input to the stages above.
 * - duty-scheduler and signer-gateway decide on BN and VC answers that are not recorded in full;
 *   their events (`DutyScheduled`, `PartialSignatureSubmitted`) are inputs here.
 *
 * Facts are compared per validator (and share index), not per event: how validators were
 * batched into one event depends on message timing, which is not a decision.
 */
export interface ReplayOptions {
  readonly slots: SlotRange;
  /** The node whose log to replay; required when the source holds several nodes' events. */
  readonly node?: string;
  /**
   * The network (genesis validators root) whose duties to replay; required when the range holds
   * two networks' duties (a reset starts the slot numbers again). Default: the range's first event's.
   */
  readonly network?: Hex;
  /** Called as duties are replayed. */
  readonly onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayProgress {
  readonly slot: number;
  readonly slots: SlotRange;
  readonly dutiesReplayed: number;
  /** The last call: the whole range is replayed. */
  readonly done: boolean;
}

export interface Divergence {
  readonly duty: Duty;
  readonly stage: ReplayedStage;
  readonly eventType: EventType;
  /** The validator (and share index, where the fact has one) it concerns. */
  readonly pubkey?: Hex;
  readonly shareIndex?: number;
  /** `undefined`: the side did not produce this fact at all. */
  readonly recorded?: string;
  readonly replayed?: string;
  /** The recorded event the fact came from, when there is one. */
  readonly recordedEventId?: string;
}

export interface ReplayReport {
  readonly node: string | undefined;
  readonly slots: SlotRange;
  /** Duties in the range with at least one replayed stage. */
  readonly duties: number;
  /** Events of the range read from the source. */
  readonly eventsRead: number;
  /** Recorded events of the replayed stages compared with the replay. */
  readonly eventsCompared: number;
  /** Per-validator facts compared (recorded and replayed, counted once per pair). */
  readonly factsCompared: number;
  /** Events read before the range to rebuild the slashing history. */
  readonly historyEvents: number;
  /** Duties whose aggregation the node sat out (nothing of its own recorded). */
  readonly skippedAggregations: number;
  readonly divergences: number;
  readonly firstDivergence?: Divergence;
}

/** Two nodes' events in one source and no `node` chosen. */
export class AmbiguousReplayNodeError extends Error {
  override readonly name = 'AmbiguousReplayNodeError';
  constructor(readonly nodes: readonly string[]) {
    super(`the source holds the events of several nodes (${nodes.join(', ')}): choose one`);
  }
}

/** The range holds several networks' duties (a reset) and no `network` chosen. */
export class AmbiguousReplayNetworkError extends Error {
  override readonly name = 'AmbiguousReplayNetworkError';
  constructor(readonly networks: readonly Hex[]) {
    super(`the range holds the duties of several networks, a network reset (${networks.join(', ')}): choose one`);
  }
}

/** Duties stay open this many slots after their own (as the services prune their state). */
const OPEN_SLOTS = 64;

const AGGREGATION_INPUTS: ReadonlySet<EventType> = new Set(['DutyScheduled', 'SignaturesExpected', 'ProposalRefused', 'PartialSignatureSubmitted', 'PeerPartialsReceived']);

interface OpenDuty {
  readonly duty: Duty;
  readonly events: AnyCohortEvent[];
  readonly replayed: Fact[];
}

export async function replay(source: EventSource, opts: ReplayOptions): Promise<ReplayReport> {
  const { slots } = opts;
  await initBls(); // threshold sets are recombined (herumi) as the aggregator does
  const firstEvent = await firstOf(source, slots);
  const node = opts.node ?? firstEvent?.producer.node;
  // Events recorded before networks were named have none: then nothing is filtered.
  const network = opts.network ?? firstEvent?.network;
  const slashing: SlashingReplay = { state: undefined, dutiesById: new Map() };
  const historyEvents = slots.from > 0 ? await rebuildHistory(source, slashing, { from: 0, to: slots.from - 1 }, node, network) : 0;

  const open = new Map<string, OpenDuty>();
  const totals = { duties: 0, eventsRead: 0, eventsCompared: 0, factsCompared: 0, skipped: 0, divergences: 0 };
  let first: Divergence | undefined;

  const finish = (d: OpenDuty) => {
    const recorded = d.events.flatMap((e) => factsOf(e));
    // A refused peer message is an audit record, not an aggregation output.
    const hasOwnAggregation = d.events.some((e) => e.producer.service === 'aggregator' && e.type !== 'PeerMessageRefused');
    let replayed = d.replayed;
    if (hasOwnAggregation) replayed = [...replayed, ...replayAggregation(aggregationInputs(d.events))];
    else if (d.events.some((e) => AGGREGATION_INPUTS.has(e.type) && e.type !== 'DutyScheduled')) totals.skipped++;
    const compared = hasOwnAggregation ? recorded : recorded.filter((f) => f.stage !== 'aggregator');
    if (compared.length === 0 && replayed.length === 0) return;
    totals.duties++;
    totals.eventsCompared += new Set(compared.map((f) => f.eventId)).size;
    const result = compareFacts(d.duty, compared, replayed);
    totals.factsCompared += result.compared;
    totals.divergences += result.divergences.length;
    first ??= result.divergences[0];
  };
  const finishBefore = (slot: number) => {
    const due = [...open.values()].filter((d) => d.duty.slot < slot).sort((a, b) => a.duty.slot - b.duty.slot);
    for (const d of due) {
      open.delete(`${d.duty.slot}/${d.duty.type}`);
      finish(d);
    }
  };

  const others = new Set<string>();
  const otherNetworks = new Set<Hex>();
  for await (const event of source.read({ slots })) {
    if (event.producer.node !== node) {
      if (opts.node === undefined) others.add(event.producer.node);
      continue;
    }
    if (network !== undefined && event.network !== undefined && event.network !== network) {
      if (opts.network === undefined) otherNetworks.add(event.network);
      continue;
    }
    totals.eventsRead++;
    const { duty } = event;
    // Outside any duty (refused peer messages): nothing to replay.
    if (isNoDuty(duty)) continue;
    const key = `${duty.slot}/${duty.type}`;
    let d = open.get(key);
    if (!d) {
      finishBefore(duty.slot - OPEN_SLOTS);
      d = { duty, events: [], replayed: [] };
      open.set(key, d);
      opts.onProgress?.({ slot: event.duty.slot, slots, dutiesReplayed: totals.duties, done: false });
    }
    d.events.push(event);
    // The slashing history is one sequence across duties: decided values are recorded in log order.
    d.replayed.push(...slashingStep(slashing, event));
  }
  if (others.size > 0 && node !== undefined) throw new AmbiguousReplayNodeError([node, ...others].sort());
  if (otherNetworks.size > 0 && network !== undefined) throw new AmbiguousReplayNetworkError([network, ...otherNetworks].sort());
  finishBefore(Infinity);
  opts.onProgress?.({ slot: slots.to, slots, dutiesReplayed: totals.duties, done: true });

  return {
    node,
    slots,
    duties: totals.duties,
    eventsRead: totals.eventsRead,
    eventsCompared: totals.eventsCompared,
    factsCompared: totals.factsCompared,
    historyEvents,
    skippedAggregations: totals.skipped,
    divergences: totals.divergences,
    ...(first !== undefined && { firstDivergence: first }),
  };
}

/** The slashing guard's step for one recorded event: a decided value is recorded against the history. */
function slashingStep(slashing: SlashingReplay, event: AnyCohortEvent): Fact[] {
  if (event.type === 'DutyScheduled') {
    slashing.dutiesById.set(dutyId(event.duty), { slot: event.duty.slot, duties: event.data.duties });
    for (const [id, { slot }] of slashing.dutiesById) if (slot < event.duty.slot - OPEN_SLOTS) slashing.dutiesById.delete(id);
    return [];
  }
  if (event.type !== 'DutyDecided') return [];
  return replayDecided(slashing, slashing.dutiesById.get(dutyId(event.duty))?.duties ?? [], event.data.value, event.data.valueHash);
}

/** The history before the range: every earlier decided value, through the same decider (facts discarded). */
async function rebuildHistory(source: EventSource, slashing: SlashingReplay, slots: SlotRange, node: string | undefined, network: Hex | undefined): Promise<number> {
  let read = 0;
  // Two reads the event store filters by type (a wide range is otherwise a scan of everything);
  // one network's history only (the slashing guard keeps one per genesis validators root).
  const query = { slots, ...(node !== undefined && { node }), ...(network !== undefined && { network }) };
  const scheduled = new Map<string, AnyCohortEvent>();
  for await (const e of source.read({ ...query, eventType: 'DutyScheduled' })) {
    read++;
    scheduled.set(dutyId(e.duty), e);
  }
  for await (const e of source.read({ ...query, eventType: 'DutyDecided' })) {
    read++;
    if (e.type !== 'DutyDecided') continue;
    const duties = scheduled.get(dutyId(e.duty));
    replayDecided(slashing, duties?.type === 'DutyScheduled' ? duties.data.duties : [], e.data.value, e.data.valueHash);
  }
  return read;
}

function aggregationInputs(events: readonly AnyCohortEvent[]): AggregationInputs {
  return { events: events.filter((e) => AGGREGATION_INPUTS.has(e.type) || (e.type === 'DutyFailed' && e.producer.service === 'aggregator')) };
}

/**
 * The range's first event: its node and network are replayed unless others are chosen; a second
 * node or network met later makes the replay refuse (AmbiguousReplayNodeError, …NetworkError).
 */
async function firstOf(source: EventSource, slots: SlotRange): Promise<AnyCohortEvent | undefined> {
  for await (const e of source.read({ slots })) return e;
  return undefined;
}

/**
 * Recorded facts against replayed ones, matched by key (event type, validator, share index) in
 * order; the first divergence is the first recorded fact that differs or is missing, else the
 * first replayed fact that was never recorded.
 */
export function compareFacts(duty: Duty, recorded: readonly Fact[], replayed: readonly Fact[]): { compared: number; divergences: Divergence[] } {
  const pending = new Map<string, Fact[]>();
  for (const f of replayed) pending.set(f.key, [...(pending.get(f.key) ?? []), f]);
  const divergences: Divergence[] = [];
  let compared = 0;
  const divergence = (f: Fact, rec: string | undefined, rep: string | undefined, eventId?: string): Divergence => ({
    duty,
    stage: f.stage,
    eventType: f.eventType,
    ...(f.pubkey !== undefined && { pubkey: f.pubkey }),
    ...(f.shareIndex !== undefined && { shareIndex: f.shareIndex }),
    ...(rec !== undefined && { recorded: rec }),
    ...(rep !== undefined && { replayed: rep }),
    ...(eventId !== undefined && { recordedEventId: eventId }),
  });
  for (const f of recorded) {
    compared++;
    const match = pending.get(f.key)?.shift();
    if (!match) divergences.push(divergence(f, f.value, undefined, f.eventId));
    else if (match.value !== f.value) divergences.push(divergence(f, f.value, match.value, f.eventId));
  }
  for (const rest of pending.values()) {
    for (const f of rest) {
      compared++;
      divergences.push(divergence(f, undefined, f.value));
    }
  }
  return { compared, divergences };
}
