import { describe, expect, it } from 'vitest';
import type { AttestationDataJson, AttesterDuty, Hex } from '#lib/contracts';
import { attributeAttestation, bitlistPositions, sameAttestationData } from './attestation-submission.js';
import { idToGroup, pubkeySwap, pubkeyToShare, responseToShareView } from './pubkey-swap.js';

const pk = (c: string): Hex => `0x${c.repeat(96)}`;
const swap = pubkeySwap([
  { groupPubkey: pk('a'), sharePubkey: pk('1') },
  { groupPubkey: pk('b'), sharePubkey: pk('2') },
]);

describe('pubkey swap', () => {
  it('shows the BN group pubkeys for the VC share pubkeys, and indices unchanged', () => {
    expect(idToGroup(swap, pk('1'))).toBe(pk('a'));
    expect(idToGroup(swap, pk('1').toUpperCase().replace('0X', '0x'))).toBe(pk('a'));
    expect(idToGroup(swap, '17')).toBe('17');
    expect(idToGroup(swap, pk('9'))).toBe(pk('9'));
  });

  it('shows the VC its share pubkeys in every pubkey field of a BN response', () => {
    const duties = {
      dependent_root: pk('f').slice(0, 66),
      data: [
        { pubkey: pk('a'), validator_index: '0', slot: '1' },
        { pubkey: pk('b'), validator_index: '1', slot: '2' },
      ],
    };
    expect(responseToShareView(swap, duties)).toEqual({
      dependent_root: duties.dependent_root,
      data: [
        { pubkey: pk('1'), validator_index: '0', slot: '1' },
        { pubkey: pk('2'), validator_index: '1', slot: '2' },
      ],
    });
    const validators = { data: [{ index: '0', validator: { pubkey: pk('a'), slashed: false } }] };
    expect(responseToShareView(swap, validators)).toEqual({ data: [{ index: '0', validator: { pubkey: pk('1'), slashed: false } }] });
    expect(pubkeyToShare(swap, pk('c'))).toBe(pk('c'));
  });
});

const data: AttestationDataJson = {
  slot: '9',
  index: '1',
  beacon_block_root: `0x${'11'.repeat(32)}`,
  source: { epoch: '0', root: `0x${'22'.repeat(32)}` },
  target: { epoch: '1', root: `0x${'33'.repeat(32)}` },
};
const duty = (validatorCommitteeIndex: number, committeeIndex = 1): AttesterDuty => ({
  pubkey: pk('a'),
  validatorIndex: 5,
  committeeIndex,
  committeeLength: 4,
  committeesAtSlot: 2,
  validatorCommitteeIndex,
  slot: 9,
});

describe('attestation attribution', () => {
  it('reads SSZ bitlist positions without the length bit', () => {
    expect(bitlistPositions('0x12')).toEqual([1]); // 0b0001_0010: length 4, bit 1 set
    expect(bitlistPositions('0x0001')).toEqual([]); // length 8, none set
    expect(bitlistPositions('0x00')).toBeUndefined(); // no length bit
    expect(bitlistPositions('zz')).toBeUndefined();
  });

  it('finds the validator by slot, committee and its single bit', () => {
    const result = attributeAttestation({ aggregation_bits: '0x12', data, signature: '0x00' }, [duty(0), duty(1)]);
    expect(result.ok && result.duty.validatorCommitteeIndex).toBe(1);
  });

  it('refuses attestations with no matching duty or several bits', () => {
    expect(attributeAttestation({ aggregation_bits: '0x18', data, signature: '0x00' }, [duty(0)])).toMatchObject({
      ok: false,
      reason: 'unknown_duty',
    });
    expect(attributeAttestation({ aggregation_bits: '0x13', data, signature: '0x00' }, [duty(0)])).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });

  it('compares attestation data field by field', () => {
    expect(sameAttestationData(data, { ...data })).toBe(true);
    expect(sameAttestationData(data, { ...data, target: { ...data.target, epoch: '2' } })).toBe(false);
  });
});
