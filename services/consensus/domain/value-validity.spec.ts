import { describe, expect, it } from 'vitest';
import type { AttestationDataJson, AttesterDuty } from '#lib/contracts';
import { attesterValueMatchesDuty } from './value-validity.js';

const duty = (committeeIndex: number): AttesterDuty => ({
  pubkey: '0xaa',
  validatorIndex: committeeIndex,
  committeeIndex,
  committeeLength: 1,
  committeesAtSlot: 2,
  validatorCommitteeIndex: 0,
  slot: 5,
});
const data = (slot: number, index: number, source = 0, target = 0): AttestationDataJson => ({
  slot: String(slot),
  index: String(index),
  beacon_block_root: '0x01',
  source: { epoch: String(source), root: '0x02' },
  target: { epoch: String(target), root: '0x03' },
});

describe('attester value validity', () => {
  const duties = [duty(0), duty(1)];
  it('accepts data for exactly the scheduled committees of the slot', () => {
    expect(attesterValueMatchesDuty(5, duties, { type: 'attester', byCommittee: { '0': data(5, 0), '1': data(5, 1) } })).toEqual({
      ok: true,
    });
  });
  it('refuses a missing or extra committee, another slot, a mislabelled index, source after target', () => {
    expect(attesterValueMatchesDuty(5, duties, { type: 'attester', byCommittee: { '0': data(5, 0) } }).ok).toBe(false);
    expect(
      attesterValueMatchesDuty(5, duties, { type: 'attester', byCommittee: { '0': data(5, 0), '1': data(5, 1), '2': data(5, 2) } }).ok,
    ).toBe(false);
    expect(attesterValueMatchesDuty(5, duties, { type: 'attester', byCommittee: { '0': data(6, 0), '1': data(6, 1) } }).ok).toBe(false);
    expect(attesterValueMatchesDuty(5, duties, { type: 'attester', byCommittee: { '0': data(5, 1), '1': data(5, 1) } }).ok).toBe(false);
    expect(attesterValueMatchesDuty(5, duties, { type: 'attester', byCommittee: { '0': data(5, 0, 2, 1), '1': data(5, 1) } }).ok).toBe(
      false,
    );
  });
});
