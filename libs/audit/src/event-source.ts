import type { AnyCohortEvent } from '#lib/contracts';
import { matchesQuery, type EventQuery } from './query.js';

/**
 * Where an operator's questions are answered from: a node's live event store, or a file
 * exported from one (off-box analysis, no NATS). Everything in this library reads through it.
 */
export interface EventSource {
  /** For messages: `nats://…` or the file name. */
  readonly label: string;
  /** The recorded events matching the query, in the order they were recorded; ends at the end of the history as of now. */
  read(query: EventQuery): AsyncIterable<AnyCohortEvent>;
  /**
   * The history, then every new matching event as it is recorded — no gap and no duplicate
   * between the two — until `signal` aborts. Absent on sources that cannot grow (files).
   */
  readonly follow?: (query: EventQuery, onEvent: (event: AnyCohortEvent) => void | Promise<void>, signal: AbortSignal) => Promise<void>;
  close(): Promise<void>;
}

/** Events already in memory (a test, or a caller that read them some other way). */
export function arrayEventSource(events: readonly AnyCohortEvent[], label = 'memory'): EventSource {
  return {
    label,
    read(query) {
      return (async function* () {
        for (const event of events) if (matchesQuery(event, query)) yield event;
      })();
    },
    async close() {},
  };
}

export async function collectEvents(source: EventSource, query: EventQuery = {}): Promise<AnyCohortEvent[]> {
  const events: AnyCohortEvent[] = [];
  for await (const event of source.read(query)) events.push(event);
  return events;
}
