export * from './beacon-json.js';
export * from './duty.js';
export * from './events.js';
export * from './failure-reasons.js';
export * from './hex.js';
export * from './subjects.js';
export * from './assert-never.js';
export * from './slot-clock.js';
