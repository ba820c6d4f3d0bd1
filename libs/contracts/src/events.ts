import type { AttestationDataJson, ValidatorDuty } from './beacon-json.js';
import type { Duty, EventDuty } from './duty.js';
import type { FailureReason, PeerRefusalReason, RejectionReason } from './failure-reasons.js';
import type { Hex } from './hex.js';
import type { PeerProtocol } from './subjects.js';

/** The five deciding services, plus the peer-gateway that carries their peer traffic over libp2p. */
export const SERVICES = ['duty-scheduler', 'consensus', 'slashing-guard', 'signer-gateway', 'aggregator', 'peer-gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** The value consensus agrees on for a duty: the unsigned data of every validator in it. */
export interface AttesterUnsignedData {
  readonly type: 'attester';
  /** Attestation data per committee index: every validator of a committee signs the same data. */
  readonly byCommittee: Readonly<Record<string, AttestationDataJson>>;
}

/**
 * A proposer duty's value: the block the BN produced with the cluster's combined RANDAO
 * reveal, as the Beacon API carries it (`produceBlockV3`). `block` is a BeaconBlock or, when
 * `blinded`, a BlindedBeaconBlock of `fork`; from Deneb a full block's `kzg_proofs` and `blobs`
 * travel beside it.
 */
export interface ProposerUnsignedData {
  readonly type: 'proposer';
  readonly fork: string;
  readonly blinded: boolean;
  readonly block: Readonly<Record<string, unknown>> & { readonly slot: string; readonly proposer_index: string };
  readonly kzgProofs?: readonly Hex[];
  readonly blobs?: readonly Hex[];
  readonly executionPayloadValue: string;
  readonly consensusBlockValue: string;
}

/** An aggregate Attestation as the Beacon API carries it (`committee_bits` from Electra). */
export interface AggregateAttestationJson {
  readonly aggregation_bits: Hex;
  readonly data: AttestationDataJson;
  readonly signature: Hex;
  readonly committee_bits?: Hex;
}

/**
 * An aggregator duty's value: per committee that has an aggregator of this cluster, the BN's
 * aggregate of the attestations over the attestation data the cluster decided for that slot
 * (`getAggregatedAttestationV2`). `fork` picks the container (Electra's has `committee_bits`).
 */
export interface AggregatorUnsignedData {
  readonly type: 'aggregator';
  readonly fork: string;
  readonly byCommittee: Readonly<Record<string, AggregateAttestationJson>>;
}

/** A SyncCommitteeContribution as the Beacon API carries it. */
export interface SyncCommitteeContributionJson {
  readonly slot: string;
  readonly beacon_block_root: Hex;
  readonly subcommittee_index: string;
  readonly aggregation_bits: Hex;
  readonly signature: Hex;
}

/** A sync_contribution duty's value: per subcommittee with an aggregator of this cluster, the BN's contribution over the agreed head root. */
export interface SyncContributionUnsignedData {
  readonly type: 'sync_contribution';
  readonly bySubcommittee: Readonly<Record<string, SyncCommitteeContributionJson>>;
}

export type UnsignedDataSet = AttesterUnsignedData | ProposerUnsignedData | AggregatorUnsignedData | SyncContributionUnsignedData;

export interface PartialSignature {
  readonly pubkey: Hex;
  readonly shareIndex: number;
  readonly signingRoot: Hex;
  readonly signature: Hex;
  /**
   * For duties whose data was not decided by consensus (DUTY_FLOW `signed`): what the VC
   * signed, from which the signing root is recomputed before the share counts (a sync
   * message's `{ beacon_block_root }`). Absent in events written before issue 4, which only
   * had decided duties.
   */
  readonly object?: SignedObject;
}

/** The signed content of a `signed`-flow share, Beacon API JSON. */
export type SignedObject = Readonly<Record<string, string>>;

/** A peer's share signature as the aggregator applied it: `valid` is its batched verification verdict. */
export interface VerifiedPartial {
  readonly pubkey: Hex;
  readonly signingRoot: Hex;
  readonly signature: Hex;
  readonly valid: boolean;
  readonly object?: SignedObject;
}

/**
 * Where a refused peer message arrived: one of the two message protocols, the ping protocol, or
 * the connection itself (refused by the connection gater before any protocol).
 */
export type PeerRefusalProtocol = PeerProtocol | 'ping' | 'connection';

/**
 * Every event's payload, by type and version. A released (type, version) never changes:
 * a new shape is a new version plus an upcaster (STYLE.md rule 6).
 */
export interface EventPayloads {
  DutyScheduled: { readonly duties: readonly ValidatorDuty[] };
  UnsignedDataFetched: { readonly value: UnsignedDataSet };
  ConsensusStarted: { readonly round: number; readonly leader: number };
  RoundChanged: { readonly from: number; readonly to: number; readonly reason: string };
  DutyDecided: { readonly round: number; readonly valueHash: Hex; readonly value: UnsignedDataSet };
  ConsensusTimedOut: { readonly round: number; readonly reason: FailureReason };
  ProposalApproved: { readonly valueHash: Hex };
  ProposalRefused: {
    readonly valueHash: Hex;
    readonly refusals: readonly { readonly pubkey: Hex; readonly reason: string }[];
  };
  /** `committeeIndex` for attestation data; absent for a block. */
  DecidedDataServed: { readonly committeeIndex?: number; readonly valueHash: Hex };
  PartialSignatureSubmitted: { readonly partials: readonly PartialSignature[] };
  PartialSignaturesRecorded: { readonly shareIndex: number; readonly count: number };
  PartialSignaturesRejected: {
    readonly shareIndex: number;
    readonly rejections: readonly { readonly pubkey: Hex; readonly reason: RejectionReason }[];
  };
  /**
   * `object`: for `signed`-flow duties, what the threshold shares signed (a sync message's block
   * root, a sync selection's subcommittee): a validator can have several combined signatures in
   * one duty (one per subcommittee). Absent before issue 4's aggregation.
   */
  SignaturesAggregated: { readonly signatures: readonly { readonly pubkey: Hex; readonly signature: Hex; readonly object?: SignedObject }[] };
  Broadcast: { readonly count: number };
  BroadcastFailed: { readonly reason: FailureReason; readonly detail: string };
  DutyFailed: { readonly reason: FailureReason; readonly detail: string };
  /**
   * The aggregator's inputs no other event records, so `cohort replay` can re-run the
   * aggregation from one node's log (issue 6). One per peer message: the partials under the
   * share index the cluster assigned to the authenticated sender, with the verdict applied.
   */
  PeerPartialsReceived: { readonly shareIndex: number; readonly partials: readonly VerifiedPartial[] };
  /**
   * The signing roots the aggregator expects once values are approved (computed from the
   * decided data and the chain's signing domain, which the log does not hold), with the
   * aggregation's parameters.
   */
  SignaturesExpected: {
    readonly threshold: number;
    readonly totalShares: number;
    readonly selfShareIndex: number;
    readonly roots: readonly { readonly pubkey: Hex; readonly signingRoot: Hex }[];
    /**
     * Validators of a `signed`-flow duty with no root fixed beforehand (sync committee messages):
     * any root counts once threshold valid shares agree on it. Absent before issue 4.
     */
    readonly agreeing?: readonly Hex[];
  };
  /**
   * Peer messages this node refused, summarised per (peer, protocol, reason, duty) over one slot
   * (the window): a flood of hostile messages becomes at most one event per key and slot, with
   * the count. Recorded by the service that refused them (peer-gateway: envelopes and
   * connections; consensus: QBFT messages; aggregator: share-signature messages whose
   * signatures were never looked at — refused signatures are `PartialSignaturesRejected`).
   * The envelope's duty is the duty the messages were about when this node knows it, else
   * `{slot: <the window's slot>, type: 'none'}`; `pubkeys` is empty.
   */
  PeerMessageRefused: {
    /** Operator index of the authenticated sender; null when the remote is not an operator of this cluster (its PeerId is in `detail`). */
    readonly peer: number | null;
    readonly protocol: PeerRefusalProtocol;
    readonly reason: PeerRefusalReason;
    /** Messages refused for this key in the window (at least 1). */
    readonly count: number;
    /** When the first and the last of them arrived (ISO 8601). */
    readonly firstAt: string;
    readonly lastAt: string;
    /** About the first of them, e.g. the duty it claimed or the check that failed; at most 200 characters. */
    readonly detail?: string;
  };
  /**
   * The service found its BN on another network (a new genesis validators root: an
   * Ephemery-style reset, DESIGN.md rule 7) and restarted on it. Recorded by each service as it
   * switches, under the new network (envelope `network`), outside any duty
   * (`{slot: 0, type: 'none'}`). The previous network's events and slashing history are kept.
   */
  NetworkChanged: {
    /** The genesis validators root the service ran on until now. */
    readonly from: Hex;
    readonly to: Hex;
    /** The new network's genesis time, Unix seconds. */
    readonly genesisTime: number;
  };
}

export type EventType = keyof EventPayloads;

export const EVENT_VERSION = 1 as const;

/** Event types that may be recorded outside any duty (envelope duty `{slot, type: 'none'}`). */
export type DutylessEventType = 'PeerMessageRefused' | 'NetworkChanged';
/** The envelope's duty of an event type: a duty, or for the dutyless types possibly none. */
export type DutyOf<T extends EventType> = T extends DutylessEventType ? EventDuty : Duty;

/** The envelope every stored event carries (DESIGN.md "Event store and bus"). */
export interface CohortEvent<T extends EventType = EventType> {
  readonly id: string;
  readonly type: T;
  readonly version: typeof EVENT_VERSION;
  readonly duty: DutyOf<T>;
  /** The validators (group pubkeys) the event concerns. */
  readonly pubkeys: readonly Hex[];
  readonly correlationId: string;
  readonly causationId?: string;
  readonly traceparent?: string;
  readonly producer: { readonly node: string; readonly service: ServiceName };
  readonly time: string;
  /**
   * The genesis validators root of the network the event belongs to. A reset starts the slots
   * again from 0, so a duty id alone names a duty of either network; readers of one network skip
   * the others' events. Absent on events recorded before a service knew its network (and before
   * networks were recorded at all): those are read as the reader's own.
   */
  readonly network?: Hex;
  readonly data: EventPayloads[T];
}

export type AnyCohortEvent = { [T in EventType]: CohortEvent<T> }[EventType];

/** Narrowing helper: `isEvent(e, 'DutyDecided')` types `e.data`. */
export function isEvent<T extends EventType>(event: AnyCohortEvent, type: T): event is CohortEvent<T> & AnyCohortEvent {
  return event.type === type;
}
