import { aggregateSignatures, Signature } from '@chainsafe/blst';
import { BitArray } from '@chainsafe/ssz';
import { ssz } from '@lodestar/types';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fromHex, isHex, toHex, type Hex } from '#lib/contracts';
import {
  aggregateAndProofSigningRoot,
  attestationDataRoot,
  attestationSigningRoot,
  blockForkAtSlot,
  forkIsElectraOrLater,
  isAggregator,
  isBlockFork,
  selectionProofSigningRoot,
  type AttestationDataJson,
  type BlockFork,
  type ChainSigningContext,
} from '#lib/signing';
import { errorBody, indexedErrorBody, UINT, type IndexedFailure } from './api-errors.js';
import type { AttestationVotes } from './attestation-pool.js';
import { signedBy } from './bls-verify.js';
import { attestationDataAt, committeeAt, epochAtSlot, type EpochCommittees } from './chain.js';

/**
 * Attestation aggregation (phase0/validator.md#attestation-aggregation): `aggregate_attestation`
 * folds the pool's votes over one data root into an aggregate, and `aggregate_and_proofs` takes
 * an aggregator's SignedAggregateAndProof after the checks gossip makes
 * (phase0/p2p-interface.md#beacon_aggregate_and_proof; Electra names the committee in
 * `committee_bits`, EIP-7549).
 */

/** An aggregate the mock accepted, once per (slot, aggregator). */
export interface AcceptedAggregate {
  readonly slot: number;
  readonly aggregatorIndex: number;
  readonly committeeIndex: number;
  /** The aggregator's pubkey (in a DV, the group pubkey). */
  readonly pubkey: Hex;
  /** Aggregation bits set in the first accepted aggregate. */
  readonly attesters: number;
  readonly receivedAtMs: number;
  /** Valid submissions for (slot, aggregator): 1 = exactly once. */
  readonly count: number;
}

export interface AggregationContext {
  readonly signing: ChainSigningContext;
  readonly slotsPerEpoch: number;
  readonly validatorPubkeys: readonly Hex[];
  readonly committeesAt: (epoch: number) => EpochCommittees;
  readonly votes: AttestationVotes;
  readonly failSubmissionsAt?: (slot: number) => boolean;
  readonly reject: (reason: string, body: unknown) => void;
}

/**
 * Bitvector[MAX_COMMITTEES_PER_SLOT] of an Electra attestation as @lodestar/types compiles it
 * (mainnet preset: 64), which is what #lib/signing hashes too. The mock's spec says minimal (4);
 * its committee indices stay below 4, so only low bits are ever set.
 */
const COMMITTEE_BITS = ssz.electra.Attestation.fields.committeeBits.lengthBits;

type AggregateQuery = { readonly slot: number; readonly dataRoot: Hex; readonly committeeIndex: number | undefined };

/** `attestation_data_root` and `slot`, and `committee_index` when the route requires it (v2). */
function parseAggregateQuery(query: Record<string, unknown>, withCommittee: boolean): AggregateQuery | { readonly error: string } {
  const { attestation_data_root: root, slot, committee_index: committeeIndex } = query;
  if (typeof root !== 'string' || !isHex(root.toLowerCase(), 32)) return { error: `Invalid attestation_data_root: ${String(root)}` };
  if (typeof slot !== 'string' || !UINT.test(slot)) return { error: `Invalid slot: ${String(slot)}` };
  if (withCommittee && (typeof committeeIndex !== 'string' || !UINT.test(committeeIndex))) {
    return { error: `Invalid committee_index: ${String(committeeIndex)}` };
  }
  return { slot: Number(slot), dataRoot: root.toLowerCase() as Hex, committeeIndex: withCommittee ? Number(committeeIndex) : undefined };
}

/**
 * The aggregate of the pool's votes over `dataRoot` at `slot` (in `committeeIndex` when given):
 * a bit per attester at its position in the committee, and the BLS aggregate of their signatures.
 * Undefined when the pool has none.
 */
function aggregateOf(ctx: AggregationContext, { slot, dataRoot, committeeIndex }: AggregateQuery): { readonly fork: BlockFork; readonly json: unknown } | undefined {
  const votes = ctx.votes.at(slot, dataRoot).filter((vote) => committeeIndex === undefined || vote.committeeIndex === committeeIndex);
  const first = votes[0];
  if (!first) return undefined;
  // Before Electra the data root names one committee; from Electra the route names it.
  const index = first.committeeIndex;
  const committee = committeeAt(ctx.committeesAt(epochAtSlot(slot, ctx.slotsPerEpoch)), slot, index, ctx.slotsPerEpoch);
  if (!committee) throw new Error(`the pool holds votes of committee ${index} at slot ${slot}, which does not exist`);
  const aggregationBits = BitArray.fromBitLen(committee.members.length);
  for (const vote of votes) aggregationBits.set(committee.members.indexOf(vote.validatorIndex), true);
  const signature = aggregateSignatures(votes.map((vote) => Signature.fromBytes(fromHex(vote.signature)))).toBytes();
  const fork = blockForkAtSlot(ctx.signing, slot);
  const electra = forkIsElectraOrLater(fork);
  const data = ssz.phase0.AttestationData.fromJson(attestationDataAt(slot, electra ? 0 : index, ctx.slotsPerEpoch));
  const json = electra
    ? ssz.electra.Attestation.toJson({ aggregationBits, data, signature, committeeBits: BitArray.fromSingleBit(COMMITTEE_BITS, index) })
    : ssz.phase0.Attestation.toJson({ aggregationBits, data, signature });
  return { fork, json };
}

type Verdict =
  | { readonly ok: true; readonly aggregate: Omit<AcceptedAggregate, 'receivedAtMs' | 'count'> }
  | { readonly ok: false; readonly message: string };

/**
 * Reads the phase0 containers before Electra and Electra's from it, which add `committee_bits`;
 * `messageJson` is the message as the signing root reads it.
 */
function readSignedAggregate(item: unknown, electra: boolean) {
  if (electra) {
    const signed = ssz.electra.SignedAggregateAndProof.fromJson(item);
    return { signed, committeeBits: signed.message.aggregate.committeeBits, messageJson: ssz.electra.AggregateAndProof.toJson(signed.message) };
  }
  const signed = ssz.phase0.SignedAggregateAndProof.fromJson(item);
  return { signed, committeeBits: undefined, messageJson: ssz.phase0.AggregateAndProof.toJson(signed.message) };
}

/**
 * The gossip checks of one SignedAggregateAndProof, in the order of
 * phase0/p2p-interface.md#beacon_aggregate_and_proof (and electra/p2p-interface.md), leaving out
 * timing and first-seen: `version` is the fork the v2 route's header names, undefined on v1
 * (phase0 containers, before Electra only).
 */
function checkSignedAggregate(ctx: AggregationContext, item: unknown, version: BlockFork | undefined): Verdict {
  const refuse = (message: string): Verdict => ({ ok: false, message });
  let read;
  try {
    read = readSignedAggregate(item, version !== undefined && forkIsElectraOrLater(version));
  } catch (error) {
    return refuse(`malformed SignedAggregateAndProof: ${(error as Error).message}`);
  }
  const { signed, committeeBits, messageJson } = read;
  const { aggregatorIndex, aggregate, selectionProof } = signed.message;
  const slot = aggregate.data.slot;
  const fork = blockForkAtSlot(ctx.signing, slot);
  if (version === undefined && forkIsElectraOrLater(fork)) return refuse(`slot ${slot} is in ${fork}: submit Electra SignedAggregateAndProofs on the v2 route`);
  if (version !== undefined && version !== fork) return refuse(`Eth-Consensus-Version ${version} is not the fork ${fork} of slot ${slot}`);

  let committeeIndex = aggregate.data.index;
  if (committeeBits) {
    const named = committeeBits.getTrueBitIndexes();
    if (named.length !== 1) return refuse(`committee_bits must name exactly one committee, found ${named.length}`);
    if (aggregate.data.index !== 0) return refuse(`data.index must be 0 from Electra, got ${aggregate.data.index}`);
    committeeIndex = named[0]!;
  }
  const epoch = epochAtSlot(slot, ctx.slotsPerEpoch);
  const committee = committeeAt(ctx.committeesAt(epoch), slot, committeeIndex, ctx.slotsPerEpoch);
  if (!committee || committee.members.length === 0) return refuse(`no committee ${committeeIndex} at slot ${slot}`);
  const bits = aggregate.aggregationBits;
  if (bits.bitLen !== committee.members.length) return refuse(`aggregation_bits length ${bits.bitLen} != committee length ${committee.members.length}`);
  const attesters = bits.getTrueBitIndexes().map((position) => committee.members[position]!);
  if (attesters.length === 0) return refuse('the aggregate has no attester');
  const dataJson = ssz.phase0.AttestationData.toJson(aggregate.data) as unknown as AttestationDataJson;
  const chainData = attestationDataAt(slot, committeeBits ? 0 : committeeIndex, ctx.slotsPerEpoch);
  if (attestationDataRoot(dataJson) !== attestationDataRoot(chainData)) {
    return refuse(`aggregate data for slot ${slot} does not match this chain (unknown block or checkpoint)`);
  }

  const proof = toHex(selectionProof);
  if (!isAggregator(committee.members.length, proof)) {
    return refuse(`validator ${aggregatorIndex} is not an aggregator at slot ${slot}: its selection proof does not select it in a committee of ${committee.members.length}`);
  }
  if (!committee.members.includes(aggregatorIndex)) return refuse(`aggregator ${aggregatorIndex} is not in committee ${committeeIndex} at slot ${slot}`);
  const pubkey = ctx.validatorPubkeys[aggregatorIndex]!;
  if (!signedBy(selectionProofSigningRoot(ctx.signing, slot), [pubkey], selectionProof)) {
    return refuse(`invalid selection proof of aggregator ${aggregatorIndex} for slot ${slot}`);
  }
  if (!signedBy(aggregateAndProofSigningRoot(ctx.signing, fork, messageJson as { aggregate: { data: { slot: string } } }), [pubkey], signed.signature)) {
    return refuse(`invalid AggregateAndProof signature of aggregator ${aggregatorIndex}`);
  }
  const attesterPubkeys = attesters.map((index) => ctx.validatorPubkeys[index]!);
  if (!signedBy(attestationSigningRoot(ctx.signing, dataJson), attesterPubkeys, aggregate.signature)) {
    return refuse(`invalid aggregate signature over ${attesters.length} attester(s) of committee ${committeeIndex}`);
  }
  return { ok: true, aggregate: { slot, aggregatorIndex, committeeIndex, pubkey, attesters: attesters.length } };
}

/**
 * Registers `aggregate_attestation` (v1: before Electra, no committee; v2: any fork, with the
 * `Eth-Consensus-Version` header) and `aggregate_and_proofs` (v1: phase0 containers; v2: the
 * containers of the fork its header names).
 */
export function registerAggregationRoutes(app: FastifyInstance, ctx: AggregationContext): { readonly acceptedAggregates: readonly AcceptedAggregate[] } {
  const acceptedAggregates: AcceptedAggregate[] = [];
  const acceptedAt = new Map<string, number>();
  const alreadyAccepted = new Map<string, Omit<AcceptedAggregate, 'receivedAtMs' | 'count'>>();
  const badRequest = (reply: FastifyReply, message: string) => reply.code(400).send(errorBody(400, message));
  const notFound = (reply: FastifyReply, query: AggregateQuery) =>
    reply.code(404).send(errorBody(404, `No aggregated attestation for slot ${query.slot} and data root ${query.dataRoot}${query.committeeIndex === undefined ? '' : ` in committee ${query.committeeIndex}`}`));

  app.get('/eth/v1/validator/aggregate_attestation', async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
    const query = parseAggregateQuery(request.query, false);
    if ('error' in query) return badRequest(reply, query.error);
    const fork = blockForkAtSlot(ctx.signing, query.slot);
    if (forkIsElectraOrLater(fork)) return badRequest(reply, `slot ${query.slot} is in ${fork}: use /eth/v2/validator/aggregate_attestation`);
    const aggregate = aggregateOf(ctx, query);
    if (!aggregate) return notFound(reply, query);
    return { data: aggregate.json };
  });

  app.get('/eth/v2/validator/aggregate_attestation', async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
    const query = parseAggregateQuery(request.query, true);
    if ('error' in query) return badRequest(reply, query.error);
    const aggregate = aggregateOf(ctx, query);
    if (!aggregate) return notFound(reply, query);
    return reply.header('eth-consensus-version', aggregate.fork).send({ version: aggregate.fork, data: aggregate.json });
  });

  const record = (aggregate: Omit<AcceptedAggregate, 'receivedAtMs' | 'count'>, receivedAtMs: number) => {
    const key = `${aggregate.slot}/${aggregate.aggregatorIndex}`;
    const at = acceptedAt.get(key);
    if (at === undefined) {
      acceptedAt.set(key, acceptedAggregates.length);
      acceptedAggregates.push({ ...aggregate, receivedAtMs, count: 1 });
      return;
    }
    const previous = acceptedAggregates[at]!;
    acceptedAggregates[at] = { ...previous, count: previous.count + 1 };
  };

  const submit = (body: unknown, reply: FastifyReply, version: BlockFork | undefined) => {
    if (!Array.isArray(body)) {
      ctx.reject('body is not an array of SignedAggregateAndProof', body);
      return badRequest(reply, 'body must be an array of SignedAggregateAndProof objects');
    }
    const failing = ctx.failSubmissionsAt;
    if (failing && body.some((item: { message?: { aggregate?: { data?: { slot?: unknown } } } }) => failing(Number(item?.message?.aggregate?.data?.slot)))) {
      ctx.reject('fault injection: submissions failing', body);
      return reply.code(503).send(errorBody(503, 'beacon node unavailable (fault injection)'));
    }
    const receivedAtMs = Date.now();
    const failures: IndexedFailure[] = [];
    body.forEach((item: unknown, index) => {
      // Every node of a cluster submits the same combined aggregate: seen once, checked once (a BN's gossip seen-cache).
      const seenKey = `${version ?? 'v1'}:${JSON.stringify(item)}`;
      const seen = alreadyAccepted.get(seenKey);
      if (seen) return record(seen, receivedAtMs);
      const verdict = checkSignedAggregate(ctx, item, version);
      if (verdict.ok) alreadyAccepted.set(seenKey, verdict.aggregate);
      if (verdict.ok) return record(verdict.aggregate, receivedAtMs);
      failures.push({ index, message: verdict.message });
      ctx.reject(verdict.message, item);
    });
    if (failures.length > 0) return reply.code(400).send(indexedErrorBody(failures, 'aggregate(s)'));
    return reply.code(200).send();
  };

  app.post('/eth/v1/validator/aggregate_and_proofs', async (request: FastifyRequest<{ Body: unknown }>, reply) => submit(request.body, reply, undefined));
  // v2 reads the body as the containers of the fork its header names (apis/validator/aggregate_and_proofs.v2.yaml).
  app.post('/eth/v2/validator/aggregate_and_proofs', async (request: FastifyRequest<{ Body: unknown }>, reply) => {
    const version = request.headers['eth-consensus-version'];
    if (typeof version !== 'string' || version.length === 0) {
      ctx.reject('missing Eth-Consensus-Version header', request.body);
      return badRequest(reply, 'Eth-Consensus-Version header is required');
    }
    if (!isBlockFork(version)) {
      ctx.reject(`unsupported Eth-Consensus-Version ${version}`, request.body);
      return badRequest(reply, `Eth-Consensus-Version ${version} is not a fork this node knows`);
    }
    return submit(request.body, reply, version);
  });

  return { acceptedAggregates };
}
