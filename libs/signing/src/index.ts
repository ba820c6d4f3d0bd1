export * from './fork-schedule.js';
export * from './signing-root.js';
