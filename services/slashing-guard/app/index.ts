export * from './slashing-guard.module.js';
export { answerSlashingCheck, type SlashingCheckRequest, type SlashingCheckResponse } from './slashing-guard.consumer.js';
export * from './slashing-history.repository.js';
export * from './interchange.js';
export { toInterchange, type Interchange, type InterchangeRecords } from '../domain/interchange.js';
export type { AttestationAttempt, AttestationVerdict, BlockAttempt, BlockVerdict, SlashingState } from '../domain/slashing.decider.js';
export {
  decide as decideSlashing,
  evolveAll as evolveSlashing,
  emptySlashingState,
  type SlashingCommand,
  type SlashingEvent,
} from '../domain/slashing.decider.js';
