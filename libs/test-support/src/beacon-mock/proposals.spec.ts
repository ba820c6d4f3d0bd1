import { SecretKey } from '@chainsafe/blst';
import { chainConfigFromJson, createBeaconConfig } from '@lodestar/config';
import { DOMAIN_BEACON_PROPOSER, DOMAIN_RANDAO, DOMAIN_SYNC_COMMITTEE, PresetName } from '@lodestar/params';
import { ssz } from '@lodestar/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import { BLOCK_FORKS, forkHasBlindedBlocks, forkHasBlockContents } from '#lib/signing';
import { startBeaconMock, type BeaconMock } from './beacon-mock.js';

/**
 * Proposals and sync committee messages on every fork, one epoch each (phase0 at 0 … fulu at 6),
 * signed with real keys under domains computed by Lodestar's config — an implementation
 * independent of #lib/signing, which the mock uses.
 */
const SPE = 4;
const secretKeys = Array.from({ length: 6 }, (_, i) => SecretKey.fromKeygen(new Uint8Array(32).fill(90 + i)));
const pubkeys = secretKeys.map((sk) => toHex(sk.toPublicKey().toBytes()));
let mock: BeaconMock;
let lodestar: ReturnType<typeof createBeaconConfig>;

const call = async (method: 'GET' | 'POST', route: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(new URL(route, mock.url), {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as any) : undefined };
};
/** Lodestar's config runs the mainnet preset, so epochs are computed here (minimal: SPE slots) and only epoch lookups are used. */
const signingRoot = (domainType: Uint8Array, slot: number, objectRoot: Uint8Array) =>
  ssz.phase0.SigningData.hashTreeRoot({
    objectRoot,
    domain: lodestar.getDomainAtFork(lodestar.getForkInfoAtEpoch(Math.floor(slot / SPE)).name, domainType),
  });
const randaoOf = (proposer: number, slot: number, key = secretKeys[proposer]!) =>
  toHex(key.sign(signingRoot(DOMAIN_RANDAO, slot, ssz.Epoch.hashTreeRoot(Math.floor(slot / SPE)))).toBytes());

beforeAll(async () => {
  mock = await startBeaconMock({
    validators: pubkeys.map((pubkey) => ({ pubkey })),
    slotsPerEpoch: SPE,
    genesisTime: Math.floor(Date.now() / 1000) - 3600,
    forkEpochs: { ALTAIR: 1, BELLATRIX: 2, CAPELLA: 3, DENEB: 4, ELECTRA: 5, FULU: 6 },
    blindedBlocks: (slot) => slot % 2 === 1,
  });
  lodestar = createBeaconConfig({ ...chainConfigFromJson(mock.spec as Record<string, unknown>), PRESET_BASE: PresetName.mainnet }, fromHex(mock.genesisValidatorsRoot));
});
afterAll(() => mock.stop());

describe('beacon mock: block proposals on every fork', () => {
  it('serves the proposer of each slot as its duty', async () => {
    const { body } = await call('GET', '/eth/v1/validator/duties/proposer/1');
    expect(body.data).toEqual([4, 5, 6, 7].map((slot) => ({ pubkey: pubkeys[mock.proposerAt(slot)], validator_index: String(mock.proposerAt(slot)), slot: String(slot) })));
  });

  for (const [epoch, fork] of BLOCK_FORKS.entries()) {
    for (const blinded of forkHasBlindedBlocks(fork) ? [false, true] : [false]) {
      const slot = epoch * SPE + 2 + (blinded ? 1 : 0);
      it(`${fork}${blinded ? ' blinded' : ''}: produces a block with the RANDAO reveal, accepts it signed by the proposer, refuses others`, async () => {
        const proposer = mock.proposerAt(slot);
        const produced = await call('GET', `/eth/v3/validator/blocks/${slot}?randao_reveal=${randaoOf(proposer, slot)}`);
        expect(produced.status).toBe(200);
        expect(produced.body).toMatchObject({ version: fork, execution_payload_blinded: blinded });
        expect(produced.headers.get('eth-consensus-version')).toBe(fork);
        const contents = !blinded && forkHasBlockContents(fork);
        const block = contents ? produced.body.data.block : produced.body.data;
        expect(block).toMatchObject({ slot: String(slot), proposer_index: String(proposer) });
        // The root Lodestar's schema gives the block, signed under DOMAIN_BEACON_PROPOSER.
        const type = (blinded ? (ssz[fork as 'bellatrix'].BlindedBeaconBlock as unknown) : ssz[fork].BeaconBlock) as { fromJson(j: unknown): unknown; hashTreeRoot(v: never): Uint8Array };
        const root = signingRoot(DOMAIN_BEACON_PROPOSER, slot, type.hashTreeRoot(type.fromJson(block) as never));
        const signed = (key: SecretKey) => {
          const signedBlock = { message: block, signature: toHex(key.sign(root).toBytes()) };
          return contents ? { signed_block: signedBlock, kzg_proofs: [], blobs: [] } : signedBlock;
        };
        const route = `/eth/v2/beacon/${blinded ? 'blinded_blocks' : 'blocks'}`;
        const other = secretKeys[(proposer + 1) % secretKeys.length]!;
        expect((await call('POST', route, signed(other), { 'eth-consensus-version': fork })).status).toBe(400);
        const wrongFork = fork === 'phase0' ? 'altair' : 'phase0';
        expect((await call('POST', route, signed(secretKeys[proposer]!), { 'eth-consensus-version': wrongFork })).status).toBe(400);
        expect((await call('POST', route, signed(secretKeys[proposer]!), { 'eth-consensus-version': fork })).status).toBe(200);
        const accepted = mock.acceptedBlocks.find((b) => b.slot === slot);
        expect(accepted).toMatchObject({ proposerIndex: proposer, pubkey: pubkeys[proposer], fork, blinded, count: 1, conflictingBlockRoots: [] });
      });
    }
  }

  it('refuses a RANDAO reveal that is not the proposer\'s', async () => {
    const slot = 9;
    const wrong = secretKeys[(mock.proposerAt(slot) + 1) % secretKeys.length]!;
    const produced = await call('GET', `/eth/v3/validator/blocks/${slot}?randao_reveal=${randaoOf(mock.proposerAt(slot), slot, wrong)}`);
    expect(produced.status).toBe(400);
    expect(produced.body.message).toMatch(/randao_reveal does not verify/);
  });
});

describe('beacon mock: sync committee', () => {
  it('has no committee before Altair, then every validator in some seat', async () => {
    expect(mock.syncCommitteeAt(0)).toEqual([]);
    const seats = mock.syncCommitteeAt(1);
    expect(seats).toHaveLength(Number(mock.spec['SYNC_COMMITTEE_SIZE']));
    expect(new Set(seats).size).toBe(pubkeys.length);
    const { body } = await call('POST', '/eth/v1/validator/duties/sync/1', ['0', '1']);
    expect(body.data.map((d: { validator_index: string }) => d.validator_index)).toEqual(['0', '1']);
    expect(body.data[0].validator_sync_committee_indices).toEqual(seats.flatMap((v, seat) => (v === 0 ? [String(seat)] : [])));
  });

  it('in `runs` layout seats each of 4 validators in two subcommittees, a run of 8 seats each', async () => {
    const runs = await startBeaconMock({ validators: pubkeys.slice(0, 4).map((pubkey) => ({ pubkey })), forkEpochs: { ALTAIR: 0 }, syncCommitteeLayout: 'runs' });
    try {
      const seats = runs.syncCommitteeAt(0);
      const subcommitteeSize = seats.length / 4;
      for (let v = 0; v < 4; v++) {
        expect(seats.filter((x) => x === v)).toHaveLength(8);
        expect(new Set(seats.flatMap((x, seat) => (x === v ? [Math.floor(seat / subcommitteeSize)] : []))).size).toBe(2);
      }
    } finally {
      await runs.stop();
    }
  });

  it('takes a member\'s message over the head root, signed under DOMAIN_SYNC_COMMITTEE, and refuses a bad signature', async () => {
    const slot = mock.currentSlot();
    const { body: head } = await call('GET', '/eth/v1/beacon/blocks/head/root');
    const root: Hex = head.data.root;
    const message = (index: number, key = secretKeys[index]!) => ({
      slot: String(slot),
      beacon_block_root: root,
      validator_index: String(index),
      signature: toHex(key.sign(signingRoot(DOMAIN_SYNC_COMMITTEE, slot, fromHex(root))).toBytes()),
    });
    expect((await call('POST', '/eth/v1/beacon/pool/sync_committees', [message(2)])).status).toBe(200);
    const refused = await call('POST', '/eth/v1/beacon/pool/sync_committees', [message(3, secretKeys[4]!)]);
    expect(refused.status).toBe(400);
    expect(refused.body.failures).toEqual([{ index: 0, message: 'invalid signature for validator 3' }]);
    expect(mock.acceptedSyncMessages).toEqual([expect.objectContaining({ slot, validatorIndex: 2, beaconBlockRoot: root, count: 1 })]);
  });
});

