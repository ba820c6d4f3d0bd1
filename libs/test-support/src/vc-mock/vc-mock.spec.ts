import { createServer, type AddressInfo } from 'node:net';
import { SecretKey } from '@chainsafe/blst';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { toHex, type Hex } from '#lib/contracts';
import { startBeaconMock, type BeaconMock } from '../beacon-mock/beacon-mock.js';
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
