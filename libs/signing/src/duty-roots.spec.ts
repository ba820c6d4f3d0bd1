import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ssz } from '@lodestar/types';
import { describe, expect, it } from 'vitest';
import { toHex, type Hex } from '#lib/contracts';
import {
  blockForkAtSlot,
  blockRoot,
  blockSigningRoot,
  builderRegistrationSigningRoot,
  BLOCK_FORKS,
  computeDomain,
  computeSigningRoot,
  DomainType,
  forkHasBlindedBlocks,
  randaoSigningRoot,
  selectionProofSigningRoot,
  syncCommitteeMessageSigningRoot,
  voluntaryExitSigningRoot,
  aggregateAndProofSigningRoot,
  contributionAndProofSigningRoot,
  isAggregator,
  isSyncCommitteeAggregator,
  syncSelectionSigningRoot,
  syncSubcommitteeOf,
  type ChainSigningContext,
} from './index.js';

/** shared/vectors/signing_roots (Web3Signer acceptance roots): each duty's root function against an independent computation. */
const { cases } = JSON.parse(
  readFileSync(new URL('../../../../shared/vectors/signing_roots/web3signer_style_signing_roots.json', import.meta.url), 'utf8'),
) as { cases: { name: string; value: unknown; fork_version: Hex; genesis_validators_root: Hex; expected_signing_root: Hex }[] };
const vector = (name: string) => {
  const found = cases.find((c) => c.name === name);
  if (!found) throw new Error(`vector ${name} missing`);
  return found;
};
/** A chain that has been on the vector's fork version since genesis, with 32-slot epochs. */
const chainOf = (c: { fork_version: Hex; genesis_validators_root: Hex }): ChainSigningContext => ({
  genesisValidatorsRoot: c.genesis_validators_root,
  genesisForkVersion: c.fork_version,
  forks: [{ name: 'PHASE0', epoch: 0, version: c.fork_version }],
  slotsPerEpoch: 32,
});

describe('signing roots per duty (web3signer vectors)', () => {
  it('RANDAO reveal of epoch 3', () => {
    const c = vector('randao_reveal_epoch_3');
    expect(randaoSigningRoot(chainOf(c), 3)).toBe(c.expected_signing_root);
  });
  it('aggregation selection proof of slot 119', () => {
    const c = vector('aggregation_slot_119');
    expect(selectionProofSigningRoot(chainOf(c), 119)).toBe(c.expected_signing_root);
  });
  it('sync committee message over a block root', () => {
    const c = vector('sync_committee_message');
    expect(syncCommitteeMessageSigningRoot(chainOf(c), 0, c.value as Hex)).toBe(c.expected_signing_root);
  });
  it('voluntary exit (pre-Deneb: the fork of its epoch)', () => {
    const c = vector('voluntary_exit');
    expect(voluntaryExitSigningRoot(chainOf(c), c.value as { epoch: string; validator_index: string })).toBe(c.expected_signing_root);
  });
  it('sync committee selection proof (SyncAggregatorSelectionData)', () => {
    const c = vector('sync_aggregator_selection_data');
    const { slot, subcommittee_index } = c.value as { slot: string; subcommittee_index: string };
    expect(syncSelectionSigningRoot(chainOf(c), Number(slot), Number(subcommittee_index))).toBe(c.expected_signing_root);
  });
  it('builder registration (genesis fork version, zero root), with uint64 values above 2^53', () => {
    const c = vector('validator_registration');
    const registration = c.value as { fee_recipient: Hex; gas_limit: string; timestamp: string; pubkey: Hex };
    expect(builderRegistrationSigningRoot(chainOf(c).genesisForkVersion, registration)).toBe(c.expected_signing_root);
  });
});

describe('EIP-7044: exits from Deneb are signed under the Capella fork version', () => {
  const ctx: ChainSigningContext = {
    genesisValidatorsRoot: `0x${'11'.repeat(32)}`,
    genesisForkVersion: '0x00000001',
    forks: [
      { name: 'PHASE0', epoch: 0, version: '0x00000001' },
      { name: 'CAPELLA', epoch: 2, version: '0x03000001' },
      { name: 'DENEB', epoch: 4, version: '0x04000001' },
    ],
    slotsPerEpoch: 8,
  };
  const exit = (epoch: number) => ({ epoch: String(epoch), validator_index: '5' });
  const rootUnder = (version: Hex, epoch: number) =>
    computeSigningRoot(ssz.phase0.VoluntaryExit.hashTreeRoot({ epoch, validatorIndex: 5 }), computeDomain(DomainType.VOLUNTARY_EXIT, version, ctx.genesisValidatorsRoot));
  it('uses the fork of the epoch before Deneb, Capella from Deneb', () => {
    expect(voluntaryExitSigningRoot(ctx, exit(1))).toBe(rootUnder('0x00000001', 1));
    expect(voluntaryExitSigningRoot(ctx, exit(3))).toBe(rootUnder('0x03000001', 3));
    expect(voluntaryExitSigningRoot(ctx, exit(5))).toBe(rootUnder('0x03000001', 5));
  });
});

describe('block signing roots on every fork', () => {
  const forks = BLOCK_FORKS.map((name, i) => ({ name: name.toUpperCase(), epoch: i, version: toHex(new Uint8Array([i, 0, 0, 1])) }));
  const ctx: ChainSigningContext = { genesisValidatorsRoot: `0x${'22'.repeat(32)}`, genesisForkVersion: forks[0]!.version, forks, slotsPerEpoch: 8 };
  for (const [i, fork] of BLOCK_FORKS.entries()) {
    it(`${fork}: the root of the block under DOMAIN_BEACON_PROPOSER of its epoch; blinded has the full block's root`, () => {
      const slot = i * 8 + 3;
      expect(blockForkAtSlot(ctx, slot)).toBe(fork);
      const block = { ...ssz[fork].BeaconBlock.defaultValue(), slot, proposerIndex: 7 };
      const json = ssz[fork].BeaconBlock.toJson(block as never) as { slot: string };
      const expected = computeSigningRoot(
        ssz[fork].BeaconBlock.hashTreeRoot(block as never),
        computeDomain(DomainType.BEACON_PROPOSER, forks[i]!.version, ctx.genesisValidatorsRoot),
      );
      expect(blockSigningRoot(ctx, fork, false, json)).toBe(expected);
      if (!forkHasBlindedBlocks(fork)) {
        expect(() => blockRoot(fork, true, json)).toThrow(/no blinded blocks/);
        return;
      }
      const f = fork as Exclude<typeof fork, 'phase0' | 'altair'>;
      const blinded = ssz[f].BlindedBeaconBlock.toJson(ssz[f].BlindedBeaconBlock.defaultValue() as never) as Record<string, unknown>;
      const blindedJson = { ...blinded, slot: String(slot), proposer_index: '7' };
      // A blinded block commits to the payload header's root where the full block has the payload: same tree, same root.
      const full = ssz[f].BeaconBlock.defaultValue() as { body: { executionPayload: unknown } };
      const header = ssz[f].BlindedBeaconBlock.fromJson(blindedJson) as { body: { executionPayloadHeader: unknown } };
      const payloadRoot = toHex(ssz[f].ExecutionPayload.hashTreeRoot(full.body.executionPayload as never));
      const headerRoot = toHex(ssz[f].ExecutionPayloadHeader.hashTreeRoot(header.body.executionPayloadHeader as never));
      expect(headerRoot === payloadRoot).toBe(blockRoot(fork, true, blindedJson).every((b, k) => b === blockRoot(fork, false, json)[k]));
    });
  }
});

describe('aggregation: AggregateAndProof and ContributionAndProof roots, aggregator selection', () => {
  const ctx: ChainSigningContext = {
    genesisValidatorsRoot: `0x${'33'.repeat(32)}`,
    genesisForkVersion: '0x00000001',
    forks: [
      { name: 'PHASE0', epoch: 0, version: '0x00000001' },
      { name: 'ELECTRA', epoch: 2, version: '0x05000001' },
    ],
    slotsPerEpoch: 8,
  };
  const underDomain = (root: Uint8Array, type: Hex, version: Hex) => computeSigningRoot(root, computeDomain(type, version, ctx.genesisValidatorsRoot));

  it('an AggregateAndProof is the phase0 container before Electra and the Electra one (committee_bits) after', () => {
    const phase0 = { ...ssz.phase0.AggregateAndProof.defaultValue(), aggregatorIndex: 3 };
    phase0.aggregate.data.slot = 9;
    const json = ssz.phase0.AggregateAndProof.toJson(phase0) as { aggregate: { data: { slot: string } } };
    expect(aggregateAndProofSigningRoot(ctx, 'phase0', json)).toBe(underDomain(ssz.phase0.AggregateAndProof.hashTreeRoot(phase0), DomainType.AGGREGATE_AND_PROOF, '0x00000001'));
    const electra = { ...ssz.electra.AggregateAndProof.defaultValue(), aggregatorIndex: 3 };
    electra.aggregate.data.slot = 17;
    const electraJson = ssz.electra.AggregateAndProof.toJson(electra) as { aggregate: { data: { slot: string } } };
    expect(aggregateAndProofSigningRoot(ctx, 'electra', electraJson)).toBe(underDomain(ssz.electra.AggregateAndProof.hashTreeRoot(electra), DomainType.AGGREGATE_AND_PROOF, '0x05000001'));
    expect(() => aggregateAndProofSigningRoot(ctx, 'electra', json)).toThrow();
  });

  it('a ContributionAndProof is signed under DOMAIN_CONTRIBUTION_AND_PROOF of its epoch', () => {
    const message = { ...ssz.altair.ContributionAndProof.defaultValue(), aggregatorIndex: 5 };
    message.contribution.slot = 20;
    const json = ssz.altair.ContributionAndProof.toJson(message) as { contribution: { slot: string } };
    expect(contributionAndProofSigningRoot(ctx, json)).toBe(underDomain(ssz.altair.ContributionAndProof.hashTreeRoot(message), DomainType.CONTRIBUTION_AND_PROOF, '0x05000001'));
  });

  it('selection follows the low 8 bytes (little-endian) of sha256(proof) modulo the committee share', () => {
    // Proofs whose digests fall on either side of the modulo, found by trying: the rule is checked, not the sample.
    const digestMod = (proof: Hex, m: number) => createHash('sha256').update(Buffer.from(proof.slice(2), 'hex')).digest().readBigUInt64LE(0) % BigInt(m);
    const proofs = Array.from({ length: 64 }, (_, i) => toHex(new Uint8Array(96).fill(i)));
    for (const proof of proofs) {
      expect(isAggregator(15, proof)).toBe(true); // fewer than 16 members: every member aggregates
      expect(isAggregator(128, proof)).toBe(digestMod(proof, 8) === 0n);
      expect(isSyncCommitteeAggregator(32, proof)).toBe(true); // minimal preset: 32 / 4 / 16 = 0 -> 1
      expect(isSyncCommitteeAggregator(512, proof)).toBe(digestMod(proof, 8) === 0n);
    }
    expect(proofs.filter((p) => isAggregator(128, p)).length).toBeGreaterThan(0);
    expect(proofs.filter((p) => !isAggregator(128, p)).length).toBeGreaterThan(0);
    expect([0, 7, 8, 31].map((seat) => syncSubcommitteeOf(32, seat))).toEqual([0, 0, 1, 3]);
  });
});
