/**
 * The one catalog of reasons a duty (or part of it) fails. Every failure path in every
 * stage records exactly one of these, so `why did this duty fail?` has a single vocabulary.
 * Names follow Charon's tracker reasons where one exists.
 */
export const FAILURE_REASONS = {
  bn_fetch_failed: 'the beacon node did not return the duty data in time',
  no_consensus: 'consensus did not decide a value before the duty deadline',
  slashing_refused: 'the slashing guard refused the decided value',
  no_local_signature: 'this node\'s validator client did not submit its share signature',
  insufficient_partial_signatures: 'fewer than threshold valid share signatures arrived before the deadline',
  invalid_partial_signature: 'a share signature did not verify under its public share',
  aggregate_invalid: 'the combined signature did not verify under the group public key',
  bn_broadcast_failed: 'the beacon node refused or failed the signed submission',
  deadline_expired: 'the duty deadline passed before the step could run',
  no_randao_reveal: 'the RANDAO reveal was not combined from threshold share signatures in time, so no block could be requested',
  vc_not_distributed:
    'the VC did not combine its selection proofs through the cluster (DV selection endpoints), or aggregated without them: without a distributed mode it cannot do aggregation duties',
  duty_withdrawn: 'after the duty was scheduled, a re-org changed the epoch\'s proposer shuffling: the slot is not this validator\'s any more, nothing was signed for it',
  partial_signatures_disagree: 'share signatures arrived over different data (e.g. VCs saw different head roots) and none reached threshold',
} as const;

export type FailureReason = keyof typeof FAILURE_REASONS;

/** Why a share signature or peer message was refused (recorded, never thrown). */
export const REJECTION_REASONS = {
  unknown_validator: 'the pubkey is not a validator of this cluster',
  unknown_duty: 'no scheduled duty matches',
  data_mismatch: 'the signed data differs from the decided value',
  invalid_signature: 'the signature does not verify under the sender\'s public share',
  duplicate: 'a signature from this share index was already recorded',
  share_idx_mismatch: 'the claimed share index is not the sender\'s',
  deadline_expired: 'the duty deadline has passed',
  malformed: 'the submission is not a well-formed signed object (fields, bits or hex)',
  not_approved: 'no decided value approved by the slashing guard exists for this validator and duty',
  no_cluster_registration: 'the cluster lock holds no builder registration for this validator (signed when the cluster was created): a VC\'s own, signed with its key share, would never verify',
  no_selection_proof: 'no selection proof was combined through the cluster for this validator and slot (the VC did not use the DV selection endpoints)',
} as const;

export type RejectionReason = keyof typeof REJECTION_REASONS;

/**
 * Why the slashing guard refuses to let a validator sign (EIP-3076 complete strategy,
 * https://eips.ethereum.org/EIPS/eip-3076#conditions). Recorded per validator in
 * `ProposalRefused`; the duty then fails as `slashing_refused`.
 */
export const SLASHING_REFUSAL_REASONS = {
  source_after_target: 'the attestation\'s source epoch is after its target epoch',
  double_vote: 'an attestation with the same target epoch and a different (or unknown) signing root exists',
  surrounds_previous: 'the attestation surrounds one already signed',
  surrounded_by_previous: 'the attestation is surrounded by one already signed',
  source_below_lowest: 'the source epoch is below the lowest source epoch in the history',
  target_at_or_below_lowest: 'the target epoch is at or below the lowest target epoch in the history, and not an exact repeat',
  double_proposal: 'a block with the same slot and a different (or unknown) signing root exists',
  slot_at_or_below_lowest: 'the slot is at or below the lowest slot in the history, and not an exact repeat',
  history_conflict: 'the history kept changing under the guard (another writer); nothing was recorded',
} as const;

export type SlashingRefusalReason = keyof typeof SLASHING_REFUSAL_REASONS;

/**
 * Why a peer's message was refused before it could count for anything: recorded as
 * `PeerMessageRefused` by the service that refused it. The envelope reasons are `#lib/p2p`'s
 * (peer-gateway), the QBFT ones the consensus inbound checks' and decider's
 * (`QBFT_REJECTION_REASONS`), the share-signature message ones the aggregator's; a share
 * signature refused after it was looked at is a `PartialSignaturesRejected` (REJECTION_REASONS).
 */
export const PEER_REFUSAL_REASONS = {
  // envelope and connection (peer-gateway, #lib/p2p envelope checks, in their order)
  unknown_peer: 'the sender is not an operator of this cluster (a connection the gater refused, or an operator without a share index)',
  too_large: 'the envelope exceeds the payload bound (32 MiB)',
  incomplete: 'the message stream failed before the whole message arrived: the sender gave up mid-message (its delivery timeout), the connection dropped, or it stalled for 10 s — a transport failure, not a hostile message',
  malformed: 'the message does not decode to its protocol\'s shape (envelope encoding, JSON, fields, duty, rounds)',
  sender_mismatch: 'the message names another sender than the authenticated peer that sent it (envelope sender index, or QBFT author)',
  bad_signature: 'a signature does not verify under the key of the operator it names (the envelope\'s, or a QBFT message\'s)',
  wrong_cluster: 'the envelope is bound to another cluster (cluster lock hash)',
  wrong_network: 'the envelope is bound to another network (genesis validators root)',
  // QBFT inbound checks (consensus, before the decider)
  msg_too_large: 'the QBFT message exceeds Charon\'s 32 MiB bound',
  too_many_justifications: 'the QBFT message carries more than 2n justifications',
  too_many_values: 'the QBFT message carries more values than its justifications allow',
  missing_signature: 'a QBFT message, or one in its justification, carries no signature of its author',
  unknown_author: 'a QBFT message in the justification names an author that is not an operator of this cluster',
  // duty checks (consensus, aggregator)
  unknown_duty: 'the message names a duty this node has not scheduled (or one too far ahead, or of a type without consensus)',
  deadline_expired: 'the duty\'s deadline has passed: a late or replayed message',
  duty_before_start: 'the duty began before this service started, so it sits the duty out',
  // QBFT decider (consensus QBFT_REJECTION_REASONS)
  bad_source: 'the QBFT source is not a process of this cluster (0..n-1)',
  stale_round: 'the QBFT message is for a round this node has left',
  future_round: 'the QBFT message is more rounds ahead than are buffered',
  duplicate: 'the same message again (a retried delivery, or a replay)',
  equivocation: 'the sender already sent a different message of this type for this round',
  not_leader: 'a PRE-PREPARE from an operator that does not lead its round',
  hash_mismatch: 'the carried value does not hash to its claimed value hash',
  unjustified: 'the justification does not carry the quorum the protocol requires',
  invalid_value: 'the proposed value failed the validity check (duty match, slashing guard)',
  resend_limit: 'after the decision, this sender already triggered the most DECIDED resends allowed',
  // share-signature messages (aggregator)
  share_idx_mismatch: 'a share signature claims another share index than the one the cluster assigned to the sender',
} as const;

export type PeerRefusalReason = keyof typeof PEER_REFUSAL_REASONS;
