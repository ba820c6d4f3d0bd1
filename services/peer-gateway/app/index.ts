export * from './peer-gateway.module.js';
