export * from './bus.js';
export * from './codec.js';
export * from './memory-bus.js';
export * from './nats-bus.js';
export * from './nats-connection.js';
export * from './subject.js';
