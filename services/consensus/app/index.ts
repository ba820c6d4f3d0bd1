export * from './consensus.module.js';
