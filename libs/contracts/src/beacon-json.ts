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
