import { createHash } from 'node:crypto';
import { ssz } from '@lodestar/types';
import { fromHex, type Hex } from '#lib/contracts';
import { forkAtEpoch, type ChainSigningContext } from './fork-schedule.js';
import { computeDomain, computeSigningRoot, domainAtEpoch, DomainType, genesisDomain } from './signing-root.js';
import { signingObjectRoot } from './signing-object.js';

/**
 * Signing roots of every object a validator signs besides attestations, each under the domain
 * its spec section names. Inputs are Beacon API JSON; the fork of a block is the fork in force
 * at its slot's epoch (the BN says it too, in `Eth-Consensus-Version`, which callers check).
 */

/** Lower-case fork names as the Beacon API writes them (`Eth-Consensus-Version`, `version`). */
export const BLOCK_FORKS = ['phase0', 'altair', 'bellatrix', 'capella', 'deneb', 'electra', 'fulu'] as const;
export type BlockFork = (typeof BLOCK_FORKS)[number];

export function isBlockFork(name: unknown): name is BlockFork {
  return typeof name === 'string' && (BLOCK_FORKS as readonly string[]).includes(name);
}

export const epochOfSlot = (ctx: ChainSigningContext, slot: number): number => Math.floor(slot / ctx.slotsPerEpoch);

/** The fork in force at `slot`, as a Beacon API fork name; throws for a fork this build does not know (gloas+). */
export function blockForkAtSlot(ctx: ChainSigningContext, slot: number): BlockFork {
  const name = forkAtEpoch(ctx, epochOfSlot(ctx, slot)).name.toLowerCase();
  if (!isBlockFork(name)) throw new Error(`fork ${name} at slot ${slot} is not supported by this build`);
  return name;
}

/** Blinded blocks exist from Bellatrix (builder API). */
export const forkHasBlindedBlocks = (fork: BlockFork): boolean => fork !== 'phase0' && fork !== 'altair';
/** From Deneb a full block travels as BlockContents (block, kzg_proofs, blobs). */
export const forkHasBlockContents = (fork: BlockFork): boolean => ['deneb', 'electra', 'fulu'].includes(fork);
/** From Electra an attestation names its committee in `committee_bits` and `data.index` is 0 (EIP-7549). */
export const forkIsElectraOrLater = (fork: BlockFork): boolean => fork === 'electra' || fork === 'fulu';

/** The two calls made on a per-fork block schema, which differ in value type only. */
interface SszJsonType {
  fromJson(json: unknown): unknown;
  hashTreeRoot(value: never): Uint8Array;
}

/** hash_tree_root of a (blinded) BeaconBlock given as Beacon API JSON; a blinded block has the same root as its full block. */
export function blockRoot(fork: BlockFork, blinded: boolean, blockJson: unknown): Uint8Array {
  if (blinded) {
    if (!forkHasBlindedBlocks(fork)) throw new Error(`no blinded blocks before bellatrix (fork ${fork})`);
    const type: SszJsonType = ssz[fork as Exclude<BlockFork, 'phase0' | 'altair'>].BlindedBeaconBlock;
    return type.hashTreeRoot(type.fromJson(blockJson) as never);
  }
  const type: SszJsonType = ssz[fork].BeaconBlock;
  return type.hashTreeRoot(type.fromJson(blockJson) as never);
}

/** Proposer signing root: DOMAIN_BEACON_PROPOSER at the block's epoch (phase0/validator.md#signature). */
export function blockSigningRoot(ctx: ChainSigningContext, fork: BlockFork, blinded: boolean, blockJson: { readonly slot: string }): Hex {
  const domain = domainAtEpoch(ctx, DomainType.BEACON_PROPOSER, epochOfSlot(ctx, Number(blockJson.slot)));
  return computeSigningRoot(blockRoot(fork, blinded, blockJson), domain);
}

/** RANDAO reveal signing root: the epoch under DOMAIN_RANDAO (phase0/validator.md#randao-reveal). */
export function randaoSigningRoot(ctx: ChainSigningContext, epoch: number): Hex {
  return computeSigningRoot(signingObjectRoot('Epoch', String(epoch)), domainAtEpoch(ctx, DomainType.RANDAO, epoch));
}

/** Sync committee message signing root: the block root under DOMAIN_SYNC_COMMITTEE at the slot's epoch (altair/validator.md#prepare-sync-committee-message). */
export function syncCommitteeMessageSigningRoot(ctx: ChainSigningContext, slot: number, beaconBlockRoot: Hex): Hex {
  return computeSigningRoot(fromHex(beaconBlockRoot), domainAtEpoch(ctx, DomainType.SYNC_COMMITTEE, epochOfSlot(ctx, slot)));
}

/** Aggregation selection proof signing root: the slot under DOMAIN_SELECTION_PROOF (phase0/validator.md#aggregation-selection). */
export function selectionProofSigningRoot(ctx: ChainSigningContext, slot: number): Hex {
  return computeSigningRoot(signingObjectRoot('Slot', String(slot)), domainAtEpoch(ctx, DomainType.SELECTION_PROOF, epochOfSlot(ctx, slot)));
}

/** Sync committee selection proof signing root: SyncAggregatorSelectionData under DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF (altair/validator.md#aggregation-selection). */
export function syncSelectionSigningRoot(ctx: ChainSigningContext, slot: number, subcommitteeIndex: number): Hex {
  return computeSigningRoot(
    signingObjectRoot('SyncAggregatorSelectionData', { slot: String(slot), subcommittee_index: String(subcommitteeIndex) }),
    domainAtEpoch(ctx, DomainType.SYNC_COMMITTEE_SELECTION_PROOF, epochOfSlot(ctx, slot)),
  );
}

/**
 * AggregateAndProof signing root under DOMAIN_AGGREGATE_AND_PROOF at the aggregate's epoch
 * (phase0/validator.md#aggregateandproof); from Electra the aggregate carries `committee_bits`
 * (EIP-7549), so the message has Electra's schema. Throws on a message that is not one.
 */
export function aggregateAndProofSigningRoot(ctx: ChainSigningContext, fork: BlockFork, message: { readonly aggregate: { readonly data: { readonly slot: string } } }): Hex {
  const type: SszJsonType = forkIsElectraOrLater(fork) ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof;
  const epoch = epochOfSlot(ctx, Number(message.aggregate.data.slot));
  return computeSigningRoot(type.hashTreeRoot(type.fromJson(message) as never), domainAtEpoch(ctx, DomainType.AGGREGATE_AND_PROOF, epoch));
}

/**
 * An aggregate Attestation of `fork` parsed from Beacon API JSON (throws when it is not one):
 * how many aggregation bits it has, how many are set, and from Electra the committees its
 * `committee_bits` name (EIP-7549).
 */
export function aggregateShape(fork: BlockFork, json: unknown): { readonly bitLength: number; readonly attesters: number; readonly committees?: readonly number[] } {
  if (forkIsElectraOrLater(fork)) {
    const attestation = ssz.electra.Attestation.fromJson(json);
    const bits = attestation.aggregationBits;
    return { bitLength: bits.bitLen, attesters: bits.getTrueBitIndexes().length, committees: attestation.committeeBits.getTrueBitIndexes() };
  }
  const bits = ssz.phase0.Attestation.fromJson(json).aggregationBits;
  return { bitLength: bits.bitLen, attesters: bits.getTrueBitIndexes().length };
}

/** A SyncCommitteeContribution parsed from Beacon API JSON (throws when it is not one): how many participants it aggregates. */
export function contributionParticipants(json: unknown): number {
  return ssz.altair.SyncCommitteeContribution.fromJson(json).aggregationBits.getTrueBitIndexes().length;
}

/** ContributionAndProof signing root under DOMAIN_CONTRIBUTION_AND_PROOF at the contribution's epoch (altair/validator.md#broadcast-sync-committee-contribution). */
export function contributionAndProofSigningRoot(ctx: ChainSigningContext, message: { readonly contribution: { readonly slot: string } }): Hex {
  const type: SszJsonType = ssz.altair.ContributionAndProof;
  const epoch = epochOfSlot(ctx, Number(message.contribution.slot));
  return computeSigningRoot(type.hashTreeRoot(type.fromJson(message) as never), domainAtEpoch(ctx, DomainType.CONTRIBUTION_AND_PROOF, epoch));
}

/** phase0/validator.md#aggregation-selection and altair/validator.md constants (not presets). */
const TARGET_AGGREGATORS_PER_COMMITTEE = 16;
const TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE = 16;
export const SYNC_COMMITTEE_SUBNET_COUNT = 4;

/** `bytes_to_uint64(hash(signature)[0:8]) % modulo == 0`, the selection rule both aggregations share. */
function selectedBy(selectionProof: Hex, modulo: number): boolean {
  const digest = createHash('sha256').update(fromHex(selectionProof)).digest();
  return digest.readBigUInt64LE(0) % BigInt(modulo) === 0n;
}

/** `is_aggregator` (phase0/validator.md#aggregation-selection): the combined selection proof decides, never a share of it. */
export function isAggregator(committeeLength: number, selectionProof: Hex): boolean {
  return selectedBy(selectionProof, Math.max(1, Math.floor(committeeLength / TARGET_AGGREGATORS_PER_COMMITTEE)));
}

/** `is_sync_committee_aggregator` (altair/validator.md#aggregation-selection); SYNC_COMMITTEE_SIZE is the network's preset. */
export function isSyncCommitteeAggregator(syncCommitteeSize: number, selectionProof: Hex): boolean {
  const modulo = Math.floor(Math.floor(syncCommitteeSize / SYNC_COMMITTEE_SUBNET_COUNT) / TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE);
  return selectedBy(selectionProof, Math.max(1, modulo));
}

/** The subcommittee (subnet) of a seat in the sync committee. */
export const syncSubcommitteeOf = (syncCommitteeSize: number, seat: number): number => Math.floor(seat / Math.floor(syncCommitteeSize / SYNC_COMMITTEE_SUBNET_COUNT));

/**
 * Voluntary exit signing root. From Deneb the domain is pinned to the Capella fork version
 * (EIP-7044), so an exit signed once stays valid across later forks.
 */
export function voluntaryExitSigningRoot(ctx: ChainSigningContext, exit: { readonly epoch: string; readonly validator_index: string }): Hex {
  const epoch = Number(exit.epoch);
  const fork = forkAtEpoch(ctx, epoch);
  const capella = ctx.forks.find((f) => f.name === 'CAPELLA');
  const pinned = capella && ['DENEB', 'ELECTRA', 'FULU', 'GLOAS'].includes(fork.name) ? capella.version : fork.version;
  const domain = computeDomain(DomainType.VOLUNTARY_EXIT, pinned, ctx.genesisValidatorsRoot);
  return computeSigningRoot(signingObjectRoot('VoluntaryExit', exit), domain);
}

/** Builder registration signing root: DOMAIN_APPLICATION_BUILDER over the genesis fork version and a zero root (builder-specs). */
export function builderRegistrationSigningRoot(
  genesisForkVersion: Hex,
  registration: { readonly fee_recipient: Hex; readonly gas_limit: string; readonly timestamp: string; readonly pubkey: Hex },
): Hex {
  return computeSigningRoot(
    signingObjectRoot('ValidatorRegistrationV1', registration),
    genesisDomain(DomainType.APPLICATION_BUILDER, genesisForkVersion),
  );
}
