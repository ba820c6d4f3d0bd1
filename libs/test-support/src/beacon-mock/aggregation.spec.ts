import { createHash } from 'node:crypto';
import { fastAggregateVerify, PublicKey, SecretKey, Signature } from '@chainsafe/blst';
import { BitArray } from '@chainsafe/ssz';
import { chainConfigFromJson, createBeaconConfig, type BeaconConfig } from '@lodestar/config';
import {
  DOMAIN_AGGREGATE_AND_PROOF,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_CONTRIBUTION_AND_PROOF,
  DOMAIN_SELECTION_PROOF,
  DOMAIN_SYNC_COMMITTEE,
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF,
  PresetName,
} from '@lodestar/params';
import { ssz } from '@lodestar/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import { beaconApisDir, loadBeaconApiSpec } from '../openapi/beacon-api-spec.js';
import { checkExchange } from '../openapi/check-exchange.js';
import { startRecordingProxy } from '../openapi/recording-proxy.js';
import { startBeaconMock, type BeaconMock, type BeaconMockOptions } from './beacon-mock.js';
import { blockRootAt } from './chain.js';

/**
 * Aggregation on the beacon mock: aggregates of the pool's attestations and sync committee
 * contributions, and aggregators' submissions checked as gossip would. Everything is signed with
 * real keys under signing roots computed with Lodestar's config and types, an implementation
 * independent of #lib/signing, which the mock uses.
 */

const keys = Array.from({ length: 128 }, (_, i) => SecretKey.fromKeygen(new Uint8Array(32).fill(i + 1)));
const pubkeys = keys.map((sk) => toHex(sk.toPublicKey().toBytes()));
const sign = (signer: number, root: Uint8Array): Hex => toHex(keys[signer]!.sign(root).toBytes());
const FAILING_SLOT = 5;

interface Chain {
  readonly mock: BeaconMock;
  readonly lodestar: BeaconConfig;
  readonly slotsPerEpoch: number;
}

async function startChain(validatorCount: number, opts: Partial<BeaconMockOptions> = {}): Promise<Chain> {
  const mock = await startBeaconMock({
    validators: pubkeys.slice(0, validatorCount).map((pubkey) => ({ pubkey })),
    failSubmissionsAt: (slot) => slot === FAILING_SLOT,
    ...opts,
  });
  // Lodestar refuses a config whose PRESET_BASE is not its active preset (mainnet); only epoch lookups are used.
  const lodestar = createBeaconConfig({ ...chainConfigFromJson(mock.spec as Record<string, unknown>), PRESET_BASE: PresetName.mainnet }, fromHex(mock.genesisValidatorsRoot));
  return { mock, lodestar, slotsPerEpoch: Number(mock.spec['SLOTS_PER_EPOCH']) };
}

const call = async (chain: Chain, method: 'GET' | 'POST', route: string, body?: unknown, headers: Record<string, string> = {}, raw = false) => {
  const response = await fetch(new URL(route, chain.mock.url), {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : raw ? (body as string) : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as any) : undefined };
};

const signingRoot = (chain: Chain, domainType: Uint8Array, slot: number, objectRoot: Uint8Array): Uint8Array =>
  ssz.phase0.SigningData.hashTreeRoot({
    objectRoot,
    domain: chain.lodestar.getDomainAtFork(chain.lodestar.getForkInfoAtEpoch(Math.floor(slot / chain.slotsPerEpoch)).name, domainType),
  });
const forkAt = (chain: Chain, slot: number) => chain.lodestar.getForkInfoAtEpoch(Math.floor(slot / chain.slotsPerEpoch)).name;
const isElectra = (chain: Chain, slot: number) => ['electra', 'fulu'].includes(forkAt(chain, slot));

/** Members of a committee, in committee order, from the duties the mock hands out. */
function committeeOf(chain: Chain, slot: number, committeeIndex: number): number[] {
  return chain.mock
    .dutiesFor(Math.floor(slot / chain.slotsPerEpoch))
    .filter((d) => Number(d.slot) === slot && Number(d.committee_index) === committeeIndex)
    .sort((a, b) => Number(a.validator_committee_index) - Number(b.validator_committee_index))
    .map((d) => Number(d.validator_index));
}

/** Attestation data of the slot as the mock serves it, and its hash_tree_root. */
async function dataAt(chain: Chain, slot: number, committeeIndex: number) {
  const data = (await call(chain, 'GET', `/eth/v1/validator/attestation_data?slot=${slot}&committee_index=${committeeIndex}`)).body.data;
  return { data, root: toHex(ssz.phase0.AttestationData.hashTreeRoot(ssz.phase0.AttestationData.fromJson(data))) };
}

const attestationSigningRoot = (chain: Chain, data: unknown) => {
  const value = ssz.phase0.AttestationData.fromJson(data);
  return signingRoot(chain, DOMAIN_BEACON_ATTESTER, value.slot, ssz.phase0.AttestationData.hashTreeRoot(value));
};

/** Each of `attesters` (committee members) submits its attestation to the pool. */
async function attest(chain: Chain, slot: number, committeeIndex: number, attesters: readonly number[]) {
  const { data, root } = await dataAt(chain, slot, committeeIndex);
  const committee = committeeOf(chain, slot, committeeIndex);
  const electra = isElectra(chain, slot);
  const attestations = attesters.map((validator) => {
    const signature = fromHex(sign(validator, attestationSigningRoot(chain, data)));
    const value = ssz.phase0.AttestationData.fromJson(data);
    return electra
      ? ssz.electra.SingleAttestation.toJson({ committeeIndex, attesterIndex: validator, data: value, signature })
      : ssz.phase0.Attestation.toJson({ aggregationBits: BitArray.fromSingleBit(committee.length, committee.indexOf(validator)), data: value, signature });
  });
  const response = await call(chain, 'POST', '/eth/v2/beacon/pool/attestations', attestations, { 'eth-consensus-version': forkAt(chain, slot) });
  expect(response.status).toBe(200);
  return { data, root, committee };
}

const selectionProof = (chain: Chain, signer: number, slot: number) => sign(signer, signingRoot(chain, DOMAIN_SELECTION_PROOF, slot, ssz.Slot.hashTreeRoot(slot)));

/** A SignedAggregateAndProof of `aggregate` (Beacon API JSON) by `aggregator`; `opts` signs parts with other keys. */
function signedAggregate(chain: Chain, aggregator: number, aggregate: any, opts: { selectionSigner?: number; signer?: number } = {}) {
  const slot = Number(aggregate.data.slot);
  const message = { aggregator_index: String(aggregator), aggregate, selection_proof: selectionProof(chain, opts.selectionSigner ?? aggregator, slot) };
  const type = isElectra(chain, slot) ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof;
  const root = signingRoot(chain, DOMAIN_AGGREGATE_AND_PROOF, slot, type.hashTreeRoot(type.fromJson(message) as never));
  return { message, signature: sign(opts.signer ?? aggregator, root) };
}

const aggregateRoute = (slot: number, root: Hex, committeeIndex?: number) =>
  `/eth/${committeeIndex === undefined ? 'v1' : 'v2'}/validator/aggregate_attestation?attestation_data_root=${root}&slot=${slot}${committeeIndex === undefined ? '' : `&committee_index=${committeeIndex}`}`;

let altair: Chain;
let electra: Chain;
let bigCommittees: Chain;
let fewValidators: Chain;

beforeAll(async () => {
  // 70 validators: two committees of 4-5 per slot (minimal preset), one sync committee seat each.
  altair = await startChain(70);
  electra = await startChain(70, { forkEpochs: { ALTAIR: 0, BELLATRIX: 0, CAPELLA: 0, DENEB: 0, ELECTRA: 0 } });
  // One slot per epoch and 128 validators: four committees of 32 per slot, where is_aggregator
  // selects about half the members (32 / TARGET_AGGREGATORS_PER_COMMITTEE = 2).
  bigCommittees = await startChain(128, { slotsPerEpoch: 1 });
  // Four validators fill the 32 sync committee seats: two seats each in every subcommittee.
  fewValidators = await startChain(4);
});
afterAll(async () => {
  for (const chain of [altair, electra, bigCommittees, fewValidators]) await chain?.mock.stop();
});

describe('beacon mock: aggregate_attestation', () => {
  it('before Electra: aggregates the pool\'s votes over a data root, on v1 and v2', async () => {
    const slot = 2;
    const committee = committeeOf(altair, slot, 1);
    const attesters = [committee[0]!, committee[2]!];
    const { data, root } = await attest(altair, slot, 1, attesters);

    const v1 = await call(altair, 'GET', aggregateRoute(slot, root));
    expect(v1.status).toBe(200);
    const aggregate = ssz.phase0.Attestation.fromJson(v1.body.data);
    expect(aggregate.aggregationBits.bitLen).toBe(committee.length);
    expect(aggregate.aggregationBits.getTrueBitIndexes()).toEqual([0, 2]);
    expect(v1.body.data.data).toEqual(data);
    const attesterKeys = attesters.map((v) => PublicKey.fromBytes(fromHex(pubkeys[v]!)));
    expect(fastAggregateVerify(attestationSigningRoot(altair, data), attesterKeys, Signature.fromBytes(aggregate.signature))).toBe(true);

    const v2 = await call(altair, 'GET', aggregateRoute(slot, root, 1));
    expect(v2.status).toBe(200);
    expect(v2.headers.get('eth-consensus-version')).toBe('altair');
    expect(v2.body).toEqual({ version: 'altair', data: v1.body.data });
  });

  it('from Electra: an Electra Attestation naming the committee, data.index 0; v1 is refused', async () => {
    const slot = 3;
    const committee1 = committeeOf(electra, slot, 1);
    // Votes of both committees share one data root from Electra; each aggregate takes its own committee's.
    await attest(electra, slot, 0, committeeOf(electra, slot, 0).slice(0, 1));
    const { data, root } = await attest(electra, slot, 1, committee1.slice(1, 3));
    expect(data.index).toBe('0');

    const v2 = await call(electra, 'GET', aggregateRoute(slot, root, 1));
    expect(v2.status).toBe(200);
    expect(v2.headers.get('eth-consensus-version')).toBe('electra');
    expect(v2.body.version).toBe('electra');
    const aggregate = ssz.electra.Attestation.fromJson(v2.body.data);
    expect(aggregate.committeeBits.getTrueBitIndexes()).toEqual([1]);
    expect(aggregate.aggregationBits.bitLen).toBe(committee1.length);
    expect(aggregate.aggregationBits.getTrueBitIndexes()).toEqual([1, 2]);
    const attesterKeys = committee1.slice(1, 3).map((v) => PublicKey.fromBytes(fromHex(pubkeys[v]!)));
    expect(fastAggregateVerify(attestationSigningRoot(electra, data), attesterKeys, Signature.fromBytes(aggregate.signature))).toBe(true);

    const committee0 = (await call(electra, 'GET', aggregateRoute(slot, root, 0))).body.data;
    expect(ssz.electra.Attestation.fromJson(committee0).committeeBits.getTrueBitIndexes()).toEqual([0]);
    const v1 = await call(electra, 'GET', aggregateRoute(slot, root));
    expect(v1.status).toBe(400);
    expect(v1.body.message).toMatch(/v2/);
  });

  it('answers 404 when the pool has no vote, and 400 on a bad query', async () => {
    const unknown = await call(altair, 'GET', aggregateRoute(4, `0x${'ee'.repeat(32)}`, 0));
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 404, message: expect.any(String) });
    const { root } = await attest(altair, 4, 0, committeeOf(altair, 4, 0).slice(0, 1));
    // Another committee's aggregate over that root: none.
    expect((await call(altair, 'GET', aggregateRoute(4, root, 1))).status).toBe(404);
    for (const query of ['slot=4', `attestation_data_root=${root}`, `attestation_data_root=0x12&slot=4`, `attestation_data_root=${root}&slot=-1`]) {
      const response = await call(altair, 'GET', `/eth/v1/validator/aggregate_attestation?${query}`);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe(400);
    }
    expect((await call(altair, 'GET', `/eth/v2/validator/aggregate_attestation?attestation_data_root=${root}&slot=4`)).status).toBe(400);
  });
});

describe('beacon mock: aggregate_and_proofs', () => {
  const v1 = '/eth/v1/validator/aggregate_and_proofs';
  const v2 = '/eth/v2/validator/aggregate_and_proofs';

  it('before Electra: accepts an aggregator\'s aggregate on v1 and v2, once per (slot, aggregator) with a count', async () => {
    const slot = 6;
    const committee = committeeOf(altair, slot, 0);
    const { root } = await attest(altair, slot, 0, committee);
    const aggregate = (await call(altair, 'GET', aggregateRoute(slot, root))).body.data;
    const aggregator = committee[1]!;
    const signed = signedAggregate(altair, aggregator, aggregate);
    expect((await call(altair, 'POST', v1, [signed])).status).toBe(200);
    expect((await call(altair, 'POST', v2, [signed], { 'eth-consensus-version': 'altair' })).status).toBe(200);
    const records = altair.mock.acceptedAggregates.filter((a) => a.slot === slot);
    expect(records).toEqual([
      { slot, aggregatorIndex: aggregator, committeeIndex: 0, pubkey: pubkeys[aggregator], attesters: committee.length, receivedAtMs: expect.any(Number), count: 2 },
    ]);
  });

  it('from Electra: accepts Electra containers on v2 and refuses them on v1', async () => {
    const slot = 6;
    const committee = committeeOf(electra, slot, 1);
    const { root } = await attest(electra, slot, 1, committee.slice(0, 2));
    const aggregate = (await call(electra, 'GET', aggregateRoute(slot, root, 1))).body.data;
    const signed = signedAggregate(electra, committee[0]!, aggregate);
    expect((await call(electra, 'POST', v2, [signed], { 'eth-consensus-version': 'electra' })).status).toBe(200);
    expect(electra.mock.acceptedAggregates).toContainEqual(expect.objectContaining({ slot, aggregatorIndex: committee[0], committeeIndex: 1, attesters: 2, count: 1 }));
    const onV1 = await call(electra, 'POST', v1, [signed]);
    expect(onV1.status).toBe(400);
    expect(onV1.body.failures).toEqual([{ index: 0, message: expect.stringMatching(/v2 route/) }]);
  });

  it('refuses a wrong selection proof, an outsider, bad signatures and foreign data, naming each item', async () => {
    const slot = 7;
    const committee = committeeOf(altair, slot, 1);
    const { root } = await attest(altair, slot, 1, committee.slice(0, 2));
    const aggregate = (await call(altair, 'GET', aggregateRoute(slot, root))).body.data;
    const [first, second] = [committee[0]!, committee[1]!];
    const outsider = committeeOf(altair, slot, 0)[0]!;
    // Claims all members attested, though only two signed.
    const overclaimed = { ...aggregate, aggregation_bits: ssz.phase0.Attestation.fields.aggregationBits.toJson(BitArray.fromBoolArray(committee.map(() => true))) };
    const foreignData = { ...aggregate, data: { ...aggregate.data, beacon_block_root: `0x${'ee'.repeat(32)}` } };
    const rejectedBefore = altair.mock.rejected.length;
    const response = await call(altair, 'POST', v1, [
      signedAggregate(altair, first, aggregate, { selectionSigner: second }),
      signedAggregate(altair, outsider, aggregate),
      signedAggregate(altair, first, aggregate, { signer: second }),
      signedAggregate(altair, first, overclaimed),
      signedAggregate(altair, first, foreignData),
      { message: { aggregator_index: '1' } },
      signedAggregate(altair, second, aggregate),
    ]);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 400, message: expect.any(String) });
    expect(response.body.failures).toEqual([
      { index: 0, message: expect.stringMatching(/invalid selection proof/) },
      { index: 1, message: expect.stringMatching(/not in committee/) },
      { index: 2, message: expect.stringMatching(/invalid AggregateAndProof signature/) },
      { index: 3, message: expect.stringMatching(/invalid aggregate signature/) },
      { index: 4, message: expect.stringMatching(/does not match this chain/) },
      { index: 5, message: expect.stringMatching(/malformed/) },
    ]);
    expect(altair.mock.rejected.length - rejectedBefore).toBe(6);
    // The good item of the same request is taken.
    expect(altair.mock.acceptedAggregates).toContainEqual(expect.objectContaining({ slot, aggregatorIndex: second }));
  });

  it('refuses a member whose valid selection proof does not select it', async () => {
    const slot = 3;
    const committee = committeeOf(bigCommittees, slot, 2);
    expect(committee.length).toBe(32);
    const { root } = await attest(bigCommittees, slot, 2, committee.slice(0, 3));
    const aggregate = (await call(bigCommittees, 'GET', aggregateRoute(slot, root))).body.data;
    // is_aggregator: bytes_to_uint64(hash(proof)[0:8]) % (32 / 16) == 0 (phase0/validator.md#aggregation-selection).
    const selects = (member: number) => createHash('sha256').update(fromHex(selectionProof(bigCommittees, member, slot))).digest().readBigUInt64LE(0) % 2n === 0n;
    const nonAggregator = committee.find((member) => !selects(member))!;
    const aggregator = committee.find(selects)!;
    const response = await call(bigCommittees, 'POST', v1, [signedAggregate(bigCommittees, nonAggregator, aggregate), signedAggregate(bigCommittees, aggregator, aggregate)]);
    expect(response.status).toBe(400);
    expect(response.body.failures).toEqual([{ index: 0, message: expect.stringMatching(/is not an aggregator/) }]);
    expect(bigCommittees.mock.acceptedAggregates.map((a) => a.aggregatorIndex)).toEqual([aggregator]);
  });

  it('refuses a missing, unknown or wrong Eth-Consensus-Version, malformed JSON and a body that is no list', async () => {
    const slot = 1;
    const committee = committeeOf(altair, slot, 0);
    const { root } = await attest(altair, slot, 0, committee.slice(0, 1));
    const signed = signedAggregate(altair, committee[0]!, (await call(altair, 'GET', aggregateRoute(slot, root))).body.data);
    const rejectedBefore = altair.mock.rejected.length;

    const missing = await call(altair, 'POST', v2, [signed]);
    expect(missing.status).toBe(400);
    expect(missing.body.message).toMatch(/Eth-Consensus-Version/);
    const unknown = await call(altair, 'POST', v2, [signed], { 'eth-consensus-version': 'nonsense' });
    expect(unknown.status).toBe(400);
    const wrongFork = await call(altair, 'POST', v2, [signed], { 'eth-consensus-version': 'deneb' });
    expect(wrongFork.status).toBe(400);
    expect(wrongFork.body.failures).toEqual([{ index: 0, message: expect.stringMatching(/Eth-Consensus-Version deneb is not the fork altair/) }]);
    // Electra containers asked for, phase0 ones sent: no committee_bits to read.
    const electraHeader = await call(altair, 'POST', v2, [signed], { 'eth-consensus-version': 'electra' });
    expect(electraHeader.body.failures[0].message).toMatch(/malformed/);

    const badJson = await call(altair, 'POST', v1, '[{"message":', {}, true);
    expect(badJson.status).toBe(400);
    expect(badJson.body).toMatchObject({ code: 400 });
    const notAList = await call(altair, 'POST', v1, { message: {} });
    expect(notAList.status).toBe(400);
    expect(altair.mock.rejected.length - rejectedBefore).toBe(6);
    expect(altair.mock.acceptedAggregates.some((a) => a.slot === slot)).toBe(false);
  });

  it('answers 503 for the slots failSubmissionsAt names', async () => {
    const committee = committeeOf(altair, FAILING_SLOT, 0);
    const { data } = await dataAt(altair, FAILING_SLOT, 0);
    const aggregate = ssz.phase0.Attestation.toJson({
      aggregationBits: BitArray.fromSingleBit(committee.length, 0),
      data: ssz.phase0.AttestationData.fromJson(data),
      signature: fromHex(sign(committee[0]!, attestationSigningRoot(altair, data))),
    });
    const response = await call(altair, 'POST', v1, [signedAggregate(altair, committee[0]!, aggregate)]);
    expect(response.status).toBe(503);
    expect(response.body.code).toBe(503);
    expect(altair.mock.rejected.at(-1)?.reason).toMatch(/fault injection/);
  });
});

describe('beacon mock: sync committee contributions', () => {
  const route = '/eth/v1/validator/contribution_and_proofs';
  const SUBCOMMITTEE_SIZE = 8; // minimal preset: SYNC_COMMITTEE_SIZE 32 / 4 subnets

  const syncMessageRoot = (chain: Chain, slot: number, blockRoot: Hex) => signingRoot(chain, DOMAIN_SYNC_COMMITTEE, slot, fromHex(blockRoot));
  /** Each validator sends its sync committee message over the block root of the slot before `slot` (always one the mock takes). */
  async function sendSyncMessages(chain: Chain, slot: number, validators: readonly number[]) {
    const blockRoot = blockRootAt(slot - 1);
    const messages = validators.map((v) => ({ slot: String(slot), beacon_block_root: blockRoot, validator_index: String(v), signature: sign(v, syncMessageRoot(chain, slot, blockRoot)) }));
    expect((await call(chain, 'POST', '/eth/v1/beacon/pool/sync_committees', messages)).status).toBe(200);
    return blockRoot;
  }
  const contributionRoute = (slot: number, subcommittee: number, blockRoot: Hex) =>
    `/eth/v1/validator/sync_committee_contribution?slot=${slot}&subcommittee_index=${subcommittee}&beacon_block_root=${blockRoot}`;

  function signedContribution(chain: Chain, aggregator: number, contribution: any, opts: { selectionSigner?: number; signer?: number } = {}) {
    const slot = Number(contribution.slot);
    const selectionData = ssz.altair.SyncAggregatorSelectionData.hashTreeRoot({ slot, subcommitteeIndex: Number(contribution.subcommittee_index) });
    const message = {
      aggregator_index: String(aggregator),
      contribution,
      selection_proof: sign(opts.selectionSigner ?? aggregator, signingRoot(chain, DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF, slot, selectionData)),
    };
    const root = signingRoot(chain, DOMAIN_CONTRIBUTION_AND_PROOF, slot, ssz.altair.ContributionAndProof.hashTreeRoot(ssz.altair.ContributionAndProof.fromJson(message)));
    return { message, signature: sign(opts.signer ?? aggregator, root) };
  }

  it('aggregates the subcommittee\'s messages over a root, a bit per seat', async () => {
    const slot = 9;
    const seats = altair.mock.syncCommitteeAt(1);
    const subcommittee1 = seats.slice(SUBCOMMITTEE_SIZE, 2 * SUBCOMMITTEE_SIZE);
    // Two members of subcommittee 1 and one of subcommittee 0 send; only the former count.
    const blockRoot = await sendSyncMessages(altair, slot, [subcommittee1[2]!, subcommittee1[5]!, seats[0]!]);
    const { status, body } = await call(altair, 'GET', contributionRoute(slot, 1, blockRoot));
    expect(status).toBe(200);
    const contribution = ssz.altair.SyncCommitteeContribution.fromJson(body.data);
    expect(contribution).toMatchObject({ slot, subcommitteeIndex: 1 });
    expect(body.data.beacon_block_root).toBe(blockRoot);
    expect(contribution.aggregationBits.getTrueBitIndexes()).toEqual([2, 5]);
    const participants = [subcommittee1[2]!, subcommittee1[5]!].map((v) => PublicKey.fromBytes(fromHex(pubkeys[v]!)));
    expect(fastAggregateVerify(syncMessageRoot(altair, slot, blockRoot), participants, Signature.fromBytes(contribution.signature))).toBe(true);

    expect((await call(altair, 'GET', contributionRoute(slot, 2, blockRoot))).status).toBe(404);
    expect((await call(altair, 'GET', contributionRoute(slot, 1, `0x${'ee'.repeat(32)}`))).status).toBe(404);
    expect((await call(altair, 'GET', contributionRoute(slot, 4, blockRoot))).status).toBe(400);
    expect((await call(altair, 'GET', contributionRoute(slot, 1, '0x1234' as Hex))).status).toBe(400);
    expect((await call(altair, 'GET', `/eth/v1/validator/sync_committee_contribution?slot=${slot}&subcommittee_index=1`)).status).toBe(400);
  });

  it('sets every seat of a validator seated twice in a subcommittee, and counts its signature per seat', async () => {
    const slot = 3;
    const seats = fewValidators.mock.syncCommitteeAt(0);
    expect(seats.slice(0, SUBCOMMITTEE_SIZE)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    const blockRoot = await sendSyncMessages(fewValidators, slot, [1, 3]);
    const { body } = await call(fewValidators, 'GET', contributionRoute(slot, 0, blockRoot));
    const contribution = ssz.altair.SyncCommitteeContribution.fromJson(body.data);
    expect(contribution.aggregationBits.getTrueBitIndexes()).toEqual([1, 3, 5, 7]);
    const perSeat = [1, 3, 1, 3].map((v) => PublicKey.fromBytes(fromHex(pubkeys[v]!)));
    expect(fastAggregateVerify(syncMessageRoot(fewValidators, slot, blockRoot), perSeat, Signature.fromBytes(contribution.signature))).toBe(true);
    // …which the mock takes back from an aggregator of the subcommittee.
    expect((await call(fewValidators, 'POST', route, [signedContribution(fewValidators, 3, body.data)])).status).toBe(200);
  });

  it('accepts a subcommittee aggregator\'s contribution once per (slot, aggregator, subcommittee) with a count', async () => {
    const slot = 10;
    const subcommittee0 = altair.mock.syncCommitteeAt(1).slice(0, SUBCOMMITTEE_SIZE);
    const blockRoot = await sendSyncMessages(altair, slot, subcommittee0);
    const contribution = (await call(altair, 'GET', contributionRoute(slot, 0, blockRoot))).body.data;
    const signed = signedContribution(altair, subcommittee0[4]!, contribution);
    expect((await call(altair, 'POST', route, [signed])).status).toBe(200);
    expect((await call(altair, 'POST', route, [signed])).status).toBe(200);
    expect(altair.mock.acceptedContributions.filter((c) => c.slot === slot)).toEqual([
      { slot, aggregatorIndex: subcommittee0[4], subcommitteeIndex: 0, pubkey: pubkeys[subcommittee0[4]!], receivedAtMs: expect.any(Number), count: 2 },
    ]);
  });

  it('refuses a wrong selection proof, an aggregator outside the subcommittee, bad signatures, bits past the subcommittee and malformed items', async () => {
    const slot = 11;
    const seats = altair.mock.syncCommitteeAt(1);
    const subcommittee0 = seats.slice(0, SUBCOMMITTEE_SIZE);
    const blockRoot = await sendSyncMessages(altair, slot, subcommittee0.slice(0, 3));
    const contribution = (await call(altair, 'GET', contributionRoute(slot, 0, blockRoot))).body.data;
    const [a, b] = [subcommittee0[0]!, subcommittee0[1]!];
    const bitsOf = (positions: number[]) => {
      const bits = BitArray.fromBitLen(ssz.altair.SyncCommitteeContribution.fields.aggregationBits.lengthBits);
      for (const position of positions) bits.set(position, true);
      return ssz.altair.SyncCommitteeContribution.fields.aggregationBits.toJson(bits);
    };
    const rejectedBefore = altair.mock.rejected.length;
    const response = await call(altair, 'POST', route, [
      signedContribution(altair, a, contribution, { selectionSigner: b }),
      signedContribution(altair, seats[SUBCOMMITTEE_SIZE]!, contribution),
      signedContribution(altair, a, contribution, { signer: b }),
      signedContribution(altair, a, { ...contribution, aggregation_bits: bitsOf([0, 1, 2, 3]) }),
      signedContribution(altair, a, { ...contribution, aggregation_bits: bitsOf([0, SUBCOMMITTEE_SIZE]) }),
      signedContribution(altair, a, { ...contribution, aggregation_bits: bitsOf([]) }),
      { message: { aggregator_index: '0' }, signature: '0x' },
    ]);
    expect(response.status).toBe(400);
    expect(response.body.failures).toEqual([
      { index: 0, message: expect.stringMatching(/invalid selection proof/) },
      { index: 1, message: expect.stringMatching(/no seat in subcommittee 0/) },
      { index: 2, message: expect.stringMatching(/invalid ContributionAndProof signature/) },
      { index: 3, message: expect.stringMatching(/invalid contribution signature/) },
      { index: 4, message: expect.stringMatching(/beyond the 8 seats/) },
      { index: 5, message: expect.stringMatching(/no participant/) },
      { index: 6, message: expect.stringMatching(/malformed/) },
    ]);
    expect(altair.mock.rejected.length - rejectedBefore).toBe(7);

    const badJson = await call(altair, 'POST', route, '[{', {}, true);
    expect(badJson.status).toBe(400);
    expect(altair.mock.rejected.length - rejectedBefore).toBe(8);
    expect(altair.mock.acceptedContributions.some((c) => c.slot === slot)).toBe(false);
  });

  it('answers 503 for the slots failSubmissionsAt names', async () => {
    const contribution = { ...ssz.altair.SyncCommitteeContribution.toJson(ssz.altair.SyncCommitteeContribution.defaultValue()) as object, slot: String(FAILING_SLOT) };
    const response = await call(altair, 'POST', route, [signedContribution(altair, 0, contribution)]);
    expect(response.status).toBe(503);
  });
});

describe('beacon mock: aggregation answers per the Beacon API definition', () => {
  it('error answers conform too: 404, 400, IndexedErrorMessage, 501', async () => {
    const spec = loadBeaconApiSpec(beaconApisDir());
    const proxy = await startRecordingProxy(altair.mock.url);
    try {
      const send = (method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) =>
        fetch(new URL(path, proxy.url), {
          method,
          headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
        }).then((response) => response.text());
      const selection = { validator_index: '1', slot: '1', selection_proof: selectionProof(altair, 1, 1) };
      await send('GET', aggregateRoute(12, `0x${'ee'.repeat(32)}`, 0));
      await send('GET', '/eth/v1/validator/sync_committee_contribution?slot=12&subcommittee_index=0&beacon_block_root=0x' + 'ee'.repeat(32));
      await send('POST', '/eth/v1/validator/beacon_committee_selections', [selection]);
      await send('POST', '/eth/v1/validator/sync_committee_selections', [{ ...selection, subcommittee_index: '0' }]);
      const conformant = proxy.exchanges.length;
      // Requests broken on purpose: the mock's refusals must still conform.
      await send('GET', '/eth/v2/validator/aggregate_attestation?slot=12&committee_index=0');
      await send('POST', '/eth/v2/validator/aggregate_and_proofs', [{ message: {} }], { 'eth-consensus-version': 'altair' });
      await send('POST', '/eth/v1/validator/contribution_and_proofs', [{ message: {} }]);
      expect(proxy.exchanges.map((e) => e.status)).toEqual([404, 404, 501, 501, 400, 400, 400]);
      const problems = proxy.exchanges.flatMap((e, i) =>
        checkExchange(spec, e, { side: i < conformant ? 'both' : 'response' }).map((problem) => `[${e.status} ${e.method} ${e.path}] ${problem}`),
      );
      expect(problems).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });
});

describe('beacon mock: DV selection routes', () => {
  it('answers 501 with an error body, as a beacon node does', async () => {
    const beaconSelection = { validator_index: '1', slot: '1', selection_proof: selectionProof(altair, 1, 1) };
    for (const [path, body] of [
      ['/eth/v1/validator/beacon_committee_selections', [beaconSelection]],
      ['/eth/v1/validator/sync_committee_selections', [{ ...beaconSelection, subcommittee_index: '0' }]],
    ] as const) {
      const response = await call(altair, 'POST', path, body);
      expect(response.status).toBe(501);
      expect(response.body).toEqual({ code: 501, message: expect.stringMatching(/middleware/) });
    }
  });
});
