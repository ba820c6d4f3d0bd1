export * from './beacon-mock.js';
export type { AcceptedAggregate } from './aggregation.js';
export type { AcceptedContribution } from './sync-contributions.js';
export type { AcceptedRegistration } from './registrations.js';
export {
  BEACON_MOCK_GENESIS_FORK_VERSION,
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
