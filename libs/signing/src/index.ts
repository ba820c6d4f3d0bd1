export * from './fork-schedule.js';
export * from './signing-root.js';
export type { AttestationDataJson } from '#lib/contracts';
export * from './value-hash.js';
export * from './signing-object.js';
export * from './duty-signing.js';
export * from './duty-roots.js';
