import { createHash } from 'node:crypto';
import { chainConfigToJson, specValuesToJson } from '@lodestar/config';
import { minimalChainConfig } from '@lodestar/config/configs';
import { minimalPreset } from '@lodestar/params/presets/minimal';
import { toHex, type Hex } from '#lib/contracts';
import type { AttestationDataJson } from '#lib/signing';

/**
 * The mock chain: a pure, deterministic function of its parameters. Block roots, committees and
 * attestation data are derived from the slot alone, so two mocks built with the same parameters
 * (one per DV node in a simnet) serve byte-identical data, and a test can predict every answer.
 */

/** `FAR_FUTURE_EPOCH` (phase0/beacon-chain.md#constants), as the Beacon API writes uint64. */
export const FAR_FUTURE_EPOCH = '18446744073709551615';

/** Forks after phase0 whose epoch the mock lets a test schedule. */
export type ScheduledFork = 'ALTAIR' | 'BELLATRIX' | 'CAPELLA' | 'DENEB' | 'ELECTRA' | 'FULU';

export interface ChainParams {
  readonly genesisTime: number;
  readonly genesisValidatorsRoot: Hex;
  readonly secondsPerSlot: number;
  readonly slotsPerEpoch: number;
  /** Epoch per scheduled fork; forks left out are at FAR_FUTURE_EPOCH. */
  readonly forkEpochs: Readonly<Partial<Record<ScheduledFork, number>>>;
  readonly validatorPubkeys: readonly Hex[];
}

/** A value that is never a real root: tests see at a glance the GVR is the mock's. */
export const DEFAULT_GENESIS_VALIDATORS_ROOT: Hex = `0x${'c0'.repeat(31)}01`;

const FORK_ORDER = ['ALTAIR', 'BELLATRIX', 'CAPELLA', 'DENEB', 'ELECTRA', 'FULU', 'GLOAS'] as const;

/**
 * Constants a VC reads from `/eth/v1/config/spec` besides config and preset values
 * (phase0/validator.md#misc, altair/validator.md#misc, phase0/beacon-chain.md#domain-types).
 */
const SPEC_CONSTANTS: Readonly<Record<string, string>> = {
  TARGET_AGGREGATORS_PER_COMMITTEE: '16',
  TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE: '16',
  SYNC_COMMITTEE_SUBNET_COUNT: '4',
  ATTESTATION_SUBNET_COUNT: '64',
  RANDOM_SUBNETS_PER_VALIDATOR: '1',
  EPOCHS_PER_RANDOM_SUBNET_SUBSCRIPTION: '256',
  BLS_WITHDRAWAL_PREFIX: '0x00',
  DOMAIN_BEACON_PROPOSER: '0x00000000',
  DOMAIN_BEACON_ATTESTER: '0x01000000',
  DOMAIN_RANDAO: '0x02000000',
  DOMAIN_DEPOSIT: '0x03000000',
  DOMAIN_VOLUNTARY_EXIT: '0x04000000',
  DOMAIN_SELECTION_PROOF: '0x05000000',
  DOMAIN_AGGREGATE_AND_PROOF: '0x06000000',
  DOMAIN_SYNC_COMMITTEE: '0x07000000',
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF: '0x08000000',
  DOMAIN_CONTRIBUTION_AND_PROOF: '0x09000000',
  DOMAIN_APPLICATION_BUILDER: '0x00000001',
};

/**
 * `/eth/v1/config/spec` data: uint64, versions and addresses as strings; a few Fulu-era entries
 * (BLOB_SCHEDULE) are lists of objects, as a real BN serves them.
 */
export type BeaconSpec = Readonly<Record<string, unknown>>;

/**
 * `/eth/v1/config/spec` data: Lodestar's minimal config and preset (so a stock VC finds every
 * key it checks), with the mock's timing and fork schedule written over them.
 */
/** The mock's GENESIS_FORK_VERSION (minimal config): what builder registrations are signed under. */
export const BEACON_MOCK_GENESIS_FORK_VERSION: Hex = toHex(minimalChainConfig.GENESIS_FORK_VERSION);

export function buildSpec(params: ChainParams): BeaconSpec {
  const spec: Record<string, unknown> = {
    ...specValuesToJson(minimalPreset as unknown as Parameters<typeof specValuesToJson>[0]),
    ...chainConfigToJson(minimalChainConfig),
    ...SPEC_CONSTANTS,
    CONFIG_NAME: 'cohort-beacon-mock',
    PRESET_BASE: 'minimal',
    SECONDS_PER_SLOT: String(params.secondsPerSlot),
    SLOT_DURATION_MS: String(params.secondsPerSlot * 1000),
    SLOTS_PER_EPOCH: String(params.slotsPerEpoch),
    MIN_GENESIS_TIME: String(params.genesisTime),
  };
  for (const fork of FORK_ORDER) {
    const epoch = (params.forkEpochs as Partial<Record<string, number>>)[fork];
    spec[`${fork}_FORK_EPOCH`] = epoch === undefined ? FAR_FUTURE_EPOCH : String(epoch);
  }
  return spec;
}

export interface ForkJson {
  readonly previous_version: Hex;
  readonly current_version: Hex;
  readonly epoch: string;
}

/** `/eth/v1/config/fork_schedule` data: every fork of the spec, ascending, far-future ones last. */
export function forkSchedule(spec: BeaconSpec): readonly ForkJson[] {
  const genesisVersion = spec['GENESIS_FORK_VERSION'] as Hex;
  const forks: ForkJson[] = [{ previous_version: genesisVersion, current_version: genesisVersion, epoch: '0' }];
  for (const name of FORK_ORDER) {
    const version = spec[`${name}_FORK_VERSION`] as Hex | undefined;
    const epoch = spec[`${name}_FORK_EPOCH`] as string | undefined;
    if (version === undefined || epoch === undefined) continue;
    forks.push({ previous_version: forks[forks.length - 1]!.current_version, current_version: version, epoch });
  }
  return forks;
}

/** The fork in force at `epoch`. */
export function forkAt(schedule: readonly ForkJson[], epoch: number): ForkJson {
  let current = schedule[0]!;
  for (const fork of schedule) {
    if (BigInt(fork.epoch) <= BigInt(epoch)) current = fork;
  }
  return current;
}

export const epochAtSlot = (slot: number, slotsPerEpoch: number): number => Math.floor(slot / slotsPerEpoch);
export const startSlotOfEpoch = (epoch: number, slotsPerEpoch: number): number => epoch * slotsPerEpoch;

/** Root of the (always present) block at `slot`: every slot of the mock chain has a block. */
export function blockRootAt(slot: number): Hex {
  const slotBytes = Buffer.alloc(8);
  slotBytes.writeBigUInt64LE(BigInt(Math.max(0, slot)));
  return toHex(createHash('sha256').update('cohort-beacon-mock/block').update(slotBytes).digest());
}

/**
 * `dependent_root` of attester duties for `epoch`: the block root at the last slot of epoch - 2,
 * genesis block on underflow (apis/validator/duties/attester.yaml).
 */
export function attesterDependentRoot(epoch: number, slotsPerEpoch: number): Hex {
  return blockRootAt(Math.max(0, startSlotOfEpoch(epoch - 1, slotsPerEpoch) - 1));
}

/**
 * Attestation data for a slot, phase0/altair shape (`index` = committee index). Source is the
 * previous epoch's checkpoint and target the slot's epoch checkpoint, so successive epochs never
 * look like a surround or a double vote to slashing protection.
 */
export function attestationDataAt(slot: number, committeeIndex: number, slotsPerEpoch: number): AttestationDataJson {
  const epoch = epochAtSlot(slot, slotsPerEpoch);
  const sourceEpoch = Math.max(0, epoch - 1);
  return {
    slot: String(slot),
    index: String(committeeIndex),
    beacon_block_root: blockRootAt(slot),
    source: { epoch: String(sourceEpoch), root: blockRootAt(startSlotOfEpoch(sourceEpoch, slotsPerEpoch)) },
    target: { epoch: String(epoch), root: blockRootAt(startSlotOfEpoch(epoch, slotsPerEpoch)) },
  };
}

/** One beacon committee: its place in the epoch and its members (validator indices, in order). */
export interface BeaconCommittee {
  readonly slot: number;
  readonly committeeIndex: number;
  readonly members: readonly number[];
}

export interface EpochCommittees {
  readonly epoch: number;
  readonly committeesPerSlot: number;
  /** Indexed by `(slot - startSlot) * committeesPerSlot + committeeIndex`. */
  readonly committees: readonly BeaconCommittee[];
}

const TARGET_COMMITTEE_SIZE = 4; // minimal preset
const MAX_COMMITTEES_PER_SLOT = 4; // minimal preset

/**
 * Committees of an epoch, shaped like the spec's `get_beacon_committee`: every validator sits in
 * exactly one committee per epoch; `get_committee_count_per_slot` decides committees per slot;
 * committee k takes the slice [n*k/count, n*(k+1)/count) of the epoch's permutation. The
 * permutation is a hash sort (not swap-or-not): deterministic per epoch, cheap, and enough to
 * move validators between slots from one epoch to the next.
 */
export function committeesAtEpoch(epoch: number, validatorCount: number, slotsPerEpoch: number): EpochCommittees {
  const committeesPerSlot = Math.max(
    1,
    Math.min(MAX_COMMITTEES_PER_SLOT, Math.floor(validatorCount / slotsPerEpoch / TARGET_COMMITTEE_SIZE)),
  );
  const epochBytes = Buffer.alloc(8);
  epochBytes.writeBigUInt64LE(BigInt(epoch));
  const order = Array.from({ length: validatorCount }, (_, index) => {
    const indexBytes = Buffer.alloc(8);
    indexBytes.writeBigUInt64LE(BigInt(index));
    const key = createHash('sha256').update(epochBytes).update(indexBytes).digest('hex');
    return { index, key };
  })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((entry) => entry.index);

  const count = committeesPerSlot * slotsPerEpoch;
  const startSlot = startSlotOfEpoch(epoch, slotsPerEpoch);
  const committees = Array.from({ length: count }, (_, k): BeaconCommittee => ({
    slot: startSlot + Math.floor(k / committeesPerSlot),
    committeeIndex: k % committeesPerSlot,
    members: order.slice(Math.floor((validatorCount * k) / count), Math.floor((validatorCount * (k + 1)) / count)),
  }));
  return { epoch, committeesPerSlot, committees };
}

/** The committee at (slot, committeeIndex), or undefined when the index is out of range. */
export function committeeAt(
  epochCommittees: EpochCommittees,
  slot: number,
  committeeIndex: number,
  slotsPerEpoch: number,
): BeaconCommittee | undefined {
  if (committeeIndex < 0 || committeeIndex >= epochCommittees.committeesPerSlot) return undefined;
  const offset = slot - startSlotOfEpoch(epochCommittees.epoch, slotsPerEpoch);
  if (offset < 0 || offset >= slotsPerEpoch) return undefined;
  return epochCommittees.committees[offset * epochCommittees.committeesPerSlot + committeeIndex];
}

/** `AttesterDuty` (types/duty.yaml), uint64 as decimal strings. */
export interface AttesterDutyJson {
  readonly pubkey: Hex;
  readonly validator_index: string;
  readonly committee_index: string;
  readonly committee_length: string;
  readonly committees_at_slot: string;
  readonly validator_committee_index: string;
  readonly slot: string;
}

/** Attester duties of the epoch for every validator, in validator index order. */
export function attesterDuties(epochCommittees: EpochCommittees, pubkeys: readonly Hex[]): readonly AttesterDutyJson[] {
  const duties: AttesterDutyJson[] = [];
  for (const committee of epochCommittees.committees) {
    committee.members.forEach((validatorIndex, position) => {
      duties.push({
        pubkey: pubkeys[validatorIndex]!,
        validator_index: String(validatorIndex),
        committee_index: String(committee.committeeIndex),
        committee_length: String(committee.members.length),
        committees_at_slot: String(epochCommittees.committeesPerSlot),
        validator_committee_index: String(position),
        slot: String(committee.slot),
      });
    });
  }
  return duties.sort((a, b) => Number(a.validator_index) - Number(b.validator_index));
}
