import {
  attesterDutiesOf,
  type AttestationDataJson,
  type AttesterDuty,
  type AttesterUnsignedData,
  type Hex,
  type ProposerDuty,
  type ProposerUnsignedData,
  type UnsignedDataSet,
  type ValidatorDuty,
} from '#lib/contracts';
import { blockSigningRoot, isBlockFork } from './duty-roots.js';
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

export type DecidedSigningItem = AttesterSigningItem | ProposerSigningItem;

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
  const duty = duties.find((d): d is ProposerDuty => !('committeeIndex' in d) && d.slot === slot && String(d.validatorIndex) === value.block.proposer_index);
  if (!duty || !isBlockFork(value.fork)) return [];
  return [{ kind: 'block', pubkey: duty.pubkey, duty, slot, signingRoot: blockSigningRoot(ctx, value.fork, value.blinded, value.block) }];
}

/** What each validator signs once `value` is decided for a duty with these scheduled validator duties. */
export function decidedSigningItems(ctx: ChainSigningContext, duties: readonly ValidatorDuty[], value: UnsignedDataSet): DecidedSigningItem[] {
  return value.type === 'attester' ? attesterSigningItems(ctx, attesterDutiesOf(duties), value) : proposerSigningItems(ctx, duties, value);
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
    } else {
      blocks.push({ pubkey: item.pubkey, slot: item.slot, signingRoot: item.signingRoot });
    }
  }
  return { attempts, blocks };
}
