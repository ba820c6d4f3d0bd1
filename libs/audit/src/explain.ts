import {
  FAILURE_REASONS,
  PEER_REFUSAL_REASONS,
  REJECTION_REASONS,
  SLASHING_REFUSAL_REASONS,
  dutyId,
  slotStartMs,
  type AnyCohortEvent,
  type Duty,
  type EventType,
  type Hex,
  type PeerRefusalProtocol,
  type ServiceName,
} from '#lib/contracts';
import { relativeMs } from './format.js';
import { DUTY_STEPS, EVENT_STEP, eventDetail, isKnownEventType, type DutyStep } from './event-types.js';

/** Genesis and slot length, when known: times are then relative to the slot's start. */
export interface SlotStartTiming {
  readonly genesisTimeMs: number;
  readonly secondsPerSlot: number;
}

export interface ExplainOptions {
  /** One validator (group pubkey): only what concerns it, and its own outcome. */
  readonly validator?: Hex;
  /** Required when the events come from several nodes (a merged export): whose view to explain. */
  readonly node?: string;
  readonly timing?: SlotStartTiming;
  /** Cluster size n: shares 1..n nothing arrived from are listed too. */
  readonly operators?: number;
}

export interface TimelineEntry {
  /** Relative to `Explanation.reference`. */
  readonly atMs: number;
  readonly time: string;
  readonly service: ServiceName;
  readonly type: EventType;
  readonly step: DutyStep | null;
  readonly validators: number;
  readonly detail: string;
}

export interface ShareRejection {
  readonly pubkey: Hex;
  readonly reason: string;
  readonly atMs: number;
}

/** One share index as this node saw it: its own (signed by its VC) or a peer's (received over libp2p). */
export interface ShareParticipation {
  readonly shareIndex: number;
  readonly self: boolean;
  /** Partial signatures accepted: this node's VC's verified submissions, or a peer's recorded ones. */
  readonly accepted: number;
  readonly firstAcceptedAtMs: number | null;
  readonly rejected: readonly ShareRejection[];
}

export interface ConsensusView {
  readonly started: { readonly round: number; readonly leader: number; readonly atMs: number } | null;
  readonly roundChanges: readonly { readonly from: number; readonly to: number; readonly reason: string; readonly atMs: number }[];
  readonly decided: { readonly round: number; readonly valueHash: Hex; readonly atMs: number } | null;
  readonly timedOut: { readonly round: number; readonly atMs: number } | null;
}

/** Validators that failed for one reason, the event that says so, and what led to it. */
export interface FailureExplanation {
  /** A FAILURE_REASONS key (anything else is shown as recorded). */
  readonly reason: string;
  readonly text: string;
  readonly recordedBy: { readonly service: ServiceName; readonly type: EventType; readonly atMs: number; readonly detail: string };
  readonly validators: readonly Hex[];
  /** Facts from the other stages' events that explain the reason, most telling first. */
  readonly because: readonly string[];
}

/** Peer messages about this duty the node refused (PeerMessageRefused), per peer, protocol and reason. */
export interface PeerRefusalView {
  /** Operator index, or null for a remote that is not an operator. */
  readonly peer: number | null;
  readonly protocol: PeerRefusalProtocol;
  readonly reason: string;
  /** The reason's catalog text. */
  readonly text: string;
  /** Messages refused, summed over the windows recorded. */
  readonly count: number;
  readonly service: ServiceName;
  readonly firstAtMs: number;
  /** The first recorded window's detail. */
  readonly detail: string | null;
}

export type Verdict = 'succeeded' | 'failed' | 'partly_failed' | 'unfinished' | 'no_events';

export interface Explanation {
  readonly duty: Duty;
  readonly node: string | null;
  readonly validator: Hex | null;
  /** What `atMs` is relative to: the slot's start (genesis known) or the duty's first event. */
  readonly reference: { readonly kind: 'slot_start' | 'first_event'; readonly timeMs: number };
  /** The validators explained: the given one, or every validator the duty's events name. */
  readonly validators: readonly Hex[];
  readonly timeline: readonly TimelineEntry[];
  readonly furthestStep: DutyStep | null;
  readonly consensus: ConsensusView;
  readonly shares: readonly ShareParticipation[];
  /** Peer messages about this duty refused before they counted (an equivocation, a replay, a forged author…). */
  readonly peerRefusals: readonly PeerRefusalView[];
  readonly broadcast: { readonly validators: readonly Hex[]; readonly firstAtMs: number; readonly lastAtMs: number } | null;
  readonly failures: readonly FailureExplanation[];
  /** Validators with neither a broadcast nor a failure recorded (duty in flight, or records missing). */
  readonly unresolved: readonly Hex[];
  readonly verdict: Verdict;
}

/** The events come from several nodes and no node was chosen. */
export class AmbiguousNodeError extends Error {
  override readonly name = 'AmbiguousNodeError';
  constructor(
    readonly duty: Duty,
    readonly nodes: readonly string[],
  ) {
    super(`the events of duty ${dutyId(duty)} come from several nodes (${nodes.join(', ')}); choose whose view to explain`);
  }
}

export const catalogText = (reason: string): string =>
  Object.hasOwn(FAILURE_REASONS, reason) ? FAILURE_REASONS[reason as keyof typeof FAILURE_REASONS] : 'not in the failure-reason catalog';
const rejectionText = (reason: string): string =>
  Object.hasOwn(REJECTION_REASONS, reason) ? REJECTION_REASONS[reason as keyof typeof REJECTION_REASONS] : 'not in the rejection catalog';
const peerRefusalText = (reason: string): string =>
  Object.hasOwn(PEER_REFUSAL_REASONS, reason) ? PEER_REFUSAL_REASONS[reason as keyof typeof PEER_REFUSAL_REASONS] : 'not in the peer-refusal catalog';
const refusalText = (reason: string): string =>
  Object.hasOwn(SLASHING_REFUSAL_REASONS, reason) ? SLASHING_REFUSAL_REASONS[reason as keyof typeof SLASHING_REFUSAL_REASONS] : 'not in the refusal catalog';

/** The pubkey placeholder of a refused VC submission whose validator could not be read. */
const NO_PUBKEY = '0x';

/**
 * Why a duty did (or did not) get done, as one node recorded it: a timeline across the stages,
 * the furthest step reached, the peers' participation, and per validator the outcome — broadcast,
 * or the one failure reason from the catalog with the facts that led to it. Pure: events in,
 * explanation out; `formatExplanation` renders it.
 */
export function explain(events: readonly AnyCohortEvent[], duty: Duty, options: ExplainOptions = {}): Explanation {
  const ofDuty = events.filter((e) => e.duty.slot === duty.slot && e.duty.type === duty.type);
  const nodes = [...new Set(ofDuty.map((e) => e.producer.node))].sort();
  if (options.node === undefined && nodes.length > 1) throw new AmbiguousNodeError(duty, nodes);
  const node = options.node ?? nodes[0] ?? null;
  const mine = stableSortByTime(ofDuty.filter((e) => e.producer.node === node));

  const validator = options.validator ?? null;
  const concerns = (e: AnyCohortEvent): boolean => validator === null || e.pubkeys.length === 0 || e.pubkeys.includes(validator);
  const inScope = (pubkey: Hex): boolean => validator === null || pubkey === validator;
  const scoped = mine.filter(concerns);

  const firstTimeMs = mine.length > 0 ? Date.parse(mine[0]?.time as string) : 0;
  const reference = options.timing
    ? { kind: 'slot_start' as const, timeMs: slotStartMs({ ...options.timing, slotsPerEpoch: 1 }, duty.slot) }
    : { kind: 'first_event' as const, timeMs: firstTimeMs };
  const at = (e: AnyCohortEvent): number => Date.parse(e.time) - reference.timeMs;

  const validators = validator !== null ? [validator] : [...new Set(mine.flatMap((e) => e.pubkeys))].filter((p) => p !== NO_PUBKEY);

  const timeline: TimelineEntry[] = scoped.map((e) => ({
    atMs: at(e),
    time: e.time,
    service: e.producer.service,
    type: e.type,
    step: isKnownEventType(e.type) ? EVENT_STEP[e.type] : null,
    validators: e.pubkeys.length,
    detail: eventDetail(e),
  }));
  let furthest = -1;
  for (const entry of timeline) if (entry.step !== null) furthest = Math.max(furthest, DUTY_STEPS.indexOf(entry.step));

  const consensus = consensusView(scoped, at);
  const shares = participation(scoped, inScope, at, options.operators);
  const peerRefusals = peerRefusalsOf(mine, at);

  // Outcome per validator: a broadcast wins; otherwise the most specific failure recorded.
  const broadcastAt = new Map<Hex, number>();
  for (const e of scoped) if (e.type === 'Broadcast') for (const p of e.pubkeys) if (inScope(p) && !broadcastAt.has(p)) broadcastAt.set(p, at(e));
  const failureOf = new Map<Hex, FailureEvent>();
  for (const type of FAILURE_PRECEDENCE) {
    for (const e of scoped) {
      if (e.type !== type) continue;
      const named = e.type === 'ConsensusTimedOut' && e.pubkeys.length === 0 ? validators : e.pubkeys;
      for (const p of named) if (inScope(p) && !broadcastAt.has(p) && !failureOf.has(p)) failureOf.set(p, e as FailureEvent);
    }
  }

  const grouped = new Map<string, { event: FailureEvent; validators: Hex[] }>();
  for (const p of validators) {
    const e = failureOf.get(p);
    if (e === undefined) continue;
    const reason = failureReason(e);
    const group = grouped.get(reason) ?? { event: e, validators: [] };
    group.validators.push(p);
    grouped.set(reason, group);
  }
  const failures: FailureExplanation[] = [...grouped].map(([reason, { event, validators: failed }]) => ({
    reason,
    text: catalogText(reason),
    recordedBy: { service: event.producer.service, type: event.type, atMs: at(event), detail: 'detail' in event.data ? event.data.detail : eventDetail(event) },
    validators: failed,
    because: causes(reason, new Set(failed), scoped, consensus, shares, at),
  }));

  const broadcastValidators = validators.filter((p) => broadcastAt.has(p));
  const times = broadcastValidators.map((p) => broadcastAt.get(p) as number);
  const unresolved = validators.filter((p) => !broadcastAt.has(p) && !failureOf.has(p));
  const verdict: Verdict =
    mine.length === 0 ? 'no_events'
    : failures.length > 0 ? (broadcastValidators.length > 0 ? 'partly_failed' : 'failed')
    : unresolved.length > 0 || broadcastValidators.length === 0 ? 'unfinished'
    : 'succeeded';

  return {
    duty,
    node,
    validator,
    reference,
    validators,
    timeline,
    furthestStep: furthest < 0 ? null : (DUTY_STEPS[furthest] as DutyStep),
    consensus,
    shares,
    peerRefusals,
    broadcast: broadcastValidators.length === 0 ? null : { validators: broadcastValidators, firstAtMs: Math.min(...times), lastAtMs: Math.max(...times) },
    failures,
    unresolved,
    verdict,
  };
}

/**
 * Where a validator's failure reason comes from, most specific first: the BN refused the
 * broadcast; the aggregator's verdict at the deadline (DutyFailed, one catalog reason per
 * validator); failing that — e.g. explained before the deadline — consensus timing out, or
 * the slashing guard refusing.
 */
const FAILURE_PRECEDENCE = ['BroadcastFailed', 'DutyFailed', 'ConsensusTimedOut', 'ProposalRefused'] as const;
type FailureEvent = Extract<AnyCohortEvent, { type: (typeof FAILURE_PRECEDENCE)[number] }>;

function failureReason(e: FailureEvent): string {
  // a refusal by the guard is the duty's `slashing_refused`; the EIP-3076 rule goes into `because`
  return 'reason' in e.data ? e.data.reason : 'slashing_refused';
}

function stableSortByTime(events: readonly AnyCohortEvent[]): AnyCohortEvent[] {
  return events
    .map((e, i) => ({ e, i, t: Date.parse(e.time) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.e);
}

function consensusView(events: readonly AnyCohortEvent[], at: (e: AnyCohortEvent) => number): ConsensusView {
  let started: ConsensusView['started'] = null;
  let decided: ConsensusView['decided'] = null;
  let timedOut: ConsensusView['timedOut'] = null;
  const roundChanges: { from: number; to: number; reason: string; atMs: number }[] = [];
  for (const e of events) {
    if (e.type === 'ConsensusStarted') started ??= { round: e.data.round, leader: e.data.leader, atMs: at(e) };
    else if (e.type === 'RoundChanged') roundChanges.push({ from: e.data.from, to: e.data.to, reason: e.data.reason, atMs: at(e) });
    else if (e.type === 'DutyDecided') decided ??= { round: e.data.round, valueHash: e.data.valueHash, atMs: at(e) };
    else if (e.type === 'ConsensusTimedOut') timedOut ??= { round: e.data.round, atMs: at(e) };
  }
  return { started, roundChanges, decided, timedOut };
}

function participation(
  events: readonly AnyCohortEvent[],
  inScope: (pubkey: Hex) => boolean,
  at: (e: AnyCohortEvent) => number,
  operators: number | undefined,
): ShareParticipation[] {
  const shares = new Map<number, { shareIndex: number; self: boolean; accepted: number; firstAcceptedAtMs: number | null; rejected: ShareRejection[] }>();
  const share = (shareIndex: number, self: boolean) => {
    const entry = shares.get(shareIndex) ?? { shareIndex, self, accepted: 0, firstAcceptedAtMs: null, rejected: [] };
    entry.self ||= self;
    shares.set(shareIndex, entry);
    return entry;
  };
  const accept = (shareIndex: number, self: boolean, count: number, atMs: number) => {
    const entry = share(shareIndex, self);
    if (count === 0) return;
    entry.accepted += count;
    entry.firstAcceptedAtMs ??= atMs;
  };
  for (const e of events) {
    if (e.type === 'PartialSignatureSubmitted') {
      for (const p of e.data.partials) if (inScope(p.pubkey)) accept(p.shareIndex, true, 1, at(e));
    } else if (e.type === 'PartialSignaturesRecorded') {
      // per validator: one signature each; for the whole duty: the recorded count
      const named = e.pubkeys.filter(inScope).length;
      accept(e.data.shareIndex, false, named === e.pubkeys.length ? e.data.count : named, at(e));
    } else if (e.type === 'PartialSignaturesRejected') {
      // the gateway refuses what this node's own VC submitted; the aggregator what peers sent
      const entry = share(e.data.shareIndex, e.producer.service === 'signer-gateway');
      for (const r of e.data.rejections) if (inScope(r.pubkey)) entry.rejected.push({ pubkey: r.pubkey, reason: r.reason, atMs: at(e) });
    }
  }
  if (operators !== undefined) for (let i = 1; i <= operators; i++) share(i, false);
  return [...shares.values()].sort((a, b) => a.shareIndex - b.shareIndex);
}

/** Summed per (peer, protocol, reason), in the order first seen; Date.parse of an event's own `firstAt` places it. */
function peerRefusalsOf(events: readonly AnyCohortEvent[], at: (e: AnyCohortEvent) => number): PeerRefusalView[] {
  const byKey = new Map<string, PeerRefusalView>();
  for (const e of events) {
    if (e.type !== 'PeerMessageRefused') continue;
    const r = e.data;
    const key = `${r.peer}/${r.protocol}/${r.reason}`;
    const firstAtMs = Date.parse(r.firstAt) - (Date.parse(e.time) - at(e));
    const seen = byKey.get(key);
    if (seen) {
      byKey.set(key, { ...seen, count: seen.count + r.count, firstAtMs: Math.min(seen.firstAtMs, firstAtMs) });
      continue;
    }
    byKey.set(key, {
      peer: r.peer,
      protocol: r.protocol,
      reason: r.reason,
      text: peerRefusalText(r.reason),
      count: r.count,
      service: e.producer.service,
      firstAtMs,
      detail: r.detail ?? null,
    });
  }
  return [...byKey.values()];
}

const ms = relativeMs;

function rejectionSummary(rejected: readonly ShareRejection[]): string {
  const reasons = [...new Set(rejected.map((r) => r.reason))];
  return reasons.map((r) => `${r} ×${rejected.filter((x) => x.reason === r).length} (${rejectionText(r)})`).join(', ');
}

/** What the other stages recorded that explains `reason` for the validators `failed`. */
function causes(
  reason: string,
  failed: ReadonlySet<Hex>,
  events: readonly AnyCohortEvent[],
  consensus: ConsensusView,
  shares: readonly ShareParticipation[],
  at: (e: AnyCohortEvent) => number,
): string[] {
  const out: string[] = [];
  const concerns = (e: AnyCohortEvent) => e.pubkeys.length === 0 || e.pubkeys.some((p) => failed.has(p));
  const has = (type: EventType) => events.some((e) => e.type === type && concerns(e));
  const sharesOf = (self: boolean) => shares.filter((s) => s.self === self);
  const shareLines = () =>
    shares.map((s) => {
      const rejected = s.rejected.filter((r) => failed.has(r.pubkey) || r.pubkey === NO_PUBKEY);
      const who = s.self ? `share ${s.shareIndex} (this node)` : `share ${s.shareIndex}`;
      if (s.accepted === 0 && rejected.length === 0) return `${who}: nothing received`;
      const parts = [
        s.accepted > 0 ? `${s.accepted} accepted from ${ms(s.firstAcceptedAtMs ?? 0)}` : 'none accepted',
        ...(rejected.length > 0 ? [`rejected: ${rejectionSummary(rejected)}`] : []),
      ];
      return `${who}: ${parts.join('; ')}`;
    });

  switch (reason) {
    case 'no_consensus': {
      if (consensus.started === null) out.push(has('UnsignedDataFetched') ? 'consensus never started on this node' : 'consensus never started: no unsigned data was fetched');
      else out.push(`consensus started at ${ms(consensus.started.atMs)} (round ${consensus.started.round}, leader ${consensus.started.leader})`);
      if (consensus.roundChanges.length > 0) out.push(`round changes: ${consensus.roundChanges.map((r) => `${r.from}→${r.to} ${r.reason} at ${ms(r.atMs)}`).join(', ')}`);
      if (consensus.timedOut !== null) out.push(`timed out in round ${consensus.timedOut.round} at ${ms(consensus.timedOut.atMs)}`);
      if (consensus.decided === null) out.push('no value decided');
      return out;
    }
    case 'slashing_refused': {
      const refusals = events.flatMap((e) => (e.type === 'ProposalRefused' ? e.data.refusals.filter((r) => failed.has(r.pubkey)) : []));
      const reasons = [...new Set(refusals.map((r) => r.reason))];
      for (const r of reasons) out.push(`slashing guard refused ${refusals.filter((x) => x.reason === r).length} validator(s): ${r} (${refusalText(r)})`);
      if (consensus.decided !== null) out.push(`value ${consensus.decided.valueHash.slice(0, 10)}… decided in round ${consensus.decided.round} at ${ms(consensus.decided.atMs)}`);
      return out;
    }
    case 'no_local_signature': {
      const own = sharesOf(true).flatMap((s) => s.rejected.filter((r) => failed.has(r.pubkey) || r.pubkey === NO_PUBKEY));
      if (own.length > 0) out.push(`this node's VC submitted, and was refused: ${rejectionSummary(own)}`);
      const served = events.filter((e) => e.type === 'DecidedDataServed' && concerns(e));
      if (served.length > 0) out.push(`decided data served to the VC at ${served.map((e) => ms(at(e))).join(', ')}`);
      else out.push(has('ProposalApproved') ? 'the decided data was never requested by the VC' : 'no approved value, so nothing was served to the VC');
      if (own.length === 0) out.push('no share signature arrived from this node\'s VC');
      return out;
    }
    case 'insufficient_partial_signatures':
    case 'invalid_partial_signature':
    case 'aggregate_invalid':
      return shareLines();
    case 'bn_fetch_failed':
    case 'bn_broadcast_failed':
    case 'deadline_expired':
    default:
      return out;
  }
}

/** Per-validator view of a failure list: the validator's reason, for callers that ask "why did X fail?". */
export function reasonOf(explanation: Explanation, validator: Hex): string | 'broadcast' | null {
  if (explanation.broadcast?.validators.includes(validator)) return 'broadcast';
  return explanation.failures.find((f) => f.validators.includes(validator))?.reason ?? null;
}
