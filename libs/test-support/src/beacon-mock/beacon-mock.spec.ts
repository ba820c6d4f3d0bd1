import { SecretKey } from '@chainsafe/blst';
import { BitArray } from '@chainsafe/ssz';
import { chainConfigFromJson, createBeaconConfig } from '@lodestar/config';
import { DOMAIN_BEACON_ATTESTER, PresetName } from '@lodestar/params';
import { ssz } from '@lodestar/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, isHex, toHex, type Hex } from '#lib/contracts';
import type { AttestationDataJson } from '#lib/signing';
import { startBeaconMock, type BeaconMock } from './beacon-mock.js';
import type { AttesterDutyJson } from './chain.js';

// 70 validators: enough for two committees per slot in the minimal preset (70/8/4 >= 2 is false,
// 70/8/4 = 2.18 -> 2), so committee indices above 0 are exercised.
const VALIDATOR_COUNT = 70;
const secretKeys = Array.from({ length: VALIDATOR_COUNT }, (_, i) => SecretKey.fromKeygen(new Uint8Array(32).fill(i + 1)));
const pubkeys = secretKeys.map((sk) => toHex(sk.toPublicKey().toBytes()));

let mock: BeaconMock;

const get = async (route: string) => {
  const response = await fetch(new URL(route, mock.url));
  return { status: response.status, body: (await response.json()) as any };
};
const post = async (route: string, body: unknown, raw = false, headers: Record<string, string> = {}) => {
  const response = await fetch(new URL(route, mock.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as any) : undefined };
};

/**
 * Signing root computed with Lodestar's config (an implementation independent of #lib/signing):
 * DOMAIN_BEACON_ATTESTER at the fork of the message's epoch, bound to the mock's GVR.
 */
function lodestarSigningRoot(data: AttestationDataJson): Uint8Array {
  // Lodestar refuses a config whose PRESET_BASE is not its active preset (mainnet here); only
  // epoch-based lookups are used below, so the preset's SLOTS_PER_EPOCH never comes into play.
  const chainConfig = { ...chainConfigFromJson(mock.spec as Record<string, unknown>), PRESET_BASE: PresetName.mainnet };
  const config = createBeaconConfig(chainConfig, fromHex(mock.genesisValidatorsRoot));
  const value = ssz.phase0.AttestationData.fromJson(data);
  const fork = config.getForkInfoAtEpoch(value.target.epoch).name;
  const domain = config.getDomainAtFork(fork, DOMAIN_BEACON_ATTESTER);
  return ssz.phase0.SigningData.hashTreeRoot({ objectRoot: ssz.phase0.AttestationData.hashTreeRoot(value), domain });
}

function signedAttestation(duty: AttesterDutyJson, data: AttestationDataJson, opts: { signer?: number; bit?: number; bitLen?: number } = {}) {
  const signer = secretKeys[opts.signer ?? Number(duty.validator_index)]!;
  return ssz.phase0.Attestation.toJson({
    aggregationBits: BitArray.fromSingleBit(opts.bitLen ?? Number(duty.committee_length), opts.bit ?? Number(duty.validator_committee_index)),
    data: ssz.phase0.AttestationData.fromJson(data),
    signature: signer.sign(lodestarSigningRoot(data)).toBytes(),
  });
}

const dataFor = async (duty: AttesterDutyJson): Promise<AttestationDataJson> =>
  (await get(`/eth/v1/validator/attestation_data?slot=${duty.slot}&committee_index=${duty.committee_index}`)).body.data;

beforeAll(async () => {
  // Altair from epoch 1, so signatures prove the domain follows the fork at the target epoch.
  mock = await startBeaconMock({ validators: pubkeys.map((pubkey) => ({ pubkey })), forkEpochs: { ALTAIR: 1 } });
});
afterAll(async () => {
  await mock.stop();
});

describe('beacon mock: chain routes', () => {
  it('serves genesis with the Beacon API shape', async () => {
    const { status, body } = await get('/eth/v1/beacon/genesis');
    expect(status).toBe(200);
    expect(body.data).toEqual({
      genesis_time: String(mock.genesisTime),
      genesis_validators_root: mock.genesisValidatorsRoot,
      genesis_fork_version: mock.spec['GENESIS_FORK_VERSION'],
    });
    expect(isHex(body.data.genesis_validators_root, 32)).toBe(true);
    expect(/^0x0+$/.test(body.data.genesis_validators_root)).toBe(false);
  });

  it('serves a minimal-preset spec a VC and Lodestar config can read', async () => {
    const { body } = await get('/eth/v1/config/spec');
    const spec = body.data as Record<string, string>;
    expect(spec['PRESET_BASE']).toBe('minimal');
    expect(spec['SECONDS_PER_SLOT']).toBe('2');
    expect(spec['SLOTS_PER_EPOCH']).toBe('8');
    expect(spec['ALTAIR_FORK_EPOCH']).toBe('1');
    expect(spec['TARGET_AGGREGATORS_PER_COMMITTEE']).toBe('16');
    for (const fork of ['BELLATRIX', 'CAPELLA', 'DENEB', 'ELECTRA', 'FULU']) {
      expect(spec[`${fork}_FORK_EPOCH`]).toBe('18446744073709551615');
      expect(isHex(spec[`${fork}_FORK_VERSION`], 4)).toBe(true);
    }
    // Values are strings (uint64 in decimal), apart from Fulu's list-valued entries.
    expect(Object.values(spec).every((v) => typeof v === 'string' || Array.isArray(v))).toBe(true);
    expect(Array.isArray(spec['BLOB_SCHEDULE'])).toBe(true);
    const config = chainConfigFromJson(spec);
    expect(config.SECONDS_PER_SLOT).toBe(2);
  });

  it('serves the fork schedule and the fork of a state', async () => {
    const schedule = (await get('/eth/v1/config/fork_schedule')).body.data as { previous_version: Hex; current_version: Hex; epoch: string }[];
    expect(schedule[0]).toEqual({ previous_version: mock.spec['GENESIS_FORK_VERSION'], current_version: mock.spec['GENESIS_FORK_VERSION'], epoch: '0' });
    expect(schedule[1]).toEqual({ previous_version: mock.spec['GENESIS_FORK_VERSION'], current_version: mock.spec['ALTAIR_FORK_VERSION'], epoch: '1' });
    const atGenesis = await get('/eth/v1/beacon/states/genesis/fork');
    expect(atGenesis.body.data.current_version).toBe(mock.spec['GENESIS_FORK_VERSION']);
    expect(atGenesis.body.execution_optimistic).toBe(false);
    const atSlot8 = await get('/eth/v1/beacon/states/8/fork');
    expect(atSlot8.body.data).toEqual(schedule[1]);
    expect((await get('/eth/v1/beacon/states/nonsense/fork')).status).toBe(400);
  });

  it('finds validators by index or pubkey (GET and POST) and filters by status', async () => {
    const byGet = await get(`/eth/v1/beacon/states/head/validators?id=3,${pubkeys[5]}&id=69`);
    expect(byGet.body.data.map((v: any) => v.index)).toEqual(['3', '5', '69']);
    expect(byGet.body.data[1].validator.pubkey).toBe(pubkeys[5]);
    expect(byGet.body.data[0]).toMatchObject({ status: 'active_ongoing', balance: '32000000000' });
    const byPost = await post('/eth/v1/beacon/states/head/validators', { ids: [pubkeys[7], '1', `0x${'ab'.repeat(48)}`] });
    expect(byPost.body.data.map((v: any) => v.index)).toEqual(['1', '7']);
    expect(byPost.body).toMatchObject({ execution_optimistic: false, finalized: false });
    const exited = await post('/eth/v1/beacon/states/head/validators', { ids: ['1'], statuses: ['exited'] });
    expect(exited.body.data).toEqual([]);
    const active = await get('/eth/v1/beacon/states/head/validators?id=1&status=active');
    expect(active.body.data).toHaveLength(1);
    const all = await post('/eth/v1/beacon/states/head/validators', {});
    expect(all.body.data).toHaveLength(VALIDATOR_COUNT);
  });

  it('serves node routes and answers unknown routes with a JSON 404', async () => {
    expect((await get('/eth/v1/node/syncing')).body.data).toMatchObject({ is_syncing: false, is_optimistic: false, el_offline: false, sync_distance: '0' });
    expect(typeof (await get('/eth/v1/node/version')).body.data.version).toBe('string');
    expect((await fetch(new URL('/eth/v1/node/health', mock.url))).status).toBe(200);
    const missing = await get('/eth/v1/no/such/route');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 404 });
  });
});

describe('beacon mock: attester duties', () => {
  for (const epoch of [0, 1]) {
    it(`gives every validator one consistent committee seat in epoch ${epoch}`, async () => {
      const all = pubkeys.map((_, index) => String(index));
      const { status, body } = await post(`/eth/v1/validator/duties/attester/${epoch}`, all);
      expect(status).toBe(200);
      expect(isHex(body.dependent_root, 32)).toBe(true);
      expect(body.execution_optimistic).toBe(false);
      const duties = body.data as AttesterDutyJson[];
      expect(duties.map((d) => d.validator_index).sort()).toEqual([...all].sort());
      expect(duties).toEqual(mock.dutiesFor(epoch));

      const committees = new Map<string, AttesterDutyJson[]>();
      for (const duty of duties) {
        expect(duty.pubkey).toBe(pubkeys[Number(duty.validator_index)]);
        expect(Math.floor(Number(duty.slot) / 8)).toBe(epoch);
        expect(Number(duty.committees_at_slot)).toBeGreaterThanOrEqual(1);
        expect(Number(duty.committee_index)).toBeLessThan(Number(duty.committees_at_slot));
        const key = `${duty.slot}/${duty.committee_index}`;
        committees.set(key, [...(committees.get(key) ?? []), duty]);
      }
      expect(new Set(duties.map((d) => d.committees_at_slot))).toEqual(new Set(['2']));
      for (const members of committees.values()) {
        expect(members.every((d) => Number(d.committee_length) === members.length)).toBe(true);
        expect(members.map((d) => Number(d.validator_committee_index)).sort((a, b) => a - b)).toEqual(members.map((_, i) => i));
      }
    });
  }

  it('returns only the asked validators and refuses bad requests', async () => {
    const { body } = await post('/eth/v1/validator/duties/attester/0', ['4', '2']);
    expect(body.data.map((d: AttesterDutyJson) => d.validator_index)).toEqual(['2', '4']);
    expect((await post('/eth/v1/validator/duties/attester/0', [])).status).toBe(400);
    expect((await post('/eth/v1/validator/duties/attester/0', ['9999'])).status).toBe(400);
    expect((await post('/eth/v1/validator/duties/attester/1000', ['1'])).status).toBe(400);
    const malformed = await post('/eth/v1/validator/duties/attester/0', '[1,', true);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 400 });
    expect(typeof malformed.body.message).toBe('string');
  });
});

describe('beacon mock: attestation data', () => {
  it('is deterministic per slot, with checkpoints of the previous and current epoch', async () => {
    const first = (await get('/eth/v1/validator/attestation_data?slot=13&committee_index=1')).body.data;
    const again = (await get('/eth/v1/validator/attestation_data?slot=13&committee_index=1')).body.data;
    expect(again).toEqual(first);
    expect(first).toMatchObject({ slot: '13', index: '1', source: { epoch: '0' }, target: { epoch: '1' } });
    const slot8 = (await get('/eth/v1/validator/attestation_data?slot=8&committee_index=0')).body.data;
    const slot0 = (await get('/eth/v1/validator/attestation_data?slot=0&committee_index=0')).body.data;
    const slot12 = (await get('/eth/v1/validator/attestation_data?slot=12&committee_index=0')).body.data;
    expect(first.target.root).toBe(slot8.beacon_block_root);
    expect(first.source.root).toBe(slot0.beacon_block_root);
    expect(slot12.beacon_block_root).not.toBe(first.beacon_block_root);
    expect(slot12.target).toEqual(first.target);
    expect((await get('/eth/v1/validator/attestation_data?committee_index=0')).status).toBe(400);
  });
});

describe('beacon mock: attestation pool', () => {
  const route = '/eth/v1/beacon/pool/attestations';
  const dutyInCommitteeOf = (epoch: number, minLength: number) =>
    mock.dutiesFor(epoch).find((d) => Number(d.committee_length) >= minLength && d.validator_committee_index === '0')!;

  it('accepts an attestation signed by the selected validator, once per (slot, validator) with a repeat count', async () => {
    for (const epoch of [0, 1]) {
      const duty = dutyInCommitteeOf(epoch, 1);
      const attestation = signedAttestation(duty, await dataFor(duty));
      const response = await post(route, [attestation]);
      expect(response.status).toBe(200);
      const repeat = await post('/eth/v2/beacon/pool/attestations', [attestation], false, { 'eth-consensus-version': 'altair' });
      expect(repeat.status).toBe(200);
      const record = mock.accepted.filter((a) => a.slot === Number(duty.slot) && a.validatorIndex === Number(duty.validator_index));
      expect(record).toHaveLength(1);
      expect(record[0]).toMatchObject({ pubkey: duty.pubkey, committeeIndex: Number(duty.committee_index), count: 2, conflictingDataRoots: [] });
    }
  });

  it('refuses a wrong signature, a wrong bit and a wrong bit length, naming each failed index', async () => {
    const duty = dutyInCommitteeOf(0, 2);
    const data = await dataFor(duty);
    const good = signedAttestation(duty, data);
    const rejectedBefore = mock.rejected.length;
    const response = await post(route, [
      signedAttestation(duty, data, { signer: (Number(duty.validator_index) + 1) % VALIDATOR_COUNT }),
      good,
      signedAttestation(duty, data, { bit: 1 }), // the committee's second member, whose key did not sign
      signedAttestation(duty, data, { bitLen: Number(duty.committee_length) + 1 }),
      { ...good, signature: `0x${'11'.repeat(96)}` },
    ]);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe(400);
    expect(typeof response.body.message).toBe('string');
    expect(response.body.failures.map((f: { index: number }) => f.index)).toEqual([0, 2, 3, 4]);
    expect(response.body.failures[0].message).toMatch(/signature/);
    expect(response.body.failures[1].message).toMatch(/signature/);
    expect(response.body.failures[2].message).toMatch(/length/);
    expect(mock.rejected.length - rejectedBefore).toBe(4);
    // The good item in the same request still lands in the pool.
    expect(mock.accepted.some((a) => a.slot === Number(duty.slot) && a.validatorIndex === Number(duty.validator_index))).toBe(true);
  });

  it('refuses data this chain did not produce, and malformed bodies without crashing', async () => {
    const duty = dutyInCommitteeOf(0, 1);
    const data = await dataFor(duty);
    const forged = { ...data, beacon_block_root: `0x${'ee'.repeat(32)}` as Hex };
    const wrongData = await post(route, [signedAttestation(duty, forged)]);
    expect(wrongData.status).toBe(400);
    expect(wrongData.body.failures[0].message).toMatch(/does not match/);

    const noVersion = await post('/eth/v2/beacon/pool/attestations', [signedAttestation(duty, data)]);
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.message).toMatch(/Eth-Consensus-Version/);

    const badJson = await post(route, '[{"aggregation_bits":', true);
    expect(badJson.status).toBe(400);
    expect(badJson.body).toMatchObject({ code: 400 });
    const notAList = await post(route, { hello: 'world' });
    expect(notAList.status).toBe(400);
    expect(notAList.body).toMatchObject({ code: 400 });
    const garbageItem = await post(route, [{ aggregation_bits: 'zz' }, 42]);
    expect(garbageItem.status).toBe(400);
    expect(garbageItem.body.failures.map((f: { index: number }) => f.index)).toEqual([0, 1]);
    expect(garbageItem.body.failures[0].message).toMatch(/malformed/);
    // Still serving.
    expect((await get('/eth/v1/beacon/genesis')).status).toBe(200);
  });
});
