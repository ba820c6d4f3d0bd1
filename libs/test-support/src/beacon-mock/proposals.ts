import { createHash } from 'node:crypto';
import { PublicKey, Signature, verify } from '@chainsafe/blst';
import { ssz } from '@lodestar/types';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import {
  blockForkAtSlot,
  blockSigningRoot,
  epochOfSlot,
  forkHasBlindedBlocks,
  forkHasBlockContents,
  randaoSigningRoot,
  type BlockFork,
  type ChainSigningContext,
} from '#lib/signing';
import { blockRootAt } from './chain.js';

/**
 * The mock's block proposals (validator-flow.md "Block Proposing"): a deterministic proposer
 * per slot, `produceBlockV3` building a block of the fork in force from the per-fork
 * @lodestar/types schema, and the publish routes verifying what a proposer signed like gossip
 * would — right proposer, RANDAO reveal and proposer signature under its pubkey (in a DV,
 * the group pubkey).
 */

/** A block the mock accepted, once per slot. */
export interface AcceptedBlock {
  readonly slot: number;
  readonly proposerIndex: number;
  readonly pubkey: Hex;
  readonly fork: BlockFork;
  readonly blinded: boolean;
  /** hash_tree_root of the first accepted block (a blinded block has its full block's root). */
  readonly blockRoot: Hex;
  readonly receivedAtMs: number;
  /** Valid publications for the slot: 1 = exactly once. */
  readonly count: number;
  /** Roots of later valid blocks for the slot that differ from `blockRoot`: a double proposal. */
  readonly conflictingBlockRoots: readonly Hex[];
}

export interface ProposalContext {
  readonly signing: ChainSigningContext;
  readonly slotsPerEpoch: number;
  readonly genesisTime: number;
  readonly secondsPerSlot: number;
  readonly validatorPubkeys: readonly Hex[];
  /** False: no proposer duties are handed out (blocks are still produced and taken). */
  readonly proposals: boolean;
  /** False: no `produceBlockV3` route nor v2 publish routes, as a BN from before them (Lodestar 1.5.1). Default true. */
  readonly produceBlockV3?: boolean;
  readonly blindedBlocks?: (slot: number) => boolean;
  readonly failSubmissionsAt?: (slot: number) => boolean;
  readonly reject: (reason: string, body: unknown) => void;
}

const UINT = /^(0|[1-9][0-9]*)$/;
const sha256 = (...parts: (string | Uint8Array)[]): Uint8Array => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
};
const slotBytes = (slot: number): Uint8Array => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(slot), true);
  return bytes;
};
const errorBody = (code: number, message: string) => ({ code, message });

/** The proposer of `slot`: a hash of the slot over all validators (the spec's is a balance-weighted shuffle; any deterministic choice serves a mock). */
export function proposerIndexAt(slot: number, validatorCount: number): number {
  const digest = sha256('cohort-beacon-mock/proposer', slotBytes(slot));
  return new DataView(digest.buffer).getUint32(0, true) % validatorCount;
}

/** The Beacon API JSON of a (blinded) block of `fork` for `slot`: a pure function of its inputs. */
export function buildBlock(
  ctx: Pick<ProposalContext, 'genesisTime' | 'secondsPerSlot'>,
  fork: BlockFork,
  slot: number,
  proposerIndex: number,
  randaoReveal: Hex,
  graffiti: Hex,
  blinded: boolean,
): Record<string, unknown> {
  const block = ssz[fork].BeaconBlock.defaultValue() as {
    slot: number;
    proposerIndex: number;
    parentRoot: Uint8Array;
    stateRoot: Uint8Array;
    body: Record<string, unknown> & { randaoReveal: Uint8Array; graffiti: Uint8Array; executionPayload?: Record<string, unknown> };
  };
  block.slot = slot;
  block.proposerIndex = proposerIndex;
  block.parentRoot = fromHex(blockRootAt(slot - 1));
  block.stateRoot = sha256('cohort-beacon-mock/state', slotBytes(slot), fromHex(randaoReveal), fromHex(graffiti));
  block.body.randaoReveal = fromHex(randaoReveal);
  block.body.graffiti = fromHex(graffiti);
  const payload = block.body.executionPayload;
  if (payload) {
    payload['parentHash'] = sha256('cohort-beacon-mock/payload', slotBytes(slot - 1));
    payload['blockHash'] = sha256('cohort-beacon-mock/payload', slotBytes(slot));
    payload['blockNumber'] = slot;
    payload['timestamp'] = ctx.genesisTime + slot * ctx.secondsPerSlot;
    payload['prevRandao'] = sha256('cohort-beacon-mock/prev-randao', slotBytes(slot));
  }
  if (!blinded) return ssz[fork].BeaconBlock.toJson(block as never) as Record<string, unknown>;
  const f = fork as Exclude<BlockFork, 'phase0' | 'altair'>;
  // A blinded body commits to the payload's header: the same fields, transactions (and withdrawals) by root.
  const { transactions, withdrawals, ...rest } = payload as { transactions: unknown; withdrawals?: unknown };
  const header = {
    ...rest,
    transactionsRoot: ssz.bellatrix.Transactions.hashTreeRoot(transactions as never),
    ...(withdrawals !== undefined && { withdrawalsRoot: ssz.capella.Withdrawals.hashTreeRoot(withdrawals as never) }),
  };
  const { executionPayload: _payload, ...body } = block.body;
  return ssz[f].BlindedBeaconBlock.toJson({ ...block, body: { ...body, executionPayloadHeader: header } } as never) as Record<string, unknown>;
}

/** Registers the proposal routes on the mock's server; returns the accepted blocks (a live list). */
export function registerProposalRoutes(app: FastifyInstance, ctx: ProposalContext): { readonly acceptedBlocks: readonly AcceptedBlock[] } {
  const acceptedBlocks: AcceptedBlock[] = [];
  const acceptedAt = new Map<number, number>();
  const { signing, validatorPubkeys } = ctx;
  const badRequest = (reply: FastifyReply, message: string) => reply.code(400).send(errorBody(400, message));
  const verifies = (pubkey: Hex, root: Hex, signature: string): boolean => {
    try {
      return verify(fromHex(root), PublicKey.fromBytes(fromHex(pubkey)), Signature.fromBytes(fromHex(signature), true));
    } catch {
      return false;
    }
  };

  app.get('/eth/v1/validator/duties/proposer/:epoch', async (request: FastifyRequest<{ Params: { epoch: string } }>, reply) => {
    if (!UINT.test(request.params.epoch)) return badRequest(reply, `Invalid epoch: ${request.params.epoch}`);
    const epoch = Number(request.params.epoch);
    const first = epoch * ctx.slotsPerEpoch;
    const data = Array.from({ length: ctx.slotsPerEpoch }, (_, i) => first + i)
      .filter((slot) => slot > 0 && ctx.proposals)
      .map((slot) => {
        const index = proposerIndexAt(slot, validatorPubkeys.length);
        return { pubkey: validatorPubkeys[index], validator_index: String(index), slot: String(slot) };
      });
    return { dependent_root: blockRootAt(Math.max(0, first - 1)), execution_optimistic: false, data };
  });

  /**
   * `produceBlockV3`, or with `legacy` the removed `produceBlockV2` (beacon-APIs #466) that BNs
   * before it serve: `{version, data}`, full blocks only.
   */
  const produce = (legacy: boolean) =>
    async (request: FastifyRequest<{ Params: { slot: string }; Querystring: Record<string, string | undefined> }>, reply: FastifyReply) => {
      const { slot: slotParam } = request.params;
      if (!UINT.test(slotParam) || Number(slotParam) === 0) return badRequest(reply, `Invalid slot: ${slotParam}`);
      const slot = Number(slotParam);
      const randaoReveal = request.query['randao_reveal'];
      const graffiti = request.query['graffiti'] ?? `0x${'00'.repeat(32)}`;
      if (typeof randaoReveal !== 'string' || !/^0x[0-9a-fA-F]{192}$/.test(randaoReveal)) return badRequest(reply, 'randao_reveal must be a 96-byte hex signature');
      if (!/^0x[0-9a-fA-F]{64}$/.test(graffiti)) return badRequest(reply, 'graffiti must be 32 bytes hex');
      const proposerIndex = proposerIndexAt(slot, validatorPubkeys.length);
      const proposer = validatorPubkeys[proposerIndex] as Hex;
      if (!verifies(proposer, randaoSigningRoot(signing, epochOfSlot(signing, slot)), randaoReveal)) {
        return badRequest(reply, `randao_reveal does not verify under the proposer of slot ${slot} (validator ${proposerIndex})`);
      }
      const fork = blockForkAtSlot(signing, slot);
      const blinded = !legacy && forkHasBlindedBlocks(fork) && (ctx.blindedBlocks?.(slot) ?? false);
      const block = buildBlock(ctx, fork, slot, proposerIndex, randaoReveal.toLowerCase() as Hex, graffiti.toLowerCase() as Hex, blinded);
      const data = !blinded && forkHasBlockContents(fork) ? { block, kzg_proofs: [], blobs: [] } : block;
      const value = String(1_000_000 + slot);
      if (legacy) {
        // as Lodestar 1.5.1 answers it: the payload's value as `block_value`
        void reply.header('eth-consensus-version', fork);
        return { version: fork, block_value: value, data };
      }
      void reply.headers({
        'eth-consensus-version': fork,
        'eth-execution-payload-blinded': String(blinded),
        'eth-execution-payload-value': value,
        'eth-consensus-block-value': '0',
      });
      return { version: fork, execution_payload_blinded: blinded, execution_payload_value: value, consensus_block_value: '0', data };
    };
  // A BN from before produceBlockV3 (Lodestar 1.5.1) answers 404 there, as for any unknown route.
  if (ctx.produceBlockV3 !== false) app.get('/eth/v3/validator/blocks/:slot', produce(false));
  app.get('/eth/v2/validator/blocks/:slot', produce(true));

  const publish = (route: 'v1' | 'v2', blinded: boolean) => async (request: FastifyRequest<{ Body: unknown }>, reply: FastifyReply) => {
    const refuse = (message: string) => {
      ctx.reject(message, request.body);
      return badRequest(reply, message);
    };
    const body = request.body as { signed_block?: { message?: unknown; signature?: unknown }; message?: unknown; signature?: unknown } | null;
    const signed = body && typeof body === 'object' ? (body.signed_block ?? body) : undefined;
    const message = signed?.message as { slot?: unknown } | undefined;
    if (!message || typeof message !== 'object' || typeof signed?.signature !== 'string') return refuse('expected a signed block {message, signature}');
    const slot = Number(message.slot);
    if (!Number.isSafeInteger(slot) || slot <= 0) return refuse(`invalid block slot ${String(message.slot)}`);
    const fork = blockForkAtSlot(signing, slot);
    const version = request.headers['eth-consensus-version'];
    if (route === 'v2' && version !== fork) return refuse(`Eth-Consensus-Version ${String(version)} does not match the block's fork ${fork}`);
    if (blinded && !forkHasBlindedBlocks(fork)) return refuse(`no blinded blocks in ${fork}`);
    if (!blinded && forkHasBlockContents(fork) && body?.signed_block === undefined) return refuse(`a full ${fork} block is published as SignedBlockContents`);
    if (ctx.failSubmissionsAt?.(slot)) {
      ctx.reject('fault injection: submissions failing', body);
      return reply.code(503).send(errorBody(503, 'beacon node unavailable (fault injection)'));
    }
    let root: Hex;
    let parsed: { proposerIndex: number; body: { randaoReveal: Uint8Array } };
    try {
      const type = blinded ? ssz[fork as Exclude<BlockFork, 'phase0' | 'altair'>].BlindedBeaconBlock : ssz[fork].BeaconBlock;
      parsed = (type as { fromJson(json: unknown): unknown }).fromJson(message) as typeof parsed;
      root = blockSigningRoot(signing, fork, blinded, message as { slot: string });
    } catch (error) {
      return refuse(`not a ${blinded ? 'blinded ' : ''}${fork} block: ${String(error)}`);
    }
    const proposerIndex = proposerIndexAt(slot, validatorPubkeys.length);
    if (parsed.proposerIndex !== proposerIndex) return refuse(`block by validator ${parsed.proposerIndex}, the proposer of slot ${slot} is ${proposerIndex}`);
    const pubkey = validatorPubkeys[proposerIndex] as Hex;
    if (!verifies(pubkey, randaoSigningRoot(signing, epochOfSlot(signing, slot)), toHex(parsed.body.randaoReveal))) return refuse('invalid RANDAO reveal');
    if (!verifies(pubkey, root, signed.signature)) return refuse('invalid proposer signature');
    const blockRoot = toHex(
      (blinded ? ssz[fork as Exclude<BlockFork, 'phase0' | 'altair'>].BlindedBeaconBlock : ssz[fork].BeaconBlock).hashTreeRoot(parsed as never),
    );
    const at = acceptedAt.get(slot);
    if (at === undefined) {
      acceptedAt.set(slot, acceptedBlocks.length);
      acceptedBlocks.push({ slot, proposerIndex, pubkey, fork, blinded, blockRoot, receivedAtMs: Date.now(), count: 1, conflictingBlockRoots: [] });
    } else {
      const previous = acceptedBlocks[at] as AcceptedBlock;
      acceptedBlocks[at] = {
        ...previous,
        count: previous.count + 1,
        conflictingBlockRoots: blockRoot === previous.blockRoot ? previous.conflictingBlockRoots : [...previous.conflictingBlockRoots, blockRoot],
      };
    }
    return reply.code(200).send();
  };
  app.post('/eth/v1/beacon/blocks', publish('v1', false));
  app.post('/eth/v1/beacon/blinded_blocks', publish('v1', true));
  // nor the v2 publish routes (Lodestar 1.5.1)
  if (ctx.produceBlockV3 !== false) {
    app.post('/eth/v2/beacon/blocks', publish('v2', false));
    app.post('/eth/v2/beacon/blinded_blocks', publish('v2', true));
  }
  return { acceptedBlocks };
}
