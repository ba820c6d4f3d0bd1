import { BitArray } from '@chainsafe/ssz';
import { ssz } from '@lodestar/types';
import { describe, expect, it } from 'vitest';
import { beaconApisDir, loadBeaconApiSpec } from './beacon-api-spec.js';
import { checkExchange, compileAllSchemas, jsonPath, unvalidatedFormats, type Exchange } from './check-exchange.js';

const spec = loadBeaconApiSpec(beaconApisDir());

const JSON_HEADERS = { 'content-type': 'application/json' };
const ROOT = `0x${'ab'.repeat(32)}`;

/** An exchange with defaults a conformant GET would have; tests override what they exercise. */
const exchange = (over: Partial<Exchange> & Pick<Exchange, 'method' | 'path'>): Exchange => ({
  requestHeaders: {},
  requestBody: undefined,
  status: 200,
  responseHeaders: JSON_HEADERS,
  responseBody: '',
  ...over,
});

// Attestations as Lodestar's SSZ types print them: an independent source of conformant JSON.
const phase0Attestation = ssz.phase0.Attestation.toJson({
  ...ssz.phase0.Attestation.defaultValue(),
  aggregationBits: BitArray.fromSingleBit(4, 2),
});
const electraSingleAttestation = ssz.electra.SingleAttestation.toJson({
  ...ssz.electra.SingleAttestation.defaultValue(),
  committeeIndex: 3,
  attesterIndex: 17,
});
const electraAttestation = ssz.electra.Attestation.toJson({
  ...ssz.electra.Attestation.defaultValue(),
  aggregationBits: BitArray.fromSingleBit(4, 1),
  committeeBits: BitArray.fromSingleBit(64, 3),
});

const submitV2 = (body: unknown, version: string | undefined, status = 200): Exchange =>
  exchange({
    method: 'POST',
    path: '/eth/v2/beacon/pool/attestations',
    requestHeaders: { ...JSON_HEADERS, ...(version === undefined ? {} : { 'eth-consensus-version': version }) },
    requestBody: JSON.stringify(body),
    status,
    responseHeaders: {},
  });

const dutiesResponse = {
  dependent_root: ROOT,
  execution_optimistic: false,
  data: [
    {
      pubkey: `0x${'11'.repeat(48)}`,
      validator_index: '1',
      committee_index: '0',
      committee_length: '4',
      committees_at_slot: '1',
      validator_committee_index: '2',
      slot: '9',
    },
  ],
};
const attesterDuties = (over: Partial<Exchange> = {}): Exchange =>
  exchange({
    method: 'POST',
    path: '/eth/v1/validator/duties/attester/1',
    requestHeaders: JSON_HEADERS,
    requestBody: JSON.stringify(['1']),
    responseBody: JSON.stringify(dutiesResponse),
    ...over,
  });

describe('loadBeaconApiSpec', () => {
  it('loads OpenAPI 3.1 with every $ref resolved, once per process', () => {
    expect(spec.openapi).toMatch(/^3\.1\./);
    expect(loadBeaconApiSpec(beaconApisDir())).toBe(spec);
    const seen = new Set<object>();
    const refs: string[] = [];
    const visit = (node: unknown, at: string): void => {
      if (node === null || typeof node !== 'object' || seen.has(node)) return;
      seen.add(node);
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref') refs.push(`${at}: ${String(value)}`);
        visit(value, `${at}/${key}`);
      }
    };
    for (const operation of spec.operations) visit(operation, operation.operationId);
    expect(refs).toEqual([]);
    // Every route of the root file's `paths` is there, each with its methods.
    expect(new Set(spec.operations.map((o) => o.template)).size).toBeGreaterThan(80);
    expect(new Set(spec.operations.map((o) => o.operationId)).size).toBe(spec.operations.length);
  });

  it('matches concrete paths to their templates', () => {
    const duties = spec.findOperation('post', '/eth/v1/validator/duties/attester/12');
    expect(duties).toMatchObject({ operationId: 'getAttesterDuties', method: 'POST', template: '/eth/v1/validator/duties/attester/{epoch}' });
    expect(spec.pathParams(duties!, '/eth/v1/validator/duties/attester/12')).toEqual({ epoch: '12' });
    expect(spec.findOperation('GET', '/eth/v1/validator/attestation_data?slot=1&committee_index=0')?.operationId).toBe('produceAttestationData');
    expect(spec.findOperation('GET', '/eth/v1/beacon/states/head/validators/0x01')?.template).toBe(
      '/eth/v1/beacon/states/{state_id}/validators/{validator_id}',
    );
    expect(spec.findOperation('GET', '/eth/v1/validator/duties/attester/12')).toBeUndefined();
    expect(spec.findOperation('GET', '/eth/v1/validator/duties/attester/12/extra')).toBeUndefined();
    expect(spec.findOperation('POST', '/eth/v1/beacon/pool/attestations')).toBeUndefined();
  });

  it('compiles every parameter, body and header schema of the definition', () => {
    expect(compileAllSchemas(spec)).toBeGreaterThan(100);
  });

  it('validates only the hex format; other formats would be annotations', () => {
    expect(unvalidatedFormats(spec)).toEqual([]);
  });
});

describe('checkExchange', () => {
  it('accepts a conformant exchange', () => {
    expect(checkExchange(spec, attesterDuties())).toEqual([]);
  });

  it('reports an unknown route', () => {
    const problems = checkExchange(spec, exchange({ method: 'POST', path: '/eth/v1/beacon/pool/attestations', requestBody: '[]' }));
    expect(problems).toEqual(['POST /eth/v1/beacon/pool/attestations: no such route in the Beacon API definition']);
  });

  it('reports missing required query parameters and malformed ones', () => {
    const missing = checkExchange(
      spec,
      exchange({ method: 'GET', path: `/eth/v2/validator/aggregate_attestation?slot=1&attestation_data_root=${ROOT}`, status: 404, responseBody: '{"code":404,"message":"none"}' }),
    );
    expect(missing).toEqual([
      'getAggregatedAttestationV2 (GET /eth/v2/validator/aggregate_attestation): query parameter "committee_index": required but missing',
    ]);
    const malformed = checkExchange(
      spec,
      exchange({ method: 'GET', path: '/eth/v2/validator/aggregate_attestation?slot=1&committee_index=0&attestation_data_root=0x12', status: 400, responseBody: '{"code":400,"message":"bad root"}' }),
    );
    expect(malformed).toHaveLength(1);
    expect(malformed[0]).toContain('query parameter "attestation_data_root" $: must match pattern');
  });

  it('reports a path parameter not matching its schema', () => {
    const problems = checkExchange(
      spec,
      exchange({ method: 'GET', path: '/eth/v1/beacon/light_client/bootstrap/0xnot-a-root', status: 400, responseBody: '{"code":400,"message":"bad"}' }),
    );
    // Root carries both a pattern and `format: hex`; the value breaks both.
    expect(problems).toEqual([
      'getLightClientBootstrap (GET /eth/v1/beacon/light_client/bootstrap/{block_root}): path parameter "block_root" $: must match pattern "^0x[a-fA-F0-9]{64}$"',
      'getLightClientBootstrap (GET /eth/v1/beacon/light_client/bootstrap/{block_root}): path parameter "block_root" $: must match format "hex"',
    ]);
  });

  it('reports a missing required request header parameter', () => {
    expect(checkExchange(spec, submitV2([phase0Attestation], undefined))).toEqual([
      'submitPoolAttestationsV2 (POST /eth/v2/beacon/pool/attestations): header parameter "Eth-Consensus-Version": required but missing',
    ]);
    const badVersion = checkExchange(spec, submitV2([phase0Attestation], 'shanghai'));
    expect(badVersion).toHaveLength(1);
    expect(badVersion[0]).toContain('header parameter "Eth-Consensus-Version" $: must be equal to one of the allowed values');
  });

  it('reports request bodies that do not match, or are missing', () => {
    const numbers = checkExchange(spec, attesterDuties({ requestBody: '[1]' }));
    expect(numbers).toEqual(['getAttesterDuties (POST /eth/v1/validator/duties/attester/{epoch}): request body $[0]: must be string']);
    const empty = checkExchange(spec, attesterDuties({ requestBody: '[]' }));
    expect(empty).toEqual(['getAttesterDuties (POST /eth/v1/validator/duties/attester/{epoch}): request body $: must NOT have fewer than 1 items']);
    expect(checkExchange(spec, attesterDuties({ requestBody: undefined }))).toEqual([
      'getAttesterDuties (POST /eth/v1/validator/duties/attester/{epoch}): request body required but missing',
    ]);
    expect(checkExchange(spec, attesterDuties({ requestBody: '[1' }))[0]).toMatch(/request body: not JSON/);
    expect(checkExchange(spec, attesterDuties({ requestHeaders: { 'content-type': 'text/plain' } }))).toEqual([
      'getAttesterDuties (POST /eth/v1/validator/duties/attester/{epoch}): request body: content type text/plain not declared (declared: application/json)',
    ]);
  });

  it('reports a status the operation does not declare', () => {
    expect(checkExchange(spec, attesterDuties({ status: 418, responseBody: '{"code":418,"message":"teapot"}' }))).toEqual([
      'getAttesterDuties (POST /eth/v1/validator/duties/attester/{epoch}): status 418 not declared (declared: 200, 400, 500, 503)',
    ]);
  });

  it('reports response bodies that do not match the declared schema, naming the JSON path', () => {
    const { dependent_root: _, ...noRoot } = dutiesResponse;
    const badDuty = { ...dutiesResponse, data: [{ ...dutiesResponse.data[0], pubkey: '0x11' }] };
    expect(checkExchange(spec, attesterDuties({ responseBody: JSON.stringify(noRoot) }))).toEqual([
      "getAttesterDuties (POST /eth/v1/validator/duties/attester/{epoch}): response 200 body $: must have required property 'dependent_root'",
    ]);
    expect(checkExchange(spec, attesterDuties({ responseBody: JSON.stringify(badDuty) }))).toEqual([
      'getAttesterDuties (POST /eth/v1/validator/duties/attester/{epoch}): response 200 body $.data[0].pubkey: must match pattern "^0x[a-fA-F0-9]{96}$"',
    ]);
    // An error status has its own schema (ErrorMessage).
    expect(checkExchange(spec, attesterDuties({ status: 400, responseBody: '{"message":"bad"}' }))).toEqual([
      "getAttesterDuties (POST /eth/v1/validator/duties/attester/{epoch}): response 400 body $: must have required property 'code'",
    ]);
    expect(checkExchange(spec, attesterDuties({ responseBody: '' }))[0]).toMatch(/response 200: body empty but the definition declares content/);
  });

  it('reports a required response header that is missing, and a header value off its schema', () => {
    const aggregate = (responseHeaders: Record<string, string>) =>
      exchange({
        method: 'GET',
        path: `/eth/v2/validator/aggregate_attestation?attestation_data_root=${ROOT}&slot=1&committee_index=0`,
        responseHeaders,
        responseBody: JSON.stringify({ version: 'deneb', data: phase0Attestation }),
      });
    expect(checkExchange(spec, aggregate({ ...JSON_HEADERS, 'eth-consensus-version': 'deneb' }))).toEqual([]);
    expect(checkExchange(spec, aggregate(JSON_HEADERS))).toEqual([
      'getAggregatedAttestationV2 (GET /eth/v2/validator/aggregate_attestation): response 200: required header Eth-Consensus-Version missing',
    ]);
    expect(checkExchange(spec, aggregate({ ...JSON_HEADERS, 'Eth-Consensus-Version': 'phase1' }))[0]).toContain(
      'response 200: header Eth-Consensus-Version $: must be equal to one of the allowed values',
    );
  });

  describe('fork-dependent bodies (oneOf / anyOf across forks)', () => {
    it('accepts a phase0 Attestation array and an Electra SingleAttestation array on the v2 pool route', () => {
      expect(checkExchange(spec, submitV2([phase0Attestation, phase0Attestation], 'deneb'))).toEqual([]);
      expect(checkExchange(spec, submitV2([electraSingleAttestation], 'electra'))).toEqual([]);
    });

    it('refuses an attestation array that is neither, and a mix of both', () => {
      const { signature: _, ...unsigned } = phase0Attestation as Record<string, unknown>;
      const invalid = checkExchange(spec, submitV2([phase0Attestation, unsigned], 'deneb'));
      expect(invalid).toContain(
        "submitPoolAttestationsV2 (POST /eth/v2/beacon/pool/attestations): request body $[1]: must have required property 'signature' (via oneOf[1])",
      );
      expect(invalid).toContain('submitPoolAttestationsV2 (POST /eth/v2/beacon/pool/attestations): request body $: must match exactly one schema in oneOf');
      const mixed = checkExchange(spec, submitV2([phase0Attestation, electraSingleAttestation], 'electra'));
      expect(mixed).toContain('submitPoolAttestationsV2 (POST /eth/v2/beacon/pool/attestations): request body $: must match exactly one schema in oneOf');
    });

    it('accepts both forks of an aggregate in the anyOf response, and refuses a broken Electra one', () => {
      const aggregate = (version: string, data: unknown) =>
        exchange({
          method: 'GET',
          path: `/eth/v2/validator/aggregate_attestation?attestation_data_root=${ROOT}&slot=1&committee_index=0`,
          responseHeaders: { ...JSON_HEADERS, 'eth-consensus-version': version },
          responseBody: JSON.stringify({ version, data }),
        });
      expect(checkExchange(spec, aggregate('electra', electraAttestation))).toEqual([]);
      expect(checkExchange(spec, aggregate('phase0', phase0Attestation))).toEqual([]);
      const broken = checkExchange(spec, aggregate('electra', { ...(electraAttestation as object), aggregation_bits: 'ff' }));
      expect(broken).toContain(
        'getAggregatedAttestationV2 (GET /eth/v2/validator/aggregate_attestation): response 200 body $.data: must match a schema in anyOf',
      );
      expect(broken.some((p) => p.includes('$.data.aggregation_bits: must match pattern'))).toBe(true);
    });
  });

  describe('a body in the shape of another fork than it claims', () => {
    it('refuses phase0 Attestations sent as electra, and takes them as deneb', () => {
      expect(checkExchange(spec, submitV2([phase0Attestation], 'electra'))).toEqual([
        'submitPoolAttestationsV2 (POST /eth/v2/beacon/pool/attestations): request body: has the phase0 shape but the version is electra, which takes the electra shape',
      ]);
      expect(checkExchange(spec, submitV2([electraSingleAttestation], 'deneb'))).toEqual([
        'submitPoolAttestationsV2 (POST /eth/v2/beacon/pool/attestations): request body: has the electra shape but the version is deneb, which takes the phase0 shape',
      ]);
      expect(checkExchange(spec, submitV2([electraSingleAttestation], 'fulu'))).toEqual([]);
    });

    it('refuses a phase0 aggregate in a response whose version is electra', () => {
      const problems = checkExchange(
        spec,
        exchange({
          method: 'GET',
          path: `/eth/v2/validator/aggregate_attestation?attestation_data_root=${ROOT}&slot=1&committee_index=0`,
          responseHeaders: { ...JSON_HEADERS, 'eth-consensus-version': 'electra' },
          responseBody: JSON.stringify({ version: 'electra', data: phase0Attestation }),
        }),
      );
      expect(problems).toEqual([
        'getAggregatedAttestationV2 (GET /eth/v2/validator/aggregate_attestation): response 200 body $.data: has the phase0 shape but the version is electra, which takes the electra shape',
      ]);
    });

    // produceBlockV3 answers a full block (BlockContents from Deneb) or a blinded one; Fulu brings
    // no new blinded block, so a Fulu blinded answer is Electra's BlindedBeaconBlock.
    const produced = (version: string, blinded: boolean, data: unknown): Exchange =>
      exchange({
        method: 'GET',
        path: `/eth/v3/validator/blocks/5?randao_reveal=0x${'cd'.repeat(96)}`,
        responseHeaders: {
          ...JSON_HEADERS,
          'eth-consensus-version': version,
          'eth-execution-payload-blinded': String(blinded),
          'eth-execution-payload-value': '1',
          'eth-consensus-block-value': '0',
        },
        responseBody: JSON.stringify({ version, execution_payload_blinded: blinded, execution_payload_value: '1', consensus_block_value: '0', data }),
      });
    it('takes a blinded block as the blinded branch of its fork, Fulu as Electra\'s, and refuses an older fork\'s block', () => {
      const blinded = (fork: 'bellatrix' | 'electra') =>
        fork === 'bellatrix'
          ? ssz.bellatrix.BlindedBeaconBlock.toJson(ssz.bellatrix.BlindedBeaconBlock.defaultValue())
          : ssz.electra.BlindedBeaconBlock.toJson(ssz.electra.BlindedBeaconBlock.defaultValue());
      const contents = { block: ssz.fulu.BeaconBlock.toJson(ssz.fulu.BeaconBlock.defaultValue()), kzg_proofs: [], blobs: [] };
      expect(checkExchange(spec, produced('bellatrix', true, blinded('bellatrix')))).toEqual([]);
      expect(checkExchange(spec, produced('fulu', true, blinded('electra')))).toEqual([]);
      expect(checkExchange(spec, produced('fulu', false, contents))).toEqual([]);
      expect(checkExchange(spec, produced('electra', true, blinded('bellatrix')))).not.toEqual([]);
    });
  });

  it('spells JSON paths the usual way', () => {
    expect(jsonPath('')).toBe('$');
    expect(jsonPath('/data/0/aggregation_bits')).toBe('$.data[0].aggregation_bits');
    expect(jsonPath('/data/a~1b/with-dash')).toBe('$.data["a/b"]["with-dash"]');
  });
});
