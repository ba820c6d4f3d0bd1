import { describe, expect, it } from 'vitest';
import { busConformance } from './bus.conformance.js';
import { createMemoryBus } from './memory-bus.js';

busConformance('memory', async (opts) => {
  const bus = createMemoryBus(opts);
  return { bus, teardown: () => bus.close() };
});

describe('memory bus', () => {
  it('refuses to publish after close', async () => {
    const bus = createMemoryBus();
    await bus.close();
    expect(() => bus.publish('x', 1)).toThrow(/closed/);
  });

  it('does not run a handler inside publish', () => {
    const bus = createMemoryBus();
    const seen: number[] = [];
    bus.subscribe<number>('x', (n) => void seen.push(n));
    bus.publish('x', 1);
    expect(seen).toEqual([]);
  });
});
