export * from './slashing-guard.module.js';
