import { describe, expect, it } from 'vitest';
import type { AttestationDataJson, AttesterDuty, ProposerDuty, ProposerUnsignedData, UnsignedDataSet } from '#lib/contracts';
import { attesterValueMatchesDuty, proposerValueMatchesDuty } from './value-validity.js';

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

describe('attester value validity from Electra (EIP-7549)', () => {
  const duties = [duty(0), duty(1)];
  it('wants data.index 0 for every committee, and refuses the committee index in the data', () => {
    expect(attesterValueMatchesDuty(5, duties, { type: 'attester', byCommittee: { '0': data(5, 0), '1': data(5, 0) } }, false)).toEqual({ ok: true });
    expect(attesterValueMatchesDuty(5, duties, { type: 'attester', byCommittee: { '0': data(5, 0), '1': data(5, 1) } }, false).ok).toBe(false);
  });
});

describe('proposer value validity', () => {
  const proposer: ProposerDuty = { pubkey: '0xaa', validatorIndex: 9, slot: 12 };
  const reveal = `0x${'ab'.repeat(96)}`;
  const value = (over: Partial<ProposerUnsignedData> = {}, block: Record<string, unknown> = {}): ProposerUnsignedData => ({
    type: 'proposer',
    fork: 'capella',
    blinded: false,
    block: { slot: '12', proposer_index: '9', parent_root: '0x00', state_root: '0x00', body: { randao_reveal: reveal }, ...block },
    executionPayloadValue: '0',
    consensusBlockValue: '0',
    ...over,
  });
  const expected = { fork: 'capella', blindedAllowed: true, randaoRevealValid: (r: string) => r === reveal };
  it('accepts the scheduled proposer\'s block of the slot and fork, with its RANDAO reveal', () => {
    expect(proposerValueMatchesDuty(12, [proposer], value(), expected)).toEqual({ ok: true });
    expect(proposerValueMatchesDuty(12, [proposer], value({ blinded: true }), expected)).toEqual({ ok: true });
  });
  it('refuses another slot, another proposer, another fork, a blinded block before Bellatrix, another RANDAO reveal, an attester value', () => {
    const refused = (v: UnsignedDataSet, e = expected) => {
      const verdict = proposerValueMatchesDuty(12, [proposer], v, e);
      return verdict.ok ? 'ok' : verdict.detail;
    };
    expect(refused(value({}, { slot: '13' }))).toMatch(/slot 13/);
    expect(refused(value({}, { proposer_index: '8' }))).toMatch(/not the scheduled proposer/);
    expect(refused(value({ fork: 'deneb' }))).toMatch(/fork deneb/);
    expect(refused(value({ fork: 'altair', blinded: true }), { ...expected, fork: 'altair', blindedAllowed: false })).toMatch(/no blinded blocks/);
    expect(refused(value({}, { body: { randao_reveal: `0x${'cd'.repeat(96)}` } }))).toMatch(/RANDAO/);
    expect(refused(value({}, { body: {} }))).toMatch(/RANDAO/);
    expect(refused({ type: 'attester', byCommittee: {} })).toMatch(/attester/);
  });
});
