import type { AnyCohortEvent } from '#lib/contracts';
import { connectJetStreamEventStore, type EventStore, type StoredEvent } from '#lib/event-store';
import type { EventSource } from './event-source.js';
import { followFilter, matchesQuery, subjectFilters, type EventQuery } from './query.js';

/** Per-slot subject reads in flight at once. */
const PARALLEL_READS = 8;

/**
 * A node's event store as a source. The server filters by the subject tokens the query fixes
 * (see `subjectFilters`); a narrow slot range is read as one subject per slot and merged back
 * into record order by stream sequence, so every source yields events in the order recorded.
 */
export function storeEventSource(store: EventStore, label = 'event store', closeStore = false): EventSource {
  /** Stored events of the query, in stream-sequence order. */
  async function* history(query: EventQuery, seen?: Map<string, number>): AsyncIterable<StoredEvent<AnyCohortEvent>> {
    const filters = subjectFilters(query);
    if (filters.length === 1) {
      for await (const stored of store.read<AnyCohortEvent>(filters[0] as string)) {
        seen?.set(filters[0] as string, stored.seq);
        if (matchesQuery(stored.data, query)) yield stored;
      }
      return;
    }
    // Each subject read is a consumer's round trips (~30 ms here): a few at once, merged by sequence.
    const merged: StoredEvent<AnyCohortEvent>[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < filters.length; i = next++) {
        const filter = filters[i] as string;
        for await (const stored of store.read<AnyCohortEvent>(filter)) {
          seen?.set(filter, stored.seq);
          if (matchesQuery(stored.data, query)) merged.push(stored);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, filters.length) }, worker));
    merged.sort((a, b) => a.seq - b.seq);
    yield* merged;
  }

  return {
    label,
    read(query) {
      return (async function* () {
        for await (const stored of history(query)) yield stored.data;
      })();
    },

    async follow(query, onEvent, signal) {
      if (signal.aborted) return;
      // Subscribe before reading the history: whatever is appended meanwhile is buffered, and
      // dropped if the history read already saw it (its sequence is at or below the last one
      // read on the same filter — filters are disjoint, so each event belongs to exactly one).
      const filters = subjectFilters(query);
      const lastSeqRead = new Map<string, number>();
      // one filter, or one per slot of the range in slot order (subjectFilters)
      const filterOf = (stored: StoredEvent<AnyCohortEvent>): string | undefined =>
        filters.length === 1 ? filters[0] : filters[stored.data.duty.slot - (query.slots?.from ?? 0)];
      const buffered: StoredEvent<AnyCohortEvent>[] = [];
      let live = false;
      const subscription = await store.subscribe<AnyCohortEvent>(followFilter(query), 'new', async (stored) => {
        if (!live) buffered.push(stored);
        else if (matchesQuery(stored.data, query)) await onEvent(stored.data);
      });
      try {
        for await (const stored of history(query, lastSeqRead)) {
          if (signal.aborted) return;
          await onEvent(stored.data);
        }
        // No await between the buffer running empty and going live: nothing can slip in between.
        while (buffered.length > 0) {
          const stored = buffered.shift() as StoredEvent<AnyCohortEvent>;
          const filter = filterOf(stored);
          const alreadyRead = filter !== undefined && stored.seq <= (lastSeqRead.get(filter) ?? 0);
          if (!alreadyRead && matchesQuery(stored.data, query)) await onEvent(stored.data);
        }
        live = true;
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
      } finally {
        await subscription.close();
      }
    },

    async close() {
      if (closeStore) await store.close();
    },
  };
}

/** Connects to a node's NATS (`nats://host:port`) and reads its COHORT_EVENTS stream. */
export async function connectEventSource(servers: string): Promise<EventSource> {
  const store = await connectJetStreamEventStore({ servers, name: 'cohort-audit' });
  return storeEventSource(store, servers, true);
}
