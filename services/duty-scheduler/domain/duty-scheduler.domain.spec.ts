import { describe, expect, it } from 'vitest';
import type { AttestationDataJson, AttesterDuty } from '#lib/contracts';
import { committeesOf, dutiesBySlot, proposerChanges, unsignedAttesterData } from './schedule.js';
import { attestationDueMs, epochOf, slotAt, slotStartMs, type SlotTiming } from '#lib/contracts';

const timing: SlotTiming = { genesisTimeMs: 1_000_000, secondsPerSlot: 3, slotsPerEpoch: 8 };
const duty = (slot: number, validatorIndex: number, committeeIndex: number): AttesterDuty => ({
  pubkey: '0xaa',
  validatorIndex,
  committeeIndex,
  committeeLength: 2,
  committeesAtSlot: 2,
  validatorCommitteeIndex: 0,
  slot,
});

describe('slot clock', () => {
  it('maps time to slots and back, attesting at one third of the slot', () => {
    expect(slotAt(timing, 999_000)).toBe(0);
    expect(slotAt(timing, 1_000_000 + 3_000 * 17 + 2_999)).toBe(17);
    expect(slotStartMs(timing, 17)).toBe(1_051_000);
    expect(attestationDueMs(timing, 17)).toBe(1_052_000);
    expect(epochOf(timing, 17)).toBe(2);
  });
});

describe('schedule', () => {
  it('groups duties by slot and lists the committees each slot needs', () => {
    const bySlot = dutiesBySlot([duty(9, 2, 1), duty(8, 1, 0), duty(9, 3, 0), duty(9, 4, 1)]);
    expect([...bySlot.keys()]).toEqual([8, 9]);
    expect(committeesOf(bySlot.get(9) ?? [])).toEqual([0, 1]);
  });

  it('refuses BN data for another slot or committee than asked', () => {
    const data = (slot: string, index: string): AttestationDataJson => ({
      slot,
      index,
      beacon_block_root: '0x01',
      source: { epoch: '0', root: '0x02' },
      target: { epoch: '1', root: '0x03' },
    });
    expect(unsignedAttesterData(9, [{ committeeIndex: 1, data: data('9', '1') }])).toEqual({
      ok: true,
      value: { type: 'attester', byCommittee: { '1': data('9', '1') } },
    });
    expect(unsignedAttesterData(9, [{ committeeIndex: 1, data: data('8', '1') }]).ok).toBe(false);
    expect(unsignedAttesterData(9, [{ committeeIndex: 1, data: data('9', '0') }]).ok).toBe(false);
  });
});

describe('proposer duties after a re-org', () => {
  const p = (slot: number, pubkey: `0x${string}`, validatorIndex: number) => ({ slot, pubkey, validatorIndex });
  it('lists the slots that became ours and the ones that are not ours any more; a proposer swap between two of ours is both', () => {
    const before = [p(33, '0xaa', 1), p(35, '0xbb', 2), p(38, '0xaa', 1)];
    const after = [p(33, '0xaa', 1), p(36, '0xcc', 3), p(38, '0xbb', 2)];
    expect(proposerChanges(before, after)).toEqual({ added: [p(36, '0xcc', 3), p(38, '0xbb', 2)], withdrawn: [p(35, '0xbb', 2), p(38, '0xaa', 1)] });
    expect(proposerChanges(before, before)).toEqual({ added: [], withdrawn: [] });
    expect(proposerChanges([], after)).toEqual({ added: after, withdrawn: [] });
  });
});
