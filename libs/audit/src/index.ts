export * from './event-source.js';
export * from './event-types.js';
export * from './explain.js';
export * from './export.js';
export * from './file-source.js';
export * from './format.js';
export * from './jetstream-source.js';
export * from './query.js';
