import { aggregateSignatures, Signature } from '@chainsafe/blst';
import { BitArray } from '@chainsafe/ssz';
import { ssz } from '@lodestar/types';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fromHex, isHex, toHex, type Hex } from '#lib/contracts';
import {
  blockForkAtSlot,
  contributionAndProofSigningRoot,
  isSyncCommitteeAggregator,
  SYNC_COMMITTEE_SUBNET_COUNT,
  syncCommitteeMessageSigningRoot,
  syncSelectionSigningRoot,
  type ChainSigningContext,
} from '#lib/signing';
import { errorBody, indexedErrorBody, UINT, type IndexedFailure } from './api-errors.js';
import { signedBy } from './bls-verify.js';
import type { SyncVote } from './sync-committee.js';

/**
 * Sync committee contributions (altair/validator.md#sync-committee-aggregations):
 * `sync_committee_contribution` folds the accepted messages of a subcommittee over one block
 * root into a contribution, and `contribution_and_proofs` takes an aggregator's
 * SignedContributionAndProof after the checks gossip makes
 * (altair/p2p-interface.md#sync_committee_contribution_and_proof).
 */

/** A contribution the mock accepted, once per (slot, aggregator, subcommittee). */
export interface AcceptedContribution {
  readonly slot: number;
  readonly aggregatorIndex: number;
  readonly subcommitteeIndex: number;
  /** The aggregator's pubkey (in a DV, the group pubkey). */
  readonly pubkey: Hex;
  readonly receivedAtMs: number;
  /** Valid submissions for (slot, aggregator, subcommittee): 1 = exactly once. */
  readonly count: number;
}

export interface SyncContributionContext {
  readonly signing: ChainSigningContext;
  readonly slotsPerEpoch: number;
  /** SYNC_COMMITTEE_SIZE of the mock's spec. */
  readonly syncCommitteeSize: number;
  readonly validatorPubkeys: readonly Hex[];
  /** Validator index in each seat of the sync committee in force at `epoch`. */
  readonly syncCommitteeAt: (epoch: number) => readonly number[];
  readonly votesAt: (slot: number, beaconBlockRoot: Hex) => readonly SyncVote[];
  readonly failSubmissionsAt?: (slot: number) => boolean;
  readonly reject: (reason: string, body: unknown) => void;
}

/**
 * Bitvector[SYNC_COMMITTEE_SIZE / SYNC_COMMITTEE_SUBNET_COUNT] as @lodestar/types compiles it
 * (mainnet preset: 128), which is what #lib/signing hashes too. The mock's spec says minimal
 * (32 seats, 8 per subcommittee), so only the first 8 bits are ever set.
 */
const CONTRIBUTION_BITS = ssz.altair.SyncCommitteeContribution.fields.aggregationBits.lengthBits;

/** The validator in each seat of a subcommittee at `slot`, by position within the subcommittee. */
function subcommitteeMembers(ctx: SyncContributionContext, slot: number, subcommitteeIndex: number): readonly number[] {
  const size = Math.floor(ctx.syncCommitteeSize / SYNC_COMMITTEE_SUBNET_COUNT);
  return ctx.syncCommitteeAt(Math.floor(slot / ctx.slotsPerEpoch)).slice(subcommitteeIndex * size, (subcommitteeIndex + 1) * size);
}

type ContributionQuery = { readonly slot: number; readonly subcommitteeIndex: number; readonly beaconBlockRoot: Hex };

function parseContributionQuery(query: Record<string, unknown>): ContributionQuery | { readonly error: string } {
  const { slot, subcommittee_index: subcommitteeIndex, beacon_block_root: root } = query;
  if (typeof slot !== 'string' || !UINT.test(slot)) return { error: `Invalid slot: ${String(slot)}` };
  if (typeof subcommitteeIndex !== 'string' || !UINT.test(subcommitteeIndex) || Number(subcommitteeIndex) >= SYNC_COMMITTEE_SUBNET_COUNT) {
    return { error: `Invalid subcommittee_index: ${String(subcommitteeIndex)}` };
  }
  if (typeof root !== 'string' || !isHex(root.toLowerCase(), 32)) return { error: `Invalid beacon_block_root: ${String(root)}` };
  return { slot: Number(slot), subcommitteeIndex: Number(subcommitteeIndex), beaconBlockRoot: root.toLowerCase() as Hex };
}

/**
 * The contribution of a subcommittee over a block root: a bit per seat whose validator sent a
 * message over that root, and the aggregate of one signature per set bit, so a validator with two
 * seats counts twice, as the spec's aggregation of per-seat messages does. Undefined when none.
 */
function contributionOf(ctx: SyncContributionContext, { slot, subcommitteeIndex, beaconBlockRoot }: ContributionQuery): unknown {
  const signatures = new Map(ctx.votesAt(slot, beaconBlockRoot).map((vote) => [vote.validatorIndex, vote.signature]));
  const aggregationBits = BitArray.fromBitLen(CONTRIBUTION_BITS);
  const included: Signature[] = [];
  subcommitteeMembers(ctx, slot, subcommitteeIndex).forEach((validatorIndex, position) => {
    const signature = signatures.get(validatorIndex);
    if (signature === undefined) return;
    aggregationBits.set(position, true);
    included.push(Signature.fromBytes(fromHex(signature)));
  });
  if (included.length === 0) return undefined;
  return ssz.altair.SyncCommitteeContribution.toJson({
    slot,
    beaconBlockRoot: fromHex(beaconBlockRoot),
    subcommitteeIndex,
    aggregationBits,
    signature: aggregateSignatures(included).toBytes(),
  });
}

type Verdict =
  | { readonly ok: true; readonly contribution: Omit<AcceptedContribution, 'receivedAtMs' | 'count'> }
  | { readonly ok: false; readonly message: string };

/**
 * The gossip checks of one SignedContributionAndProof, in the order of
 * altair/p2p-interface.md#sync_committee_contribution_and_proof, leaving out timing and first-seen.
 */
function checkSignedContribution(ctx: SyncContributionContext, item: unknown): Verdict {
  const refuse = (message: string): Verdict => ({ ok: false, message });
  let signed;
  try {
    signed = ssz.altair.SignedContributionAndProof.fromJson(item);
  } catch (error) {
    return refuse(`malformed SignedContributionAndProof: ${(error as Error).message}`);
  }
  const { aggregatorIndex, contribution, selectionProof } = signed.message;
  const { slot, subcommitteeIndex } = contribution;
  if (blockForkAtSlot(ctx.signing, slot) === 'phase0') return refuse(`slot ${slot} is before Altair: there is no sync committee`);
  if (subcommitteeIndex >= SYNC_COMMITTEE_SUBNET_COUNT) return refuse(`subcommittee_index ${subcommitteeIndex} is not below ${SYNC_COMMITTEE_SUBNET_COUNT}`);
  const participants = contribution.aggregationBits.getTrueBitIndexes();
  if (participants.length === 0) return refuse('the contribution has no participant');
  const members = subcommitteeMembers(ctx, slot, subcommitteeIndex);
  const beyond = participants.find((position) => position >= members.length);
  if (beyond !== undefined) return refuse(`aggregation bit ${beyond} is beyond the ${members.length} seats of a subcommittee`);
  if (!isSyncCommitteeAggregator(ctx.syncCommitteeSize, toHex(selectionProof))) {
    return refuse(`validator ${aggregatorIndex} is not a sync committee aggregator at slot ${slot}: its selection proof does not select it`);
  }
  if (!members.includes(aggregatorIndex)) return refuse(`aggregator ${aggregatorIndex} has no seat in subcommittee ${subcommitteeIndex} at slot ${slot}`);
  const pubkey = ctx.validatorPubkeys[aggregatorIndex]!;
  if (!signedBy(syncSelectionSigningRoot(ctx.signing, slot, subcommitteeIndex), [pubkey], selectionProof)) {
    return refuse(`invalid selection proof of aggregator ${aggregatorIndex} for slot ${slot} subcommittee ${subcommitteeIndex}`);
  }
  const messageJson = ssz.altair.ContributionAndProof.toJson(signed.message) as { contribution: { slot: string } };
  if (!signedBy(contributionAndProofSigningRoot(ctx.signing, messageJson), [pubkey], signed.signature)) {
    return refuse(`invalid ContributionAndProof signature of aggregator ${aggregatorIndex}`);
  }
  const participantPubkeys = participants.map((position) => ctx.validatorPubkeys[members[position]!]!);
  if (!signedBy(syncCommitteeMessageSigningRoot(ctx.signing, slot, toHex(contribution.beaconBlockRoot)), participantPubkeys, contribution.signature)) {
    return refuse(`invalid contribution signature over ${participants.length} participant(s) of subcommittee ${subcommitteeIndex}`);
  }
  return { ok: true, contribution: { slot, aggregatorIndex, subcommitteeIndex, pubkey } };
}

export function registerSyncContributionRoutes(app: FastifyInstance, ctx: SyncContributionContext): { readonly acceptedContributions: readonly AcceptedContribution[] } {
  const acceptedContributions: AcceptedContribution[] = [];
  const acceptedAt = new Map<string, number>();
  const alreadyAccepted = new Map<string, Omit<AcceptedContribution, 'receivedAtMs' | 'count'>>();
  const badRequest = (reply: FastifyReply, message: string) => reply.code(400).send(errorBody(400, message));

  app.get('/eth/v1/validator/sync_committee_contribution', async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
    const query = parseContributionQuery(request.query);
    if ('error' in query) return badRequest(reply, query.error);
    const data = contributionOf(ctx, query);
    if (data === undefined) {
      const { slot, subcommitteeIndex, beaconBlockRoot } = query;
      return reply.code(404).send(errorBody(404, `No sync committee contribution for slot ${slot}, subcommittee ${subcommitteeIndex} and block root ${beaconBlockRoot}`));
    }
    return { data };
  });

  const record = (contribution: Omit<AcceptedContribution, 'receivedAtMs' | 'count'>, receivedAtMs: number) => {
    const key = `${contribution.slot}/${contribution.aggregatorIndex}/${contribution.subcommitteeIndex}`;
    const at = acceptedAt.get(key);
    if (at === undefined) {
      acceptedAt.set(key, acceptedContributions.length);
      acceptedContributions.push({ ...contribution, receivedAtMs, count: 1 });
      return;
    }
    const previous = acceptedContributions[at]!;
    acceptedContributions[at] = { ...previous, count: previous.count + 1 };
  };

  app.post('/eth/v1/validator/contribution_and_proofs', async (request: FastifyRequest<{ Body: unknown }>, reply) => {
    const body = request.body;
    if (!Array.isArray(body)) {
      ctx.reject('body is not an array of SignedContributionAndProof', body);
      return badRequest(reply, 'body must be an array of SignedContributionAndProof objects');
    }
    const failing = ctx.failSubmissionsAt;
    if (failing && body.some((item: { message?: { contribution?: { slot?: unknown } } }) => failing(Number(item?.message?.contribution?.slot)))) {
      ctx.reject('fault injection: submissions failing', body);
      return reply.code(503).send(errorBody(503, 'beacon node unavailable (fault injection)'));
    }
    const receivedAtMs = Date.now();
    const failures: IndexedFailure[] = [];
    body.forEach((item: unknown, index) => {
      // Every node of a cluster submits the same combined contribution: seen once, checked once (a BN's gossip seen-cache).
      const seenKey = JSON.stringify(item);
      const seen = alreadyAccepted.get(seenKey);
      if (seen) return record(seen, receivedAtMs);
      const verdict = checkSignedContribution(ctx, item);
      if (verdict.ok) alreadyAccepted.set(seenKey, verdict.contribution);
      if (verdict.ok) return record(verdict.contribution, receivedAtMs);
      failures.push({ index, message: verdict.message });
      ctx.reject(verdict.message, item);
    });
    if (failures.length > 0) return reply.code(400).send(indexedErrorBody(failures, 'contribution(s)'));
    return reply.code(200).send();
  });

  return { acceptedContributions };
}
