export * from './nest.js';
export * from './runtime.js';
