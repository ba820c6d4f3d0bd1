export * from './value-validity.js';
export { decide, evolve, initialState } from './qbft.decider.js';
export { faultyOf, isJustifiedDecided, isJustifiedPrePrepare, isJustifiedRoundChange, leaderOf, qbftDefinition, quorumOf } from './qbft.justification.js';
export * from './qbft.types.js';
