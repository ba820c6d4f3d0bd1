import { assertNever, type AnyCohortEvent, type EventPayloads, type EventType, type UnsignedDataSet } from '#lib/contracts';

/**
 * The steps of a duty on one node, in pipeline order (docs/ARCHITECTURE.md "The flow of one
 * attestation duty"). `explain` reports the furthest one reached.
 */
export const DUTY_STEPS = ['scheduled', 'fetched', 'consensus_started', 'decided', 'approved', 'served', 'signed', 'aggregated', 'broadcast'] as const;
export type DutyStep = (typeof DUTY_STEPS)[number];

export const DUTY_STEP_LABELS = {
  scheduled: 'duty scheduled',
  fetched: 'unsigned data fetched from the BN',
  consensus_started: 'consensus started',
  decided: 'value decided',
  approved: 'approved by the slashing guard',
  served: 'decided data served to the VC',
  signed: 'share signature submitted by the VC',
  aggregated: 'signatures aggregated',
  broadcast: 'broadcast to the BN',
} as const satisfies Record<DutyStep, string>;

/**
 * What each event type means to an auditor: the step it marks, if any. Exhaustive over
 * EventType (STYLE.md rule 5): a new event type fails the build here until it is placed.
 * Its keys are also the runtime list of known event types.
 */
export const EVENT_STEP = {
  DutyScheduled: 'scheduled',
  UnsignedDataFetched: 'fetched',
  ConsensusStarted: 'consensus_started',
  RoundChanged: null,
  DutyDecided: 'decided',
  ConsensusTimedOut: null,
  ProposalApproved: 'approved',
  ProposalRefused: null,
  DecidedDataServed: 'served',
  PartialSignatureSubmitted: 'signed',
  PartialSignaturesRecorded: null,
  PartialSignaturesRejected: null,
  SignaturesAggregated: 'aggregated',
  Broadcast: 'broadcast',
  BroadcastFailed: null,
  DutyFailed: null,
  PeerPartialsReceived: null,
  SignaturesExpected: null,
  PeerMessageRefused: null,
  NetworkChanged: null,
} as const satisfies Record<EventType, DutyStep | null>;

export const EVENT_TYPES = Object.keys(EVENT_STEP) as readonly EventType[];

export function isKnownEventType(value: unknown): value is EventType {
  return typeof value === 'string' && Object.hasOwn(EVENT_STEP, value);
}

const short = (hex: string): string => (hex.length > 14 ? `${hex.slice(0, 10)}…` : hex);

/** Counts of each value, as `a ×2, b`. */
export function tally(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([v, n]) => (n > 1 ? `${v} ×${n}` : v)).join(', ');
}

/**
 * One short line about an event's payload, for tables and timelines. An event of a type this
 * build does not know (a file written by a newer node) gets an empty detail, not an error.
 */
export function eventDetail(event: AnyCohortEvent): string {
  if (!isKnownEventType(event.type)) return '';
  switch (event.type) {
    case 'DutyScheduled':
      return `${event.data.duties.length} duties`;
    case 'UnsignedDataFetched':
      return valueSummary(event.data.value);
    case 'ConsensusStarted':
      return `round ${event.data.round}, leader ${event.data.leader}`;
    case 'RoundChanged':
      return `round ${event.data.from} → ${event.data.to}: ${event.data.reason}`;
    case 'DutyDecided':
      return `round ${event.data.round}, value ${short(event.data.valueHash)}`;
    case 'ConsensusTimedOut':
      return `${event.data.reason} in round ${event.data.round}`;
    case 'ProposalApproved':
      return `value ${short(event.data.valueHash)}`;
    case 'ProposalRefused':
      return tally(event.data.refusals.map((r) => r.reason));
    case 'DecidedDataServed':
      return event.data.committeeIndex === undefined ? 'block' : `committee ${event.data.committeeIndex}`;
    case 'PartialSignatureSubmitted':
      return `share ${tally(event.data.partials.map((p) => String(p.shareIndex)))}`;
    case 'PartialSignaturesRecorded':
      return `share ${event.data.shareIndex}: ${event.data.count} recorded`;
    case 'PartialSignaturesRejected':
      return `share ${event.data.shareIndex}: ${tally(event.data.rejections.map((r) => r.reason))}`;
    case 'SignaturesAggregated':
      return `${event.data.signatures.length} signature(s)`;
    case 'Broadcast':
      return `${event.data.count} submitted`;
    case 'BroadcastFailed':
    case 'DutyFailed':
      return `${event.data.reason}: ${event.data.detail}`;
    case 'PeerPartialsReceived':
      return `share ${event.data.shareIndex}: ${event.data.partials.length} received, ${event.data.partials.filter((p) => !p.valid).length} invalid`;
    case 'SignaturesExpected':
      return `${event.data.roots.length} signing root(s), threshold ${event.data.threshold} of ${event.data.totalShares}`;
    case 'PeerMessageRefused':
      return peerRefusalSummary(event.data);
    case 'NetworkChanged':
      return `genesis validators root ${short(event.data.from)} → ${short(event.data.to)}, genesis time ${event.data.genesisTime}`;
    default:
      return assertNever(event);
  }
}

/** `operator 3 qbft: equivocation ×2 (PREPARE by 3 (the message))`: who, where, why, how often, and the first one's detail. */
export function peerRefusalSummary(r: EventPayloads['PeerMessageRefused']): string {
  const who = r.peer === null ? 'a non-operator' : `operator ${r.peer}`;
  return `${who} ${r.protocol}: ${r.reason}${r.count > 1 ? ` ×${r.count}` : ''}${r.detail ? ` (${r.detail})` : ''}`;
}

/** One line on a consensus value: its committees, or the block it proposes. */
function valueSummary(value: UnsignedDataSet): string {
  switch (value.type) {
    case 'attester':
      return `${Object.keys(value.byCommittee).length} committee(s)`;
    case 'proposer':
      return `${value.blinded ? 'blinded ' : ''}${value.fork} block, proposer ${value.block.proposer_index}`;
    case 'aggregator':
      return `${value.fork} aggregate(s) of ${Object.keys(value.byCommittee).length} committee(s)`;
    case 'sync_contribution':
      return `contribution(s) of ${Object.keys(value.bySubcommittee).length} subcommittee(s)`;
    default:
      return assertNever(value);
  }
}
