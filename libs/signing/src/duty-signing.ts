import {
  assertNever,
  attesterDutiesOf,
  isAggregatorDuty,
  isSyncContributionDuty,
  type AggregateAttestationJson,
  type AggregatorDuty,
  type AggregatorUnsignedData,
  type SyncCommitteeContributionJson,
  type SyncContributionDuty,
  type SyncContributionUnsignedData,
  type AttestationDataJson,
  type AttesterDuty,
  type AttesterUnsignedData,
  type Hex,
  type ProposerDuty,
  type ProposerUnsignedData,
  type UnsignedDataSet,
  type ValidatorDuty,
} from '#lib/contracts';
import { aggregateAndProofSigningRoot, blockSigningRoot, contributionAndProofSigningRoot, isBlockFork } from './duty-roots.js';
import type { ChainSigningContext } from './fork-schedule.js';
import { attestationSigningRoot } from './signing-root.js';

/** What each validator of a decided attester duty signs. */
export interface AttesterSigningItem {
  readonly kind: 'attestation';
  readonly pubkey: Hex;
  readonly duty: AttesterDuty;
  readonly data: AttestationDataJson;
  readonly signingRoot: Hex;
}

/** What the proposer of a decided proposer duty signs: the decided block. */
export interface ProposerSigningItem {
  readonly kind: 'block';
  readonly pubkey: Hex;
  readonly duty: ProposerDuty;
  readonly slot: number;
  readonly signingRoot: Hex;
}

/** What an aggregator signs: its AggregateAndProof over the decided aggregate of its committee. */
export interface AggregateSigningItem {
  readonly kind: 'aggregate';
  readonly pubkey: Hex;
  readonly duty: AggregatorDuty;
  readonly fork: string;
  readonly message: { readonly aggregator_index: string; readonly aggregate: AggregateAttestationJson; readonly selection_proof: Hex };
  readonly signingRoot: Hex;
}

/** What a sync subcommittee aggregator signs: its ContributionAndProof over the decided contribution. */
export interface ContributionSigningItem {
  readonly kind: 'contribution';
  readonly pubkey: Hex;
  readonly duty: SyncContributionDuty;
  readonly message: { readonly aggregator_index: string; readonly contribution: SyncCommitteeContributionJson; readonly selection_proof: Hex };
  readonly signingRoot: Hex;
}

export type DecidedSigningItem = AttesterSigningItem | ProposerSigningItem | AggregateSigningItem | ContributionSigningItem;

/**
 * Signing roots of every validator in an attester duty. Validators of one committee sign the
 * same data, so the root is computed once per committee (at 10,000 validators that is a few
 * dozen hashes, not ten thousand). Duties whose committee is absent from the value are left out.
 */
export function attesterSigningItems(
  ctx: ChainSigningContext,
  duties: readonly AttesterDuty[],
  value: AttesterUnsignedData,
): AttesterSigningItem[] {
  const roots = new Map<string, Hex>();
  const items: AttesterSigningItem[] = [];
  for (const duty of duties) {
    const key = String(duty.committeeIndex);
    const data = value.byCommittee[key];
    if (!data) continue;
    let signingRoot = roots.get(key);
    if (!signingRoot) {
      signingRoot = attestationSigningRoot(ctx, data);
      roots.set(key, signingRoot);
    }
    items.push({ kind: 'attestation', pubkey: duty.pubkey, duty, data, signingRoot });
  }
  return items;
}

/** The proposer's signing item: the scheduled proposer whose index the block names (none if no duty matches). */
export function proposerSigningItems(ctx: ChainSigningContext, duties: readonly ValidatorDuty[], value: ProposerUnsignedData): ProposerSigningItem[] {
  const slot = Number(value.block.slot);
  const duty = duties.find((d): d is ProposerDuty => !('committeeIndex' in d) && !('subcommitteeIndex' in d) && !('validatorSyncCommitteeIndices' in d) && d.slot === slot && String(d.validatorIndex) === value.block.proposer_index);
  if (!duty || !isBlockFork(value.fork)) return [];
  return [{ kind: 'block', pubkey: duty.pubkey, duty, slot, signingRoot: blockSigningRoot(ctx, value.fork, value.blinded, value.block) }];
}

/** Each aggregator's AggregateAndProof: the decided aggregate of its committee with its combined selection proof. */
export function aggregateSigningItems(ctx: ChainSigningContext, duties: readonly ValidatorDuty[], value: AggregatorUnsignedData): AggregateSigningItem[] {
  if (!isBlockFork(value.fork)) return [];
  const fork = value.fork;
  return duties.filter(isAggregatorDuty).flatMap((duty) => {
    const aggregate = value.byCommittee[String(duty.committeeIndex)];
    if (!aggregate) return [];
    const message = { aggregator_index: String(duty.validatorIndex), aggregate, selection_proof: duty.selectionProof };
    return [{ kind: 'aggregate' as const, pubkey: duty.pubkey, duty, fork, message, signingRoot: aggregateAndProofSigningRoot(ctx, fork, message) }];
  });
}

/** Each (validator, subcommittee) aggregator's ContributionAndProof: a validator with several subcommittees signs several. */
export function contributionSigningItems(ctx: ChainSigningContext, duties: readonly ValidatorDuty[], value: SyncContributionUnsignedData): ContributionSigningItem[] {
  return duties.filter(isSyncContributionDuty).flatMap((duty) => {
    const contribution = value.bySubcommittee[String(duty.subcommitteeIndex)];
    if (!contribution) return [];
    const message = { aggregator_index: String(duty.validatorIndex), contribution, selection_proof: duty.selectionProof };
    return [{ kind: 'contribution' as const, pubkey: duty.pubkey, duty, message, signingRoot: contributionAndProofSigningRoot(ctx, message) }];
  });
}

/** What each validator signs once `value` is decided for a duty with these scheduled validator duties. */
export function decidedSigningItems(ctx: ChainSigningContext, duties: readonly ValidatorDuty[], value: UnsignedDataSet): DecidedSigningItem[] {
  switch (value.type) {
    case 'attester':
      return attesterSigningItems(ctx, attesterDutiesOf(duties), value);
    case 'proposer':
      return proposerSigningItems(ctx, duties, value);
    case 'aggregator':
      return aggregateSigningItems(ctx, duties, value);
    case 'sync_contribution':
      return contributionSigningItems(ctx, duties, value);
    default:
      return assertNever(value);
  }
}

/**
 * The slashing guard's view of signing items: attestations by (source, target) and blocks by
 * slot, each with its signing root (shapes of the guard's check request).
 */
export function slashingAttemptsOf(items: readonly DecidedSigningItem[]): {
  readonly attempts: { pubkey: Hex; sourceEpoch: number; targetEpoch: number; signingRoot: Hex }[];
  readonly blocks: { pubkey: Hex; slot: number; signingRoot: Hex }[];
} {
  const attempts = [];
  const blocks = [];
  for (const item of items) {
    if (item.kind === 'attestation') {
      attempts.push({ pubkey: item.pubkey, sourceEpoch: Number(item.data.source.epoch), targetEpoch: Number(item.data.target.epoch), signingRoot: item.signingRoot });
    } else if (item.kind === 'block') {
      blocks.push({ pubkey: item.pubkey, slot: item.slot, signingRoot: item.signingRoot });
    }
    // Aggregates and contributions are not slashable: EIP-3076 keeps no history of them.
  }
  return { attempts, blocks };
}
