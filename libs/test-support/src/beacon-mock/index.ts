export * from './beacon-mock.js';
export type { AcceptedAggregate } from './aggregation.js';
export type { AcceptedContribution } from './sync-contributions.js';
export {
  DEFAULT_GENESIS_VALIDATORS_ROOT,
  attestationDataAt,
  blockRootAt,
  committeesAtEpoch,
  type AttesterDutyJson,
  type BeaconSpec,
  type BeaconCommittee,
  type EpochCommittees,
  type ScheduledFork,
} from './chain.js';
