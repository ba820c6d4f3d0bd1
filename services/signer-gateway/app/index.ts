export * from './signer-gateway.module.js';
export * from './gateway.server.js';
