import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import type { ChainContext } from '#lib/beacon';
import {
  aggregationDueMs,
  dutyDeadlineMs,
  slotDurationMs,
  FAILURE_REASONS,
  REJECTION_REASONS,
  isAggregatorDuty,
  isSyncCommitteeDuty,
  isSyncContributionDuty,
  syncSelectionKey,
  type Duty,
  type Hex,
  type ValidatorDuty,
} from '#lib/contracts';
import {
  aggregateAndProofSigningRoot,
  attestationDataRoot,
  blockForkAtSlot,
  contributionAndProofSigningRoot,
  decidedSigningItems,
  forkIsElectraOrLater,
  selectionProofSigningRoot,
  syncSelectionSigningRoot,
  syncSubcommitteeOf,
  type BlockFork,
} from '#lib/signing';
import type { ServiceRuntime } from '#lib/service-kit';
import { parseSelection, parseSignedAggregateAndProof, parseSignedContributionAndProof } from '../domain/aggregation-submission.js';
import type { DecidedValues, DutyView } from './decided-values.js';
import { apiError, type Accepted, type Refusal, type ShareIntake } from './share-intake.js';

function forkAt(chain: ChainContext, slot: number): BlockFork | undefined {
  try {
    return blockForkAtSlot(chain.signing, slot);
  } catch {
    return undefined;
  }
}

/** The two aggregations: attestations (by committee) and sync committee contributions (by subcommittee). */
type Aggregation = 'aggregator' | 'sync_contribution';
const PREPARE = { aggregator: 'prepare_aggregator', sync_contribution: 'prepare_sync_contribution' } as const satisfies Record<Aggregation, string>;

/**
 * Aggregation through the cluster, as a distributed-mode VC does it (Lodestar `--distributed`,
 * Teku's DVT mode). At the slot start the VC sends its share of each selection proof to the DV
 * selection endpoints and gets back the cluster's combined proof, the only one that says
 * whether the validator aggregates. At 2/3 of the slot it asks for the aggregate (or
 * contribution) the cluster decided and signs its AggregateAndProof over it, which is a share
 * like any other. A VC without a distributed mode signs over its share proof: refused with
 * `no_selection_proof`, the duty failed as `vc_not_distributed`, nothing reaches the BN.
 */
export class AggregationRoutes {
  /** Per aggregation, the slots this node's VCs sent a verified selection proof share for (the last 64). */
  private readonly selectionsSent: Record<Aggregation, Set<number>> = { aggregator: new Set(), sync_contribution: new Set() };

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly values: DecidedValues,
    private readonly intake: ShareIntake,
    private readonly requests: Counter,
    private readonly abort: AbortSignal,
    private readonly chain: () => ChainContext | undefined,
  ) {}

  /** With `duties.aggregation` off, the VC is told why on every aggregation route. */
  private refusedWhenOff(reply: FastifyReply, route: string): boolean {
    if (this.rt.config.duties.aggregation) return false;
    this.requests.inc({ route, outcome: 'aggregation_off' });
    void reply.code(400).send(apiError(400, "aggregation duties are off in this node's configuration (duties.aggregation = false)"));
    return true;
  }

  /**
   * `POST /eth/v1/validator/beacon_committee_selections` (and `sync_committee_selections`):
   * each share of a selection proof is verified and recorded for the prepare duty; the answer
   * waits for the cluster's combined proofs, up to the duty's deadline.
   */
  async selections(req: FastifyRequest, reply: FastifyReply, aggregation: Aggregation): Promise<void> {
    if (this.refusedWhenOff(reply, 'selections')) return;
    const sync = aggregation === 'sync_contribution';
    const body = this.intake.jsonArray(req, reply, sync ? 'sync committee selections' : 'beacon committee selections');
    const chain = this.chain();
    if (!body || !chain) return;
    const type = PREPARE[aggregation];
    const route = sync ? 'sync_committee_selections' : 'beacon_committee_selections';
    const wanted: { slot: number; validatorIndex: number; subcommitteeIndex: number; key: string }[] = [];
    const failures = await this.intake.recordShares(type, route, body, (item) => {
      const parsed = parseSelection(item, sync);
      if (!parsed.ok) return { reason: 'malformed', detail: parsed.detail };
      const { slot, validatorIndex, subcommitteeIndex, selectionProof } = parsed;
      const duty = (this.values.view({ slot, type }).duties ?? []).find((d) => d.validatorIndex === validatorIndex);
      if (!duty) return { slot, reason: 'unknown_duty', detail: `no ${sync ? 'sync committee' : 'attester'} duty of validator ${validatorIndex} at slot ${slot}` };
      if (sync && !this.subcommitteesOf(chain, duty).includes(subcommitteeIndex)) {
        return { slot, pubkey: duty.pubkey, reason: 'unknown_duty', detail: `validator ${validatorIndex} has no seat in subcommittee ${subcommitteeIndex} at slot ${slot}` };
      }
      const root = sync ? syncSelectionSigningRoot(chain.signing, slot, subcommitteeIndex) : selectionProofSigningRoot(chain.signing, slot);
      const object = sync ? { slot: String(slot), subcommittee_index: String(subcommitteeIndex) } : undefined;
      const share = this.intake.verifiedShare(slot, duty.pubkey, root, selectionProof, object);
      if ('partial' in share) {
        wanted.push({ slot, validatorIndex, subcommitteeIndex, key: sync ? syncSelectionKey(duty.pubkey, subcommitteeIndex) : duty.pubkey });
        this.selectionSent(aggregation, slot);
      }
      return share;
    });
    if (failures.length > 0) return void reply.code(400).send(apiError(400, `some ${route} were refused`, failures));
    const combined = await Promise.all(
      wanted.map(async (w) => {
        const duty: Duty = { slot: w.slot, type };
        const proof = await this.values.waitFor(duty, (view) => view.combined.get(w.key), dutyDeadlineMs(chain.timing, duty), this.abort);
        if (proof === undefined) return [];
        return [{ validator_index: String(w.validatorIndex), slot: String(w.slot), ...(sync && { subcommittee_index: String(w.subcommitteeIndex) }), selection_proof: proof }];
      }),
    );
    const data = combined.flat();
    this.requests.inc({ route: `${route}_combined`, outcome: data.length === wanted.length ? 'all' : data.length > 0 ? 'some' : 'none' });
    if (data.length === 0 && wanted.length > 0) {
      return void reply.code(503).send(apiError(503, 'the cluster did not combine these selection proofs before the deadline (too few operators\' VCs sent theirs)'));
    }
    await reply.send({ data });
  }

  /**
   * `GET /eth/v2/validator/aggregate_attestation` (and the removed v1, pre-Electra): the aggregate
   * the cluster decided for the committee, once the slashing guard's gate approved it.
   */
  async aggregateAttestation(req: FastifyRequest, reply: FastifyReply, route: 'v1' | 'v2'): Promise<void> {
    if (this.refusedWhenOff(reply, 'aggregate_attestation')) return;
    const query = req.query as Record<string, string | undefined>;
    const slot = Number(query['slot']);
    const dataRoot = query['attestation_data_root']?.toLowerCase();
    const committee = query['committee_index'];
    const chain = this.chain();
    if (!Number.isSafeInteger(slot) || slot < 0 || typeof dataRoot !== 'string' || !/^0x[0-9a-f]{64}$/.test(dataRoot) || (route === 'v2' && !/^(0|[1-9][0-9]*)$/.test(committee ?? ''))) {
      return void reply.code(400).send(apiError(400, `slot, attestation_data_root${route === 'v2' ? ' and committee_index' : ''} are required (integers, 32-byte hex root)`));
    }
    if (!chain) return void reply.code(503).send(apiError(503, 'node is starting'));
    const fork = forkAt(chain, slot);
    if (!fork) return void reply.code(400).send(apiError(400, `slot ${slot} is on a fork this build does not support`));
    if (route === 'v1' && forkIsElectraOrLater(fork)) return void reply.code(400).send(apiError(400, `slot ${slot} is ${fork}: aggregates are served on the v2 route`));
    const duty = { slot, type: 'aggregator' } as const;
    if (!(await this.aggregationScheduled(chain, duty))) {
      this.requests.inc({ route: 'aggregate_attestation', outcome: '404' });
      return void reply.code(404).send(apiError(404, `no validator of this cluster aggregates at slot ${slot}: no combined selection proof selected one (a VC without a distributed mode cannot tell)`));
    }
    const found = await this.values.waitFor(
      duty,
      (view) => {
        const value = view.decided?.value;
        const aggregators = (view.duties ?? []).filter(isAggregatorDuty);
        if (value?.type !== 'aggregator') return view.duties && !aggregators.some((d) => route === 'v1' || String(d.committeeIndex) === committee) ? { missing: true as const } : undefined;
        for (const [index, aggregate] of Object.entries(value.byCommittee)) {
          if ((route === 'v2' && index !== committee) || attestationDataRoot(aggregate.data) !== dataRoot) continue;
          const pubkeys = aggregators.filter((d) => String(d.committeeIndex) === index).map((d) => d.pubkey);
          if (pubkeys.some((pk) => view.approved.has(pk))) return { index, aggregate, pubkeys, fork: value.fork };
          // Decided, not yet through the slashing guard's gate (or refused there): wait, up to the deadline.
          return undefined;
        }
        return { missing: true as const };
      },
      dutyDeadlineMs(chain.timing, duty),
      this.abort,
    );
    if (!found || 'missing' in found) {
      this.requests.inc({ route: 'aggregate_attestation', outcome: '404' });
      return void reply.code(404).send(apiError(404, `no aggregate decided by the cluster for slot ${slot}${committee ? ` committee ${committee}` : ''} and that data root`));
    }
    await this.served(duty, found.pubkeys, this.values.view(duty), `c${found.index}`, Number(found.index));
    this.requests.inc({ route: 'aggregate_attestation', outcome: '200' });
    if (route === 'v1') return void reply.send({ data: found.aggregate });
    await reply.header('eth-consensus-version', found.fork).send({ version: found.fork, data: found.aggregate });
  }

  /** `GET /eth/v1/validator/sync_committee_contribution`: the contribution the cluster decided for the subcommittee. */
  async syncCommitteeContribution(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (this.refusedWhenOff(reply, 'sync_committee_contribution')) return;
    const query = req.query as Record<string, string | undefined>;
    const slot = Number(query['slot']);
    const subcommittee = query['subcommittee_index'];
    const chain = this.chain();
    if (!Number.isSafeInteger(slot) || slot < 0 || !/^[0-9]+$/.test(subcommittee ?? '') || !/^0x[0-9a-fA-F]{64}$/.test(query['beacon_block_root'] ?? '')) {
      return void reply.code(400).send(apiError(400, 'slot, subcommittee_index and beacon_block_root are required (integers, 32-byte hex root)'));
    }
    if (!chain) return void reply.code(503).send(apiError(503, 'node is starting'));
    const duty = { slot, type: 'sync_contribution' } as const;
    if (!(await this.aggregationScheduled(chain, duty))) {
      this.requests.inc({ route: 'sync_committee_contribution', outcome: '404' });
      return void reply.code(404).send(apiError(404, `no validator of this cluster aggregates a sync subcommittee at slot ${slot}: no combined selection proof selected one (a VC without a distributed mode cannot tell)`));
    }
    // The decided contribution is served whatever root the VC names: the cluster agreed on the
    // root its members' messages were combined over, and a contribution is not slashable.
    const found = await this.values.waitFor(
      duty,
      (view) => {
        const aggregators = (view.duties ?? []).filter(isSyncContributionDuty).filter((d) => String(d.subcommitteeIndex) === subcommittee);
        const contribution = view.decided?.value.type === 'sync_contribution' ? view.decided.value.bySubcommittee[subcommittee ?? ''] : undefined;
        if (!contribution) return view.decided || (view.duties && aggregators.length === 0) ? { missing: true as const } : undefined;
        const pubkeys = aggregators.map((d) => d.pubkey);
        return pubkeys.some((pk) => view.approved.has(pk)) ? { contribution, pubkeys } : undefined;
      },
      dutyDeadlineMs(chain.timing, duty),
      this.abort,
    );
    if (!found || 'missing' in found) {
      this.requests.inc({ route: 'sync_committee_contribution', outcome: '404' });
      return void reply.code(404).send(apiError(404, `no contribution decided by the cluster for slot ${slot} subcommittee ${subcommittee}`));
    }
    await this.served(duty, found.pubkeys, this.values.view(duty), `s${subcommittee}`);
    this.requests.inc({ route: 'sync_committee_contribution', outcome: '200' });
    await reply.send({ data: found.contribution });
  }

  /** `POST /eth/v2/validator/aggregate_and_proofs` (and the removed v1): each a share of the aggregator's signature over the decided aggregate. */
  async aggregateAndProofs(req: FastifyRequest, reply: FastifyReply, route: 'v1' | 'v2'): Promise<void> {
    if (this.refusedWhenOff(reply, 'aggregate_and_proofs')) return;
    const body = this.intake.jsonArray(req, reply, 'signed aggregate and proofs');
    const chain = this.chain();
    if (!body || !chain) return;
    const version = req.headers['eth-consensus-version'];
    if (route === 'v2' && typeof version !== 'string') return void reply.code(400).send(apiError(400, 'Eth-Consensus-Version header is required on the v2 route'));
    const notDistributed = new Map<number, Hex[]>();
    await this.intake.acceptShares(reply, 'aggregator', 'aggregate_and_proofs', body, (item) => {
      const parsed = parseSignedAggregateAndProof(item);
      if (!parsed.ok) return { reason: 'malformed', detail: parsed.detail };
      const { slot, aggregatorIndex } = parsed;
      const fork = forkAt(chain, slot);
      if (!fork) return { slot, reason: 'malformed', detail: `slot ${slot} is on a fork this build does not support` };
      if (route === 'v1' && forkIsElectraOrLater(fork)) return { slot, reason: 'malformed', detail: `slot ${slot} is ${fork}: aggregates go on the v2 route` };
      if (route === 'v2' && version !== fork) return { slot, reason: 'malformed', detail: `Eth-Consensus-Version ${String(version)}, fork ${fork} is in force at slot ${slot}` };
      const view = this.values.view({ slot, type: 'aggregator' });
      const duty = (view.duties ?? []).filter(isAggregatorDuty).find((d) => d.validatorIndex === aggregatorIndex);
      if (!duty || duty.selectionProof !== parsed.selectionProof) return this.notSelected('aggregator', slot, aggregatorIndex, undefined, parsed.selectionProof, notDistributed);
      const refuse = (reason: Refusal['reason'], detail: string): Refusal => ({ slot, pubkey: duty.pubkey, reason, detail });
      const decided = view.decided && view.approved.has(duty.pubkey) ? decidedSigningItems(chain.signing, [duty], view.decided.value)[0] : undefined;
      if (!decided) return refuse('not_approved', `no decided aggregate for committee ${duty.committeeIndex} at slot ${slot}`);
      let root: Hex;
      try {
        root = aggregateAndProofSigningRoot(chain.signing, fork, parsed.message as { aggregate: { data: { slot: string } } });
      } catch (error) {
        return refuse('malformed', `not a ${fork} AggregateAndProof: ${String(error)}`);
      }
      if (root !== decided.signingRoot) return refuse('data_mismatch', 'the AggregateAndProof differs from the decided aggregate');
      return this.intake.verifiedShare(slot, duty.pubkey, root, parsed.signature);
    });
    await this.failNotDistributed('aggregator', notDistributed);
  }

  /** `POST /eth/v1/validator/contribution_and_proofs`: each a share of the aggregator's signature over the decided contribution. */
  async contributionAndProofs(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (this.refusedWhenOff(reply, 'contribution_and_proofs')) return;
    const body = this.intake.jsonArray(req, reply, 'signed contribution and proofs');
    const chain = this.chain();
    if (!body || !chain) return;
    const notDistributed = new Map<number, Hex[]>();
    await this.intake.acceptShares(reply, 'sync_contribution', 'contribution_and_proofs', body, (item) => {
      const parsed = parseSignedContributionAndProof(item);
      if (!parsed.ok) return { reason: 'malformed', detail: parsed.detail };
      const { slot, aggregatorIndex, subcommitteeIndex } = parsed;
      const view = this.values.view({ slot, type: 'sync_contribution' });
      const duty = (view.duties ?? []).filter(isSyncContributionDuty).find((d) => d.validatorIndex === aggregatorIndex && d.subcommitteeIndex === subcommitteeIndex);
      if (!duty || duty.selectionProof !== parsed.selectionProof) {
        return this.notSelected('sync_contribution', slot, aggregatorIndex, subcommitteeIndex, parsed.selectionProof, notDistributed);
      }
      const refuse = (reason: Refusal['reason'], detail: string): Refusal => ({ slot, pubkey: duty.pubkey, reason, detail });
      const decided = view.decided && view.approved.has(duty.pubkey) ? decidedSigningItems(chain.signing, [duty], view.decided.value)[0] : undefined;
      if (!decided) return refuse('not_approved', `no decided contribution for subcommittee ${subcommitteeIndex} at slot ${slot}`);
      let root: Hex;
      try {
        root = contributionAndProofSigningRoot(chain.signing, parsed.message as { contribution: { slot: string } });
      } catch (error) {
        return refuse('malformed', `not a ContributionAndProof: ${String(error)}`);
      }
      if (root !== decided.signingRoot) return refuse('data_mismatch', 'the ContributionAndProof differs from the decided contribution');
      return this.intake.verifiedShare(slot, duty.pubkey, root, parsed.signature);
    });
    await this.failNotDistributed('sync_contribution', notDistributed);
  }

  /**
   * Whether the slot has an aggregation duty of this type, waiting for it until a slot after
   * the aggregates are due (it is recorded when the aggregators are settled, `aggregatorsSettledMs`): a VC asking for an aggregate nobody of the cluster makes is answered at once, not
   * held to the deadline.
   */
  private selectionSent(aggregation: Aggregation, slot: number): void {
    const slots = this.selectionsSent[aggregation];
    slots.add(slot);
    for (const old of slots) if (old < slot - 64) slots.delete(old);
  }

  private async aggregationScheduled(chain: ChainContext, duty: Duty & { readonly type: Aggregation }): Promise<boolean> {
    // No selection proof from this node's VC for the slot, and nothing scheduled: a VC without a
    // distributed mode, told at once. A stock VC waits for this answer, and Lodestar's skips its
    // next slot's attestations and sync messages while it does.
    if (!this.values.view(duty).duties && !this.selectionsSent[duty.type].has(duty.slot)) return false;
    // A slot of slack after they are due: the duty is recorded at half the slot, but a busy node's event delivery can trail.
    const until = aggregationDueMs(chain.timing, duty.slot) + slotDurationMs(chain.timing);
    return (await this.values.waitFor(duty, (view) => (view.duties ? true : undefined), until, this.abort)) === true;
  }

  /** The subcommittees a sync committee member has a seat in. */
  private subcommitteesOf(chain: ChainContext, duty: ValidatorDuty): number[] {
    const size = Number(chain.spec['SYNC_COMMITTEE_SIZE']);
    return isSyncCommitteeDuty(duty) ? [...new Set(duty.validatorSyncCommitteeIndices.map((seat) => syncSubcommitteeOf(size, seat)))] : [];
  }

  /**
   * A signed aggregate from a validator the cluster did not select: with a selection proof that
   * is not the cluster's combined one, the VC has no distributed mode (`no_selection_proof`,
   * noted for `vc_not_distributed`); with the combined one, it is simply not an aggregator.
   */
  private notSelected(
    aggregation: Aggregation,
    slot: number,
    validatorIndex: number,
    subcommitteeIndex: number | undefined,
    selectionProof: Hex,
    notDistributed: Map<number, Hex[]>,
  ): Accepted {
    const prepare = this.values.view({ slot, type: PREPARE[aggregation] });
    const member = (prepare.duties ?? []).find((d) => d.validatorIndex === validatorIndex);
    if (!member) return { slot, reason: 'unknown_duty', detail: `validator ${validatorIndex} has no ${aggregation === 'aggregator' ? 'attester' : 'sync committee'} duty of this cluster at slot ${slot}` };
    const combined = prepare.combined.get(subcommitteeIndex === undefined ? member.pubkey : syncSelectionKey(member.pubkey, subcommitteeIndex));
    if (combined !== selectionProof) {
      notDistributed.set(slot, [...(notDistributed.get(slot) ?? []), member.pubkey]);
      return { slot, pubkey: member.pubkey, reason: 'no_selection_proof', detail: REJECTION_REASONS.no_selection_proof };
    }
    return { slot, pubkey: member.pubkey, reason: 'unknown_duty', detail: `validator ${validatorIndex} is not selected to aggregate at slot ${slot}: its combined selection proof does not select it` };
  }

  private async failNotDistributed(type: Aggregation, failed: ReadonlyMap<number, readonly Hex[]>): Promise<void> {
    for (const [slot, pubkeys] of failed) {
      await this.rt.events
        .record('DutyFailed', { slot, type }, [...new Set(pubkeys)], { reason: 'vc_not_distributed', detail: FAILURE_REASONS.vc_not_distributed }, {
          discriminator: pubkeys.map((pk) => pk.slice(2, 10)).join(''),
        })
        .catch((error: unknown) => this.rt.log.warn('could not record DutyFailed', { error: String(error) }));
    }
  }

  private async served(duty: Duty, pubkeys: readonly Hex[], view: DutyView, discriminator: string, committeeIndex?: number): Promise<void> {
    await this.rt.events
      .record('DecidedDataServed', duty, pubkeys, { ...(committeeIndex !== undefined && { committeeIndex }), valueHash: view.decided?.valueHash ?? '0x' }, { discriminator })
      .catch((error: unknown) => this.rt.log.warn('could not record DecidedDataServed', { error: String(error) }));
  }
}
