import { createHash } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import type { BeaconClient, ChainContext } from '#lib/beacon';
import { verify as blsVerify } from '#lib/bls';
import { shareIndexOf } from '#lib/config';
import { dutyDeadlineMs, dutyId, fromHex, type Duty, type Hex, type PartialSignature, type RejectionReason } from '#lib/contracts';
import { attestationSigningRoot } from '#lib/signing';
import { RUNTIME, catchUpFrom, type ServiceRuntime } from '#lib/service-kit';
import { attributeAttestation, sameAttestationData, type SubmittedAttestation } from '../domain/attestation-submission.js';
import { idToGroup, pubkeySwap, responseToShareView, type PubkeySwap } from '../domain/pubkey-swap.js';
import { DecidedValues } from './decided-values.js';

/** Beacon API error body (`ErrorMessage` / `IndexedErrorMessage` in the OpenAPI definition). */
const apiError = (code: number, message: string, failures?: { index: number; message: string }[]) => ({
  code,
  message,
  ...(failures ? { failures } : {}),
});

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
  private readonly values = new DecidedValues();
  private readonly closers: (() => unknown)[] = [];
  private readonly abort = new AbortController();
  private readonly requests: Counter;
  private readonly shareIndex: number;

  constructor(@Inject(RUNTIME) private readonly rt: ServiceRuntime) {
    this.bn = rt.beacon;
    this.shareIndex = shareIndexOf(rt.config);
    const validators = rt.config.cluster.validators.map((v) => ({
      groupPubkey: v.groupPubkey,
      sharePubkey: v.publicShares[this.shareIndex - 1] as Hex,
    }));
    this.swap = pubkeySwap(validators);
    this.publicShareOf = new Map(validators.map((v) => [v.groupPubkey, v.sharePubkey]));
    this.requests = new Counter({
      name: 'cohort_gateway_requests_total',
      help: 'VC requests served by the gateway, by route and outcome',
      labelNames: ['route', 'outcome'],
      registers: [rt.metrics],
    });
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
      ev.on('DutyScheduled', (e) => this.update(e.duty.slot, (v) => (v.duties = e.data.duties)), from),
      ev.on('DutyDecided', (e) => this.update(e.duty.slot, (v) => (v.decided = { valueHash: e.data.valueHash, value: e.data.value })), from),
      ev.on('ProposalApproved', (e) => this.update(e.duty.slot, (v) => e.pubkeys.forEach((pk) => v.approved.add(pk))), from),
      ev.on('ProposalRefused', (e) => this.update(e.duty.slot, (v) => e.pubkeys.forEach((pk) => v.refused.add(pk))), from),
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

  private update(slot: number, change: (view: ReturnType<DecidedValues['view']>) => unknown): void {
    change(this.values.view(slot));
    this.values.changed(slot);
  }

  private buildServer(): FastifyInstance {
    // forceCloseConnections: a VC's request still waiting for a decided value must not hold the
    // node's shutdown; it is cut and the VC retries against the restarted node.
    const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, forceCloseConnections: true });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    app.get('/eth/v1/validator/attestation_data', (req, reply) => this.attestationData(req, reply));
    app.post('/eth/v1/beacon/pool/attestations', (req, reply) => this.submitAttestations(req, reply));
    app.post('/eth/v1/validator/duties/attester/:epoch', (req, reply) => this.proxy(req, reply, 'attester_duties'));
    app.post('/eth/v1/beacon/states/:state/validators', (req, reply) => this.proxy(req, reply, 'validators', this.idsToGroup(req.body)));
    app.get('/eth/v1/beacon/states/:state/validators', (req, reply) => this.proxy(req, reply, 'validators'));
    app.get('/eth/v1/beacon/states/:state/validators/:id', (req, reply) => this.proxy(req, reply, 'validator'));
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
      const upstream = await this.bn.raw(req.method, `${path}${url.search}`, body ?? (typeof req.body === 'string' && req.body !== '' ? req.body : undefined));
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
      slot,
      (view) => {
        const decided = view.decided?.value.byCommittee[String(committeeIndex)];
        if (!decided || !view.duties) return undefined;
        const members = view.duties.filter((d) => d.committeeIndex === committeeIndex).map((d) => d.pubkey);
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
    const view = this.values.view(slot);
    const members = (view.duties ?? []).filter((d) => d.committeeIndex === committeeIndex).map((d) => d.pubkey);
    await this.rt.events
      .record('DecidedDataServed', duty, members, { committeeIndex, valueHash: view.decided?.valueHash ?? '0x' }, { discriminator: `c${committeeIndex}` })
      .catch((error: unknown) => this.rt.log.warn('could not record DecidedDataServed', { error: String(error) }));
    await reply.send({ data });
  }

  private async submitAttestations(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(String(req.body ?? ''));
    } catch {
      return void reply.code(400).send(apiError(400, 'body is not JSON: expected an array of attestations'));
    }
    if (!Array.isArray(body)) return void reply.code(400).send(apiError(400, 'expected an array of attestations'));
    const chain = this.chain;
    if (!chain) return void reply.code(503).send(apiError(503, 'node is starting'));
    const failures: { index: number; message: string }[] = [];
    const accepted = new Map<number, PartialSignature[]>();
    const refused = new Map<number, Refusal[]>();
    body.forEach((item: unknown, index) => {
      const refusal = this.acceptAttestation(item as SubmittedAttestation, chain, accepted);
      if (!refusal) return;
      failures.push({ index, message: `${refusal.reason}: ${refusal.detail}` });
      if (refusal.slot !== undefined) refused.set(refusal.slot, [...(refused.get(refusal.slot) ?? []), refusal]);
    });
    for (const [slot, partials] of accepted) {
      await this.rt.events.record('PartialSignatureSubmitted', { slot, type: 'attester' }, partials.map((p) => p.pubkey), { partials }, {
        discriminator: partials.map((p) => p.pubkey.slice(2, 10)).join(''),
      });
    }
    // A refused share signature is a fact for `explain`: the VC signed, and this is why it did not count.
    for (const [slot, refusals] of refused) {
      const rejections = refusals.map((r) => ({ pubkey: r.pubkey ?? ('0x' as Hex), reason: r.reason }));
      await this.rt.events
        .record('PartialSignaturesRejected', { slot, type: 'attester' }, [...new Set(refusals.flatMap((r) => (r.pubkey ? [r.pubkey] : [])))], {
          shareIndex: this.shareIndex,
          rejections,
        }, { discriminator: `refused-${createHash('sha256').update(JSON.stringify(rejections)).digest('hex').slice(0, 16)}` })
        .catch((error: unknown) => this.rt.log.warn('could not record PartialSignaturesRejected', { error: String(error) }));
    }
    this.requests.inc({ route: 'pool_attestations', outcome: failures.length > 0 ? '400' : '200' });
    if (failures.length > 0) {
      this.rt.log.warn('VC submitted attestations that were refused', { count: failures.length, first: failures[0]?.message });
      return void reply.code(400).send(apiError(400, 'some attestations were refused', failures));
    }
    await reply.code(200).send();
  }

  /** Returns why the attestation is refused, or undefined and adds its partial signature. */
  private acceptAttestation(item: SubmittedAttestation, chain: ChainContext, out: Map<number, PartialSignature[]>): Refusal | undefined {
    if (typeof item !== 'object' || item === null || typeof item.data !== 'object' || typeof item.signature !== 'string') {
      return { reason: 'malformed', detail: 'expected {aggregation_bits, data, signature}' };
    }
    const slot = Number(item.data.slot);
    const view = this.values.view(slot);
    const attributed = attributeAttestation(item, view.duties ?? []);
    if (!attributed.ok) return { ...(Number.isSafeInteger(slot) && slot >= 0 ? { slot } : {}), reason: attributed.reason, detail: attributed.detail };
    const { duty } = attributed;
    const refuse = (reason: RejectionReason, detail: string): Refusal => ({ slot, pubkey: duty.pubkey, reason, detail });
    const decided = view.decided?.value.byCommittee[String(duty.committeeIndex)];
    if (!decided || !view.approved.has(duty.pubkey)) return refuse('not_approved', `no decided value recorded for ${dutyId({ slot, type: 'attester' })}`);
    if (!sameAttestationData(decided, item.data)) return refuse('data_mismatch', 'the attestation data differs from the decided value');
    const signingRoot = attestationSigningRoot(chain.signing, decided);
    const publicShare = this.publicShareOf.get(duty.pubkey);
    let valid = false;
    try {
      valid = !!publicShare && blsVerify(fromHex(publicShare), fromHex(signingRoot), fromHex(item.signature));
    } catch {
      valid = false;
    }
    if (!valid) return refuse('invalid_signature', "the signature does not verify under this node's public share");
    const partials = out.get(slot) ?? [];
    partials.push({ pubkey: duty.pubkey, shareIndex: this.shareIndex, signingRoot, signature: item.signature.toLowerCase() as Hex });
    out.set(slot, partials);
    return undefined;
  }
}

/** Why a VC's share signature was refused; slot and pubkey when it could be attributed. */
interface Refusal {
  readonly slot?: number;
  readonly pubkey?: Hex;
  readonly reason: RejectionReason;
  readonly detail: string;
}
