export * from './event-store.js';
export * from './jetstream-event-store.js';
export * from './memory-event-store.js';
export * from './snapshot-store.js';
export * from './jetstream-snapshot-store.js';
