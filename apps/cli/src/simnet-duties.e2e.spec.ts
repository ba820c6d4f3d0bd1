import { describe, expect, it } from 'vitest';
import { explain } from '#lib/audit';
import { BLOCK_FORKS, type BlockFork } from '#lib/signing';
import { GATEWAY_ROUTES } from '#service/signer-gateway';
import { beaconApisDir, checkExchange, loadBeaconApiSpec, startRecordingProxy, type Exchange, type RecordingProxy } from '#lib/test-support';
import { runSimnet, type SimnetResult } from './simnet.js';

/**
 * Every duty type on every fork, through a 4-node cluster: one run walks the fork schedule
 * phase0 → fulu, one 4-slot epoch per fork (3 s slots), with VCs that attest, propose (full and blinded
 * blocks), and sign sync committee messages. The beacon mock accepts only what verifies under
 * the group key, so each record below is a duty that landed signed by the cluster.
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
 * as the produceBlockV3 answer of a full block it amounts to.
 */
const LEGACY_SUCCESSOR: Readonly<Record<string, string>> = {
  '/eth/v1/beacon/pool/attestations': '/eth/v2/beacon/pool/attestations',
  '/eth/v1/beacon/blocks': '/eth/v2/beacon/blocks',
  '/eth/v1/beacon/blinded_blocks': '/eth/v2/beacon/blinded_blocks',
  '/eth/v1/validator/aggregate_and_proofs': '/eth/v2/validator/aggregate_and_proofs',
};

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
  const aggregateAndProof = (slot: number, aggregatorIndex: number, electra = false) => ({
    message: {
      aggregator_index: String(aggregatorIndex),
      aggregate: {
        ...(electra && { committee_bits: '0x01' }),
        aggregation_bits: '0x03',
        data: { slot: String(slot), index: '0', beacon_block_root: `0x${'11'.repeat(32)}`, source: { epoch: '0', root: `0x${'11'.repeat(32)}` }, target: { epoch: '0', root: `0x${'11'.repeat(32)}` } },
        signature: `0x${'22'.repeat(96)}`,
      },
      selection_proof: `0x${'33'.repeat(96)}`,
    },
    signature: `0x${'44'.repeat(96)}`,
  });

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
      beaconOptions: { slotsPerEpoch: SPE, forkEpochs: FORK_EPOCHS, blindedBlocks: (slot: number) => slot % 2 === 1 },
      // VC 1 uses the legacy v1 pool and publishing routes (before Electra); VC 2 asks the removed
      // produceBlockV2, which carries no blinded block: it misses those slots, and the 3 other VCs
      // still make threshold.
      vcOptions: (index) => ({
        poolApi: index === 0 ? 'v1' : 'v2',
        blockPublishApi: index === 0 ? 'v1' : 'v2',
        produceBlockApi: index === 1 ? 'v2' : 'v3',
      }),
      vcBeaconUrl: async (index, gatewayUrl) => {
        const proxy = await startRecordingProxy(gatewayUrl);
        proxies[index] = proxy;
        return proxy.url;
      },
      actions: [
        {
          // A VC without a distributed mode aggregating: refused, the duty failed with its reason.
          atSlot: 2,
          offsetMs: 1500,
          label: 'non-distributed aggregation and the validators GET routes, through node 1',
          run: async () => {
            // One attester per slot here: whichever it is, one of the four names it.
            await nodeCalls(0, 'POST', '/eth/v1/validator/aggregate_and_proofs', [0, 1, 2, 3].map((i) => aggregateAndProof(2, i)));
            await nodeCalls(0, 'POST', '/eth/v1/validator/contribution_and_proofs', [
              {
                message: {
                  aggregator_index: '0',
                  contribution: { slot: '6', beacon_block_root: `0x${'11'.repeat(32)}`, subcommittee_index: '0', aggregation_bits: '0x01000000000000000000000000000000', signature: `0x${'22'.repeat(96)}` },
                  selection_proof: `0x${'33'.repeat(96)}`,
                },
                signature: `0x${'44'.repeat(96)}`,
              },
            ]);
            await nodeCalls(0, 'GET', '/eth/v1/beacon/states/head/validators?id=0');
            await nodeCalls(0, 'GET', '/eth/v1/beacon/states/head/validators/0');
          },
        },
        {
          // Every operator runs its VC's exit command for the first validator, same epoch.
          atSlot: 10,
          offsetMs: 1000,
          label: 'every operator exits validator 1 at epoch 2',
          run: async ({ vcs }) => {
            await Promise.all(vcs.map((vc) => vc?.submitVoluntaryExit(vc.pubkeys[0] as `0x${string}`, 2)));
          },
        },
        {
          atSlot: 22,
          offsetMs: 1500,
          label: 'non-distributed aggregation on the v2 route (electra), through node 2',
          run: () => nodeCalls(1, 'POST', '/eth/v2/validator/aggregate_and_proofs', [0, 1, 2, 3].map((i) => aggregateAndProof(22, i, true)), { 'eth-consensus-version': 'electra' }),
        },
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
    });
  }

  it('the BN refused nothing the cluster submitted, and no node failed a duty but the refused aggregations', () => {
    expect(result.beaconMock.rejected).toEqual([]);
    for (const events of result.events) {
      const failures = events.filter((e) => e.duty.slot < SLOTS && (e.type === 'DutyFailed' || e.type === 'ConsensusTimedOut'));
      const unexpected = failures.filter((e) => !(e.type === 'DutyFailed' && e.data.reason === 'vc_not_distributed'));
      expect(unexpected.map((e) => `${e.duty.slot}/${e.duty.type} ${e.type} ${JSON.stringify(e.data).slice(0, 120)}`)).toEqual([]);
    }
  });

  it('a voluntary exit signed by every operator\'s VC lands once, signed under the group key (capella domain)', () => {
    expect(result.beaconMock.acceptedExits).toEqual([expect.objectContaining({ epoch: 2 })]);
    const exitDuty = (result.events[0] ?? []).filter((e) => e.duty.type === 'exit');
    expect(exitDuty.some((e) => e.type === 'Broadcast')).toBe(true);
    expect(exitDuty.filter((e) => e.type === 'PartialSignatureSubmitted').map((e) => e.pubkeys)).toEqual([[result.beaconMock.acceptedExits[0]?.pubkey]]);
  });

  it('an aggregation by a VC without a distributed mode is refused with its reason, and explain names it', () => {
    const node1 = result.events[0] ?? [];
    const failed = node1.find((e) => e.type === 'DutyFailed' && e.duty.type === 'aggregator' && e.duty.slot === 2);
    expect(failed?.type === 'DutyFailed' && failed.data.reason).toBe('vc_not_distributed');
    const rejected = node1.find((e) => e.type === 'PartialSignaturesRejected' && e.duty.type === 'aggregator');
    expect(rejected?.type === 'PartialSignaturesRejected' && [...new Set(rejected.data.rejections.map((r) => r.reason))]).toEqual(['no_selection_proof']);
    const report = explain(node1.filter((e) => e.duty.slot === 2 && e.duty.type === 'aggregator'), { slot: 2, type: 'aggregator' });
    expect(JSON.stringify(report)).toContain('vc_not_distributed');
    expect(result.events[1]?.some((e) => e.type === 'DutyFailed' && e.duty.type === 'aggregator' && e.duty.slot === 22)).toBe(true);
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
  const slot = first?.['data']?.slot ?? first?.['message']?.slot ?? first?.['signed_block']?.message?.slot ?? first?.['message']?.aggregate?.data?.slot;
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

function matches(route: string, method: string, path: string): boolean {
  const [routeMethod, template] = route.split(' ') as [string, string];
  if (routeMethod !== method) return false;
  const pattern = new RegExp(`^${template.replace(/:[a-z]+/g, '[^/]+')}$`);
  return pattern.test(path);
}
