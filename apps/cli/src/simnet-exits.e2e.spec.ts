import { describe, expect, it } from 'vitest';
import { BLOCK_FORKS } from '#lib/signing';
import type { VcMock } from '#lib/test-support';
import { runSimnet, type SimnetResult } from './simnet.js';

/**
 * Voluntary exits on every fork: a 4-node cluster (attestations only, to keep it light) walks
 * the fork schedule phase0 → fulu, one 2-slot epoch per fork, and every operator runs its VC's
 * exit command for validator k in epoch k. Each exit is signed under the domain of its fork
 * (before Deneb) or Capella's (EIP-7044, from Deneb); the beacon mock accepts it only if it
 * verifies under the group key.
 */
const SPE = 2;
const FORK_EPOCHS = { ALTAIR: 1, BELLATRIX: 2, CAPELLA: 3, DENEB: 4, ELECTRA: 5, FULU: 6 } as const;
const VALIDATORS = BLOCK_FORKS.length;
const SLOTS = BLOCK_FORKS.length * SPE;
const print = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

describe('simnet: voluntary exits on every fork (n = 4, t = 3)', { timeout: 120_000 }, () => {
  let result: SimnetResult;

  it('runs the fork schedule phase0 → fulu, one exit per fork', async () => {
    result = await runSimnet({
      nodes: 4,
      validators: VALIDATORS,
      secondsPerSlot: 2,
      slots: SLOTS,
      print,
      beaconOptions: { slotsPerEpoch: SPE, forkEpochs: FORK_EPOCHS },
      actions: BLOCK_FORKS.map((fork, epoch) => ({
        atSlot: epoch * SPE,
        offsetMs: 1000,
        label: `every operator exits validator ${epoch + 1} at epoch ${epoch} (${fork})`,
        run: async ({ vcs }: { vcs: readonly (VcMock | undefined)[] }) => {
          await Promise.all(vcs.map((vc) => vc?.submitVoluntaryExit(vc.pubkeys[epoch] as `0x${string}`, epoch)));
        },
      })),
    });
    expect(result.slots).toHaveLength(SLOTS);
  });

  for (const [epoch, fork] of BLOCK_FORKS.entries()) {
    it(`${fork}: the exit of validator ${epoch + 1} lands once, signed under the group key`, () => {
      const landed = result.beaconMock.acceptedExits.filter((e) => e.validatorIndex === epoch);
      expect(landed.map((e) => e.epoch)).toEqual([epoch]);
      // Every node combined the exit from the VCs' shares and broadcast it; none failed.
      for (const [node, events] of result.events.entries()) {
        const exit = events.filter((e) => e.duty.type === 'exit' && e.duty.slot === epoch * SPE);
        expect(exit.some((e) => e.type === 'SignaturesAggregated'), `node ${node + 1} combined`).toBe(true);
        expect(exit.some((e) => e.type === 'Broadcast'), `node ${node + 1} broadcast`).toBe(true);
        expect(exit.filter((e) => e.type === 'DutyFailed'), `node ${node + 1}`).toEqual([]);
      }
    });
  }

  it('nothing refused: no exit, attestation or share', () => {
    expect(result.beaconMock.rejected).toEqual([]);
    expect(result.beaconMock.acceptedExits).toHaveLength(VALIDATORS);
    for (const events of result.events) expect(events.filter((e) => e.type === 'PartialSignaturesRejected')).toEqual([]);
  });
});
