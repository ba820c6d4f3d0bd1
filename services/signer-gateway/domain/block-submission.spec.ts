import { describe, expect, it } from 'vitest';
import type { AttestationDataJson, AttesterDuty, ProposerUnsignedData } from '#lib/contracts';
import { attributeSingleAttestation } from './attestation-submission.js';
import { parseSignedBlock, parseSignedVoluntaryExit, parseSyncCommitteeMessage, produceBlockV3Response } from './block-submission.js';

const sig = `0x${'ab'.repeat(96)}`;
const block = { slot: '12', proposer_index: '9', parent_root: '0x00', state_root: '0x00', body: {} };

describe('signed blocks from the VC', () => {
  it('reads {message, signature} and SignedBlockContents alike', () => {
    expect(parseSignedBlock({ message: block, signature: sig })).toEqual({ ok: true, slot: 12, message: block, signature: sig });
    expect(parseSignedBlock({ signed_block: { message: block, signature: sig.toUpperCase().replace('0X', '0x') }, kzg_proofs: [], blobs: [] })).toEqual({
      ok: true,
      slot: 12,
      message: block,
      signature: sig,
    });
  });
  it('refuses what is not a signed block, naming it malformed', () => {
    for (const bad of [null, 'x', {}, { message: block }, { message: block, signature: '0x12' }, { message: { ...block, slot: 'x' }, signature: sig }]) {
      expect(parseSignedBlock(bad)).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });
});

describe('produceBlockV3 answer of a decided block', () => {
  const value = (blinded: boolean): ProposerUnsignedData => ({
    type: 'proposer',
    fork: 'deneb',
    blinded,
    block,
    kzgProofs: ['0x01'],
    blobs: ['0x02'],
    executionPayloadValue: '5',
    consensusBlockValue: '6',
  });
  it('serves BlockContents for a full Deneb block, the bare block when blinded, with the version headers', () => {
    const full = produceBlockV3Response(value(false), true);
    expect(full.body).toEqual({
      version: 'deneb',
      execution_payload_blinded: false,
      execution_payload_value: '5',
      consensus_block_value: '6',
      data: { block, kzg_proofs: ['0x01'], blobs: ['0x02'] },
    });
    expect(full.headers).toMatchObject({ 'eth-consensus-version': 'deneb', 'eth-execution-payload-blinded': 'false' });
    expect((produceBlockV3Response(value(true), true).body as { data: unknown }).data).toBe(block);
    expect((produceBlockV3Response({ ...value(false), fork: 'capella' }, false).body as { data: unknown }).data).toBe(block);
  });
});

describe('sync committee messages from the VC', () => {
  const root = `0x${'cd'.repeat(32)}`;
  it('reads a message and refuses a malformed one', () => {
    expect(parseSyncCommitteeMessage({ slot: '3', beacon_block_root: root, validator_index: '4', signature: sig })).toEqual({
      ok: true,
      slot: 3,
      validatorIndex: 4,
      beaconBlockRoot: root,
      signature: sig,
    });
    for (const bad of [null, {}, { slot: 3, beacon_block_root: root, validator_index: '4', signature: sig }, { slot: '3', beacon_block_root: '0x12', validator_index: '4', signature: sig }]) {
      expect(parseSyncCommitteeMessage(bad)).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });
});

describe('Electra SingleAttestation attribution', () => {
  const duty: AttesterDuty = { pubkey: '0xaa', validatorIndex: 7, committeeIndex: 2, committeeLength: 4, committeesAtSlot: 3, validatorCommitteeIndex: 1, slot: 5 };
  const data: AttestationDataJson = { slot: '5', index: '0', beacon_block_root: '0x01', source: { epoch: '0', root: '0x02' }, target: { epoch: '0', root: '0x03' } };
  it('finds the duty by slot, committee and attester index', () => {
    expect(attributeSingleAttestation({ committee_index: '2', attester_index: '7', data, signature: sig as `0x${string}` }, [duty])).toMatchObject({ ok: true, duty });
  });
  it('refuses another committee or attester as unknown_duty, garbage as malformed', () => {
    expect(attributeSingleAttestation({ committee_index: '1', attester_index: '7', data, signature: sig as `0x${string}` }, [duty])).toMatchObject({ ok: false, reason: 'unknown_duty' });
    expect(attributeSingleAttestation({ committee_index: '2', attester_index: '8', data, signature: sig as `0x${string}` }, [duty])).toMatchObject({ ok: false, reason: 'unknown_duty' });
    expect(attributeSingleAttestation({ committee_index: 'x', attester_index: '7', data, signature: sig as `0x${string}` }, [duty])).toMatchObject({ ok: false, reason: 'malformed' });
  });
});

describe('voluntary exits from the VC', () => {
  it('reads a SignedVoluntaryExit and refuses a malformed one', () => {
    expect(parseSignedVoluntaryExit({ message: { epoch: '2', validator_index: '7' }, signature: sig })).toEqual({ ok: true, epoch: 2, validatorIndex: 7, signature: sig });
    for (const bad of [null, {}, { message: { epoch: 2, validator_index: '7' }, signature: sig }, { message: { epoch: '2', validator_index: '-1' }, signature: sig }, { message: { epoch: '2', validator_index: '7' }, signature: '0x12' }]) {
      expect(parseSignedVoluntaryExit(bad)).toMatchObject({ ok: false });
    }
  });
});
