import { describe, expect, it } from 'vitest';
import { explain, reasonOf } from '#lib/audit';
import type { AnyCohortEvent, Hex } from '#lib/contracts';
import { dealSimnetCluster, runSimnet } from './simnet.js';

/**
 * Faults injected into a 4-node simnet, then `explain` (the same function `cohort explain`
 * prints) asked about the duties they hit, on the node that saw them: it must name the reason
 * from the catalog, as an operator at 3 a.m. would read it.
 */
const SLOTS_PER_EPOCH = 8;
/** Long scenarios: run by `npm run test:faults` (CI), not by `npm test`. */
const LONG = process.env['COHORT_SIMNET_LONG'] === '1';
const print = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

const scheduled = (events: readonly AnyCohortEvent[]) =>
  events.filter((e) => e.type === 'DutyScheduled' && e.duty.slot < SLOTS_PER_EPOCH).map((e) => ({ slot: e.duty.slot, pubkeys: e.pubkeys }));

function reasonsAt(events: readonly AnyCohortEvent[], slot: number, pubkeys: readonly Hex[]): Set<string | null> {
  const explanation = explain(events, { slot, type: 'attester' });
  return new Set(pubkeys.map((pk) => reasonOf(explanation, pk)));
}

describe('explain names the reason of each injected fault', { timeout: 120_000 }, () => {
  it.skipIf(!LONG)('[long] BN broadcast failing at slot 3 → bn_broadcast_failed; a slashing history refusing every value on node 2 → slashing_refused there', async () => {
    const cluster = await dealSimnetCluster(4, 8);
    // node 2 (index 1) has signed up to target epoch 1000 for every validator: any attestation now is at or below that
    const interchange = (genesisValidatorsRoot: Hex) =>
      JSON.stringify({
        metadata: { interchange_format_version: '5', genesis_validators_root: genesisValidatorsRoot },
        data: cluster.cluster.validators.map((v) => ({ pubkey: v.groupPubkey, signed_blocks: [], signed_attestations: [{ source_epoch: '999', target_epoch: '1000' }] })),
      });
    const result = await runSimnet({
      nodes: 4,
      validators: 8,
      secondsPerSlot: 2,
      slots: SLOTS_PER_EPOCH,
      cluster,
      failBroadcastAt: (slot) => slot === 3,
      slashingImports: new Map([[1, interchange]]),
      print,
    });
    const node1 = result.events[0] ?? [];
    const node2 = result.events[1] ?? [];
    const duties = scheduled(node1);
    expect(duties.flatMap((d) => d.pubkeys)).toHaveLength(8);
    for (const { slot, pubkeys } of duties) {
      if (pubkeys.length === 0) continue;
      // node 1 broadcast every duty but slot 3's, which the BN refused
      expect(reasonsAt(node1, slot, pubkeys), `node 1 slot ${slot}`).toEqual(new Set([slot === 3 ? 'bn_broadcast_failed' : 'broadcast']));
      // node 2's guard refused every value: it served and signed nothing, and says why
      expect(reasonsAt(node2, slot, pubkeys), `node 2 slot ${slot}`).toEqual(new Set(['slashing_refused']));
      expect(node2.some((e) => e.type === 'ProposalRefused' && e.duty.slot === slot)).toBe(true);
    }
    // the cluster still attested every duty but slot 3's, with nodes 1, 3 and 4
    const accepted = new Set(result.beacon.accepted.map((a) => a.slot));
    for (const { slot, pubkeys } of duties) if (pubkeys.length > 0) expect(accepted.has(slot), `slot ${slot}`).toBe(slot !== 3);
  });

  it.skipIf(!LONG)('[long] VCs of nodes 1 and 2 silent → no_local_signature on those nodes, insufficient_partial_signatures on the others', async () => {
    const result = await runSimnet({ nodes: 4, validators: 8, secondsPerSlot: 2, slots: SLOTS_PER_EPOCH, silentVcs: [0, 1], print });
    expect(result.beacon.accepted).toEqual([]);
    const duties = scheduled(result.events[2] ?? []).filter((d) => d.pubkeys.length > 0);
    expect(duties.flatMap((d) => d.pubkeys)).toHaveLength(8);
    for (const { slot, pubkeys } of duties) {
      for (const index of [0, 1]) expect(reasonsAt(result.events[index] ?? [], slot, pubkeys), `node ${index + 1} slot ${slot}`).toEqual(new Set(['no_local_signature']));
      for (const index of [2, 3]) {
        expect(reasonsAt(result.events[index] ?? [], slot, pubkeys), `node ${index + 1} slot ${slot}`).toEqual(new Set(['insufficient_partial_signatures']));
      }
    }
  });
});
