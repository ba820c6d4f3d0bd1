export * from './beacon-api-spec.js';
export * from './check-exchange.js';
export * from './recording-proxy.js';
