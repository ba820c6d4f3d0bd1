export * from './nats-server.js';
export * from './beacon-mock/index.js';
export * from './vc-mock/index.js';
export * from './wait.js';
export * from './link-proxy.js';
export * from './recorded-event.js';
export * from './openapi/index.js';
