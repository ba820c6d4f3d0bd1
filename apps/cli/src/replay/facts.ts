import type { AnyCohortEvent, EventType, Hex } from '#lib/contracts';

/** The stages `cohort replay` re-runs (see replay.engine.ts for why these two). */
export type ReplayedStage = 'slashing-guard' | 'aggregator';

/**
 * One deterministic fact of a stage's output, per validator (and share index): what the
 * recorded events and the replay are compared on. Ids, times and trace context are not facts;
 * neither is how validators were batched into events.
 */
export interface Fact {
  readonly stage: ReplayedStage;
  readonly eventType: EventType;
  /** Matches a recorded fact with its replayed counterpart. */
  readonly key: string;
  readonly pubkey?: Hex;
  readonly shareIndex?: number;
  /** The compared value, as shown to the operator. */
  readonly value: string;
  /** The recorded event it came from (absent for replayed facts). */
  readonly eventId?: string;
}

const fact = (stage: ReplayedStage, eventType: EventType, pubkey: Hex, value: string, shareIndex?: number, eventId?: string): Fact => ({
  stage,
  eventType,
  key: shareIndex === undefined ? `${eventType}|${pubkey}` : `${eventType}|s${shareIndex}|${pubkey}`,
  pubkey,
  ...(shareIndex !== undefined && { shareIndex }),
  value,
  ...(eventId !== undefined && { eventId }),
});

export const approvedFact = (pubkey: Hex, valueHash: Hex, eventId?: string): Fact =>
  fact('slashing-guard', 'ProposalApproved', pubkey, `approved value ${valueHash}`, undefined, eventId);
export const refusedFact = (pubkey: Hex, reason: string, valueHash: Hex, eventId?: string): Fact =>
  fact('slashing-guard', 'ProposalRefused', pubkey, `refused (${reason}) value ${valueHash}`, undefined, eventId);
export const partialRecordedFact = (pubkey: Hex, shareIndex: number, eventId?: string): Fact =>
  fact('aggregator', 'PartialSignaturesRecorded', pubkey, `share ${shareIndex} recorded`, shareIndex, eventId);
export const partialRejectedFact = (pubkey: Hex, shareIndex: number, reason: string, eventId?: string): Fact =>
  fact('aggregator', 'PartialSignaturesRejected', pubkey, `share ${shareIndex} rejected (${reason})`, shareIndex, eventId);
export const aggregatedFact = (pubkey: Hex, signature: Hex, eventId?: string): Fact =>
  fact('aggregator', 'SignaturesAggregated', pubkey, `signature ${signature}`, undefined, eventId);
export const failedFact = (pubkey: Hex, reason: string, eventId?: string): Fact => fact('aggregator', 'DutyFailed', pubkey, `failed (${reason})`, undefined, eventId);

/** The facts a recorded event states, if it is an output of a replayed stage; none otherwise. */
export function factsOf(event: AnyCohortEvent): Fact[] {
  const { id, producer } = event;
  if (producer.service === 'slashing-guard') {
    if (event.type === 'ProposalApproved') return event.pubkeys.map((pk) => approvedFact(pk, event.data.valueHash, id));
    if (event.type === 'ProposalRefused') return event.data.refusals.map((r) => refusedFact(r.pubkey, r.reason, event.data.valueHash, id));
    return [];
  }
  if (producer.service !== 'aggregator') return [];
  switch (event.type) {
    case 'PartialSignaturesRecorded':
      return event.pubkeys.map((pk) => partialRecordedFact(pk, event.data.shareIndex, id));
    case 'PartialSignaturesRejected':
      return event.data.rejections.map((r) => partialRejectedFact(r.pubkey, event.data.shareIndex, r.reason, id));
    case 'SignaturesAggregated':
      return event.data.signatures.map((s) => aggregatedFact(s.pubkey, s.signature, id));
    case 'DutyFailed':
      return event.pubkeys.map((pk) => failedFact(pk, event.data.reason, id));
    default:
      return [];
  }
}
