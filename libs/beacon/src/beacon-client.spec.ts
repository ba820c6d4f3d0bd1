import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BeaconApiError, BeaconClient } from './beacon-client.js';
import { loadChainContext } from './chain-context.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
}
type Route = (seen: Seen) => { status: number; body: unknown } | 'hang';

const FAR_FUTURE_EPOCH = '18446744073709551615';
const GVR = `0x${'4B'.repeat(32)}`;
const PUBKEY = `0x${'A1'.repeat(48)}`;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A tiny BN on 127.0.0.1:0: routes keyed by `METHOD /path` (query left out); every request is recorded. */
async function fakeBeaconNode(routes: Record<string, Route>): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', body, headers: req.headers };
      seen.push(request);
      const route = routes[`${request.method} ${request.url.split('?')[0]}`];
      const answer = route ? route(request) : { status: 404, body: { code: 404, message: 'no such route' } };
      if (answer === 'hang') return;
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const genesisBody = {
  data: { genesis_time: '1606824023', genesis_validators_root: GVR, genesis_fork_version: '0x0000000A' },
};
const specBody = {
  data: {
    SECONDS_PER_SLOT: '12',
    SLOTS_PER_EPOCH: '32',
    GENESIS_FORK_VERSION: '0x00000000',
    ALTAIR_FORK_EPOCH: '0',
    ALTAIR_FORK_VERSION: '0x01000000',
    BELLATRIX_FORK_EPOCH: FAR_FUTURE_EPOCH,
    BELLATRIX_FORK_VERSION: '0x02000000',
    CAPELLA_FORK_EPOCH: FAR_FUTURE_EPOCH,
    CAPELLA_FORK_VERSION: '0x03000000',
    DENEB_FORK_EPOCH: FAR_FUTURE_EPOCH,
    DENEB_FORK_VERSION: '0x04000000',
    ELECTRA_FORK_EPOCH: FAR_FUTURE_EPOCH,
    ELECTRA_FORK_VERSION: '0x05000000',
  },
};

async function expectBeaconError(call: Promise<unknown>): Promise<BeaconApiError> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(BeaconApiError);
    return error as BeaconApiError;
  }
  throw new Error('expected a BeaconApiError');
}

describe('BeaconClient', () => {
  it('parses genesis, lower-casing its hex', async () => {
    const bn = await fakeBeaconNode({ 'GET /eth/v1/beacon/genesis': () => ({ status: 200, body: genesisBody }) });
    expect(await new BeaconClient(bn.url).genesis()).toEqual({
      genesisTime: 1606824023,
      genesisValidatorsRoot: GVR.toLowerCase(),
      genesisForkVersion: '0x0000000a',
    });
  });

  it('returns the spec data as given', async () => {
    const bn = await fakeBeaconNode({ 'GET /eth/v1/config/spec': () => ({ status: 200, body: specBody }) });
    expect(await new BeaconClient(bn.url).spec()).toEqual(specBody.data);
  });

  it('POSTs validator ids and parses indices and pubkeys', async () => {
    const bn = await fakeBeaconNode({
      'POST /eth/v1/beacon/states/head/validators': () => ({
        status: 200,
        body: { data: [{ index: '42', balance: '32000000000', status: 'active_ongoing', validator: { pubkey: PUBKEY } }] },
      }),
    });
    const validators = await new BeaconClient(bn.url).validators([PUBKEY]);
    expect(validators).toEqual([{ index: 42, pubkey: PUBKEY.toLowerCase(), status: 'active_ongoing' }]);
    expect(bn.seen[0]?.method).toBe('POST');
    expect(JSON.parse(bn.seen[0]?.body ?? '')).toEqual({ ids: [PUBKEY] });
  });

  it('parses attester duties: string numbers become numbers, pubkeys lower-cased', async () => {
    const dependentRoot = `0x${'0D'.repeat(32)}`;
    const bn = await fakeBeaconNode({
      'POST /eth/v1/validator/duties/attester/7': () => ({
        status: 200,
        body: {
          dependent_root: dependentRoot,
          execution_optimistic: false,
          data: [
            {
              pubkey: PUBKEY,
              validator_index: '42',
              committee_index: '3',
              committee_length: '128',
              committees_at_slot: '4',
              validator_committee_index: '17',
              slot: '230',
            },
          ],
        },
      }),
    });
    const result = await new BeaconClient(bn.url).attesterDuties(7, [42, 43]);
    expect(result).toEqual({
      dependentRoot: dependentRoot.toLowerCase(),
      duties: [
        {
          pubkey: PUBKEY.toLowerCase(),
          validatorIndex: 42,
          committeeIndex: 3,
          committeeLength: 128,
          committeesAtSlot: 4,
          validatorCommitteeIndex: 17,
          slot: 230,
        },
      ],
    });
    // the Beacon API takes the indices as a JSON array of decimal strings
    expect(JSON.parse(bn.seen[0]?.body ?? '')).toEqual(['42', '43']);
  });

  it('GETs attestation_data with slot and committee_index in the query', async () => {
    const data = {
      slot: '230',
      index: '3',
      beacon_block_root: `0x${'01'.repeat(32)}`,
      source: { epoch: '6', root: `0x${'02'.repeat(32)}` },
      target: { epoch: '7', root: `0x${'03'.repeat(32)}` },
    };
    const bn = await fakeBeaconNode({ 'GET /eth/v1/validator/attestation_data': () => ({ status: 200, body: { data } }) });
    expect(await new BeaconClient(bn.url).attestationData(230, 3)).toEqual(data);
    const query = new URL(bn.seen[0]?.url ?? '', bn.url).searchParams;
    expect([query.get('slot'), query.get('committee_index')]).toEqual(['230', '3']);
  });

  it('asks a BN without the POST form of the validators route (404, Lodestar 1.5.1) the GET form, from then on', async () => {
    const answer = { status: 200, body: { data: [{ index: '7', status: 'active_ongoing', validator: { pubkey: PUBKEY } }] } };
    const old = await fakeBeaconNode({ 'GET /eth/v1/beacon/states/head/validators': () => answer });
    const client = new BeaconClient(old.url);
    expect(await client.validators([PUBKEY, '3'])).toEqual([{ index: 7, pubkey: PUBKEY.toLowerCase(), status: 'active_ongoing' }]);
    await client.validators(['3']);
    expect(old.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /eth/v1/beacon/states/head/validators',
      `GET /eth/v1/beacon/states/head/validators?id=${PUBKEY}&id=3`,
      'GET /eth/v1/beacon/states/head/validators?id=3',
    ]);
  });

  it('asks aggregate_attestation v2, and a BN without it (its own route 404) v1; a 404 for a missing aggregate is an error, not a downgrade', async () => {
    const aggregate = { aggregation_bits: '0x03', data: { slot: '9' }, signature: `0x${'cd'.repeat(96)}` };
    const noAggregate = await fakeBeaconNode({ 'GET /eth/v2/validator/aggregate_attestation': () => ({ status: 404, body: { code: 404, message: 'No aggregated attestation found' } }) });
    await expectBeaconError(new BeaconClient(noAggregate.url).aggregateAttestation(9, `0x${'11'.repeat(32)}`, 0));
    const old = await fakeBeaconNode({
      'GET /eth/v2/validator/aggregate_attestation': () => ({ status: 404, body: { message: 'Route GET:/eth/v2/validator/aggregate_attestation not found', statusCode: 404 } }),
      'GET /eth/v1/validator/aggregate_attestation': () => ({ status: 200, body: { data: aggregate } }),
    });
    const client = new BeaconClient(old.url);
    expect(await client.aggregateAttestation(9, `0x${'11'.repeat(32)}`, 0)).toEqual({ fork: undefined, aggregate });
    await client.aggregateAttestation(9, `0x${'11'.repeat(32)}`, 0);
    expect(old.seen.map((r) => r.url.split('?')[0])).toEqual(['/eth/v2/validator/aggregate_attestation', '/eth/v1/validator/aggregate_attestation', '/eth/v1/validator/aggregate_attestation']);
  });

  it('asks produceBlockV3, and a BN without it (404) the legacy produceBlockV2 from then on', async () => {
    const block = { slot: '9', proposer_index: '2' };
    const reveal = `0x${'ab'.repeat(96)}`;
    const modern = await fakeBeaconNode({
      'GET /eth/v3/validator/blocks/9': () => ({
        status: 200,
        body: { version: 'deneb', execution_payload_blinded: true, execution_payload_value: '7', consensus_block_value: '3', data: block },
      }),
    });
    expect(await new BeaconClient(modern.url).produceBlock(9, reveal as `0x${string}`)).toEqual({
      fork: 'deneb',
      blinded: true,
      executionPayloadValue: '7',
      consensusBlockValue: '3',
      data: block,
    });
    expect(modern.seen[0]?.url).toBe(`/eth/v3/validator/blocks/9?randao_reveal=${reveal}`);
    const old = await fakeBeaconNode({ 'GET /eth/v2/validator/blocks/9': () => ({ status: 200, body: { version: 'altair', data: block } }) });
    const client = new BeaconClient(old.url);
    const produced = { fork: 'altair', blinded: false, executionPayloadValue: '0', consensusBlockValue: '0', data: block };
    expect(await client.produceBlock(9, reveal as `0x${string}`)).toEqual(produced);
    expect(await client.produceBlock(9, reveal as `0x${string}`)).toEqual(produced);
    expect(old.seen.map((r) => r.url.split('?')[0])).toEqual(['/eth/v3/validator/blocks/9', '/eth/v2/validator/blocks/9', '/eth/v2/validator/blocks/9']);
  });

  it('publishes blocks on the v2 routes with the fork header, and on a BN without them (its own 404) on v1 from then on', async () => {
    const signed = { message: { slot: '9' }, signature: `0x${'cd'.repeat(96)}` };
    const modern = await fakeBeaconNode({ 'POST /eth/v2/beacon/blocks': () => ({ status: 200, body: {} }) });
    await new BeaconClient(modern.url).publishBlock('altair', false, signed);
    expect(modern.seen.map((r) => [r.url, r.headers['eth-consensus-version']])).toEqual([['/eth/v2/beacon/blocks', 'altair']]);
    const old = await fakeBeaconNode({
      'POST /eth/v2/beacon/blocks': () => ({ status: 404, body: { message: 'Route POST:/eth/v2/beacon/blocks not found', error: 'Not Found', statusCode: 404 } }),
      'POST /eth/v1/beacon/blocks': () => ({ status: 200, body: {} }),
    });
    const client = new BeaconClient(old.url);
    await client.publishBlock('altair', false, signed);
    await client.publishBlock('altair', false, signed);
    expect(old.seen.map((r) => r.url)).toEqual(['/eth/v2/beacon/blocks', '/eth/v1/beacon/blocks', '/eth/v1/beacon/blocks']);
    // a refusal of the block itself is the BN's answer, not a missing route
    const refusing = await fakeBeaconNode({ 'POST /eth/v2/beacon/blocks': () => ({ status: 400, body: { message: 'invalid block' } }) });
    await expect(new BeaconClient(refusing.url).publishBlock('altair', false, signed)).rejects.toMatchObject({ status: 400 });
    expect(refusing.seen).toHaveLength(1);
  });

  it('takes the payload value of a legacy produceBlockV2 answer from its block_value (Lodestar <= 1.5), 0 when absent or not a decimal', async () => {
    const block = { slot: '9', proposer_index: '2' };
    const reveal = `0x${'ab'.repeat(96)}` as `0x${string}`;
    for (const [blockValue, expected] of [['123456789012345678901', '123456789012345678901'], ['-1', '0'], [12, '0']] as const) {
      const bn = await fakeBeaconNode({ 'GET /eth/v2/validator/blocks/9': () => ({ status: 200, body: { version: 'bellatrix', block_value: blockValue, data: block } }) });
      expect((await new BeaconClient(bn.url).produceBlock(9, reveal)).executionPayloadValue).toBe(expected);
    }
  });

  it('turns an error status into a BeaconApiError with status and body', async () => {
    const bn = await fakeBeaconNode({
      'GET /eth/v1/validator/attestation_data': () => ({ status: 503, body: { code: 503, message: 'node is syncing' } }),
    });
    const error = await expectBeaconError(new BeaconClient(bn.url).attestationData(1, 0));
    expect(error.status).toBe(503);
    expect(error.route).toBe('GET /eth/v1/validator/attestation_data');
    expect(JSON.parse(error.body)).toEqual({ code: 503, message: 'node is syncing' });
    expect(error.message).toContain('node is syncing');
  });

  it('tells a submission the BN already has (every failed item ALREADY_KNOWN) from one it refused', async () => {
    const answers = [
      { status: 400, body: { code: 400, message: 'error processing attestations', failures: [{ index: 0, message: 'ATTESTATION_ERROR_ATTESTATION_ALREADY_KNOWN' }, { index: 1, message: 'already known' }] } },
      { status: 500, body: { code: 500, message: 'ATTESTATION_ERROR_ATTESTATION_ALREADY_KNOWN' } },
      { status: 400, body: { code: 400, message: 'error processing attestations', failures: [{ index: 0, message: 'ATTESTATION_ERROR_ATTESTATION_ALREADY_KNOWN' }, { index: 1, message: 'INVALID_SIGNATURE' }] } },
      { status: 400, body: { code: 400, message: 'INVALID_SIGNATURE' } },
      { status: 503, body: 'Service Unavailable (not JSON)' },
      // Lodestar 1.5.1 publishing the identical signed block another operator published first
      { status: 500, body: { statusCode: 500, error: 'Internal Server Error', message: 'PublishError.Duplicate' } },
      { status: 500, body: { statusCode: 500, error: 'Internal Server Error', message: 'PublishError.InsufficientPeers' } },
    ];
    let next = 0;
    const bn = await fakeBeaconNode({ 'POST /eth/v1/beacon/pool/attestations': () => answers[next++] as { status: number; body: unknown } });
    const client = new BeaconClient(bn.url);
    const verdicts = [];
    for (const _ of answers) verdicts.push((await expectBeaconError(client.submitAttestations([]))).alreadyKnown);
    expect(verdicts).toEqual([true, true, false, false, false, true, false]);
  });

  it('gives up on a BN that never answers after timeoutMs, with status timeout', async () => {
    const bn = await fakeBeaconNode({ 'GET /eth/v1/beacon/genesis': () => 'hang' });
    const started = performance.now();
    const error = await expectBeaconError(new BeaconClient(bn.url, 200).genesis());
    const elapsedMs = performance.now() - started;
    expect(error.status).toBe('timeout');
    expect(elapsedMs).toBeGreaterThanOrEqual(190);
    expect(elapsedMs).toBeLessThan(1500);
  });

  it('reports a closed port as unreachable', async () => {
    const bn = await fakeBeaconNode({});
    const server = servers.pop() as Server;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await expectBeaconError(new BeaconClient(bn.url, 1000).spec());
    expect(error.status).toBe('unreachable');
    expect(error.route).toBe('GET /eth/v1/config/spec');
  });
});

describe('loadChainContext', () => {
  it('retries until the BN answers, then builds timing and signing context', async () => {
    let genesisCalls = 0;
    const bn = await fakeBeaconNode({
      'GET /eth/v1/beacon/genesis': () =>
        ++genesisCalls <= 2 ? { status: 503, body: { code: 503, message: 'starting' } } : { status: 200, body: genesisBody },
      'GET /eth/v1/config/spec': () => ({ status: 200, body: specBody }),
    });
    const retries: unknown[] = [];
    const context = await loadChainContext(new BeaconClient(bn.url, 500), { retryMs: 20, onRetry: (e) => retries.push(e) });

    expect(genesisCalls).toBe(3);
    expect(retries).toHaveLength(2);
    expect(retries.every((e) => e instanceof BeaconApiError && e.status === 503)).toBe(true);
    expect(context.genesisValidatorsRoot).toBe(GVR.toLowerCase());
    expect(context.timing).toEqual({ genesisTimeMs: 1606824023_000, secondsPerSlot: 12, slotsPerEpoch: 32 });
    expect(context.signing.genesisValidatorsRoot).toBe(GVR.toLowerCase());
    expect(context.signing.genesisForkVersion).toBe('0x00000000');
    // forks at FAR_FUTURE_EPOCH are left out of the schedule
    expect(context.signing.forks).toEqual([
      { name: 'PHASE0', epoch: 0, version: '0x00000000' },
      { name: 'ALTAIR', epoch: 0, version: '0x01000000' },
    ]);
    expect(context.spec).toEqual(specBody.data);
  });

  it('stops retrying once the signal aborts', async () => {
    const bn = await fakeBeaconNode({ 'GET /eth/v1/beacon/genesis': () => ({ status: 503, body: 'down' }) });
    const controller = new AbortController();
    let attempts = 0;
    const error = await expectBeaconError(
      loadChainContext(new BeaconClient(bn.url, 500), {
        retryMs: 10,
        signal: controller.signal,
        onRetry: () => {
          if (++attempts === 2) controller.abort();
        },
      }),
    );
    expect(error.status).toBe(503);
    expect(attempts).toBe(2);
  });
});
