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
