import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { fromHex, isHex, type Hex } from '#lib/contracts';
import { PublicKey, Signature, verify } from '@chainsafe/blst';
import { ssz } from '@lodestar/types';
import { blockForkAtSlot, forkIsElectraOrLater, signingContextFromSpec, voluntaryExitSigningRoot } from '#lib/signing';
import { registerAggregationRoutes, type AcceptedAggregate } from './aggregation.js';
import { errorBody, indexedErrorBody, UINT } from './api-errors.js';
import { registerBuilderRegistrationRoute, type AcceptedRegistration } from './registrations.js';
import { AttestationVotes, checkPoolAttestations } from './attestation-pool.js';
import { proposerIndexAt, registerProposalRoutes, type AcceptedBlock } from './proposals.js';
import { registerSyncCommitteeRoutes, syncCommitteeAt, type AcceptedSyncMessage } from './sync-committee.js';
import { registerSyncContributionRoutes, type AcceptedContribution } from './sync-contributions.js';
import {
  DEFAULT_GENESIS_VALIDATORS_ROOT,
  FAR_FUTURE_EPOCH,
  attestationDataAt,
  attesterDependentRoot,
  attesterDuties,
  buildSpec,
  committeesAtEpoch,
  epochAtSlot,
  forkAt,
  forkSchedule,
  type AttesterDutyJson,
  type BeaconSpec,
  type ChainParams,
  type EpochCommittees,
  type ScheduledFork,
} from './chain.js';

export interface BeaconMockOptions {
  /** The chain's validators; a validator's index is its position. In a DV these are group pubkeys. */
  readonly validators: readonly { readonly pubkey: Hex }[];
  /** Unix seconds; default: now, rounded down to the second. */
  readonly genesisTime?: number;
  /** Default 2. */
  readonly secondsPerSlot?: number;
  /** Default 8 (minimal preset). */
  readonly slotsPerEpoch?: number;
  readonly genesisValidatorsRoot?: Hex;
  /** Default `{ ALTAIR: 0 }`; forks left out are at FAR_FUTURE_EPOCH. */
  readonly forkEpochs?: Readonly<Partial<Record<ScheduledFork, number>>>;
  /** `produceBlockV3` answers a blinded block for these slots (from Bellatrix); default none. */
  readonly blindedBlocks?: (slot: number) => boolean;
  /**
   * Which duties beyond attestations the chain hands out: with `false`, proposer duties and the
   * sync committee are empty (a chain whose proposers and sync committee are all outside the
   * cluster), for tests about attestations alone. Default true.
   */
  readonly proposals?: boolean;
  readonly syncCommittee?: boolean;
  /** How the sync committee's seats are dealt (sync-committee.ts); default `interleaved`. */
  readonly syncCommitteeLayout?: 'interleaved' | 'runs';
  /** False: the BN predates `produceBlockV3` and the v2 block publish routes (404 there; `produceBlockV2` and v1 publish only), as Lodestar 1.5.1. */
  readonly produceBlockV3?: boolean;
  /** Default 0: a free port. */
  readonly port?: number;
  /**
   * Fault injection: submissions (attestations, blocks, sync messages, aggregates, contributions) for these slots are
   * answered 503 (BN unavailable) and recorded as rejected, as a BN that cannot broadcast would.
   */
  readonly failSubmissionsAt?: (slot: number) => boolean;
}

/** An attestation in the mock's pool, once per (slot, validatorIndex). */
export interface AcceptedAttestation {
  readonly slot: number;
  readonly validatorIndex: number;
  readonly pubkey: Hex;
  readonly committeeIndex: number;
  /** hash_tree_root of the first accepted data. */
  readonly dataRoot: Hex;
  /** When the first one arrived. */
  readonly receivedAtMs: number;
  /** How many valid submissions arrived for (slot, validatorIndex): 1 = exactly once. */
  readonly count: number;
  /** Data roots of later valid submissions that differ from `dataRoot`: a double vote. */
  readonly conflictingDataRoots: readonly Hex[];
}

export interface RejectedSubmission {
  readonly reason: string;
  /** The refused item (or the whole body when it could not be read as a list). */
  readonly body: unknown;
}

export interface BeaconMock {
  readonly url: string;
  readonly genesisTime: number;
  readonly genesisValidatorsRoot: Hex;
  readonly spec: BeaconSpec;
  readonly accepted: readonly AcceptedAttestation[];
  readonly acceptedBlocks: readonly AcceptedBlock[];
  readonly acceptedSyncMessages: readonly AcceptedSyncMessage[];
  /** SignedAggregateAndProofs that passed the gossip checks, once per (slot, aggregator). */
  readonly acceptedAggregates: readonly AcceptedAggregate[];
  /** SignedContributionAndProofs that passed the gossip checks, once per (slot, aggregator, subcommittee). */
  readonly acceptedContributions: readonly AcceptedContribution[];
  /** Voluntary exits taken into the pool (valid signature under the validator's pubkey, epoch not in the future). */
  readonly acceptedExits: readonly { readonly validatorIndex: number; readonly pubkey: Hex; readonly epoch: number; readonly receivedAtMs: number }[];
  /** `prepare_beacon_proposer`: the fee recipient each validator index asked for last. */
  readonly preparedProposers: ReadonlyMap<number, Hex>;
  /** `beacon_committee_subscriptions` received, one entry per item. */
  readonly subscriptions: readonly { readonly validatorIndex: number; readonly slot: number; readonly committeeIndex: number }[];
  /** Builder registrations passed on to the builders (signed under the validator's key), the newest per validator. */
  readonly acceptedRegistrations: readonly AcceptedRegistration[];
  readonly rejected: readonly RejectedSubmission[];
  /** The proposer (validator index) of `slot`. */
  proposerAt(slot: number): number;
  /** Validator index in each seat of the sync committee in force at `epoch` (empty before Altair). */
  syncCommitteeAt(epoch: number): readonly number[];
  /** Attester duties of every validator for `epoch`, as the duties route serves them. */
  dutiesFor(epoch: number): readonly AttesterDutyJson[];
  /** Unix ms at which `slot` starts. */
  slotStartMs(slot: number): number;
  /** Wall-clock slot; negative before genesis. */
  currentSlot(): number;
  stop(): Promise<void>;
}

const STATUS_GROUPS: Readonly<Record<string, string>> = {
  active_ongoing: 'active',
  active_exiting: 'active',
  active_slashed: 'active',
  pending_initialized: 'pending',
  pending_queued: 'pending',
  exited_unslashed: 'exited',
  exited_slashed: 'exited',
  withdrawal_possible: 'withdrawal',
  withdrawal_done: 'withdrawal',
};

/** Routes whose refusals, unreadable bodies included, land in `rejected`. */
const SUBMISSION_ROUTES = ['/beacon/pool/attestations', '/validator/aggregate_and_proofs', '/validator/contribution_and_proofs'];

/** Query values may repeat (`id=1&id=2`) or be comma-separated (`id=1,2`); both are in the spec's examples. */
function queryList(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
}

/** Validator stand-in for `ValidatorResponse` (types/api.yaml): every validator active since genesis. */
function validatorResponse(index: number, pubkey: Hex) {
  return {
    index: String(index),
    balance: '32000000000',
    status: 'active_ongoing',
    validator: {
      pubkey,
      withdrawal_credentials: `0x00${'00'.repeat(31)}`,
      effective_balance: '32000000000',
      slashed: false,
      activation_eligibility_epoch: '0',
      activation_epoch: '0',
      exit_epoch: FAR_FUTURE_EPOCH,
      withdrawable_epoch: FAR_FUTURE_EPOCH,
    },
  };
}

/**
 * A beacon node stand-in serving the routes a VC uses for attestations (validator-flow.md) over
 * a deterministic chain (see chain.ts), and verifying submitted attestations like gossip would.
 */
export async function startBeaconMock(opts: BeaconMockOptions): Promise<BeaconMock> {
  const params: ChainParams = {
    genesisTime: opts.genesisTime ?? Math.floor(Date.now() / 1000),
    genesisValidatorsRoot: opts.genesisValidatorsRoot ?? DEFAULT_GENESIS_VALIDATORS_ROOT,
    secondsPerSlot: opts.secondsPerSlot ?? 2,
    slotsPerEpoch: opts.slotsPerEpoch ?? 8,
    forkEpochs: opts.forkEpochs ?? { ALTAIR: 0 },
    validatorPubkeys: opts.validators.map((v) => v.pubkey.toLowerCase() as Hex),
  };
  const { slotsPerEpoch, validatorPubkeys, genesisValidatorsRoot } = params;
  const spec = buildSpec(params);
  const schedule = forkSchedule(spec);
  const signing = signingContextFromSpec(spec, genesisValidatorsRoot);
  const indexByPubkey = new Map(validatorPubkeys.map((pubkey, index) => [pubkey, index]));
  const isElectra = (slot: number): boolean => forkIsElectraOrLater(blockForkAtSlot(signing, slot));

  const committeeCache = new Map<number, EpochCommittees>();
  const committeesAt = (epoch: number): EpochCommittees => {
    let committees = committeeCache.get(epoch);
    if (!committees) {
      committees = committeesAtEpoch(epoch, validatorPubkeys.length, slotsPerEpoch);
      committeeCache.set(epoch, committees);
    }
    return committees;
  };
  const dutiesFor = (epoch: number) => attesterDuties(committeesAt(epoch), validatorPubkeys);
  const slotStartMs = (slot: number) => (params.genesisTime + slot * params.secondsPerSlot) * 1000;
  const currentSlot = () => Math.floor((Date.now() - params.genesisTime * 1000) / (params.secondsPerSlot * 1000));
  const headSlot = () => Math.max(0, currentSlot());

  const accepted: AcceptedAttestation[] = [];
  const acceptedAt = new Map<string, number>();
  const votes = new AttestationVotes();
  const rejected: RejectedSubmission[] = [];

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });

  // Every error leaves in the Beacon API `ErrorMessage` shape, whatever raised it (bad JSON,
  // unsupported media type, a bug in a handler).
  app.setErrorHandler((error: { statusCode?: number; message?: string }, request, reply) => {
    const code = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (SUBMISSION_ROUTES.some((route) => request.url.includes(route))) rejected.push({ reason: error.message ?? 'error', body: null });
    void reply.code(code).send(errorBody(code, error.message ?? 'internal error'));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(404, `route not found: ${request.method} ${request.url}`));
  });

  const badRequest = (reply: FastifyReply, message: string) => reply.code(400).send(errorBody(400, message));

  /** Resolves a `state_id` to the slot whose fork to report; undefined when it is not one. */
  const stateSlot = (stateId: string): number | undefined => {
    if (['head', 'finalized', 'justified'].includes(stateId)) return headSlot();
    if (stateId === 'genesis') return 0;
    if (UINT.test(stateId)) return Number(stateId);
    if (isHex(stateId, 32)) return headSlot();
    return undefined;
  };

  app.get('/eth/v1/beacon/genesis', async () => ({
    data: {
      genesis_time: String(params.genesisTime),
      genesis_validators_root: genesisValidatorsRoot,
      genesis_fork_version: spec['GENESIS_FORK_VERSION'],
    },
  }));
  app.get('/eth/v1/config/spec', async () => ({ data: spec }));
  app.get('/eth/v1/config/fork_schedule', async () => ({ data: schedule }));
  app.get('/eth/v1/node/version', async () => ({ data: { version: 'cohort-beacon-mock/v0.1.0' } }));
  app.get('/eth/v1/node/health', async (_request, reply) => reply.code(200).send());
  app.get('/eth/v1/node/syncing', async () => ({
    data: { head_slot: String(headSlot()), sync_distance: '0', is_syncing: false, is_optimistic: false, el_offline: false },
  }));

  app.get('/eth/v1/beacon/states/:state_id/fork', async (request: FastifyRequest<{ Params: { state_id: string } }>, reply) => {
    const slot = stateSlot(request.params.state_id);
    if (slot === undefined) return badRequest(reply, `Invalid state ID: ${request.params.state_id}`);
    return { execution_optimistic: false, finalized: false, data: forkAt(schedule, epochAtSlot(slot, slotsPerEpoch)) };
  });

  const validatorsRoute = (stateId: string, ids: readonly string[], statuses: readonly string[], reply: FastifyReply) => {
    if (stateSlot(stateId) === undefined) return badRequest(reply, `Invalid state ID: ${stateId}`);
    const indices = new Set<number>();
    for (const id of ids) {
      if (UINT.test(id)) {
        if (Number(id) < validatorPubkeys.length) indices.add(Number(id));
      } else if (isHex(id.toLowerCase(), 48)) {
        const index = indexByPubkey.get(id.toLowerCase() as Hex);
        if (index !== undefined) indices.add(index);
      } else {
        return badRequest(reply, `Invalid validator ID: ${id}`);
      }
    }
    const selected = ids.length === 0 ? validatorPubkeys.map((_, index) => index) : [...indices].sort((a, b) => a - b);
    const data = selected
      .map((index) => validatorResponse(index, validatorPubkeys[index]!))
      .filter((v) => statuses.length === 0 || statuses.includes(v.status) || statuses.includes(STATUS_GROUPS[v.status]!));
    return reply.send({ execution_optimistic: false, finalized: false, data });
  };
  app.get(
    '/eth/v1/beacon/states/:state_id/validators',
    async (request: FastifyRequest<{ Params: { state_id: string }; Querystring: Record<string, unknown> }>, reply) =>
      validatorsRoute(request.params.state_id, queryList(request.query.id), queryList(request.query.status), reply),
  );
  app.post(
    '/eth/v1/beacon/states/:state_id/validators',
    async (request: FastifyRequest<{ Params: { state_id: string }; Body: unknown }>, reply) => {
      const body = (request.body ?? {}) as { ids?: unknown; statuses?: unknown };
      const list = (value: unknown): string[] | undefined =>
        value === undefined ? [] : Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
      const ids = list(body.ids);
      const statuses = list(body.statuses);
      if (typeof body !== 'object' || !ids || !statuses) return badRequest(reply, 'body must be { ids?: string[], statuses?: string[] }');
      return validatorsRoute(request.params.state_id, ids, statuses, reply);
    },
  );

  app.post(
    '/eth/v1/validator/duties/attester/:epoch',
    async (request: FastifyRequest<{ Params: { epoch: string }; Body: unknown }>, reply) => {
      const { epoch: epochParam } = request.params;
      if (!UINT.test(epochParam)) return badRequest(reply, `Invalid epoch: ${epochParam}`);
      const epoch = Number(epochParam);
      // A BN knows committees up to one epoch ahead (MIN_SEED_LOOKAHEAD, phase0/beacon-chain.md#get_seed).
      const currentEpoch = epochAtSlot(headSlot(), slotsPerEpoch);
      if (epoch > currentEpoch + 1) return badRequest(reply, `Cannot get duties for epoch ${epoch}, current epoch is ${currentEpoch}`);
      const body = request.body;
      if (!Array.isArray(body) || body.length === 0 || !body.every((v) => typeof v === 'string' && UINT.test(v))) {
        return badRequest(reply, 'body must be a non-empty array of validator indices (decimal strings)');
      }
      const wanted = new Set(body.map(Number));
      const unknown = [...wanted].filter((index) => index >= validatorPubkeys.length);
      if (unknown.length > 0) return badRequest(reply, `Unknown validator indices: ${unknown.join(', ')}`);
      return {
        dependent_root: attesterDependentRoot(epoch, slotsPerEpoch),
        execution_optimistic: false,
        data: dutiesFor(epoch).filter((duty) => wanted.has(Number(duty.validator_index))),
      };
    },
  );

  app.get(
    '/eth/v1/validator/attestation_data',
    async (request: FastifyRequest<{ Querystring: { slot?: string; committee_index?: string } }>, reply) => {
      const { slot, committee_index: committeeIndex = '0' } = request.query;
      if (typeof slot !== 'string' || !UINT.test(slot)) return badRequest(reply, `Invalid slot: ${String(slot)}`);
      if (typeof committeeIndex !== 'string' || !UINT.test(committeeIndex)) {
        return badRequest(reply, `Invalid committee_index: ${String(committeeIndex)}`);
      }
      // From Electra the committee is not part of the data (EIP-7549): index 0 for every committee.
      return { data: attestationDataAt(Number(slot), isElectra(Number(slot)) ? 0 : Number(committeeIndex), slotsPerEpoch) };
    },
  );

  const reject = (reason: string, body: unknown) => void rejected.push({ reason, body });
  const proposals = registerProposalRoutes(app, {
    signing,
    slotsPerEpoch,
    genesisTime: params.genesisTime,
    secondsPerSlot: params.secondsPerSlot,
    validatorPubkeys,
    proposals: opts.proposals ?? true,
    ...(opts.produceBlockV3 === false && { produceBlockV3: false }),
    ...(opts.blindedBlocks && { blindedBlocks: opts.blindedBlocks }),
    ...(opts.failSubmissionsAt && { failSubmissionsAt: opts.failSubmissionsAt }),
    reject,
  });
  const syncContext = {
    signing,
    slotsPerEpoch,
    syncCommitteeSize: Number(spec['SYNC_COMMITTEE_SIZE']),
    epochsPerPeriod: Number(spec['EPOCHS_PER_SYNC_COMMITTEE_PERIOD']),
    validatorPubkeys,
    enabled: opts.syncCommittee ?? true,
    ...(opts.syncCommitteeLayout && { layout: opts.syncCommitteeLayout }),
  };
  const sync = registerSyncCommitteeRoutes(app, {
    ...syncContext,
    headSlot,
    ...(opts.failSubmissionsAt && { failSubmissionsAt: opts.failSubmissionsAt }),
    reject,
  });
  const acceptedExits: { validatorIndex: number; pubkey: Hex; epoch: number; receivedAtMs: number }[] = [];
  app.post('/eth/v1/beacon/pool/voluntary_exits', async (request: FastifyRequest<{ Body: unknown }>, reply) => {
    const refuse = (message: string) => {
      reject(message, request.body);
      return badRequest(reply, message);
    };
    let exit;
    try {
      exit = ssz.phase0.SignedVoluntaryExit.fromJson(request.body);
    } catch (error) {
      return refuse(`malformed SignedVoluntaryExit: ${(error as Error).message}`);
    }
    const { epoch, validatorIndex } = exit.message;
    if (epoch > epochAtSlot(headSlot(), slotsPerEpoch)) return refuse(`exit epoch ${epoch} is in the future`);
    const pubkey = validatorPubkeys[validatorIndex];
    if (!pubkey) return refuse(`unknown validator ${validatorIndex}`);
    const root = voluntaryExitSigningRoot(signing, { epoch: String(epoch), validator_index: String(validatorIndex) });
    let valid = false;
    try {
      valid = verify(fromHex(root), PublicKey.fromBytes(fromHex(pubkey)), Signature.fromBytes(exit.signature, true));
    } catch {
      valid = false;
    }
    if (!valid) return refuse(`invalid signature for the exit of validator ${validatorIndex}`);
    if (!acceptedExits.some((e) => e.validatorIndex === validatorIndex)) acceptedExits.push({ validatorIndex, pubkey, epoch, receivedAtMs: Date.now() });
    return reply.code(200).send();
  });
  // Routes a stock VC calls besides its duties: kept, after checking they name validators of this chain.
  const preparedProposers = new Map<number, Hex>();
  const subscriptions: { validatorIndex: number; slot: number; committeeIndex: number }[] = [];
  const indicesOf = (body: unknown, fields: readonly string[]): Record<string, string>[] | string => {
    if (!Array.isArray(body)) return 'body must be an array';
    for (const item of body as Record<string, unknown>[]) {
      if (fields.some((f) => typeof item?.[f] !== 'string')) return `every item needs ${fields.join(', ')}`;
      if (!UINT.test(String(item['validator_index'])) || Number(item['validator_index']) >= validatorPubkeys.length) return `validator ${String(item['validator_index'])} is not a validator of this chain`;
    }
    return body as Record<string, string>[];
  };
  app.post('/eth/v1/validator/beacon_committee_subscriptions', async (request: FastifyRequest<{ Body: unknown }>, reply) => {
    const items = indicesOf(request.body, ['validator_index', 'committee_index', 'committees_at_slot', 'slot']);
    if (typeof items === 'string') {
      reject(items, request.body);
      return badRequest(reply, items);
    }
    for (const s of items) subscriptions.push({ validatorIndex: Number(s['validator_index']), slot: Number(s['slot']), committeeIndex: Number(s['committee_index']) });
    return reply.code(200).send();
  });
  app.post('/eth/v1/validator/prepare_beacon_proposer', async (request: FastifyRequest<{ Body: unknown }>, reply) => {
    const items = indicesOf(request.body, ['validator_index', 'fee_recipient']);
    if (typeof items === 'string') {
      reject(items, request.body);
      return badRequest(reply, items);
    }
    for (const p of items) preparedProposers.set(Number(p['validator_index']), p['fee_recipient'] as Hex);
    return reply.code(200).send();
  });
  // The selection routes exist for DV middleware, which combines partial selection proofs; a
  // beacon node has nothing to combine and answers 501, as the definition allows
  // (apis/validator/beacon_committee_selections.yaml, sync_committee_selections.yaml).
  for (const route of ['beacon_committee_selections', 'sync_committee_selections']) {
    app.post(`/eth/v1/validator/${route}`, async (_request, reply) =>
      reply.code(501).send(errorBody(501, `${route} is served by distributed validator middleware, not by a beacon node`)),
    );
  }

  const registrations = registerBuilderRegistrationRoute(app, { genesisForkVersion: spec['GENESIS_FORK_VERSION'] as Hex, validatorPubkeys, reject, currentSlot });
  const aggregation = registerAggregationRoutes(app, {
    signing,
    slotsPerEpoch,
    validatorPubkeys,
    committeesAt,
    votes,
    ...(opts.failSubmissionsAt && { failSubmissionsAt: opts.failSubmissionsAt }),
    reject,
  });
  const contributions = registerSyncContributionRoutes(app, {
    ...syncContext,
    syncCommitteeAt: (epoch: number) => syncCommitteeAt(syncContext, epoch),
    votesAt: sync.votesAt,
    ...(opts.failSubmissionsAt && { failSubmissionsAt: opts.failSubmissionsAt }),
    reject,
  });

  const submitAttestations = async (request: FastifyRequest<{ Body: unknown }>, reply: FastifyReply, electra = false) => {
    const body = request.body;
    if (!Array.isArray(body)) {
      rejected.push({ reason: 'body is not an array of attestations', body });
      return badRequest(reply, 'body must be an array of phase0 Attestation objects');
    }
    const failing = opts.failSubmissionsAt;
    if (failing && body.some((a: { data?: { slot?: unknown } }) => failing(Number(a?.data?.slot)))) {
      rejected.push({ reason: 'fault injection: submissions failing', body });
      return reply.code(503).send(errorBody(503, 'beacon node unavailable (fault injection)'));
    }
    const receivedAtMs = Date.now();
    const { accepted: valid, failures } = checkPoolAttestations({ signing, slotsPerEpoch, validatorPubkeys, committeesAt, isElectra }, body, electra);
    for (const { signature, ...attestation } of valid) {
      votes.add({ ...attestation, signature });
      const key = `${attestation.slot}/${attestation.validatorIndex}`;
      const at = acceptedAt.get(key);
      if (at === undefined) {
        acceptedAt.set(key, accepted.length);
        accepted.push({ ...attestation, receivedAtMs, count: 1, conflictingDataRoots: [] });
        continue;
      }
      const previous = accepted[at]!;
      accepted[at] = {
        ...previous,
        count: previous.count + 1,
        conflictingDataRoots:
          attestation.dataRoot === previous.dataRoot
            ? previous.conflictingDataRoots
            : [...previous.conflictingDataRoots, attestation.dataRoot],
      };
    }
    for (const failure of failures) rejected.push({ reason: failure.message, body: body[failure.index] });
    if (failures.length > 0) return reply.code(400).send(indexedErrorBody(failures, 'attestation(s)'));
    return reply.code(200).send();
  };
  app.post('/eth/v1/beacon/pool/attestations', (request: FastifyRequest<{ Body: unknown }>, reply) => submitAttestations(request, reply));
  // v2 takes phase0 `Attestation` objects before Electra, `SingleAttestation`s from it (apis/beacon/pool/attestations.v2.yaml).
  app.post('/eth/v2/beacon/pool/attestations', async (request: FastifyRequest<{ Body: unknown }>, reply) => {
    const version = request.headers['eth-consensus-version'];
    if (typeof version !== 'string' || version.length === 0) {
      rejected.push({ reason: 'missing Eth-Consensus-Version header', body: request.body });
      return badRequest(reply, 'Eth-Consensus-Version header is required');
    }
    return submitAttestations(request, reply, version === 'electra' || version === 'fulu');
  });

  const address = await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });

  return {
    url: address,
    genesisTime: params.genesisTime,
    genesisValidatorsRoot,
    spec,
    get accepted() {
      return accepted;
    },
    get rejected() {
      return rejected;
    },
    acceptedBlocks: proposals.acceptedBlocks,
    acceptedSyncMessages: sync.acceptedSyncMessages,
    acceptedAggregates: aggregation.acceptedAggregates,
    acceptedContributions: contributions.acceptedContributions,
    acceptedExits,
    acceptedRegistrations: registrations.acceptedRegistrations,
    preparedProposers,
    subscriptions,
    proposerAt: (slot: number) => proposerIndexAt(slot, validatorPubkeys.length),
    syncCommitteeAt: (epoch: number) => syncCommitteeAt(syncContext, epoch),
    dutiesFor,
    slotStartMs,
    currentSlot,
    stop: async () => {
      await app.close();
    },
  };
}
