export * from './aggregator.module.js';
export {
  decide as decideAggregation,
  evolve as evolveAggregation,
  failureReasonOf,
  initialAggregationState,
  type AggregationCommand,
  type AggregationDefinition,
  type AggregationEvent,
  type AggregationState,
} from '../domain/aggregation.decider.js';
