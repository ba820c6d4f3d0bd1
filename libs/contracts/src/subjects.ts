import type { DutyType, EventDuty } from './duty.js';
import type { EventType, ServiceName } from './events.js';

/**
 * Every NATS subject and JetStream stream Cohort uses, defined once (STYLE.md rule 4).
 * A node has its own NATS server, so subjects carry no node id.
 */
export const Streams = {
  /** The audit log of every stage: `cohort.events.<slot>.<dutyType>.<service>.<EventType>`. */
  events: { name: 'COHORT_EVENTS', subjects: ['cohort.events.>'] },
  /** Slashing-protection history; never expired by retention limits. */
  slashing: { name: 'COHORT_SLASHING', subjects: ['cohort.slashing.>'] },
} as const;

export const Subjects = {
  /** `duty.type` is `none` for an event outside any duty (NO_DUTY). */
  event(duty: EventDuty, producer: ServiceName, type: EventType): string {
    return `cohort.events.${duty.slot}.${duty.type}.${producer}.${type}`;
  },
  /** Filter for one event type across all duties and producers. */
  eventsOfType(type: EventType): string {
    return `cohort.events.*.*.*.${type}`;
  },
  eventsOfDuty(duty: EventDuty): string {
    return `cohort.events.${duty.slot}.${duty.type}.>`;
  },
  eventsOfDutyType(type: DutyType): string {
    return `cohort.events.*.${type}.>`;
  },
  allEvents: 'cohort.events.>',
  /** Slashing history shard of one network: `cohort.slashing.<gvr prefix>.<shard>`. */
  slashingShard(genesisValidatorsRoot: string, shard: number): string {
    return `cohort.slashing.${genesisValidatorsRoot.slice(2, 18)}.${shard}`;
  },
  /** Every shard of one network's slashing history (a wildcard for one ordered read). */
  slashingShards(genesisValidatorsRoot: string): string {
    return `cohort.slashing.${genesisValidatorsRoot.slice(2, 18)}.*`;
  },
  /** Registry of the genesis validators roots that have a slashing history (one entry per root). */
  slashingRoots: 'cohort.slashing.roots',
  /** Read-only validity check of consensus against the slashing history (request/reply). */
  slashingCheck: 'cohort.query.slashing.check',
  /** Messages to and from the peer-gateway (libp2p) per protocol. */
  peerOut(protocol: PeerProtocol): string {
    return `cohort.p2p.out.${protocol}`;
  },
  peerIn(protocol: PeerProtocol): string {
    return `cohort.p2p.in.${protocol}`;
  },
} as const;

export const PEER_PROTOCOLS = ['qbft', 'parsig'] as const;
export type PeerProtocol = (typeof PEER_PROTOCOLS)[number];

/** A message a local service hands to the peer-gateway, or receives from it. */
export interface PeerOutbound<T = unknown> {
  /** Operator index to send to; absent = every other operator. */
  readonly to?: number;
  readonly payload: T;
}
export interface PeerInbound<T = unknown> {
  /** Operator index of the authenticated sender. */
  readonly from: number;
  readonly payload: T;
  /** Size of the payload as it arrived on the wire (bytes), for receivers' size limits. */
  readonly sizeBytes?: number;
}
