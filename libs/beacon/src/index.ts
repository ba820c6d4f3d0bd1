export * from './beacon-client.js';
export * from './chain-context.js';
