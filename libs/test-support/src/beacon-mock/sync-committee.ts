import { PublicKey, Signature, verify } from '@chainsafe/blst';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fromHex, isHex, type Hex } from '#lib/contracts';
import { blockForkAtSlot, syncCommitteeMessageSigningRoot, type ChainSigningContext } from '#lib/signing';
import { errorBody, indexedErrorBody, UINT } from './api-errors.js';
import { blockRootAt } from './chain.js';

/**
 * The mock's sync committee (altair/validator.md#sync-committee): the committee of each period
 * fills SYNC_COMMITTEE_SIZE seats from the validators, rotating by period, and the pool takes a
 * member's message over any block root of this chain's, verified under its pubkey.
 */

/** A sync committee message the mock accepted, once per (slot, validator). */
export interface AcceptedSyncMessage {
  readonly slot: number;
  readonly validatorIndex: number;
  readonly pubkey: Hex;
  readonly beaconBlockRoot: Hex;
  readonly receivedAtMs: number;
  readonly count: number;
}

export interface SyncCommitteeContext {
  readonly signing: ChainSigningContext;
  readonly slotsPerEpoch: number;
  readonly syncCommitteeSize: number;
  readonly epochsPerPeriod: number;
  readonly validatorPubkeys: readonly Hex[];
  /** False: the committee is empty (all seats outside the cluster). */
  readonly enabled: boolean;
  /**
   * How seats are filled: `interleaved` (default) deals them round-robin, so each validator sits
   * in every subcommittee; `runs` gives each validator a run of consecutive seats, offset by half
   * a run, so each sits in two subcommittees (as few as a real committee gives, yet more than one).
   */
  readonly layout?: 'interleaved' | 'runs';
  readonly headSlot: () => number;
  readonly failSubmissionsAt?: (slot: number) => boolean;
  readonly reject: (reason: string, body: unknown) => void;
}


/** Validator index in each seat of the committee in force at `epoch` (none before Altair). */
export function syncCommitteeAt(
  ctx: Pick<SyncCommitteeContext, 'signing' | 'slotsPerEpoch' | 'syncCommitteeSize' | 'epochsPerPeriod' | 'validatorPubkeys' | 'enabled' | 'layout'>,
  epoch: number,
): number[] {
  if (!ctx.enabled || blockForkAtSlot(ctx.signing, epoch * ctx.slotsPerEpoch) === 'phase0') return [];
  const period = Math.floor(epoch / ctx.epochsPerPeriod);
  const n = ctx.validatorPubkeys.length;
  const size = ctx.syncCommitteeSize;
  if (ctx.layout === 'runs') {
    const shift = Math.floor(size / n / 2);
    return Array.from({ length: size }, (_, seat) => (Math.floor((((seat + shift) % size) * n) / size) + period) % n);
  }
  return Array.from({ length: size }, (_, seat) => (seat + period) % n);
}

/** A validator's signature over a block root at a slot, as contributions aggregate it. */
export interface SyncVote {
  readonly validatorIndex: number;
  readonly signature: Hex;
}

export interface SyncCommitteeRoutes {
  readonly acceptedSyncMessages: readonly AcceptedSyncMessage[];
  /** The accepted messages over `beaconBlockRoot` at `slot`, one per validator, in arrival order. */
  votesAt(slot: number, beaconBlockRoot: Hex): readonly SyncVote[];
}

export function registerSyncCommitteeRoutes(app: FastifyInstance, ctx: SyncCommitteeContext): SyncCommitteeRoutes {
  const acceptedSyncMessages: AcceptedSyncMessage[] = [];
  const acceptedAt = new Map<string, number>();
  const votes = new Map<string, Map<number, Hex>>();
  const keepVote = (slot: number, root: Hex, validatorIndex: number, signature: Hex) => {
    const key = `${slot}/${root}`;
    const atRoot = votes.get(key) ?? new Map<number, Hex>();
    votes.set(key, atRoot);
    if (!atRoot.has(validatorIndex)) atRoot.set(validatorIndex, signature);
  };
  const badRequest = (reply: FastifyReply, message: string) => reply.code(400).send(errorBody(400, message));

  app.post('/eth/v1/validator/duties/sync/:epoch', async (request: FastifyRequest<{ Params: { epoch: string }; Body: unknown }>, reply) => {
    if (!UINT.test(request.params.epoch)) return badRequest(reply, `Invalid epoch: ${request.params.epoch}`);
    const body = request.body;
    if (!Array.isArray(body) || !body.every((v) => typeof v === 'string' && UINT.test(v))) {
      return badRequest(reply, 'body must be an array of validator indices (decimal strings)');
    }
    const seats = syncCommitteeAt(ctx, Number(request.params.epoch));
    const data = [...new Set(body.map(Number))]
      .filter((index) => seats.includes(index))
      .sort((a, b) => a - b)
      .map((index) => ({
        pubkey: ctx.validatorPubkeys[index],
        validator_index: String(index),
        validator_sync_committee_indices: seats.flatMap((v, seat) => (v === index ? [String(seat)] : [])),
      }));
    return { execution_optimistic: false, data };
  });

  app.get('/eth/v1/beacon/blocks/:block_id/root', async (request: FastifyRequest<{ Params: { block_id: string } }>, reply) => {
    const id = request.params.block_id;
    const slot = ['head', 'finalized', 'justified'].includes(id) ? ctx.headSlot() : id === 'genesis' ? 0 : UINT.test(id) ? Number(id) : undefined;
    if (slot === undefined) return badRequest(reply, `Invalid block ID: ${id}`);
    if (slot > ctx.headSlot()) return reply.code(404).send(errorBody(404, `Block not found: ${id}`));
    return { execution_optimistic: false, finalized: false, data: { root: blockRootAt(slot) } };
  });

  app.post('/eth/v1/beacon/pool/sync_committees', async (request: FastifyRequest<{ Body: unknown }>, reply) => {
    const body = request.body;
    if (!Array.isArray(body)) {
      ctx.reject('body is not an array of sync committee messages', body);
      return badRequest(reply, 'body must be an array of SyncCommitteeMessage objects');
    }
    if (body.some((m: { slot?: unknown }) => ctx.failSubmissionsAt?.(Number(m?.slot)))) {
      ctx.reject('fault injection: submissions failing', body);
      return reply.code(503).send(errorBody(503, 'beacon node unavailable (fault injection)'));
    }
    const failures: { index: number; message: string }[] = [];
    body.forEach((item: Record<string, unknown>, index) => {
      const fail = (message: string) => {
        failures.push({ index, message });
        ctx.reject(message, item);
      };
      const slot = Number(item?.['slot']);
      const validatorIndex = Number(item?.['validator_index']);
      const root = item?.['beacon_block_root'];
      const signature = item?.['signature'];
      if (!UINT.test(String(item?.['slot'])) || !UINT.test(String(item?.['validator_index'])) || typeof root !== 'string' || !isHex(root, 32) || typeof signature !== 'string') {
        return fail('malformed SyncCommitteeMessage');
      }
      if (!syncCommitteeAt(ctx, Math.floor(slot / ctx.slotsPerEpoch)).includes(validatorIndex)) return fail(`validator ${validatorIndex} is not in the sync committee at slot ${slot}`);
      if (root !== blockRootAt(Math.min(slot, ctx.headSlot())) && root !== blockRootAt(slot - 1)) return fail(`block root ${root} is not this chain's head at slot ${slot}`);
      const pubkey = ctx.validatorPubkeys[validatorIndex] as Hex;
      let valid = false;
      try {
        valid = verify(fromHex(syncCommitteeMessageSigningRoot(ctx.signing, slot, root as Hex)), PublicKey.fromBytes(fromHex(pubkey)), Signature.fromBytes(fromHex(signature), true));
      } catch {
        valid = false;
      }
      if (!valid) return fail(`invalid signature for validator ${validatorIndex}`);
      keepVote(slot, root as Hex, validatorIndex, signature.toLowerCase() as Hex);
      const key = `${slot}/${validatorIndex}`;
      const at = acceptedAt.get(key);
      if (at === undefined) {
        acceptedAt.set(key, acceptedSyncMessages.length);
        acceptedSyncMessages.push({ slot, validatorIndex, pubkey, beaconBlockRoot: root as Hex, receivedAtMs: Date.now(), count: 1 });
      } else {
        const previous = acceptedSyncMessages[at] as AcceptedSyncMessage;
        acceptedSyncMessages[at] = { ...previous, count: previous.count + 1 };
      }
    });
    if (failures.length > 0) return reply.code(400).send(indexedErrorBody(failures, 'message(s)'));
    return reply.code(200).send();
  });
  return {
    acceptedSyncMessages,
    votesAt: (slot, beaconBlockRoot) =>
      [...(votes.get(`${slot}/${beaconBlockRoot.toLowerCase()}`) ?? new Map<number, Hex>())].map(([validatorIndex, signature]) => ({ validatorIndex, signature })),
  };
}
