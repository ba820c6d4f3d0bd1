import { describe, expect, it } from 'vitest';
import { explain, reasonOf } from '#lib/audit';
import { FAILURE_REASONS, type AnyCohortEvent, type Hex } from '#lib/contracts';
import { runSimnet, type SimnetResult } from './simnet.js';

/**
 * The whole cluster on loopback: 4 nodes × 6 services, a nats-server each, libp2p between
 * them, the beacon mock verifying every submission under the group key, VC mocks holding
 * the shares. Minimal preset: 8 slots per epoch, 2-second slots.
 */
const SLOTS_PER_EPOCH = 8;
const print = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

function acceptedPerValidatorAndEpoch(result: SimnetResult): Map<string, number> {
  const seen = new Map<string, number>();
  for (const a of result.beacon.accepted) {
    const key = `${a.pubkey}@${Math.floor(a.slot / SLOTS_PER_EPOCH)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return seen;
}

/** Duties scheduled for the slots the run covered (the scheduler also looks one epoch ahead). */
function scheduledPubkeys(events: readonly AnyCohortEvent[], slots: number): Map<number, readonly Hex[]> {
  return new Map(events.filter((e) => e.type === 'DutyScheduled' && e.duty.slot < slots).map((e) => [e.duty.slot, e.pubkeys]));
}

describe('simnet: attestations through a 4-node cluster (n = 4, t = 3)', { timeout: 120_000 }, () => {
  it('4 nodes × 8 validators × 2 epochs: every attestation accepted by the BN under the group key', async () => {
    const result = await runSimnet({ nodes: 4, validators: 8, secondsPerSlot: 2, slots: 2 * SLOTS_PER_EPOCH, print });
    const accepted = acceptedPerValidatorAndEpoch(result);
    const groupKeys = new Set([...scheduledPubkeys(result.events[0] ?? [], SLOTS_PER_EPOCH).values()].flat());
    expect(groupKeys.size).toBe(8);
    for (const pubkey of groupKeys) for (const epoch of [0, 1]) expect(accepted.get(`${pubkey}@${epoch}`), `${pubkey} epoch ${epoch}`).toBe(1);
    expect(result.beacon.rejected).toEqual([]);
    expect(result.beacon.accepted.every((a) => a.conflictingDataRoots.length === 0)).toBe(true);
    // Every node decided every duty, and no node recorded a failure.
    for (const events of result.events) {
      expect(events.filter((e) => e.type === 'DutyDecided' && e.duty.slot < 2 * SLOTS_PER_EPOCH)).toHaveLength(2 * SLOTS_PER_EPOCH);
      expect(events.filter((e) => e.type === 'DutyFailed' || e.type === 'ConsensusTimedOut')).toEqual([]);
    }
  });

  it('node 4 stopped: still every attestation accepted (round changes cover its leader slots)', async () => {
    const result = await runSimnet({ nodes: 4, validators: 8, secondsPerSlot: 2, slots: SLOTS_PER_EPOCH, stopped: [3], print });
    const accepted = acceptedPerValidatorAndEpoch(result);
    const scheduled = scheduledPubkeys(result.events[0] ?? [], SLOTS_PER_EPOCH);
    const pubkeys = [...scheduled.values()].flat();
    expect(pubkeys).toHaveLength(8);
    for (const pubkey of pubkeys) expect(accepted.get(`${pubkey}@0`), pubkey).toBe(1);
    expect(result.events[3]).toEqual([]);
    // The slots node 4 would have led needed a round change.
    expect(result.events[0]?.some((e) => e.type === 'RoundChanged')).toBe(true);
  });

  it("node 2's VC signs with a wrong key: every attestation still accepted, node 2 records each refusal with its reason", async () => {
    const result = await runSimnet({ nodes: 4, validators: 8, secondsPerSlot: 2, slots: SLOTS_PER_EPOCH, wrongVcKeys: [1], print });
    const accepted = acceptedPerValidatorAndEpoch(result);
    const scheduled = scheduledPubkeys(result.events[0] ?? [], SLOTS_PER_EPOCH);
    const pubkeys = [...scheduled.values()].flat();
    expect(pubkeys).toHaveLength(8);
    for (const pubkey of pubkeys) expect(accepted.get(`${pubkey}@0`), pubkey).toBe(1);
    expect(result.beacon.rejected).toEqual([]);
    // Node 2's gateway refused every share signature its VC submitted, and said why.
    const node2 = result.events[1] ?? [];
    const refused = node2.flatMap((e) =>
      e.type === 'PartialSignaturesRejected' && e.producer.service === 'signer-gateway' && e.duty.slot < SLOTS_PER_EPOCH ? e.data.rejections : [],
    );
    expect(new Set(refused.map((r) => r.pubkey))).toEqual(new Set(pubkeys));
    expect(new Set(refused.map((r) => r.reason))).toEqual(new Set(['invalid_signature']));
    expect(node2.some((e) => e.type === 'PartialSignatureSubmitted')).toBe(false);
  });

  it('nodes 3 and 4 stopped: nothing submitted, no crash, every missed duty has a failure event with a reason', async () => {
    const result = await runSimnet({ nodes: 4, validators: 8, secondsPerSlot: 2, slots: SLOTS_PER_EPOCH, stopped: [2, 3], print });
    expect(result.beacon.accepted).toEqual([]);
    for (const index of [0, 1]) {
      const events = result.events[index] ?? [];
      const scheduled = scheduledPubkeys(events, SLOTS_PER_EPOCH);
      expect([...scheduled.values()].flat()).toHaveLength(8);
      expect(events.some((e) => e.type === 'DutyDecided' || e.type === 'Broadcast')).toBe(false);
      for (const [slot, pubkeys] of scheduled) {
        const failures = events.filter((e) => e.type === 'DutyFailed' && e.duty.slot === slot);
        expect(new Set(failures.flatMap((e) => e.pubkeys)), `node ${index + 1} slot ${slot}`).toEqual(new Set(pubkeys));
        for (const failure of failures) {
          if (failure.type !== 'DutyFailed') continue;
          expect(Object.keys(FAILURE_REASONS)).toContain(failure.data.reason);
          expect(failure.data.reason).toBe('no_consensus');
        }
        expect(events.some((e) => e.type === 'ConsensusTimedOut' && e.duty.slot === slot)).toBe(true);
        // and `cohort explain` says so
        const explanation = explain(events, { slot, type: 'attester' });
        expect(new Set(pubkeys.map((pk) => reasonOf(explanation, pk)))).toEqual(new Set(['no_consensus']));
      }
    }
  });
});
