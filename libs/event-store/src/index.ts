export * from './event-store.js';
export * from './jetstream-event-store.js';
export * from './memory-event-store.js';
