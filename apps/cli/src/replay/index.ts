export * from './facts.js';
export * from './replay.engine.js';
export { replayAggregation, type AggregationInputs } from './aggregation.replay.js';
export { replaySlashing, slashingAttempts, type SlashingReplay } from './slashing.replay.js';
