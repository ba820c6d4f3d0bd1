import { createServer, type AddressInfo } from 'node:net';
import { PublicKey, SecretKey, Signature, verify } from '@chainsafe/blst';
import { ssz } from '@lodestar/types';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import {
  aggregateAndProofSigningRoot,
  blockForkAtSlot,
  selectionProofSigningRoot,
  signingContextFromSpec,
  syncSelectionSigningRoot,
  type ChainSigningContext,
} from '#lib/signing';
import { startBeaconMock, type BeaconMock } from '../beacon-mock/beacon-mock.js';
import type { ScheduledFork } from '../beacon-mock/chain.js';
import { beaconApisDir, loadBeaconApiSpec } from '../openapi/beacon-api-spec.js';
import { checkExchange } from '../openapi/check-exchange.js';
import { startRecordingProxy } from '../openapi/recording-proxy.js';
import { checkAttestation } from './attestation-protection.js';
import { startVcMock, type VcMock } from './vc-mock.js';
import { stopAfterEach } from '../stop-after-each.js';

const keygen = (seed: number) => SecretKey.fromKeygen(new Uint8Array(32).fill(seed));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (condition: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(20);
};

const track = stopAfterEach();

describe('vc mock against the beacon mock', () => {
  it('attests once per validator in an epoch, each at its duty slot, all accepted', async () => {
    const secretKeys = [1, 2, 3, 4].map(keygen);
    const pubkeys = secretKeys.map((sk) => toHex(sk.toPublicKey().toBytes()));
    // Genesis a second ahead, so the VC is up before slot 0 and sees the whole of epoch 0.
    const genesisTime = Math.ceil(Date.now() / 1000) + 1;
    const beacon: BeaconMock = track(
      await startBeaconMock({ validators: pubkeys.map((pubkey) => ({ pubkey })), genesisTime, secondsPerSlot: 1 }),
    );
    const lines: string[] = [];
    const vc: VcMock = track(
      await startVcMock({ beaconUrl: beacon.url, secretKeys: secretKeys.map((sk) => sk.toBytes()), name: 'vc-0', onLog: (l) => lines.push(l) }),
    );
    await vc.ready;
    expect(vc.pubkeys).toEqual(pubkeys);

    // All of epoch 0 (8 slots of 1 s), plus the time to submit the last slot's attestation.
    await sleep(beacon.slotStartMs(8) + 300 - Date.now());

    const epoch0 = beacon.accepted.filter((a) => a.slot < 8);
    expect(epoch0.map((a) => a.validatorIndex).sort()).toEqual([0, 1, 2, 3]);
    for (const attestation of epoch0) {
      expect(attestation.count).toBe(1);
      expect(attestation.conflictingDataRoots).toEqual([]);
      expect(attestation.pubkey).toBe(pubkeys[attestation.validatorIndex]);
      const duty = beacon.dutiesFor(0).find((d) => Number(d.validator_index) === attestation.validatorIndex)!;
      expect(attestation.slot).toBe(Number(duty.slot));
      // Sent at 1/3 of the slot (validator-flow.md), within the slot.
      expect(attestation.receivedAtMs).toBeGreaterThanOrEqual(beacon.slotStartMs(attestation.slot) + 1000 / 3 - 5);
      expect(attestation.receivedAtMs).toBeLessThan(beacon.slotStartMs(attestation.slot + 1));
    }
    expect(beacon.rejected).toEqual([]);
    expect(vc.stats.errors).toEqual([]);
    expect(vc.stats.submitErrors).toEqual([]);
    expect(vc.stats.attestationsSubmitted).toBeGreaterThanOrEqual(4);
    // Four duties per epoch fetched: epoch 0 and the look-ahead epoch 1, then epoch 2 once slot 8 began.
    expect(vc.stats.dutiesFetched).toBeGreaterThanOrEqual(8);
    expect(vc.stats.dutiesFetched % 4).toBe(0);
    expect(lines.some((l) => l.startsWith('[vc-0] '))).toBe(true);
  });

  it('submits through the v2 pool route with the Eth-Consensus-Version header', async () => {
    const secretKeys = Array.from({ length: 8 }, (_, i) => keygen(20 + i));
    const validators = secretKeys.map((sk) => ({ pubkey: toHex(sk.toPublicKey().toBytes()) }));
    // One validator per slot: an attestation is due within about a second of any start time.
    const beacon = track(await startBeaconMock({ validators, secondsPerSlot: 1 }));
    const vc = track(await startVcMock({ beaconUrl: beacon.url, secretKeys: secretKeys.map((sk) => sk.toBytes()), poolApi: 'v2' }));
    await vc.ready;
    await until(() => beacon.accepted.length > 0 || beacon.rejected.length > 0, 3000);
    expect(beacon.rejected).toEqual([]);
    expect(beacon.accepted.length).toBeGreaterThan(0);
    expect(vc.stats.errors).toEqual([]);
  });

  it('records a duty carrying a pubkey it does not hold (a DV gateway that failed to swap pubkeys)', async () => {
    const own = keygen(7);
    const ownPubkey = toHex(own.toPublicKey().toBytes());
    const foreignPubkey = toHex(keygen(8).toPublicKey().toBytes());
    const beacon = track(await startBeaconMock({ validators: [{ pubkey: ownPubkey }], secondsPerSlot: 1 }));
    // A gateway stand-in that forwards to the beacon mock but leaves a foreign pubkey in duties.
    const gateway = Fastify();
    gateway.all('/*', async (request, reply) => {
      const upstream = await fetch(new URL(request.url, beacon.url), {
        method: request.method,
        headers: { 'content-type': 'application/json' },
        body: request.method === 'POST' ? JSON.stringify(request.body) : undefined,
      });
      const body = (await upstream.json()) as { data?: { pubkey?: Hex }[] };
      if (request.url.includes('/duties/attester/')) body.data = body.data?.map((d) => ({ ...d, pubkey: foreignPubkey }));
      return reply.code(upstream.status).send(body);
    });
    const gatewayUrl = await gateway.listen({ host: '127.0.0.1', port: 0 });
    track({ stop: () => gateway.close() });

    const vc = track(await startVcMock({ beaconUrl: gatewayUrl, secretKeys: [own.toBytes()] }));
    await vc.ready;
    await until(() => vc.stats.errors.length > 0, 3000);
    expect(vc.stats.errors[0]).toContain(foreignPubkey);
    expect(vc.stats.dutiesFetched).toBe(0);
  });

  it('survives a BN that is down: records errors, retries, stops cleanly', async () => {
    // A port nobody listens on: bind one, note it, close it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const vc = await startVcMock({ beaconUrl: `http://127.0.0.1:${port}`, secretKeys: [keygen(9).toBytes()], retryMs: 50 });
    await until(() => vc.stats.errors.length >= 2, 3000);
    expect(vc.stats.errors.length).toBeGreaterThanOrEqual(2);
    expect(vc.stats.errors[0]).toMatch(/^start: /);
    await vc.stop();
    await expect(vc.ready).rejects.toThrow(/stopped/);
    const errorsAtStop = vc.stats.errors.length;
    await sleep(200);
    expect(vc.stats.errors.length).toBe(errorsAtStop);
  });
});

/** Stops the VC 100 ms into the next slot: its 2/3 submissions are answered, its 1/3 ones not yet sent, so its stats match what the BN saw. */
async function stopBetweenDuties(beacon: BeaconMock, vc: VcMock) {
  await sleep(beacon.slotStartMs(beacon.currentSlot() + 1) + 100 - Date.now());
  await vc.stop();
}

const ELECTRA_FROM_GENESIS: Readonly<Partial<Record<ScheduledFork, number>>> = { ALTAIR: 0, BELLATRIX: 0, CAPELLA: 0, DENEB: 0, ELECTRA: 0 };
const apiSpec = loadBeaconApiSpec(beaconApisDir());

/**
 * Eight validators over 8 slots of 1 s: one attester per slot, in a committee of one, so its own
 * selection proof always selects it (committee length / 16 rounds up to a modulo of 1); the 32
 * sync committee seats give each validator one seat per subcommittee, and every member aggregates
 * (minimal preset: 32 / 4 / 16 rounds up to 1 too).
 */
async function startAggregationChain(seed: number, forkEpochs: Readonly<Partial<Record<ScheduledFork, number>>>) {
  const secretKeys = Array.from({ length: 8 }, (_, i) => keygen(seed + i));
  const pubkeys = secretKeys.map((sk) => toHex(sk.toPublicKey().toBytes()));
  // Genesis a second ahead so the VC is up before slot 0.
  const genesisTime = Math.ceil(Date.now() / 1000) + 1;
  const beacon = track(await startBeaconMock({ validators: pubkeys.map((pubkey) => ({ pubkey })), genesisTime, secondsPerSlot: 1, forkEpochs, proposals: false }));
  const signing = signingContextFromSpec(beacon.spec as Record<string, unknown>, beacon.genesisValidatorsRoot);
  return { secretKeys, pubkeys, beacon, signing };
}

describe('vc mock aggregation against the beacon mock', () => {
  for (const [fork, forkEpochs, aggregateApi] of [
    ['altair', { ALTAIR: 0 }, 'v1'],
    ['altair', { ALTAIR: 0 }, 'v2'],
    ['electra', ELECTRA_FROM_GENESIS, 'v2'],
  ] as const) {
    it(`${fork}, ${aggregateApi} routes: lands aggregates and contributions at 2/3 of the slot, all accepted`, async () => {
      const { secretKeys, pubkeys, beacon } = await startAggregationChain(60, forkEpochs);
      // Through a recording proxy: every exchange on routes the definition has must conform to it.
      const proxy = track(await startRecordingProxy(beacon.url));
      const vc = track(
        await startVcMock({ beaconUrl: proxy.url, secretKeys: secretKeys.map((sk) => sk.toBytes()), syncCommittee: true, aggregation: true, aggregateApi, poolApi: 'v2' }),
      );
      await vc.ready;
      await until(() => beacon.acceptedAggregates.length >= 2 && new Set(beacon.acceptedContributions.map((c) => c.slot)).size >= 2, 5000);
      await stopBetweenDuties(beacon, vc);

      expect(vc.stats.errors).toEqual([]);
      expect(beacon.rejected).toEqual([]);
      expect(beacon.acceptedAggregates.length).toBeGreaterThanOrEqual(2);
      for (const aggregate of beacon.acceptedAggregates) {
        const duty = beacon.dutiesFor(Math.floor(aggregate.slot / 8)).find((d) => Number(d.slot) === aggregate.slot)!;
        expect(aggregate).toMatchObject({ aggregatorIndex: Number(duty.validator_index), committeeIndex: 0, pubkey: pubkeys[aggregate.aggregatorIndex], attesters: 1, count: 1 });
        expect(aggregate.receivedAtMs).toBeGreaterThanOrEqual(beacon.slotStartMs(aggregate.slot) + (2 * 1000) / 3 - 5);
        expect(aggregate.receivedAtMs).toBeLessThan(beacon.slotStartMs(aggregate.slot + 1));
      }
      // A contribution per validator and subcommittee in each slot it signed.
      const slot = beacon.acceptedContributions[0]!.slot;
      const ofSlot = beacon.acceptedContributions.filter((c) => c.slot === slot);
      expect(ofSlot.map((c) => `${c.aggregatorIndex}/${c.subcommitteeIndex}`).sort()).toEqual(
        pubkeys.flatMap((_, validator) => [0, 1, 2, 3].map((subcommittee) => `${validator}/${subcommittee}`)).sort(),
      );
      expect(ofSlot.every((c) => c.count === 1 && c.receivedAtMs >= beacon.slotStartMs(slot) + (2 * 1000) / 3 - 5)).toBe(true);
      expect(vc.stats.aggregatesSubmitted).toBe(beacon.acceptedAggregates.length);
      expect(vc.stats.contributionsSubmitted).toBe(beacon.acceptedContributions.length);
      expect(vc.stats.selectionsCombined).toBe(0);

      // The v1 aggregation routes are gone from the definition (beacon-APIs CHANGES.md); the rest is in it.
      const v1Aggregation = proxy.exchanges.filter((e) => e.path.startsWith('/eth/v1/validator/aggregate_'));
      expect(v1Aggregation.length > 0).toBe(aggregateApi === 'v1');
      const defined = proxy.exchanges.filter((e) => apiSpec.findOperation(e.method, e.path) !== undefined);
      expect(defined.length).toBe(proxy.exchanges.length - v1Aggregation.length);
      const operations = new Set(defined.map((e) => apiSpec.findOperation(e.method, e.path)!.operationId));
      for (const operation of ['produceSyncCommitteeContribution', 'publishContributionAndProofs', ...(aggregateApi === 'v2' ? ['getAggregatedAttestationV2', 'publishAggregateAndProofsV2'] : [])]) {
        expect(operations).toContain(operation);
      }
      expect(defined.flatMap((e) => checkExchange(apiSpec, e).map((problem) => `[${e.status} ${e.method} ${e.path}] ${problem}`))).toEqual([]);
    });
  }
});

/**
 * A stand-in for DV middleware in front of the beacon mock. The VC's keys play the shares; the
 * middleware holds other keys playing the group keys, and answers the selection routes with
 * "combined" proofs signed by them, after `delayMs` (a DV combines across operators). It keeps
 * the aggregator submissions (the BN would refuse proofs not by the validator's key) and forwards
 * everything else.
 */
async function startFakeMiddleware(beacon: BeaconMock, signing: ChainSigningContext, groupKeys: readonly SecretKey[], delayMs: number) {
  const combined = (validator: number, root: Hex) => toHex(groupKeys[validator]!.sign(fromHex(root)).toBytes());
  const selections: { receivedAtMs: number; route: string; body: Record<string, string>[]; answered: boolean }[] = [];
  const submissions: { route: string; body: { message: Record<string, any>; signature: Hex }[] }[] = [];
  const app = Fastify();
  app.post('/eth/v1/validator/beacon_committee_selections', async (request) => {
    const body = request.body as Record<string, string>[];
    const selection = { receivedAtMs: Date.now(), route: 'beacon', body, answered: false };
    selections.push(selection);
    await sleep(delayMs);
    selection.answered = true;
    return { data: body.map((s) => ({ ...s, selection_proof: combined(Number(s['validator_index']), selectionProofSigningRoot(signing, Number(s['slot']))) })) };
  });
  app.post('/eth/v1/validator/sync_committee_selections', async (request) => {
    const body = request.body as Record<string, string>[];
    const selection = { receivedAtMs: Date.now(), route: 'sync', body, answered: false };
    selections.push(selection);
    await sleep(delayMs);
    selection.answered = true;
    return {
      data: body.map((s) => ({ ...s, selection_proof: combined(Number(s['validator_index']), syncSelectionSigningRoot(signing, Number(s['slot']), Number(s['subcommittee_index']))) })),
    };
  });
  for (const route of ['/eth/v1/validator/aggregate_and_proofs', '/eth/v2/validator/aggregate_and_proofs', '/eth/v1/validator/contribution_and_proofs']) {
    app.post(route, async (request, reply) => {
      submissions.push({ route, body: request.body as (typeof submissions)[number]['body'] });
      return reply.code(200).send();
    });
  }
  app.all('/*', async (request, reply) => {
    const version = request.headers['eth-consensus-version'];
    const upstream = await fetch(new URL(request.url, beacon.url), {
      method: request.method,
      headers: { 'content-type': 'application/json', ...(typeof version === 'string' ? { 'eth-consensus-version': version } : {}) },
      body: request.method === 'POST' ? JSON.stringify(request.body) : undefined,
    });
    const answeredVersion = upstream.headers.get('eth-consensus-version');
    if (answeredVersion) void reply.header('eth-consensus-version', answeredVersion);
    const text = await upstream.text();
    return reply.code(upstream.status).type('application/json').send(text.length > 0 ? text : undefined);
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  track({ stop: () => app.close() });
  return { url, selections, submissions };
}

describe('vc mock in distributed mode', () => {
  it('posts its partial selection proofs at the start of each slot and aggregates with the combined ones it gets back', async () => {
    const { secretKeys, pubkeys, beacon, signing } = await startAggregationChain(80, ELECTRA_FROM_GENESIS);
    const groupKeys = secretKeys.map((_, i) => keygen(100 + i));
    // The combined proofs arrive after 1/3 of the slot, as a DV's may: the VC must wait for them.
    const middleware = await startFakeMiddleware(beacon, signing, groupKeys, 500);
    const vc = track(
      await startVcMock({ beaconUrl: middleware.url, secretKeys: secretKeys.map((sk) => sk.toBytes()), syncCommittee: true, aggregation: true, distributed: true }),
    );
    await vc.ready;
    const submitted = (route: string) => middleware.submissions.filter((s) => s.route === route).flatMap((s) => s.body);
    await until(() => submitted('/eth/v2/validator/aggregate_and_proofs').length >= 2 && submitted('/eth/v1/validator/contribution_and_proofs').length >= 32, 6000);
    await stopBetweenDuties(beacon, vc);
    expect(vc.stats.errors).toEqual([]);

    // Partials: the VC's own proofs, asked for at the start of the slot, for its duties only.
    const ownKey = (validator: number) => PublicKey.fromBytes(fromHex(pubkeys[validator]!));
    const signedByOwnKey = (validator: number, root: Hex, proof: string) => verify(fromHex(root), ownKey(validator), Signature.fromBytes(fromHex(proof)));
    for (const { receivedAtMs, route, body } of middleware.selections) {
      const slot = Number(body[0]!['slot']);
      expect(receivedAtMs).toBeGreaterThanOrEqual(beacon.slotStartMs(slot) - 5);
      expect(receivedAtMs).toBeLessThan(beacon.slotStartMs(slot) + 1000 / 3);
      if (route === 'beacon') {
        const duty = beacon.dutiesFor(Math.floor(slot / 8)).find((d) => Number(d.slot) === slot)!;
        expect(body).toEqual([{ validator_index: duty.validator_index, slot: String(slot), selection_proof: expect.any(String) }]);
        expect(signedByOwnKey(Number(duty.validator_index), selectionProofSigningRoot(signing, slot), body[0]!['selection_proof']!)).toBe(true);
      } else {
        expect(body).toHaveLength(8 * 4);
        for (const s of body) {
          expect(s['slot']).toBe(String(slot));
          const root = syncSelectionSigningRoot(signing, slot, Number(s['subcommittee_index']));
          expect(signedByOwnKey(Number(s['validator_index']), root, s['selection_proof']!)).toBe(true);
        }
      }
    }
    expect(vc.stats.selectionsCombined).toBe(middleware.selections.filter((s) => s.answered).reduce((n, s) => n + s.body.length, 0));

    // Published: the combined proofs, never its own; the message signed with its own key (a share).
    const aggregates = submitted('/eth/v2/validator/aggregate_and_proofs');
    expect(vc.stats.aggregatesSubmitted).toBe(aggregates.length);
    for (const { message, signature } of aggregates) {
      const slot = Number(message['aggregate'].data.slot);
      const validator = Number(message['aggregator_index']);
      expect(message['selection_proof']).toBe(toHex(groupKeys[validator]!.sign(fromHex(selectionProofSigningRoot(signing, slot))).toBytes()));
      expect(ssz.electra.Attestation.fromJson(message['aggregate']).aggregationBits.getTrueBitIndexes()).toEqual([0]);
      expect(signedByOwnKey(validator, aggregateAndProofSigningRoot(signing, blockForkAtSlot(signing, slot), message as never), signature)).toBe(true);
    }
    const contributions = submitted('/eth/v1/validator/contribution_and_proofs');
    expect(vc.stats.contributionsSubmitted).toBe(contributions.length);
    for (const { message } of contributions) {
      const { slot, subcommittee_index: subcommittee } = message['contribution'];
      const validator = Number(message['aggregator_index']);
      expect(message['selection_proof']).toBe(toHex(groupKeys[validator]!.sign(fromHex(syncSelectionSigningRoot(signing, Number(slot), Number(subcommittee)))).toBytes()));
    }
  });

  it('records the 501 of a beacon node, which has no selection routes, and aggregates nothing', async () => {
    const { secretKeys, beacon } = await startAggregationChain(90, { ALTAIR: 0 });
    const vc = track(await startVcMock({ beaconUrl: beacon.url, secretKeys: secretKeys.map((sk) => sk.toBytes()), syncCommittee: true, aggregation: true, distributed: true }));
    await vc.ready;
    await until(() => vc.stats.submitErrors.length >= 2 && beacon.acceptedSyncMessages.length > 0, 3000);
    await sleep(700); // past 2/3 of a slot whose selections failed
    await vc.stop();
    expect(vc.stats.submitErrors.length).toBeGreaterThanOrEqual(2);
    expect(vc.stats.submitErrors.every((e) => e.status === 501)).toBe(true);
    expect(vc.stats.errors.every((e) => /(beacon|sync)_committee_selections: .*501/.test(e))).toBe(true);
    expect(vc.stats.selectionsCombined).toBe(0);
    expect(vc.stats.aggregatesSubmitted + vc.stats.contributionsSubmitted).toBe(0);
    expect(beacon.acceptedAggregates).toEqual([]);
    expect(beacon.acceptedContributions).toEqual([]);
    // Attesting goes on.
    expect(beacon.accepted.length).toBeGreaterThan(0);
  });
});

describe('vc mock slashing protection (minimal strategy)', () => {
  const last = { sourceEpoch: 3, targetEpoch: 4, signingRoot: `0x${'aa'.repeat(32)}` as Hex };
  it('allows the first vote, a later target, and re-signing the very same root', () => {
    expect(checkAttestation(undefined, last).safe).toBe(true);
    expect(checkAttestation(last, { ...last, targetEpoch: 5, signingRoot: `0x${'bb'.repeat(32)}` }).safe).toBe(true);
    expect(checkAttestation(last, last).safe).toBe(true);
  });
  it('refuses a double vote, an older target and a source going back', () => {
    const double = checkAttestation(last, { ...last, signingRoot: `0x${'bb'.repeat(32)}` });
    expect(double).toEqual({ safe: false, reason: expect.stringMatching(/double vote/) });
    expect(checkAttestation(last, { ...last, targetEpoch: 3 }).safe).toBe(false);
    expect(checkAttestation(last, { ...last, sourceEpoch: 2, targetEpoch: 5 }).safe).toBe(false);
  });
});
