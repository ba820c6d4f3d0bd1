import { SecretKey } from '@chainsafe/blst';
import { describe, expect, it } from 'vitest';
import { toHex } from '#lib/contracts';
import { startBeaconMock } from '../beacon-mock/index.js';
import { startVcMock } from '../vc-mock/index.js';
import { beaconApisDir, loadBeaconApiSpec } from './beacon-api-spec.js';
import { checkExchange, type CheckOptions, type Exchange } from './check-exchange.js';
import { startRecordingProxy } from './recording-proxy.js';
import { stopAfterEach } from '../stop-after-each.js';

const spec = loadBeaconApiSpec(beaconApisDir());
const keygen = (seed: number) => SecretKey.fromKeygen(new Uint8Array(32).fill(seed));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const track = stopAfterEach();

/** Problems of every exchange, each line led by the request it belongs to. */
const problemsOf = (exchanges: readonly Exchange[], side: CheckOptions['side'] = 'both'): string[] =>
  exchanges.flatMap((exchange) =>
    checkExchange(spec, exchange, { side }).map((problem) => `[${exchange.status} ${exchange.method} ${exchange.path}] ${problem}`),
  );

describe('recording proxy', () => {
  it('forwards requests unchanged and records both sides', async () => {
    const beacon = track(await startBeaconMock({ validators: [{ pubkey: toHex(keygen(1).toPublicKey().toBytes()) }] }));
    const proxy = track(await startRecordingProxy(beacon.url));
    const direct = await (await fetch(new URL('/eth/v1/beacon/genesis', beacon.url))).text();
    const body = JSON.stringify(['0']);
    const duties = await fetch(new URL('/eth/v1/validator/duties/attester/0', proxy.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-probe': 'a' },
      body,
    });
    const viaProxy = await fetch(new URL('/eth/v1/beacon/genesis', proxy.url));
    expect(await viaProxy.text()).toBe(direct);
    expect(duties.status).toBe(200);
    const dutiesText = await duties.text();
    expect(proxy.exchanges).toHaveLength(2);
    expect(proxy.exchanges[0]).toMatchObject({
      method: 'POST',
      path: '/eth/v1/validator/duties/attester/0',
      requestBody: body,
      status: 200,
      responseBody: dutiesText,
      requestHeaders: { 'content-type': 'application/json', 'x-probe': 'a' },
      responseHeaders: { 'content-type': expect.stringMatching(/^application\/json/) },
    });
    expect(proxy.exchanges[1]).toMatchObject({ method: 'GET', path: '/eth/v1/beacon/genesis', requestBody: undefined, responseBody: direct });
  });
});

describe('beacon mock and vc mock through the recording proxy', () => {
  it('every exchange of a few slots of attesting conforms to the Beacon API definition', async () => {
    const secretKeys = Array.from({ length: 8 }, (_, i) => keygen(40 + i));
    const validators = secretKeys.map((sk) => ({ pubkey: toHex(sk.toPublicKey().toBytes()) }));
    // Genesis a second ahead so the VC bootstraps before slot 0; 8 validators over 8 slots: a duty per slot.
    const genesisTime = Math.ceil(Date.now() / 1000) + 1;
    const beacon = track(await startBeaconMock({ validators, genesisTime, secondsPerSlot: 1 }));
    const proxy = track(await startRecordingProxy(beacon.url));
    // v2: the v1 pool route is gone from the definition (beacon-APIs CHANGES.md).
    const vc = track(await startVcMock({ beaconUrl: proxy.url, secretKeys: secretKeys.map((sk) => sk.toBytes()), poolApi: 'v2' }));
    await vc.ready;
    await sleep(beacon.slotStartMs(3) + 500 - Date.now());
    await vc.stop();

    expect(vc.stats.errors).toEqual([]);
    expect(beacon.accepted.length).toBeGreaterThanOrEqual(2);
    const routes = new Set(proxy.exchanges.map((e) => spec.findOperation(e.method, e.path)?.operationId ?? `${e.method} ${e.path}`));
    expect([...routes].sort()).toEqual(
      ['getAttesterDuties', 'getGenesis', 'getSpec', 'postStateValidators', 'produceAttestationData', 'submitPoolAttestationsV2'].sort(),
    );
    expect(problemsOf(proxy.exchanges)).toEqual([]);
  });

  it('every other route the beacon mock serves answers per the definition, errors included', async () => {
    const beacon = track(await startBeaconMock({ validators: [{ pubkey: toHex(keygen(2).toPublicKey().toBytes()) }], secondsPerSlot: 1 }));
    const proxy = track(await startRecordingProxy(beacon.url));
    const call = (method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(new URL(path, proxy.url), {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then((response) => response.text());
    // Conformant requests: both sides are checked.
    await call('GET', '/eth/v1/config/fork_schedule');
    await call('GET', '/eth/v1/node/version');
    await call('GET', '/eth/v1/node/health');
    await call('GET', '/eth/v1/node/syncing');
    await call('GET', '/eth/v1/beacon/states/head/fork');
    await call('GET', '/eth/v1/beacon/states/nonsense/fork');
    await call('GET', '/eth/v1/beacon/states/head/validators?id=0&status=active');
    await call('POST', '/eth/v1/validator/duties/attester/99', ['0']);
    await call('GET', '/eth/v1/validator/attestation_data?slot=x&committee_index=0');
    await call('GET', '/eth/v1/validator/duties/proposer/0');
    await call('POST', '/eth/v1/validator/duties/sync/0', ['0']);
    await call('POST', '/eth/v1/validator/beacon_committee_subscriptions', [
      { validator_index: '0', committee_index: '0', committees_at_slot: '1', slot: '1', is_aggregator: false },
    ]);
    await call('POST', '/eth/v1/validator/prepare_beacon_proposer', [{ validator_index: '0', fee_recipient: `0x${'00'.repeat(20)}` }]);
    const conformant = proxy.exchanges.length;
    expect(conformant).toBe(13);
    expect(problemsOf(proxy.exchanges)).toEqual([]);

    // Requests broken on purpose: the checker flags the request, and the mock's refusal must conform.
    await call('POST', '/eth/v1/validator/duties/attester/0', [5]);
    await call('POST', '/eth/v2/beacon/pool/attestations', [{ nonsense: true }], { 'eth-consensus-version': 'altair' });
    const broken = proxy.exchanges.slice(conformant);
    expect(broken.map((e) => e.status)).toEqual([400, 400]);
    for (const exchange of broken) expect(checkExchange(spec, exchange, { side: 'request' })).not.toEqual([]);
    expect(problemsOf(broken, 'response')).toEqual([]);
  });
});
