import { describe, expect, it } from 'vitest';
import { explain } from '#lib/audit';
import { BLOCK_FORKS, type BlockFork } from '#lib/signing';
import { GATEWAY_ROUTES } from '#service/signer-gateway';
import { beaconApisDir, checkExchange, loadBeaconApiSpec, startRecordingProxy, type Exchange, type RecordingProxy, type VcMock } from '#lib/test-support';
import { runSimnet, SIMNET_FEE_RECIPIENT, type SimnetResult } from './simnet.js';

/**
 * Every duty type on every fork, through a 4-node cluster: one run walks the fork schedule
 * phase0 → fulu, one 4-slot epoch per fork (3 s slots), with VCs that attest, propose (full and blinded
 * blocks), sign sync committee messages, and aggregate both in their distributed mode (selection
 * proofs combined through the DV selection endpoints). VC 4 has no distributed mode: its
 * aggregations are refused with their reason, and the other three make threshold. The beacon
 * mock accepts only what verifies under the group key (aggregates: the selection proof too, and
 * the aggregator's selection by it), so each record below is a duty that landed signed by the cluster.
 *
 * Every exchange between a VC and its node's gateway goes through a recording proxy and is
 * checked against the Beacon API definition (shared/vectors/beacon-apis): every route the
 * gateway serves itself is exercised and conforms.
 */
const SPE = 4;
const FORK_EPOCHS = { ALTAIR: 1, BELLATRIX: 2, CAPELLA: 3, DENEB: 4, ELECTRA: 5, FULU: 6 } as const;
const SLOTS = BLOCK_FORKS.length * SPE;
const VALIDATORS = 4;
const print = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

/**
 * Routes removed from the definition that older VCs still call (beacon-APIs #549, #466): checked
 * as their successor, whose body is the same before Electra; produceBlockV2's answer is checked
 * as the produceBlockV3 answer of a full block it amounts to, the v1 aggregate as the v2 one.
 */
const LEGACY_SUCCESSOR: Readonly<Record<string, string>> = {
  '/eth/v1/beacon/pool/attestations': '/eth/v2/beacon/pool/attestations',
  '/eth/v1/beacon/blocks': '/eth/v2/beacon/blocks',
  '/eth/v1/beacon/blinded_blocks': '/eth/v2/beacon/blinded_blocks',
  '/eth/v1/validator/aggregate_and_proofs': '/eth/v2/validator/aggregate_and_proofs',
};
/** Validator k exits in epoch `epoch`, whose fork is BLOCK_FORKS[epoch]. */
const EXITS = [
  { validator: 0, epoch: 0 },
  { validator: 1, epoch: 2 },
  { validator: 2, epoch: 4 },
  { validator: 3, epoch: 6 },
] as const;
/** VC 4 (operator index 3) runs without a distributed mode. */
const NON_DISTRIBUTED = 3;

const forkOfSlot = (slot: number): BlockFork => BLOCK_FORKS[Math.min(BLOCK_FORKS.length - 1, Math.floor(slot / SPE))] as BlockFork;
const slotsOfFork = (fork: BlockFork): number[] => {
  const epoch = BLOCK_FORKS.indexOf(fork);
  return Array.from({ length: SPE }, (_, i) => epoch * SPE + i);
};

describe('simnet: every duty type on every fork (n = 4, t = 3)', { timeout: 300_000 }, () => {
  const proxies: RecordingProxy[] = [];
  let result: SimnetResult;
  const nodeCalls = async (index: number, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const proxy = proxies[index];
    if (!proxy) throw new Error(`no proxy for node ${index}`);
    await fetch(new URL(path, proxy.url), {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
  it('runs the fork schedule phase0 → fulu', async () => {
    result = await runSimnet({
      nodes: 4,
      validators: VALIDATORS,
      // 3 s slots: a proposal is two rounds of peer traffic (RANDAO shares, then QBFT on the block)
      // before the VC signs, all inside its slot, on 2 shared cores.
      secondsPerSlot: 3,
      slots: SLOTS,
      print,
      duties: 'all',
      // Sync committee seats in runs: each validator sits in two subcommittees (one selection proof
      // and contribution per subcommittee), not all four, which would quadruple the work per slot.
      beaconOptions: { slotsPerEpoch: SPE, forkEpochs: FORK_EPOCHS, blindedBlocks: (slot: number) => slot % 2 === 1, syncCommitteeLayout: 'runs' },
      // VC 1 uses the legacy v1 pool, publishing and aggregation routes (before Electra); VC 2 asks
      // the removed produceBlockV2, which carries no blinded block: it misses those slots, and the
      // 3 other VCs still make threshold. VC 4 aggregates without a distributed mode.
      vcOptions: (index) => ({
        poolApi: index === 0 ? 'v1' : 'v2',
        blockPublishApi: index === 0 ? 'v1' : 'v2',
        aggregateApi: index === 0 ? 'v1' : 'v2',
        produceBlockApi: index === 1 ? 'v2' : 'v3',
        distributed: index !== NON_DISTRIBUTED,
        // Every VC registers with the builders each epoch; VC 4 asks another fee recipient than the lock's.
        builderRegistration: { feeRecipient: index === NON_DISTRIBUTED ? `0x${'0b'.repeat(20)}` : SIMNET_FEE_RECIPIENT },
      }),
      vcBeaconUrl: async (index, gatewayUrl) => {
        const proxy = await startRecordingProxy(gatewayUrl);
        proxies[index] = proxy;
        return proxy.url;
      },
      actions: [
        {
          atSlot: 2,
          offsetMs: 1500,
          label: 'the validators GET routes, through node 1',
          run: async () => {
            await nodeCalls(0, 'GET', '/eth/v1/beacon/states/head/validators?id=0');
            await nodeCalls(0, 'GET', '/eth/v1/beacon/states/head/validators/0');
          },
        },
        // Every operator runs its VC's exit command for one validator, same epoch: one validator
        // per fork of phase0, bellatrix, deneb and fulu (before and after EIP-7044's pinned domain).
        ...EXITS.map(({ validator, epoch }) => ({
          atSlot: epoch * SPE + 1,
          offsetMs: 1000,
          label: `every operator exits validator ${validator + 1} at epoch ${epoch} (${BLOCK_FORKS[epoch]})`,
          run: async ({ vcs }: { vcs: readonly (VcMock | undefined)[] }) => {
            await Promise.all(vcs.map((vc) => vc?.submitVoluntaryExit(vc.pubkeys[validator] as `0x${string}`, epoch)));
          },
        })),
      ],
    }).finally(() => Promise.all(proxies.map((p) => p.stop())));
    for (const line of result.vcErrors.slice(0, 20)) print(`VC error: ${line}`);
    expect(result.slots).toHaveLength(SLOTS);
  });

  for (const fork of BLOCK_FORKS) {
    it(`${fork}: attestations, proposals${fork === 'phase0' ? '' : ' and sync committee messages'} land signed under the group key`, () => {
      const mock = result.beaconMock;
      const slots = new Set(slotsOfFork(fork));
      const epoch = BLOCK_FORKS.indexOf(fork);
      // Attestations: every validator once in the fork's epoch, no double vote.
      const attested = mock.accepted.filter((a) => slots.has(a.slot));
      expect(new Set(attested.map((a) => a.validatorIndex)).size, `attesters in epoch ${epoch}`).toBe(VALIDATORS);
      expect(attested.every((a) => a.conflictingDataRoots.length === 0)).toBe(true);
      // Proposals: every slot but genesis has a block of this fork, no conflicting block.
      const blocks = mock.acceptedBlocks.filter((b) => slots.has(b.slot));
      const expectedSlots = [...slots].filter((s) => s > 0);
      expect(blocks.map((b) => b.slot).sort((a, b) => a - b), `blocks in epoch ${epoch}`).toEqual(expectedSlots);
      expect(blocks.every((b) => b.fork === fork && b.conflictingBlockRoots.length === 0)).toBe(true);
      if (fork !== 'phase0' && fork !== 'altair') {
        expect(blocks.some((b) => b.blinded), 'a blinded block').toBe(true);
        expect(blocks.some((b) => !b.blinded), 'a full block').toBe(true);
      }
      // Sync committee messages: every member, every slot, from Altair.
      const synced = mock.acceptedSyncMessages.filter((m) => slots.has(m.slot));
      if (fork === 'phase0') expect(synced).toEqual([]);
      else for (const slot of slots) expect(new Set(synced.filter((m) => m.slot === slot).map((m) => m.validatorIndex)).size, `sync slot ${slot}`).toBe(VALIDATORS);
      // Aggregates: committees here are far below 16 members, so every attester is selected (is_aggregator
      // modulo 1) and every validator aggregates once in the epoch, under the cluster's combined proof.
      const aggregated = mock.acceptedAggregates.filter((a) => slots.has(a.slot));
      expect(new Set(aggregated.map((a) => a.aggregatorIndex)).size, `aggregators in epoch ${epoch}`).toBe(VALIDATORS);
      // Sync contributions: minimal preset, 32 seats / 4 subcommittees / 16 → every member aggregates
      // every subcommittee it sits in (two each here, one of them shared), every slot.
      const contributed = mock.acceptedContributions.filter((c) => slots.has(c.slot));
      if (fork === 'phase0') expect(contributed).toEqual([]);
      else {
        const seats = mock.syncCommitteeAt(epoch);
        const subcommitteeSize = seats.length / 4;
        const sitting = new Set(seats.map((validator, seat) => `${validator}/${Math.floor(seat / subcommitteeSize)}`));
        expect(sitting.size).toBe(VALIDATORS * 2);
        for (const slot of slots) {
          const pairs = new Set(contributed.filter((c) => c.slot === slot).map((c) => `${c.aggregatorIndex}/${c.subcommitteeIndex}`));
          expect(pairs, `contributions at slot ${slot}`).toEqual(sitting);
        }
      }
    });
  }

  it('the BN refused nothing the cluster submitted, and no node failed a duty but node 4\'s aggregations', () => {
    expect(result.beaconMock.rejected).toEqual([]);
    for (const [index, events] of result.events.entries()) {
      const failures = events.filter((e) => e.duty.slot < SLOTS && (e.type === 'DutyFailed' || e.type === 'ConsensusTimedOut'));
      const unexpected = failures.filter((e) => !(index === NON_DISTRIBUTED && e.type === 'DutyFailed' && e.data.reason === 'vc_not_distributed'));
      expect(unexpected.map((e) => `node ${index + 1} ${e.duty.slot}/${e.duty.type} ${e.type} ${JSON.stringify(e.data).slice(0, 120)}`)).toEqual([]);
    }
  });

  it('builder registrations: the cluster\'s, signed with the whole key at creation, reach the BN for every validator on every fork; no VC\'s share-signed one does', () => {
    // The mock takes only registrations that verify under a chain validator's (group) key.
    const registered = result.beaconMock.acceptedRegistrations;
    expect(new Set(registered.map((r) => r.pubkey)).size).toBe(VALIDATORS);
    expect(registered.every((r) => r.feeRecipient === SIMNET_FEE_RECIPIENT)).toBe(true);
    // Each node passes the lock's registration on each epoch (genesis's before genesis): always the same
    // message, in every fork's epoch.
    expect(new Set(registered.map((r) => r.timestamp)).size).toBe(1);
    for (const r of registered) expect(new Set(r.receivedAtSlots.map((slot) => forkOfSlot(Math.max(0, slot)))), r.pubkey).toEqual(new Set(BLOCK_FORKS));
    for (const events of result.events) expect(events.some((e) => e.type === 'Broadcast' && e.duty.type === 'builder_registration')).toBe(true);
  });

  it('proposer preparations and subnet subscriptions pass through each gateway to the BN, naming the validators by index', () => {
    const mock = result.beaconMock;
    expect([...mock.preparedProposers.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(mock.subscriptions.length).toBeGreaterThanOrEqual(VALIDATORS * BLOCK_FORKS.length);
  });

  it('voluntary exits signed by every operator\'s VC land once each, signed under the group key (the fork\'s domain, Capella\'s from Deneb)', () => {
    const exits = result.beaconMock.acceptedExits;
    expect(exits.map((e) => [e.validatorIndex, e.epoch])).toEqual(EXITS.map((x) => [x.validator, x.epoch]));
    for (const { epoch } of EXITS) {
      const exitDuty = (result.events[0] ?? []).filter((e) => e.duty.type === 'exit' && e.duty.slot === epoch * SPE);
      expect(exitDuty.some((e) => e.type === 'Broadcast'), `exit at epoch ${epoch}`).toBe(true);
    }
  });

  it('a VC without a distributed mode: its aggregations refused with their reason, and explain names it; its node still combines from the other three', () => {
    const node4 = result.events[NON_DISTRIBUTED] ?? [];
    for (const type of ['aggregator', 'sync_contribution'] as const) {
      const failed = node4.filter((e) => e.type === 'DutyFailed' && e.duty.type === type);
      expect(failed.length, type).toBeGreaterThan(0);
      expect(new Set(failed.map((e) => e.type === 'DutyFailed' && e.data.reason))).toEqual(new Set(['vc_not_distributed']));
    }
    // Its VC never sent a selection proof share, yet node 4 combined the proofs from its peers' shares.
    for (const type of ['prepare_aggregator', 'prepare_sync_contribution'] as const) {
      expect(node4.some((e) => e.type === 'PartialSignatureSubmitted' && e.duty.type === type), type).toBe(false);
      expect(node4.some((e) => e.type === 'SignaturesAggregated' && e.duty.type === type), type).toBe(true);
    }
    const rejected = node4.filter((e) => e.type === 'PartialSignaturesRejected' && (e.duty.type === 'aggregator' || e.duty.type === 'sync_contribution'));
    expect(new Set(rejected.flatMap((e) => (e.type === 'PartialSignaturesRejected' ? e.data.rejections.map((r) => r.reason) : [])))).toEqual(new Set(['no_selection_proof']));
    const slot = node4.find((e) => e.type === 'DutyFailed' && e.duty.type === 'aggregator')?.duty.slot as number;
    const report = explain(node4.filter((e) => e.duty.slot === slot && e.duty.type === 'aggregator'), { slot, type: 'aggregator' });
    expect(JSON.stringify(report)).toContain('vc_not_distributed');
    // Its node still combined the aggregation from the three other operators' shares.
    expect(node4.some((e) => e.type === 'Broadcast' && e.duty.type === 'aggregator' && e.duty.slot === slot)).toBe(true);
  });

  it('every VC ↔ gateway exchange conforms to the Beacon API definition, and every route the gateway serves was exercised', () => {
    const spec = loadBeaconApiSpec(beaconApisDir());
    const exchanges = proxies.flatMap((p) => p.exchanges);
    const problems = exchanges.flatMap((exchange) => {
      const path = exchange.path.split('?')[0] ?? exchange.path;
      const successor = LEGACY_SUCCESSOR[path];
      const checked: Exchange = successor
        ? { ...exchange, path: exchange.path.replace(path, successor), requestHeaders: { 'eth-consensus-version': forkOfSlot(slotOf(exchange)), ...exchange.requestHeaders } }
        : path.startsWith('/eth/v2/validator/blocks/')
          ? asProduceBlockV3(exchange)
          : path === '/eth/v1/validator/aggregate_attestation'
            ? asAggregateAttestationV2(exchange)
            : exchange;
      return checkExchange(spec, checked).map((problem) => `[${exchange.status} ${exchange.method} ${exchange.path}] ${problem}`);
    });
    expect(problems).toEqual([]);
    const exercised = new Set(exchanges.map((e) => GATEWAY_ROUTES.find((route) => matches(route, e.method, e.path.split('?')[0] ?? ''))));
    expect(GATEWAY_ROUTES.filter((route) => !exercised.has(route))).toEqual([]);
  });
});

/** The slot a submission is for (legacy routes carry no fork header: the slot's fork is what the VC meant). */
function slotOf(exchange: Exchange): number {
  const body = JSON.parse(exchange.requestBody ?? 'null') as unknown;
  const first = (Array.isArray(body) ? body[0] : body) as Record<string, any> | null;
  const slot = first?.['data']?.slot ?? first?.['message']?.slot ?? first?.['signed_block']?.message?.slot ?? first?.['message']?.aggregate?.data?.slot ?? new URLSearchParams(exchange.path.split('?')[1] ?? '').get('slot');
  return Number(slot ?? 0);
}

/** A produceBlockV2 exchange as the produceBlockV3 one of the same full block. */
function asProduceBlockV3(exchange: Exchange): Exchange {
  if (exchange.status !== 200) return { ...exchange, path: exchange.path.replace('/eth/v2/', '/eth/v3/') };
  const { version, data } = JSON.parse(exchange.responseBody) as { version: string; data: unknown };
  return {
    ...exchange,
    path: exchange.path.replace('/eth/v2/', '/eth/v3/'),
    responseHeaders: {
      ...exchange.responseHeaders,
      'eth-execution-payload-blinded': 'false',
      'eth-execution-payload-value': '0',
      'eth-consensus-block-value': '0',
    },
    responseBody: JSON.stringify({ version, execution_payload_blinded: false, execution_payload_value: '0', consensus_block_value: '0', data }),
  };
}

/** A getAggregatedAttestation (v1, before Electra) exchange as the v2 one: the committee is the data's index. */
function asAggregateAttestationV2(exchange: Exchange): Exchange {
  const path = exchange.path.replace('/eth/v1/', '/eth/v2/');
  if (exchange.status !== 200) return { ...exchange, path };
  const { data } = JSON.parse(exchange.responseBody) as { data: { data: { index: string } } };
  const fork = forkOfSlot(slotOf(exchange));
  return {
    ...exchange,
    path: `${path}&committee_index=${data.data.index}`,
    responseHeaders: { ...exchange.responseHeaders, 'eth-consensus-version': fork },
    responseBody: JSON.stringify({ version: fork, data }),
  };
}

function matches(route: string, method: string, path: string): boolean {
  const [routeMethod, template] = route.split(' ') as [string, string];
  if (routeMethod !== method) return false;
  const pattern = new RegExp(`^${template.replace(/:[a-z]+/g, '[^/]+')}$`);
  return pattern.test(path);
}
