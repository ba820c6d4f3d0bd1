export * from './duty-scheduler.module.js';
