import type { AttestationDataJson, AttesterDuty, Hex } from '#lib/contracts';

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

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.raw(method, path, body === undefined ? undefined : JSON.stringify(body));
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

  async validators(ids: readonly string[]): Promise<ValidatorSummary[]> {
    const { data } = await this.json<{ data: { index: string; status: string; validator: { pubkey: Hex } }[] }>(
      'POST',
      '/eth/v1/beacon/states/head/validators',
      { ids },
    );
    return data.map((v) => ({ index: Number(v.index), pubkey: v.validator.pubkey.toLowerCase() as Hex, status: v.status }));
  }

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

  async submitAttestations(attestations: readonly unknown[]): Promise<void> {
    await this.json('POST', '/eth/v1/beacon/pool/attestations', attestations);
  }
}
