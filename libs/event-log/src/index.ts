export * from './event-log.js';
export * from './peer-refusals.js';
