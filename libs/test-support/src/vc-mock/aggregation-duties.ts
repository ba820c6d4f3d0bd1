import type { SecretKey } from '@chainsafe/blst';
import { fromHex, isHex, toHex, type Hex } from '#lib/contracts';
import {
  aggregateAndProofSigningRoot,
  attestationDataRoot,
  blockForkAtSlot,
  contributionAndProofSigningRoot,
  forkIsElectraOrLater,
  isAggregator,
  isSyncCommitteeAggregator,
  selectionProofSigningRoot,
  syncSelectionSigningRoot,
  type AttestationDataJson,
  type ChainSigningContext,
} from '#lib/signing';
import { acceptedDespite, type BeaconRequest } from './beacon-request.js';

/**
 * The VC mock's aggregation duties: attestation aggregation (phase0/validator.md#attestation-aggregation)
 * and sync committee contributions (altair/validator.md#sync-committee-aggregations).
 *
 * Selection: a stock VC decides from its own selection proofs. In distributed mode (Lodestar's
 * `--distributed`, Teku's DVT mode) its keys are shares, whose proofs decide nothing: it posts
 * them to the DV middleware's selection routes and decides from the combined proofs it gets back
 * (apis/validator/beacon_committee_selections.yaml, sync_committee_selections.yaml).
 *
 * Publication, at 2/3 of the slot (validator-flow.md step 5): the aggregate or contribution is
 * fetched from the BN for what the VC signed at 1/3, wrapped with the combined selection proof,
 * signed, and published.
 */

/** The counters aggregation adds to the VC's stats. */
export interface AggregationStats {
  aggregatesSubmitted: number;
  contributionsSubmitted: number;
  selectionsCombined: number;
}

export interface AggregationContext {
  readonly request: BeaconRequest;
  readonly signing: ChainSigningContext;
  readonly slotMs: number;
  /** SYNC_COMMITTEE_SIZE of the BN's spec. */
  readonly syncCommitteeSize: number;
  readonly distributed: boolean;
  /** `v1` routes before Electra; from Electra only v2 exists. */
  readonly aggregateApi: 'v1' | 'v2';
  readonly signerOf: (pubkey: Hex) => SecretKey;
  readonly stats: AggregationStats;
  readonly recordError: (message: string) => void;
  /** Records a failed call (`what` failed: reason), unless the VC is stopping. */
  readonly reportError: (what: string, error: unknown) => void;
  readonly reportSubmitError: (slot: number, what: string, error: unknown) => void;
}

/** An attester duty, as much of it as aggregation reads. */
export interface AggregatorDuty {
  readonly pubkey: Hex;
  readonly validatorIndex: number;
  readonly committeeIndex: number;
  readonly committeeLength: number;
}

/** A duty the VC attested for, with the data it signed: the aggregate is asked for that data. */
export interface Attested {
  readonly duty: AggregatorDuty;
  readonly data: AttestationDataJson;
}

/** A sync committee member of this VC and the subcommittees its seats are in. */
export interface SyncMember {
  readonly pubkey: Hex;
  readonly validatorIndex: number;
  readonly subcommittees: readonly number[];
}

/** Selection proofs by `syncSelectionKey`. */
export type SyncSelectionProofs = ReadonlyMap<string, Hex>;
export const syncSelectionKey = (validatorIndex: number, subcommitteeIndex: number) => `${validatorIndex}/${subcommitteeIndex}`;

const signWith = (ctx: AggregationContext, pubkey: Hex, signingRoot: Hex): Hex => toHex(ctx.signerOf(pubkey).sign(fromHex(signingRoot)).toBytes());

/**
 * The selection proofs to decide with, by `keyOf` a selection: its own partials for a stock VC;
 * in distributed mode, the combined ones the middleware answers, matched to what was asked (a DV
 * combines across operators, so the answer may take most of a slot). Selections left unanswered
 * have no proof: their validator does not aggregate.
 */
async function decidingProofs<S extends { readonly validator_index: string; readonly slot: string; readonly selection_proof: Hex }>(
  ctx: AggregationContext,
  slot: number,
  route: 'beacon_committee_selections' | 'sync_committee_selections',
  partials: readonly S[],
  keyOf: (selection: S) => string,
): Promise<ReadonlyMap<string, Hex>> {
  if (!ctx.distributed) return new Map(partials.map((partial) => [keyOf(partial), partial.selection_proof]));
  let answered: unknown;
  try {
    answered = (await ctx.request('POST', `/eth/v1/validator/${route}`, partials, undefined, ctx.slotMs))?.data;
  } catch (error) {
    ctx.reportSubmitError(slot, route, error);
    return new Map();
  }
  if (!Array.isArray(answered)) {
    ctx.recordError(`slot ${slot}: ${route} answered no data list`);
    return new Map();
  }
  const asked = new Set(partials.map(keyOf));
  const proofs = new Map<string, Hex>();
  for (const selection of answered as (S | null)[]) {
    if (typeof selection !== 'object' || selection === null) continue;
    const key = keyOf(selection);
    const proof = String(selection.selection_proof).toLowerCase();
    if (asked.has(key) && isHex(proof, 96)) proofs.set(key, proof);
  }
  ctx.stats.selectionsCombined += proofs.size;
  const missing = [...asked].filter((key) => !proofs.has(key));
  if (missing.length > 0) ctx.recordError(`slot ${slot}: ${route} returned no combined proof for ${missing.join(', ')}`);
  return proofs;
}

/** Selection proofs of the slot's attesters, by validator index (phase0/validator.md#aggregation-selection). */
export async function attesterSelectionProofs(ctx: AggregationContext, slot: number, duties: readonly AggregatorDuty[]): Promise<ReadonlyMap<number, Hex>> {
  if (duties.length === 0) return new Map();
  const signingRoot = selectionProofSigningRoot(ctx.signing, slot);
  const partials = [...new Map(duties.map((duty) => [duty.validatorIndex, duty])).values()].map((duty) => ({
    validator_index: String(duty.validatorIndex),
    slot: String(slot),
    selection_proof: signWith(ctx, duty.pubkey, signingRoot),
  }));
  const keyOf = (s: { readonly validator_index: string; readonly slot: string }) => `${s.validator_index}/${s.slot}`;
  const proofs = await decidingProofs(ctx, slot, 'beacon_committee_selections', partials, keyOf);
  return new Map(partials.flatMap((partial) => {
    const proof = proofs.get(keyOf(partial));
    return proof === undefined ? [] : [[Number(partial.validator_index), proof] as const];
  }));
}

/** Selection proofs of the slot's sync committee members, by `syncSelectionKey`: one per subcommittee of a member's seats (altair/validator.md#aggregation-selection). */
export async function syncSelectionProofs(ctx: AggregationContext, slot: number, members: readonly SyncMember[]): Promise<SyncSelectionProofs> {
  const partials = members.flatMap((member) =>
    member.subcommittees.map((subcommitteeIndex) => ({
      validator_index: String(member.validatorIndex),
      slot: String(slot),
      subcommittee_index: String(subcommitteeIndex),
      selection_proof: signWith(ctx, member.pubkey, syncSelectionSigningRoot(ctx.signing, slot, subcommitteeIndex)),
    })),
  );
  if (partials.length === 0) return new Map();
  const keyOf = (s: { readonly validator_index: string; readonly slot: string; readonly subcommittee_index: string }) => `${s.validator_index}/${s.slot}/${s.subcommittee_index}`;
  const proofs = await decidingProofs(ctx, slot, 'sync_committee_selections', partials, keyOf);
  return new Map(partials.flatMap((partial) => {
    const proof = proofs.get(keyOf(partial));
    return proof === undefined ? [] : [[syncSelectionKey(Number(partial.validator_index), Number(partial.subcommittee_index)), proof] as const];
  }));
}

/** Posts signed items; counts what the BN took, records what it refused. */
async function publish(ctx: AggregationContext, slot: number, what: string, route: string, items: readonly unknown[], headers: Record<string, string> | undefined): Promise<number> {
  if (items.length === 0) return 0;
  try {
    await ctx.request('POST', route, items, headers);
    return items.length;
  } catch (error) {
    ctx.reportSubmitError(slot, what, error);
    return acceptedDespite(error, items.length);
  }
}

/**
 * For every attested duty whose selection proof selects it (`is_aggregator` over its committee):
 * the BN's aggregate of the data it signed, one request per committee and data root, wrapped in
 * an AggregateAndProof, signed and published.
 */
export async function publishAggregates(ctx: AggregationContext, slot: number, attested: readonly Attested[], proofs: ReadonlyMap<number, Hex>): Promise<void> {
  const aggregators = attested.flatMap(({ duty, data }) => {
    const proof = proofs.get(duty.validatorIndex);
    return proof !== undefined && isAggregator(duty.committeeLength, proof) ? [{ duty, data, proof, dataRoot: attestationDataRoot(data) }] : [];
  });
  if (aggregators.length === 0) return;
  const fork = blockForkAtSlot(ctx.signing, slot);
  const api = forkIsElectraOrLater(fork) ? 'v2' : ctx.aggregateApi;
  const signed: unknown[] = [];
  for (const key of new Set(aggregators.map((a) => `${a.duty.committeeIndex}/${a.dataRoot}`))) {
    const group = aggregators.filter((a) => `${a.duty.committeeIndex}/${a.dataRoot}` === key);
    const { duty: { committeeIndex }, dataRoot } = group[0]!;
    const query = `attestation_data_root=${dataRoot}&slot=${slot}${api === 'v2' ? `&committee_index=${committeeIndex}` : ''}`;
    let aggregate: { data?: AttestationDataJson } | undefined;
    try {
      const response = await ctx.request('GET', `/eth/${api}/validator/aggregate_attestation?${query}`);
      if (api === 'v2' && response?.version !== fork) throw new Error(`answered version ${String(response?.version)}, expected ${fork}`);
      aggregate = response?.data as typeof aggregate;
      // The BN must aggregate the data asked for; signing anything else would vouch for it.
      if (!aggregate?.data || attestationDataRoot(aggregate.data) !== dataRoot) throw new Error(`the aggregate is not over data root ${dataRoot}`);
    } catch (error) {
      ctx.reportError(`slot ${slot} committee ${committeeIndex}: aggregate attestation`, error);
      continue;
    }
    for (const { duty, proof } of group) {
      const message = { aggregator_index: String(duty.validatorIndex), aggregate, selection_proof: proof };
      try {
        signed.push({ message, signature: signWith(ctx, duty.pubkey, aggregateAndProofSigningRoot(ctx.signing, fork, message as typeof message & { aggregate: { data: AttestationDataJson } })) });
      } catch (error) {
        ctx.recordError(`slot ${slot} validator ${duty.validatorIndex}: not a ${fork} aggregate: ${(error as Error).message}`);
      }
    }
  }
  const headers = api === 'v2' ? { 'eth-consensus-version': fork } : undefined;
  ctx.stats.aggregatesSubmitted += await publish(ctx, slot, 'aggregate and proofs', `/eth/${api}/validator/aggregate_and_proofs`, signed, headers);
}

/**
 * For every (member, subcommittee) whose selection proof selects it (`is_sync_committee_aggregator`):
 * the BN's contribution of that subcommittee over the block root the VC signed, one request per
 * subcommittee, wrapped in a ContributionAndProof, signed and published.
 */
export async function publishContributions(
  ctx: AggregationContext,
  slot: number,
  beaconBlockRoot: Hex,
  members: readonly SyncMember[],
  proofs: SyncSelectionProofs,
): Promise<void> {
  const aggregators = members.flatMap((member) =>
    member.subcommittees.flatMap((subcommitteeIndex) => {
      const proof = proofs.get(syncSelectionKey(member.validatorIndex, subcommitteeIndex));
      return proof !== undefined && isSyncCommitteeAggregator(ctx.syncCommitteeSize, proof) ? [{ member, subcommitteeIndex, proof }] : [];
    }),
  );
  const signed: unknown[] = [];
  for (const subcommitteeIndex of new Set(aggregators.map((a) => a.subcommitteeIndex))) {
    let contribution: { slot?: string; beacon_block_root?: string; subcommittee_index?: string } | undefined;
    try {
      const query = `slot=${slot}&subcommittee_index=${subcommitteeIndex}&beacon_block_root=${beaconBlockRoot}`;
      contribution = (await ctx.request('GET', `/eth/v1/validator/sync_committee_contribution?${query}`))?.data as typeof contribution;
    } catch (error) {
      ctx.reportError(`slot ${slot} subcommittee ${subcommitteeIndex}: sync committee contribution`, error);
      continue;
    }
    if (contribution?.slot !== String(slot) || contribution.beacon_block_root !== beaconBlockRoot || contribution.subcommittee_index !== String(subcommitteeIndex)) {
      ctx.recordError(`slot ${slot} subcommittee ${subcommitteeIndex}: the BN's contribution is not over block root ${beaconBlockRoot}`);
      continue;
    }
    for (const { member, proof } of aggregators.filter((a) => a.subcommitteeIndex === subcommitteeIndex)) {
      const message = { aggregator_index: String(member.validatorIndex), contribution: contribution as { slot: string }, selection_proof: proof };
      try {
        signed.push({ message, signature: signWith(ctx, member.pubkey, contributionAndProofSigningRoot(ctx.signing, message)) });
      } catch (error) {
        ctx.recordError(`slot ${slot} validator ${member.validatorIndex}: not a contribution: ${(error as Error).message}`);
      }
    }
  }
  ctx.stats.contributionsSubmitted += await publish(ctx, slot, 'contribution and proofs', '/eth/v1/validator/contribution_and_proofs', signed, undefined);
}
