import { describe, expect, it } from 'vitest';
import { FilterSpansStreamsError, NoStreamForSubjectError } from './event-store.js';
import { collect, eventStoreConformance } from './event-store.conformance.js';
import { createMemoryEventStore } from './memory-event-store.js';

eventStoreConformance('memory', async (opts) => {
  const store = createMemoryEventStore(opts);
  return { store, teardown: () => store.close() };
});

describe('memory event store', () => {
  it('refuses a stream whose subjects overlap another stream, as JetStream does', async () => {
    const store = createMemoryEventStore();
    await store.ensureStream({ name: 'DUTY', subjects: ['duty.>'] });
    await expect(store.ensureStream({ name: 'ATTESTER', subjects: ['duty.attester.*'] })).rejects.toThrow(/overlaps stream DUTY/);
  });

  it('refuses a read filter that spans two streams', async () => {
    const store = createMemoryEventStore();
    await store.ensureStream({ name: 'A', subjects: ['a.>'] });
    await store.ensureStream({ name: 'B', subjects: ['b.>'] });
    await expect(collect(store.read('*.x'))).rejects.toBeInstanceOf(FilterSpansStreamsError);
    await expect(collect(store.read('c.>'))).rejects.toBeInstanceOf(NoStreamForSubjectError);
  });

  it('stores a JSON copy: later mutation of the appended object does not change the log', async () => {
    const store = createMemoryEventStore();
    await store.ensureStream({ name: 'M', subjects: ['m.>'] });
    const data = { pubkeys: ['0x01'] };
    await store.append('m.a', data, { msgId: '1' });
    data.pubkeys.push('0x02');
    expect((await collect(store.read('m.>')))[0]?.data).toEqual({ pubkeys: ['0x01'] });
  });
});
