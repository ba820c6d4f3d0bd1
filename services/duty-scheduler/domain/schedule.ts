import { syncSelectionKey } from '#lib/contracts';
import type {
  AggregatorDuty,
  AttestationDataJson,
  AttesterDuty,
  AttesterUnsignedData,
  Hex,
  ProposerDuty,
  ProposerUnsignedData,
  SyncCommitteeDuty,
  SyncContributionDuty,
} from '#lib/contracts';

/** Attester duties of an epoch grouped by slot, ascending: one cluster-wide duty per slot. */
export function dutiesBySlot(duties: readonly AttesterDuty[]): ReadonlyMap<number, readonly AttesterDuty[]> {
  const bySlot = new Map<number, AttesterDuty[]>();
  for (const duty of [...duties].sort((a, b) => a.slot - b.slot || a.validatorIndex - b.validatorIndex)) {
    bySlot.set(duty.slot, [...(bySlot.get(duty.slot) ?? []), duty]);
  }
  return bySlot;
}

/** The committee indices whose attestation data the duty needs. */
export function committeesOf(duties: readonly AttesterDuty[]): number[] {
  return [...new Set(duties.map((d) => d.committeeIndex))].sort((a, b) => a - b);
}

/**
 * Assembles the unsigned data set from the BN's answers, refusing data for another slot or
 * committee than asked (a BN bug must not become a signed attestation).
 */
export function unsignedAttesterData(
  slot: number,
  fetched: readonly { readonly committeeIndex: number; readonly data: AttestationDataJson }[],
  committeeIndexInData = true,
): { ok: true; value: AttesterUnsignedData } | { ok: false; detail: string } {
  const byCommittee: Record<string, AttestationDataJson> = {};
  for (const { committeeIndex, data } of fetched) {
    // From Electra the data's index is 0 for every committee (EIP-7549).
    if (Number(data.slot) !== slot || Number(data.index) !== (committeeIndexInData ? committeeIndex : 0)) {
      return { ok: false, detail: `BN answered slot ${data.slot} index ${data.index} for slot ${slot} committee ${committeeIndex}` };
    }
    byCommittee[String(committeeIndex)] = data;
  }
  return { ok: true, value: { type: 'attester', byCommittee } };
}

/**
 * A proposer duty's value from the BN's `produceBlockV3` answer: a full block from Deneb comes
 * as BlockContents, whose proofs and blobs travel beside the block.
 */
export function unsignedProposerData(
  slot: number,
  produced: {
    readonly fork: string;
    readonly blinded: boolean;
    readonly executionPayloadValue: string;
    readonly consensusBlockValue: string;
    readonly data: Readonly<Record<string, unknown>>;
  },
  hasBlockContents: boolean,
): { ok: true; value: ProposerUnsignedData } | { ok: false; detail: string } {
  const contents = !produced.blinded && hasBlockContents;
  const block = (contents ? produced.data['block'] : produced.data) as ProposerUnsignedData['block'] | undefined;
  if (typeof block !== 'object' || block === null || Number(block.slot) !== slot) {
    return { ok: false, detail: `BN answered a block for slot ${String(block?.slot)} when asked for slot ${slot}` };
  }
  return {
    ok: true,
    value: {
      type: 'proposer',
      fork: produced.fork,
      blinded: produced.blinded,
      block,
      ...(contents && { kzgProofs: produced.data['kzg_proofs'] as Hex[], blobs: produced.data['blobs'] as Hex[] }),
      executionPayloadValue: produced.executionPayloadValue,
      consensusBlockValue: produced.consensusBlockValue,
    },
  };
}

/**
 * The attesters of a slot whose combined selection proof selects them (phase0/validator.md#aggregation-selection),
 * as aggregator duties carrying that proof. `selected(committeeLength, proof)` is `is_aggregator`.
 */
export function selectAggregators(
  duties: readonly AttesterDuty[],
  combinedProofs: ReadonlyMap<Hex, Hex>,
  selected: (committeeLength: number, proof: Hex) => boolean,
): AggregatorDuty[] {
  return duties.flatMap((duty) => {
    const selectionProof = combinedProofs.get(duty.pubkey);
    return selectionProof !== undefined && selected(duty.committeeLength, selectionProof) ? [{ ...duty, selectionProof }] : [];
  });
}

/**
 * The sync committee members of a slot selected to aggregate a subcommittee they sit in
 * (altair/validator.md#aggregation-selection): one duty per (member, subcommittee) whose combined
 * proof selects it. `selected(proof)` is `is_sync_committee_aggregator`.
 */
export function selectSyncAggregators(
  members: readonly SyncCommitteeDuty[],
  combinedProofs: ReadonlyMap<string, Hex>,
  subcommitteeOf: (seat: number) => number,
  selected: (proof: Hex) => boolean,
): SyncContributionDuty[] {
  return members.flatMap(({ pubkey, validatorIndex, slot, validatorSyncCommitteeIndices }) =>
    [...new Set(validatorSyncCommitteeIndices.map(subcommitteeOf))].sort((a, b) => a - b).flatMap((subcommitteeIndex) => {
      const selectionProof = combinedProofs.get(syncSelectionKey(pubkey, subcommitteeIndex));
      return selectionProof !== undefined && selected(selectionProof) ? [{ pubkey, validatorIndex, slot, subcommitteeIndex, selectionProof }] : [];
    }),
  );
}

/** The root most sync committee messages of the slot were combined over (the lowest on a tie): what contributions aggregate. */
export function agreedSyncRoot(roots: ReadonlyMap<Hex, number> | undefined): Hex | undefined {
  return [...(roots ?? new Map<Hex, number>()).entries()].sort(([a, n], [b, m]) => m - n || (a < b ? -1 : 1))[0]?.[0];
}

/** How an epoch's proposer duties changed between two answers of the BN (a re-org moved their dependent root). */
export interface ProposerChanges {
  /** Slots now ours that were not: to schedule. */
  readonly added: readonly ProposerDuty[];
  /** Slots ours before that are another validator's now (or another of ours): not to be missed. */
  readonly withdrawn: readonly ProposerDuty[];
}

/**
 * Compares the proposer duties scheduled for the coming slots with a fresh answer, both
 * restricted to this cluster's validators. A slot whose proposer changed from one of ours to
 * another of ours is in both lists.
 */
export function proposerChanges(scheduled: readonly ProposerDuty[], fresh: readonly ProposerDuty[]): ProposerChanges {
  const key = (d: ProposerDuty): string => `${d.slot}/${d.pubkey}`;
  const before = new Set(scheduled.map(key));
  const now = new Set(fresh.map(key));
  return { added: fresh.filter((d) => !before.has(key(d))), withdrawn: scheduled.filter((d) => !now.has(key(d))) };
}
