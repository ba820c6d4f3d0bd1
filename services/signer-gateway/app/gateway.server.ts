import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import type { BeaconClient, ChainContext } from '#lib/beacon';
import { shareIndexOf } from '#lib/config';
import {
  attesterDutiesOf,
  dutyDeadlineMs,
  epochOf,
  epochStartSlot,
  REJECTION_REASONS,
  slotAt,
  syncSelectionKey,
  dutyId,
  isSyncCommitteeDuty,
  type Duty,
  type Hex,
  type ProposerUnsignedData,
  type RejectionReason,
  type SignedValidatorRegistrationJson,
} from '#lib/contracts';
import {
  attestationSigningRoot,
  blockForkAtSlot,
  blockSigningRoot,
  epochOfSlot,
  forkHasBlockContents,
  forkIsElectraOrLater,
  isBlockFork,
  randaoSigningRoot,
  syncCommitteeMessageSigningRoot,
  voluntaryExitSigningRoot,
} from '#lib/signing';
import { RUNTIME, catchUpFrom, type ServiceRuntime } from '#lib/service-kit';
import {
  attributeAttestation,
  attributeSingleAttestation,
  sameAttestationData,
  type SubmittedAttestation,
  type SubmittedSingleAttestation,
} from '../domain/attestation-submission.js';
import { parseSignedBlock, parseSignedVoluntaryExit, parseSyncCommitteeMessage, produceBlockV3Response } from '../domain/block-submission.js';
import { idToGroup, pubkeySwap, responseToShareView, type PubkeySwap } from '../domain/pubkey-swap.js';
import { AggregationRoutes } from './aggregation-routes.js';
import { DecidedValues } from './decided-values.js';
import { apiError, ShareIntake, type Accepted, type Refusal } from './share-intake.js';

/**
 * Every route the gateway handles itself; any other passes through to the BN with the pubkey
 * swap. The OpenAPI conformance test checks each of these against the Beacon API definition.
 */
export const GATEWAY_ROUTES = [
  'GET /eth/v1/validator/attestation_data',
  'POST /eth/v1/beacon/pool/attestations',
  'POST /eth/v2/beacon/pool/attestations',
  'GET /eth/v3/validator/blocks/:slot',
  'GET /eth/v2/validator/blocks/:slot',
  'POST /eth/v1/beacon/blocks',
  'POST /eth/v2/beacon/blocks',
  'POST /eth/v1/beacon/blinded_blocks',
  'POST /eth/v2/beacon/blinded_blocks',
  'POST /eth/v1/beacon/pool/sync_committees',
  'POST /eth/v1/beacon/pool/voluntary_exits',
  'POST /eth/v1/validator/register_validator',
  'POST /eth/v1/validator/beacon_committee_selections',
  'POST /eth/v1/validator/sync_committee_selections',
  'GET /eth/v1/validator/aggregate_attestation',
  'GET /eth/v2/validator/aggregate_attestation',
  'GET /eth/v1/validator/sync_committee_contribution',
  'POST /eth/v1/validator/aggregate_and_proofs',
  'POST /eth/v2/validator/aggregate_and_proofs',
  'POST /eth/v1/validator/contribution_and_proofs',
  'POST /eth/v1/validator/duties/attester/:epoch',
  'POST /eth/v1/beacon/states/:state/validators',
  'GET /eth/v1/beacon/states/:state/validators',
  'GET /eth/v1/beacon/states/:state/validators/:id',
] as const;
export type GatewayRoute = (typeof GATEWAY_ROUTES)[number];


/**
 * The Beacon API the node's own VC talks to. Duty data is served only from decided and
 * recorded values; share signatures are verified against this node's public share before
 * they are recorded; everything else passes through to the BN with pubkeys swapped.
 */
@Injectable()
export class GatewayServer implements OnApplicationBootstrap, OnModuleDestroy {
  private server?: FastifyInstance;
  private chain?: ChainContext;
  private readonly bn: BeaconClient;
  private readonly swap: PubkeySwap;
  private readonly publicShareOf: ReadonlyMap<Hex, Hex>;
  /** Each validator's builder registration from the cluster lock, by group pubkey. */
  private readonly registrationOf: ReadonlyMap<Hex, SignedValidatorRegistrationJson | undefined>;
  /** Validators whose VC asked for another fee recipient or gas limit than the lock's (warned once). */
  private readonly registrationWarned = new Set<Hex>();
  private readonly values = new DecidedValues();
  private readonly closers: (() => unknown)[] = [];
  private readonly abort = new AbortController();
  private readonly requests: Counter;
  private readonly shareIndex: number;
  private readonly intake: ShareIntake;
  private readonly aggregation: AggregationRoutes;

  constructor(@Inject(RUNTIME) private readonly rt: ServiceRuntime) {
    this.bn = rt.beacon;
    this.shareIndex = shareIndexOf(rt.config);
    const validators = rt.config.cluster.validators.map((v) => ({
      groupPubkey: v.groupPubkey,
      sharePubkey: v.publicShares[this.shareIndex - 1] as Hex,
    }));
    this.swap = pubkeySwap(validators);
    this.publicShareOf = new Map(validators.map((v) => [v.groupPubkey, v.sharePubkey]));
    this.registrationOf = new Map(rt.config.cluster.validators.map((v) => [v.groupPubkey, v.builderRegistration]));
    this.requests = new Counter({
      name: 'cohort_gateway_requests_total',
      help: 'VC requests served by the gateway, by route and outcome',
      labelNames: ['route', 'outcome'],
      registers: [rt.metrics],
    });
    this.intake = new ShareIntake(rt, this.shareIndex, this.publicShareOf, this.requests, () => this.chain);
    this.aggregation = new AggregationRoutes(rt, this.values, this.intake, this.requests, this.abort.signal, () => this.chain);
  }

  /** The port actually bound (the config may ask for 0 = any free port). */
  get port(): number {
    const address = this.server?.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.chain = await this.rt.loadChain(this.abort.signal);
    const ev = this.rt.events;
    // After a restart, the duties in flight are served again from what was decided and recorded.
    const from = catchUpFrom(this.chain);
    const subs = await Promise.all([
      ev.on('DutyScheduled', (e) => this.update(e.duty, (v) => (v.duties = e.data.duties)), from),
      ev.on('DutyDecided', (e) => this.update(e.duty, (v) => (v.decided = { valueHash: e.data.valueHash, value: e.data.value })), from),
      ev.on('ProposalApproved', (e) => this.update(e.duty, (v) => e.pubkeys.forEach((pk) => v.approved.add(pk))), from),
      ev.on('ProposalRefused', (e) => this.update(e.duty, (v) => e.pubkeys.forEach((pk) => v.refused.add(pk))), from),
      // Combined selection proofs, which the DV selection endpoints answer with.
      ev.on(
        'SignaturesAggregated',
        (e) => {
          if (e.duty.type !== 'prepare_aggregator' && e.duty.type !== 'prepare_sync_contribution') return;
          const sync = e.duty.type === 'prepare_sync_contribution';
          this.update(e.duty, (v) => {
            for (const { pubkey, signature, object } of e.data.signatures) {
              v.combined.set(sync ? syncSelectionKey(pubkey, Number(object?.['subcommittee_index'])) : pubkey, signature);
            }
          });
        },
        from,
      ),
    ]);
    for (const sub of subs) this.closers.push(() => sub.close());
    this.server = this.buildServer();
    await this.server.listen({ host: this.rt.config.gateway.host, port: this.rt.config.gateway.port });
    this.rt.log.info('gateway listening', { host: this.rt.config.gateway.host, port: this.port });
  }

  async onModuleDestroy(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.closers.map((close) => close()));
    await this.server?.close();
  }

  private update(duty: Duty, change: (view: ReturnType<DecidedValues['view']>) => unknown): void {
    change(this.values.view(duty));
    this.values.changed(duty);
  }

  private buildServer(): FastifyInstance {
    // forceCloseConnections: a VC's request still waiting for a decided value must not hold the
    // node's shutdown; it is cut and the VC retries against the restarted node.
    const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, forceCloseConnections: true });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    const handlers = {
      'GET /eth/v1/validator/attestation_data': (req, reply) => this.attestationData(req, reply),
      'POST /eth/v1/beacon/pool/attestations': (req, reply) => this.submitAttestations(req, reply, 'v1'),
      'POST /eth/v2/beacon/pool/attestations': (req, reply) => this.submitAttestations(req, reply, 'v2'),
      'GET /eth/v3/validator/blocks/:slot': (req, reply) => this.produceBlock(req, reply, 'v3'),
      'GET /eth/v2/validator/blocks/:slot': (req, reply) => this.produceBlock(req, reply, 'v2'),
      'POST /eth/v1/beacon/blocks': (req, reply) => this.publishBlock(req, reply, 'v1', false),
      'POST /eth/v2/beacon/blocks': (req, reply) => this.publishBlock(req, reply, 'v2', false),
      'POST /eth/v1/beacon/blinded_blocks': (req, reply) => this.publishBlock(req, reply, 'v1', true),
      'POST /eth/v2/beacon/blinded_blocks': (req, reply) => this.publishBlock(req, reply, 'v2', true),
      'POST /eth/v1/beacon/pool/sync_committees': (req, reply) => this.submitSyncMessages(req, reply),
      'POST /eth/v1/beacon/pool/voluntary_exits': (req, reply) => this.submitVoluntaryExit(req, reply),
      'POST /eth/v1/validator/register_validator': (req, reply) => this.registerValidators(req, reply),
      'POST /eth/v1/validator/beacon_committee_selections': (req, reply) => this.aggregation.selections(req, reply, 'aggregator'),
      'POST /eth/v1/validator/sync_committee_selections': (req, reply) => this.aggregation.selections(req, reply, 'sync_contribution'),
      'GET /eth/v1/validator/aggregate_attestation': (req, reply) => this.aggregation.aggregateAttestation(req, reply, 'v1'),
      'GET /eth/v2/validator/aggregate_attestation': (req, reply) => this.aggregation.aggregateAttestation(req, reply, 'v2'),
      'GET /eth/v1/validator/sync_committee_contribution': (req, reply) => this.aggregation.syncCommitteeContribution(req, reply),
      'POST /eth/v1/validator/aggregate_and_proofs': (req, reply) => this.aggregation.aggregateAndProofs(req, reply, 'v1'),
      'POST /eth/v2/validator/aggregate_and_proofs': (req, reply) => this.aggregation.aggregateAndProofs(req, reply, 'v2'),
      'POST /eth/v1/validator/contribution_and_proofs': (req, reply) => this.aggregation.contributionAndProofs(req, reply),
      'POST /eth/v1/validator/duties/attester/:epoch': (req, reply) => this.proxy(req, reply, 'attester_duties'),
      'POST /eth/v1/beacon/states/:state/validators': (req, reply) => this.proxy(req, reply, 'validators', this.idsToGroup(req.body)),
      'GET /eth/v1/beacon/states/:state/validators': (req, reply) => this.proxy(req, reply, 'validators'),
      'GET /eth/v1/beacon/states/:state/validators/:id': (req, reply) => this.proxy(req, reply, 'validator'),
    } satisfies Record<GatewayRoute, (req: FastifyRequest, reply: FastifyReply) => Promise<void>>;
    for (const route of GATEWAY_ROUTES) {
      const [method, url] = route.split(' ') as ['GET' | 'POST', string];
      app.route({ method, url, handler: handlers[route] });
    }
    app.all('/*', (req, reply) => this.proxy(req, reply, 'passthrough'));
    return app;
  }

  private idsToGroup(body: unknown): string | undefined {
    if (typeof body !== 'string' || body === '') return undefined;
    try {
      const parsed = JSON.parse(body) as { ids?: unknown };
      if (Array.isArray(parsed.ids)) parsed.ids = parsed.ids.map((id) => (typeof id === 'string' ? idToGroup(this.swap, id) : id));
      return JSON.stringify(parsed);
    } catch {
      return body; // the BN answers malformed bodies with its own 400
    }
  }

  /** Pass-through with the pubkey swap on the way in (query ids) and out (every `pubkey` field). */
  private async proxy(req: FastifyRequest, reply: FastifyReply, route: string, body?: string): Promise<void> {
    const url = new URL(req.url, 'http://gateway');
    for (const key of ['id']) {
      const ids = url.searchParams.getAll(key);
      if (ids.length > 0) {
        url.searchParams.delete(key);
        for (const id of ids.flatMap((i) => i.split(','))) url.searchParams.append(key, idToGroup(this.swap, id));
      }
    }
    const path = url.pathname.replace(/\/validators\/(0x[0-9a-fA-F]{96})$/, (_m, id: string) => `/validators/${idToGroup(this.swap, id)}`);
    try {
      // Fork-versioned routes (v2+) need the VC's Eth-Consensus-Version on the way in and the BN's on the way out.
      const version = req.headers['eth-consensus-version'];
      const upstream = await this.bn.raw(
        req.method,
        `${path}${url.search}`,
        body ?? (typeof req.body === 'string' && req.body !== '' ? req.body : undefined),
        typeof version === 'string' ? { 'eth-consensus-version': version } : {},
      );
      this.requests.inc({ route, outcome: String(upstream.status) });
      const type = upstream.headers.get('content-type') ?? 'application/json';
      let out = upstream.body;
      if (type.includes('json') && out) {
        try {
          out = JSON.stringify(responseToShareView(this.swap, JSON.parse(out)));
        } catch {
          // not JSON after all: pass it through untouched
        }
      }
      const upstreamVersion = upstream.headers.get('eth-consensus-version');
      if (upstreamVersion) void reply.header('eth-consensus-version', upstreamVersion);
      await reply.code(upstream.status).header('content-type', type).send(out);
    } catch (error) {
      this.requests.inc({ route, outcome: 'bn_unreachable' });
      await reply.code(503).send(apiError(503, `beacon node unavailable: ${String(error)}`));
    }
  }

  private async attestationData(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const query = req.query as Record<string, string | undefined>;
    const slot = Number(query['slot']);
    const committeeIndex = Number(query['committee_index']);
    const chain = this.chain;
    if (!Number.isSafeInteger(slot) || slot < 0 || !Number.isSafeInteger(committeeIndex) || committeeIndex < 0) {
      return void reply.code(400).send(apiError(400, 'slot and committee_index must be non-negative integers'));
    }
    if (!chain) return void reply.code(503).send(apiError(503, 'node is starting'));
    const duty: Duty = { slot, type: 'attester' };
    // Serve only a decided value that the slashing guard has recorded for this committee's validators.
    const data = await this.values.waitFor(
      duty,
      (view) => {
        const decided = view.decided?.value.type === 'attester' ? view.decided.value.byCommittee[String(committeeIndex)] : undefined;
        if (!decided || !view.duties) return undefined;
        const members = attesterDutiesOf(view.duties).filter((d) => d.committeeIndex === committeeIndex).map((d) => d.pubkey);
        return members.length > 0 && members.every((pk) => view.approved.has(pk) || view.refused.has(pk)) &&
          members.some((pk) => view.approved.has(pk))
          ? decided
          : undefined;
      },
      dutyDeadlineMs(chain.timing, duty),
      this.abort.signal,
    );
    if (!data) {
      this.requests.inc({ route: 'attestation_data', outcome: 'not_decided' });
      return void reply.code(503).send(apiError(503, `no decided attestation data for slot ${slot} committee ${committeeIndex} before the deadline`));
    }
    this.requests.inc({ route: 'attestation_data', outcome: '200' });
    const view = this.values.view(duty);
    const members = attesterDutiesOf(view.duties ?? []).filter((d) => d.committeeIndex === committeeIndex).map((d) => d.pubkey);
    await this.rt.events
      .record('DecidedDataServed', duty, members, { committeeIndex, valueHash: view.decided?.valueHash ?? '0x' }, { discriminator: `c${committeeIndex}` })
      .catch((error: unknown) => this.rt.log.warn('could not record DecidedDataServed', { error: String(error) }));
    await reply.send({ data });
  }

  /**
   * The VC's attestations (share signatures). v1 and pre-Electra v2 carry phase0 Attestations
   * (one aggregation bit); from Electra v2 carries SingleAttestations (EIP-7549).
   */
  private async submitAttestations(req: FastifyRequest, reply: FastifyReply, route: 'v1' | 'v2'): Promise<void> {
    const body = this.intake.jsonArray(req, reply, 'attestations');
    const chain = this.chain;
    if (!body || !chain) return;
    const version = req.headers['eth-consensus-version'];
    if (route === 'v2' && typeof version !== 'string') {
      return void reply.code(400).send(apiError(400, 'Eth-Consensus-Version header is required on the v2 route'));
    }
    await this.intake.acceptShares(reply, 'attester', 'pool_attestations', body, (item) => this.acceptAttestation(item, chain, route));
  }

  /** Returns why the attestation is refused, or its partial signature. */
  private acceptAttestation(item: unknown, chain: ChainContext, route: 'v1' | 'v2'): Accepted {
    if (typeof item !== 'object' || item === null || typeof (item as { data?: unknown }).data !== 'object' || typeof (item as { signature?: unknown }).signature !== 'string') {
      return { reason: 'malformed', detail: 'expected {aggregation_bits, data, signature} or {committee_index, attester_index, data, signature}' };
    }
    const slot = Number((item as SubmittedAttestation).data.slot);
    const attesterDuty: Duty = { slot, type: 'attester' };
    const view = this.values.view(attesterDuty);
    const duties = attesterDutiesOf(view.duties ?? []);
    let electra = false;
    try {
      electra = Number.isSafeInteger(slot) && slot >= 0 && forkIsElectraOrLater(blockForkAtSlot(chain.signing, slot));
    } catch {
      electra = false;
    }
    if (electra && route === 'v1') return { slot, reason: 'malformed', detail: 'from Electra attestations are SingleAttestations on the v2 route' };
    const attributed = electra ? attributeSingleAttestation(item as SubmittedSingleAttestation, duties) : attributeAttestation(item as SubmittedAttestation, duties);
    if (!attributed.ok) return { ...(Number.isSafeInteger(slot) && slot >= 0 ? { slot } : {}), reason: attributed.reason, detail: attributed.detail };
    const { duty, attestation } = attributed;
    const refuse = (reason: RejectionReason, detail: string): Refusal => ({ slot, pubkey: duty.pubkey, reason, detail });
    const decided = view.decided?.value.type === 'attester' ? view.decided.value.byCommittee[String(duty.committeeIndex)] : undefined;
    if (!decided || !view.approved.has(duty.pubkey)) return refuse('not_approved', `no decided value recorded for ${dutyId(attesterDuty)}`);
    if (!sameAttestationData(decided, attestation.data)) return refuse('data_mismatch', 'the attestation data differs from the decided value');
    return this.intake.verifiedShare(slot, duty.pubkey, attestationSigningRoot(chain.signing, decided), attestation.signature);
  }

  /**
   * `produceBlockV3`: the VC's RANDAO reveal is its share of the cluster's reveal. It is verified
   * and recorded (the randao duty), then the VC waits for the block the cluster decided, built by
   * this node's BN with the combined reveal, approved by the slashing guard.
   */
  private async produceBlock(req: FastifyRequest, reply: FastifyReply, route: 'v2' | 'v3'): Promise<void> {
    const slot = Number((req.params as { slot?: string }).slot);
    const randaoReveal = (req.query as Record<string, string | undefined>)['randao_reveal'];
    const chain = this.chain;
    if (!Number.isSafeInteger(slot) || slot < 0) return void reply.code(400).send(apiError(400, 'slot must be a non-negative integer'));
    if (typeof randaoReveal !== 'string' || !/^0x[0-9a-fA-F]{192}$/.test(randaoReveal)) {
      return void reply.code(400).send(apiError(400, 'randao_reveal must be a 96-byte hex signature'));
    }
    if (!chain) return void reply.code(503).send(apiError(503, 'node is starting'));
    const randaoDuty: Duty = { slot, type: 'randao' };
    const proposer = this.values.view(randaoDuty).duties?.[0];
    if (!proposer) return void reply.code(400).send(apiError(400, `no proposer duty of this cluster at slot ${slot}`));
    const share = this.intake.verifiedShare(slot, proposer.pubkey, randaoSigningRoot(chain.signing, epochOfSlot(chain.signing, slot)), randaoReveal);
    if ('reason' in share) {
      await this.intake.recordRejections('randao', new Map([[slot, [share]]]));
      this.requests.inc({ route: 'produce_block', outcome: '400' });
      return void reply.code(400).send(apiError(400, `randao_reveal refused: ${share.reason}: ${share.detail}`));
    }
    await this.rt.events.record('PartialSignatureSubmitted', randaoDuty, [proposer.pubkey], { partials: [share.partial] }, { discriminator: 'vc' });
    const duty: Duty = { slot, type: 'proposer' };
    const value = await this.values.waitFor(
      duty,
      (view) => (view.decided?.value.type === 'proposer' && view.approved.has(proposer.pubkey) ? view.decided.value : undefined),
      dutyDeadlineMs(chain.timing, duty),
      this.abort.signal,
    );
    if (!value || !isBlockFork(value.fork)) {
      this.requests.inc({ route: 'produce_block', outcome: 'not_decided' });
      return void reply.code(503).send(apiError(503, `no decided block for slot ${slot} before the deadline`));
    }
    // The removed produceBlockV2 (older VCs, e.g. Lodestar 1.5.1) carries full blocks only.
    if (route === 'v2' && value.blinded) {
      this.requests.inc({ route: 'produce_block', outcome: 'blinded_for_v2' });
      return void reply.code(503).send(apiError(503, `the decided block for slot ${slot} is blinded; produceBlockV2 serves full blocks only (use produceBlockV3)`));
    }
    const { headers, body: v3 } = produceBlockV3Response(value, forkHasBlockContents(value.fork));
    // v2 as VCs of its time read it: Lodestar <= 1.5 parses `block_value` (the execution payload's
    // value, in Wei) with BigInt and fails the proposal without it.
    const body = route === 'v3' ? v3 : { version: value.fork, block_value: value.executionPayloadValue, data: (v3 as { data: unknown }).data };
    await this.rt.events
      .record('DecidedDataServed', duty, [proposer.pubkey], { valueHash: this.values.view(duty).decided?.valueHash ?? '0x' }, { discriminator: 'block' })
      .catch((error: unknown) => this.rt.log.warn('could not record DecidedDataServed', { error: String(error) }));
    this.requests.inc({ route: 'produce_block', outcome: '200' });
    await reply.headers(route === 'v3' ? headers : { 'eth-consensus-version': value.fork }).send(body);
  }

  /** The VC's signed block: a share signature over exactly the decided block, or refused. */
  private async publishBlock(req: FastifyRequest, reply: FastifyReply, route: 'v1' | 'v2', blinded: boolean): Promise<void> {
    const parsed = this.intake.jsonBody(req, reply, 'a signed block');
    if (!parsed) return;
    const { body, chain } = parsed;
    const version = req.headers['eth-consensus-version'];
    if (route === 'v2' && typeof version !== 'string') return void reply.code(400).send(apiError(400, 'Eth-Consensus-Version header is required on the v2 route'));
    await this.intake.acceptShares(reply, 'proposer', 'publish_block', [body], (item) => {
      const parsed = parseSignedBlock(item);
      if (!parsed.ok) return { reason: parsed.reason, detail: parsed.detail };
      const { slot } = parsed;
      const view = this.values.view({ slot, type: 'proposer' });
      const decided: ProposerUnsignedData | undefined = view.decided?.value.type === 'proposer' ? view.decided.value : undefined;
      const pubkey = view.duties?.[0]?.pubkey;
      if (!decided || !pubkey || !view.approved.has(pubkey)) return { slot, reason: 'not_approved', detail: `no decided block recorded for slot ${slot}` };
      const refuse = (reason: RejectionReason, detail: string): Refusal => ({ slot, pubkey, reason, detail });
      if (!isBlockFork(decided.fork)) return refuse('malformed', `fork ${decided.fork} is not supported`);
      if (typeof version === 'string' && version !== decided.fork) return refuse('data_mismatch', `Eth-Consensus-Version ${version}, the decided block is ${decided.fork}`);
      if (blinded !== decided.blinded) return refuse('data_mismatch', `a ${blinded ? 'blinded' : 'full'} block, the decided block is ${decided.blinded ? 'blinded' : 'full'}`);
      let root: Hex;
      try {
        root = blockSigningRoot(chain.signing, decided.fork, decided.blinded, parsed.message as { slot: string });
      } catch (error) {
        return refuse('malformed', `not a ${decided.fork} block: ${String(error)}`);
      }
      const decidedRoot = blockSigningRoot(chain.signing, decided.fork, decided.blinded, decided.block);
      if (root !== decidedRoot) return refuse('data_mismatch', 'the block differs from the decided block');
      return this.intake.verifiedShare(slot, pubkey, root, parsed.signature);
    });
  }

  /**
   * The VC's sync committee messages: each signs the head root its BN (through this gateway's
   * pass-through) gave it; the aggregator combines the shares of the root threshold VCs agree on.
   */
  private async submitSyncMessages(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const body = this.intake.jsonArray(req, reply, 'sync committee messages');
    const chain = this.chain;
    if (!body || !chain) return;
    await this.intake.acceptShares(reply, 'sync_message', 'pool_sync_committees', body, (item) => {
      const parsed = parseSyncCommitteeMessage(item);
      if (!parsed.ok) return { reason: parsed.reason, detail: parsed.detail };
      const { slot } = parsed;
      const duty = (this.values.view({ slot, type: 'sync_message' }).duties ?? []).find((d) => isSyncCommitteeDuty(d) && d.validatorIndex === parsed.validatorIndex);
      if (!duty) return { slot, reason: 'unknown_duty', detail: `no sync committee duty at slot ${slot} for validator ${parsed.validatorIndex}` };
      const root = syncCommitteeMessageSigningRoot(chain.signing, slot, parsed.beaconBlockRoot);
      return this.intake.verifiedShare(slot, duty.pubkey, root, parsed.signature, { beacon_block_root: parsed.beaconBlockRoot });
    });
  }

  /**
   * The VC's builder registrations: each VC signs its own (its share key, its own timestamp),
   * which can neither verify nor be combined. The cluster's registration was signed with the
   * whole key when the cluster was created and sits in the lock: that is what goes to the BN,
   * whenever a VC registers (each epoch, for Lodestar). A VC asking another fee recipient or
   * gas limit is told, once, in the log: the lock's are the cluster's agreement.
   */
  private async registerValidators(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const body = this.intake.jsonArray(req, reply, 'signed validator registrations');
    const chain = this.chain;
    if (!body || !chain) return;
    const slot = epochStartSlot(chain.timing, epochOf(chain.timing, slotAt(chain.timing, Date.now())));
    const duty: Duty = { slot, type: 'builder_registration' };
    const registrations = new Map<Hex, SignedValidatorRegistrationJson>();
    const failures: { index: number; message: string }[] = [];
    const refusals: Refusal[] = [];
    body.forEach((item, index) => {
      const message = (item as { message?: { pubkey?: unknown; fee_recipient?: unknown; gas_limit?: unknown } } | null)?.message;
      const pubkey = (typeof message?.pubkey === 'string' ? idToGroup(this.swap, message.pubkey.toLowerCase()) : '') as Hex;
      const refuse = (reason: RejectionReason, detail: string) => {
        failures.push({ index, message: `${reason}: ${detail}` });
        refusals.push({ slot, ...(this.publicShareOf.has(pubkey) && { pubkey }), reason, detail });
      };
      if (!this.publicShareOf.has(pubkey)) return refuse(typeof message?.pubkey === 'string' ? 'unknown_validator' : 'malformed', `not a registration of a validator of this cluster`);
      const registration = this.registrationOf.get(pubkey);
      if (!registration) return refuse('no_cluster_registration', REJECTION_REASONS.no_cluster_registration);
      const asked = { fee_recipient: String(message?.fee_recipient).toLowerCase(), gas_limit: String(message?.gas_limit) };
      if ((asked.fee_recipient !== registration.message.fee_recipient || asked.gas_limit !== registration.message.gas_limit) && !this.registrationWarned.has(pubkey)) {
        this.registrationWarned.add(pubkey);
        this.rt.log.warn('the VC registers another fee recipient or gas limit than the cluster lock; registering the lock\'s', {
          pubkey,
          vcFeeRecipient: asked.fee_recipient,
          vcGasLimit: asked.gas_limit,
          lockFeeRecipient: registration.message.fee_recipient,
          lockGasLimit: registration.message.gas_limit,
        });
      }
      registrations.set(pubkey, registration);
    });
    await this.intake.recordRejections('builder_registration', new Map(refusals.length > 0 ? [[slot, refusals]] : []));
    if (registrations.size > 0) {
      const pubkeys = [...registrations.keys()];
      const discriminator = pubkeys.map((pk) => pk.slice(2, 10)).join('');
      try {
        await this.bn.registerValidators([...registrations.values()]);
        await this.rt.events.record('Broadcast', duty, pubkeys, { count: pubkeys.length }, { discriminator });
      } catch (error) {
        this.requests.inc({ route: 'register_validator', outcome: 'bn_failed' });
        await this.rt.events.record('BroadcastFailed', duty, pubkeys, { reason: 'bn_broadcast_failed', detail: String(error).slice(0, 500) }, { discriminator });
        return void reply.code(503).send(apiError(503, `the beacon node did not take the registrations: ${String(error)}`));
      }
    }
    this.requests.inc({ route: 'register_validator', outcome: failures.length > 0 ? '400' : '200' });
    if (failures.length > 0) return void reply.code(400).send(apiError(400, 'some registrations were refused', failures));
    await reply.code(200).send();
  }

  /**
   * The VC's voluntary exit (an operator ran its VC's exit command): a share of the cluster's
   * exit of that validator, for the exit duty of its epoch. Every operator must sign the same
   * epoch; the aggregator combines the shares once threshold operators have.
   */
  private async submitVoluntaryExit(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const json = this.intake.jsonBody(req, reply, 'a SignedVoluntaryExit');
    if (!json) return;
    const { chain } = json;
    const parsed = parseSignedVoluntaryExit(json.body);
    if (!parsed.ok) return void reply.code(400).send(apiError(400, parsed.detail));
    const { epoch, validatorIndex } = parsed;
    const currentEpoch = epochOfSlot(chain.signing, slotAt(chain.timing, Date.now()));
    const slot = epochStartSlot(chain.timing, epoch);
    if (epoch > currentEpoch) return void reply.code(400).send(apiError(400, `exit epoch ${epoch} is in the future (current epoch ${currentEpoch}): the BN would refuse it`));
    if (Date.now() >= dutyDeadlineMs(chain.timing, { slot, type: 'exit' })) {
      return void reply.code(400).send(apiError(400, `exit epoch ${epoch} is too far in the past for the operators' shares to meet: every operator signs the exit with the same, recent epoch (e.g. ${currentEpoch})`));
    }
    let pubkey: Hex | undefined;
    try {
      pubkey = (await this.bn.validators([String(validatorIndex)]))[0]?.pubkey;
    } catch (error) {
      return void reply.code(503).send(apiError(503, `beacon node unavailable: ${String(error)}`));
    }
    if (!pubkey || !this.publicShareOf.has(pubkey)) return void reply.code(400).send(apiError(400, `validator ${validatorIndex} is not a validator of this cluster`));
    const object = { epoch: String(epoch), validator_index: String(validatorIndex) };
    await this.intake.acceptShares(reply, 'exit', 'voluntary_exits', [parsed.signature], (signature) =>
      this.intake.verifiedShare(slot, pubkey, voluntaryExitSigningRoot(chain.signing, object), String(signature), object),
    );
  }
}
