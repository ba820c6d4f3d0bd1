import { describe, expect, it } from 'vitest';
import { SERVICES, type AnyCohortEvent, type Hex } from '#lib/contracts';
import { runSimnet, type SlotReport } from './simnet.js';

/**
 * A network reset (Ephemery, DESIGN.md rule 7; issue 7): the beacon node comes back with another
 * genesis validators root and genesis time, the same validators. The nodes are not touched:
 * each service notices the new root, restarts on it and records `NetworkChanged`; the slashing
 * guard starts a fresh history for the new root and keeps the old one; the new chain's slots
 * reuse the old slot numbers, and nothing decided on the old chain reaches the new one.
 */
const SLOTS_PER_EPOCH = 8;
const print = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
const NEW_ROOT = `0x${'e5'.repeat(32)}` as Hex;

describe('simnet: a network reset under a running cluster', { timeout: 150_000 }, () => {
  it('every service switches without a hand on it; the DV attests on the new chain from its first epoch; both histories kept', async () => {
    const validators = 4;
    const result = await runSimnet({ nodes: 4, validators, secondsPerSlot: 2, slots: 10, reset: { genesisValidatorsRoot: NEW_ROOT, slots: SLOTS_PER_EPOCH }, print });
    const oldRoot = result.beaconMock.genesisValidatorsRoot;
    const after = result.afterReset;
    expect(after).toBeDefined();
    if (!after) return;
    expect(after.beaconMock.genesisValidatorsRoot).toBe(NEW_ROOT);
    expect(oldRoot).not.toBe(NEW_ROOT);

    // The old chain: every attestation of its 10 slots (epochs 0 and 1) accepted.
    const accepted = (slots: readonly SlotReport[]) => slots.map((r) => `${r.slot}: ${r.accepted}/${r.duties}`);
    const dutiesOfEpoch0 = (slots: readonly SlotReport[]) => slots.filter((r) => r.slot < SLOTS_PER_EPOCH).reduce((n, r) => n + r.duties, 0);
    expect(accepted(result.slots)).toEqual(result.slots.map((r) => `${r.slot}: ${r.duties}/${r.duties}`));
    expect(dutiesOfEpoch0(result.slots)).toBe(validators); // one attestation per validator and epoch
    // The new chain, verified under its own genesis validators root: every attestation of its
    // first epoch accepted, nothing refused, no double vote.
    expect(accepted(after.slots)).toEqual(after.slots.map((r) => `${r.slot}: ${r.duties}/${r.duties}`));
    expect(dutiesOfEpoch0(after.slots)).toBe(validators);
    expect(after.beaconMock.rejected).toEqual([]);
    expect(after.beaconMock.accepted.every((a) => a.conflictingDataRoots.length === 0)).toBe(true);

    for (const [node, events] of result.events.entries()) {
      // Each service recorded its switch, under the new network.
      const changed = events.filter((e): e is Extract<AnyCohortEvent, { type: 'NetworkChanged' }> => e.type === 'NetworkChanged');
      expect(changed.map((e) => e.producer.service).sort(), `node ${node}`).toEqual([...SERVICES].sort());
      for (const e of changed) {
        expect(e.data).toMatchObject({ from: oldRoot, to: NEW_ROOT, genesisTime: after.genesisTimeMs / 1000 });
        expect(e.network).toBe(NEW_ROOT);
      }
      // Slot numbers repeat across the reset; each network's decisions are its own: one per slot and network.
      const decided = events.filter((e) => e.type === 'DutyDecided' && e.duty.type === 'attester');
      expect(decided.every((e) => e.network === oldRoot || e.network === NEW_ROOT)).toBe(true);
      for (const root of [oldRoot, NEW_ROOT]) {
        const slots = decided.filter((e) => e.network === root).map((e) => e.duty.slot);
        expect(new Set(slots).size, `node ${node}: one decision per slot on ${root}`).toBe(slots.length);
      }
      expect(decided.filter((e) => e.network === NEW_ROOT).map((e) => e.duty.slot)).toEqual(expect.arrayContaining(after.slots.filter((r) => r.duties > 0).map((r) => r.slot)));

      // Two slashing histories: the old network's kept (exportable), the new one fresh.
      const histories = new Map((result.slashing[node] ?? []).map((h) => [h.metadata.genesis_validators_root, h]));
      expect([...histories.keys()].sort(), `node ${node}`).toEqual([oldRoot, NEW_ROOT].sort());
      const highestTarget = (root: Hex) => Math.max(...(histories.get(root)?.data ?? []).flatMap((v) => v.signed_attestations.map((a) => Number(a.target_epoch))));
      for (const root of [oldRoot, NEW_ROOT]) expect(histories.get(root)?.data.map((v) => v.signed_attestations.length).every((n) => n > 0), root).toBe(true);
      // the old chain reached epoch 1; the new one has run its epoch 0 only: nothing of the old chain leaked in
      expect([highestTarget(oldRoot), highestTarget(NEW_ROOT)]).toEqual([1, 0]);
    }
  });
});
