import type { Hex } from './hex.js';

/** AttestationData as the Beacon API carries it (phase0 … deneb shape; `index` = committee index). */
export interface AttestationDataJson {
  readonly slot: string;
  readonly index: string;
  readonly beacon_block_root: Hex;
  readonly source: CheckpointJson;
  readonly target: CheckpointJson;
}

export interface CheckpointJson {
  readonly epoch: string;
  readonly root: Hex;
}

/** `POST /eth/v1/validator/duties/attester/{epoch}` item, numbers parsed. */
export interface AttesterDuty {
  readonly pubkey: Hex;
  readonly validatorIndex: number;
  readonly committeeIndex: number;
  readonly committeeLength: number;
  readonly committeesAtSlot: number;
  readonly validatorCommitteeIndex: number;
  readonly slot: number;
}

/** `GET /eth/v1/validator/duties/proposer/{epoch}` item, numbers parsed. */
export interface ProposerDuty {
  readonly pubkey: Hex;
  readonly validatorIndex: number;
  readonly slot: number;
}

/**
 * `POST /eth/v1/validator/duties/sync/{epoch}` item, numbers parsed, for one slot: the BN answers
 * per epoch, the scheduler makes one sync-message duty per slot of it.
 */
export interface SyncCommitteeDuty {
  readonly pubkey: Hex;
  readonly validatorIndex: number;
  readonly validatorSyncCommitteeIndices: readonly number[];
  readonly slot: number;
}

/**
 * An attester whose combined selection proof makes it its committee's aggregator at `slot`
 * (phase0/validator.md#aggregation-selection): the proof goes into its AggregateAndProof.
 */
export interface AggregatorDuty extends AttesterDuty {
  readonly selectionProof: Hex;
}

/**
 * A sync committee member aggregating one subcommittee at `slot` (altair/validator.md#aggregation-selection):
 * a member with seats in several subcommittees has one of these per subcommittee it was selected for.
 */
export interface SyncContributionDuty {
  readonly pubkey: Hex;
  readonly validatorIndex: number;
  readonly slot: number;
  readonly subcommitteeIndex: number;
  readonly selectionProof: Hex;
}

/** A SignedValidatorRegistrationV1 as the Beacon API carries it (`register_validator`, builder-specs). */
export interface SignedValidatorRegistrationJson {
  readonly message: { readonly fee_recipient: Hex; readonly gas_limit: string; readonly timestamp: string; readonly pubkey: Hex };
  readonly signature: Hex;
}

/** Names one sync selection proof in a duty: a member has one per subcommittee it sits in. */
export const syncSelectionKey = (pubkey: Hex, subcommitteeIndex: number): string => `${pubkey}/${subcommitteeIndex}`;

/** A validator's part in a duty, whatever the duty type (DutyScheduled). */
export type ValidatorDuty = AttesterDuty | ProposerDuty | SyncCommitteeDuty | AggregatorDuty | SyncContributionDuty;

export function isAttesterDuty(duty: ValidatorDuty): duty is AttesterDuty {
  return 'committeeIndex' in duty;
}

export function isAggregatorDuty(duty: ValidatorDuty): duty is AggregatorDuty {
  return 'selectionProof' in duty && 'committeeIndex' in duty;
}

export function isSyncContributionDuty(duty: ValidatorDuty): duty is SyncContributionDuty {
  return 'subcommitteeIndex' in duty;
}

export function isSyncCommitteeDuty(duty: ValidatorDuty): duty is SyncCommitteeDuty {
  return 'validatorSyncCommitteeIndices' in duty;
}

/** The attester duties of a DutyScheduled payload (none for other duty types). */
export const attesterDutiesOf = (duties: readonly ValidatorDuty[]): AttesterDuty[] => duties.filter(isAttesterDuty);
