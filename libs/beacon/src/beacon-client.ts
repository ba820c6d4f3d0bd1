import type { AggregateAttestationJson, AttestationDataJson, AttesterDuty, Hex, ProposerDuty, SyncCommitteeContributionJson } from '#lib/contracts';

/** The BN answered with an error status, or not at all in time. */
export class BeaconApiError extends Error {
  constructor(
    readonly route: string,
    readonly status: number | 'timeout' | 'unreachable',
    readonly body: string,
  ) {
    super(`beacon node ${route}: ${status} ${body.slice(0, 300)}`);
    this.name = 'BeaconApiError';
  }

  /**
   * The BN refused a submission only because it already has it (Lodestar:
   * `…_ALREADY_KNOWN`, and Lodestar 1.5.1's `PublishError.Duplicate` for a block: gossip saw
   * the identical message; every operator submits the same combined signature and one comes
   * first). An indexed error counts only if every failed item says so: one item refused for
   * another reason makes the whole answer a failure.
   */
  get alreadyKnown(): boolean {
    if (typeof this.status !== 'number') return false;
    const known = (text: unknown) => typeof text === 'string' && /already[_ ]known|PublishError\.Duplicate/i.test(text);
    let parsed: { message?: unknown; failures?: unknown } | undefined;
    try {
      parsed = JSON.parse(this.body) as typeof parsed;
    } catch {
      return known(this.body);
    }
    if (Array.isArray(parsed?.failures) && parsed.failures.length > 0) {
      return parsed.failures.every((failure: { message?: unknown } | null) => known(failure?.message));
    }
    return known(parsed?.message);
  }
}

export interface Genesis {
  readonly genesisTime: number;
  readonly genesisValidatorsRoot: Hex;
  readonly genesisForkVersion: Hex;
}

export interface ValidatorSummary {
  readonly index: number;
  readonly pubkey: Hex;
  readonly status: string;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/**
 * The Beacon API calls a Cohort node makes to its own BN (routes from
 * shared/vectors/beacon-apis). Every call is bounded by a timeout: a slow BN must not hold a
 * duty past its deadline.
 */
export class BeaconClient {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 4000,
  ) {}

  /** A raw call, for the signer-gateway's pass-through. */
  async raw(method: string, pathAndQuery: string, body?: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    try {
      const response = await fetch(`${this.baseUrl}${pathAndQuery}`, {
        method,
        headers: { accept: 'application/json', ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { status: response.status, headers: response.headers, body: await response.text() };
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new BeaconApiError(`${method} ${pathAndQuery.split('?')[0]}`, timedOut ? 'timeout' : 'unreachable', String(error));
    }
  }

  private async json<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const response = await this.raw(method, path, body === undefined ? undefined : JSON.stringify(body), headers);
    if (response.status < 200 || response.status >= 300) {
      throw new BeaconApiError(`${method} ${path.split('?')[0]}`, response.status, response.body);
    }
    return (response.body ? JSON.parse(response.body) : {}) as T;
  }

  async genesis(): Promise<Genesis> {
    const { data } = await this.json<{ data: { genesis_time: string; genesis_validators_root: Hex; genesis_fork_version: Hex } }>(
      'GET',
      '/eth/v1/beacon/genesis',
    );
    return {
      genesisTime: Number(data.genesis_time),
      genesisValidatorsRoot: data.genesis_validators_root.toLowerCase() as Hex,
      genesisForkVersion: data.genesis_fork_version.toLowerCase() as Hex,
    };
  }

  async spec(): Promise<Record<string, unknown>> {
    return (await this.json<{ data: Record<string, unknown> }>('GET', '/eth/v1/config/spec')).data;
  }

  /**
   * Validators by pubkey or index (`postStateValidators`); a BN without the POST form (404, e.g.
   * Lodestar 1.5.1) is asked the GET form with `id` parameters instead, and remembered as such.
   */
  async validators(ids: readonly string[]): Promise<ValidatorSummary[]> {
    type Answer = { data: { index: string; status: string; validator: { pubkey: Hex } }[] };
    let answer: Answer | undefined;
    if (!this.validatorsByGet) {
      const response = await this.raw('POST', '/eth/v1/beacon/states/head/validators', JSON.stringify({ ids }));
      if (response.status === 404 || response.status === 405) this.validatorsByGet = true;
      else if (response.status !== 200) throw new BeaconApiError('POST /eth/v1/beacon/states/head/validators', response.status, response.body);
      else answer = JSON.parse(response.body) as Answer;
    }
    answer ??= await this.json<Answer>('GET', `/eth/v1/beacon/states/head/validators?${ids.map((id) => `id=${encodeURIComponent(id)}`).join('&')}`);
    return answer.data.map((v) => ({ index: Number(v.index), pubkey: v.validator.pubkey.toLowerCase() as Hex, status: v.status }));
  }

  private validatorsByGet = false;

  async attesterDuties(epoch: number, indices: readonly number[]): Promise<{ dependentRoot: Hex; duties: AttesterDuty[] }> {
    const body = await this.json<{
      dependent_root: Hex;
      data: {
        pubkey: Hex;
        validator_index: string;
        committee_index: string;
        committee_length: string;
        committees_at_slot: string;
        validator_committee_index: string;
        slot: string;
      }[];
    }>('POST', `/eth/v1/validator/duties/attester/${epoch}`, indices.map(String));
    return {
      dependentRoot: body.dependent_root.toLowerCase() as Hex,
      duties: body.data.map((d) => ({
        pubkey: d.pubkey.toLowerCase() as Hex,
        validatorIndex: Number(d.validator_index),
        committeeIndex: Number(d.committee_index),
        committeeLength: Number(d.committee_length),
        committeesAtSlot: Number(d.committees_at_slot),
        validatorCommitteeIndex: Number(d.validator_committee_index),
        slot: Number(d.slot),
      })),
    };
  }

  async attestationData(slot: number, committeeIndex: number): Promise<AttestationDataJson> {
    return (
      await this.json<{ data: AttestationDataJson }>('GET', `/eth/v1/validator/attestation_data?slot=${slot}&committee_index=${committeeIndex}`)
    ).data;
  }

  /**
   * Submits attestations: phase0 `Attestation`s on the v1 route, or with `fork` on the v2 route
   * with `Eth-Consensus-Version` — required from Electra, where they are `SingleAttestation`s
   * (apis/beacon/pool/attestations.v2.yaml).
   */
  async submitAttestations(attestations: readonly unknown[], fork?: string): Promise<void> {
    if (fork === undefined) await this.json('POST', '/eth/v1/beacon/pool/attestations', attestations);
    else await this.json('POST', '/eth/v2/beacon/pool/attestations', attestations, { 'eth-consensus-version': fork });
  }

  async proposerDuties(epoch: number): Promise<{ dependentRoot: Hex; duties: ProposerDuty[] }> {
    const body = await this.json<{ dependent_root: Hex; data: { pubkey: Hex; validator_index: string; slot: string }[] }>(
      'GET',
      `/eth/v1/validator/duties/proposer/${epoch}`,
    );
    return {
      dependentRoot: body.dependent_root.toLowerCase() as Hex,
      duties: body.data.map((d) => ({ pubkey: d.pubkey.toLowerCase() as Hex, validatorIndex: Number(d.validator_index), slot: Number(d.slot) })),
    };
  }

  /** Sync committee duties of an epoch (Altair+): each validator's seats in the current committee. */
  async syncDuties(epoch: number, indices: readonly number[]): Promise<{ pubkey: Hex; validatorIndex: number; validatorSyncCommitteeIndices: number[] }[]> {
    const { data } = await this.json<{ data: { pubkey: Hex; validator_index: string; validator_sync_committee_indices: string[] }[] }>(
      'POST',
      `/eth/v1/validator/duties/sync/${epoch}`,
      indices.map(String),
    );
    return data.map((d) => ({
      pubkey: d.pubkey.toLowerCase() as Hex,
      validatorIndex: Number(d.validator_index),
      validatorSyncCommitteeIndices: d.validator_sync_committee_indices.map(Number),
    }));
  }

  /**
   * `produceBlockV3` (apis/validator/block.v3.yaml) with the cluster's combined RANDAO reveal.
   * A BN from before it (404 there, e.g. Lodestar 1.5.1) is asked the removed `produceBlockV2`
   * instead, which answers `{version, data}` with a full block; the BN is remembered as such.
   */
  async produceBlock(slot: number, randaoReveal: Hex, graffiti?: Hex): Promise<ProducedBlock> {
    const query = new URLSearchParams({ randao_reveal: randaoReveal, ...(graffiti !== undefined && { graffiti }) });
    if (this.legacyBlockProduction) return this.produceBlockV2(slot, query);
    const response = await this.raw('GET', `/eth/v3/validator/blocks/${slot}?${query.toString()}`);
    if (response.status === 404 || response.status === 405) {
      this.legacyBlockProduction = true;
      return this.produceBlockV2(slot, query);
    }
    if (response.status !== 200) throw new BeaconApiError(`GET /eth/v3/validator/blocks/${slot}`, response.status, response.body);
    const body = JSON.parse(response.body) as {
      version: string;
      execution_payload_blinded: boolean;
      execution_payload_value: string;
      consensus_block_value: string;
      data: Record<string, unknown>;
    };
    return {
      fork: body.version,
      blinded: body.execution_payload_blinded,
      executionPayloadValue: body.execution_payload_value,
      consensusBlockValue: body.consensus_block_value,
      data: body.data,
    };
  }

  private legacyBlockProduction = false;

  private async produceBlockV2(slot: number, query: URLSearchParams): Promise<ProducedBlock> {
    // `block_value`: what BNs of that time (Lodestar <= 1.5) said the payload is worth, in Wei
    const body = await this.json<{ version: string; block_value?: unknown; data: Record<string, unknown> }>('GET', `/eth/v2/validator/blocks/${slot}?${query.toString()}`);
    const executionPayloadValue = typeof body.block_value === 'string' && /^[0-9]+$/.test(body.block_value) ? body.block_value : '0';
    return { fork: body.version, blinded: false, executionPayloadValue, consensusBlockValue: '0', data: body.data };
  }

  /** Publishes a signed block (v2 routes, `Eth-Consensus-Version`): full, as SignedBlockContents from Deneb, or blinded. */
  async publishBlock(fork: string, blinded: boolean, signed: unknown): Promise<void> {
    const kind = blinded ? 'blinded_blocks' : 'blocks';
    if (!this.legacyBlockPublishing) {
      const response = await this.raw('POST', `/eth/v2/beacon/${kind}`, JSON.stringify(signed), { 'eth-consensus-version': fork });
      if (response.status >= 200 && response.status < 300) return;
      // A BN from before the v2 publish routes (Lodestar 1.5.1) has no such route: only then the v1 one.
      if (response.status !== 405 && !(response.status === 404 && /\broute\b/i.test(response.body))) {
        throw new BeaconApiError(`POST /eth/v2/beacon/${kind}`, response.status, response.body);
      }
      this.legacyBlockPublishing = true;
    }
    await this.json('POST', `/eth/v1/beacon/${kind}`, signed);
  }

  private legacyBlockPublishing = false;

  /** A SignedVoluntaryExit (apis/beacon/pool/voluntary_exits.yaml). */
  async submitVoluntaryExit(signed: unknown): Promise<void> {
    await this.json('POST', '/eth/v1/beacon/pool/voluntary_exits', signed);
  }

  async submitSyncCommitteeMessages(messages: readonly unknown[]): Promise<void> {
    await this.json('POST', '/eth/v1/beacon/pool/sync_committees', messages);
  }

  /**
   * The BN's aggregate of the attestations over `attestationDataRoot` in committee `committeeIndex`
   * (`getAggregatedAttestationV2`, apis/validator/aggregate_attestation.v2.yaml). A BN from before
   * it (404, e.g. Lodestar 1.5.1) is asked the removed v1 route, which pre-Electra forks only need.
   */
  async aggregateAttestation(slot: number, attestationDataRoot: Hex, committeeIndex: number): Promise<{ fork: string | undefined; aggregate: AggregateAttestationJson }> {
    const query = `slot=${slot}&attestation_data_root=${attestationDataRoot}`;
    if (!this.legacyAggregation) {
      const response = await this.raw('GET', `/eth/v2/validator/aggregate_attestation?${query}&committee_index=${committeeIndex}`);
      if (response.status === 200) {
        const body = JSON.parse(response.body) as { version?: string; data: AggregateAttestationJson };
        return { fork: body.version ?? response.headers.get('eth-consensus-version') ?? undefined, aggregate: body.data };
      }
      // 404 also means "no such aggregate": only a missing route (the server's own 404) means an older BN.
      if (response.status !== 404 || !/\broute\b/i.test(response.body)) {
        throw new BeaconApiError('GET /eth/v2/validator/aggregate_attestation', response.status, response.body);
      }
      this.legacyAggregation = true;
    }
    const { data } = await this.json<{ data: AggregateAttestationJson }>('GET', `/eth/v1/validator/aggregate_attestation?${query}`);
    return { fork: undefined, aggregate: data };
  }

  private legacyAggregation = false;

  /** SignedAggregateAndProofs: v2 with `Eth-Consensus-Version`, or v1 on a BN without v2 (pre-Electra only). */
  async submitAggregateAndProofs(signed: readonly unknown[], fork: string): Promise<void> {
    if (this.legacyAggregation) await this.json('POST', '/eth/v1/validator/aggregate_and_proofs', signed);
    else await this.json('POST', '/eth/v2/validator/aggregate_and_proofs', signed, { 'eth-consensus-version': fork });
  }

  /** The BN's SyncCommitteeContribution of a subcommittee over a block root (apis/validator/sync_committee_contribution.yaml). */
  async syncCommitteeContribution(slot: number, subcommitteeIndex: number, beaconBlockRoot: Hex): Promise<SyncCommitteeContributionJson> {
    const query = `slot=${slot}&subcommittee_index=${subcommitteeIndex}&beacon_block_root=${beaconBlockRoot}`;
    return (await this.json<{ data: SyncCommitteeContributionJson }>('GET', `/eth/v1/validator/sync_committee_contribution?${query}`)).data;
  }

  /** SignedValidatorRegistrationV1s, which the BN passes on to its builders (apis/validator/register_validator.yaml). */
  async registerValidators(registrations: readonly unknown[]): Promise<void> {
    await this.json('POST', '/eth/v1/validator/register_validator', registrations);
  }

  async submitContributionAndProofs(signed: readonly unknown[]): Promise<void> {
    await this.json('POST', '/eth/v1/validator/contribution_and_proofs', signed);
  }
}

/** A `produceBlockV3` answer: `data` is a (Blinded)BeaconBlock, or BlockContents for a full block from Deneb. */
export interface ProducedBlock {
  readonly fork: string;
  readonly blinded: boolean;
  readonly executionPayloadValue: string;
  readonly consensusBlockValue: string;
  readonly data: Record<string, unknown>;
}
