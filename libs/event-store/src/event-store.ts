/**
 * The event-store port. A node's audit log: every decision of every stage is appended here.
 * Adapters: JetStream (production) and memory (tests); both pass event-store.conformance.ts.
 *
 * Vocabulary follows JetStream: a *stream* holds the events of a set of subjects with one
 * sequence; a *subject* is a logical event stream (e.g. one slashing-guard shard).
 */

export interface StoredEvent<T = unknown> {
  readonly stream: string;
  readonly subject: string;
  /** Stream sequence: one counter per stream, across all its subjects. */
  readonly seq: number;
  readonly msgId: string;
  readonly time: Date;
  /** JSON-decoded payload. */
  readonly data: T;
}

export interface AppendOptions {
  /** Deterministic id: an append retried with the same id within the dedup window is stored once. */
  readonly msgId: string;
  /**
   * Optimistic concurrency: the stream sequence of the last event on this subject the caller
   * decided from; 0 means the subject must be empty. Omitted: append unconditionally.
   */
  readonly expectedLastSubjectSeq?: number;
}

export interface AppendResult {
  readonly seq: number;
  /** True when an event with the same msgId was already stored; `seq` is then the original's. */
  readonly duplicate: boolean;
}

export interface StreamSpec {
  /** JetStream stream name: no `.`, `*`, `>` or whitespace. */
  readonly name: string;
  readonly subjects: readonly string[];
  /** Retention by age; omitted = kept forever (the audit log's default). */
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
}

/**
 * Where a subscription starts: after now, at the beginning, at a stream sequence, or at the
 * first event stored at or after a time (a restarted consumer catching up on recent duties).
 */
export type SubscribeFrom = 'new' | 'start' | { readonly seq: number } | { readonly time: Date };

export type EventHandler<T> = (event: StoredEvent<T>) => void | Promise<void>;

export interface EventSubscription {
  close(): Promise<void>;
}

export interface EventStore {
  /** Create the stream, or update its subjects and limits; file storage, dedup window DEDUP_WINDOW_MS. */
  ensureStream(spec: StreamSpec): Promise<void>;
  /** Throws ConcurrencyConflictError when expectedLastSubjectSeq does not hold, NoStreamForSubjectError when no stream captures the subject. */
  append<T>(subject: string, data: T, opts: AppendOptions): Promise<AppendResult>;
  /** Stream sequence of the last event on the subject; 0 when it has none. */
  lastSubjectSeq(subject: string): Promise<number>;
  /** Events matching the filter (wildcards allowed) in sequence order, up to the end as of now; never waits for new ones. */
  read<T>(filter: string, range?: { readonly fromSeq?: number; readonly toSeq?: number }): AsyncIterable<StoredEvent<T>>;
  /**
   * Live, in order; the handler is awaited before the next event is delivered. A handler that
   * throws is reported (stderr by default) and delivery continues: a handler that must not
   * skip an event retries inside itself.
   */
  subscribe<T>(filter: string, from: SubscribeFrom, handler: EventHandler<T>): Promise<EventSubscription>;
  close(): Promise<void>;
}

/** Where subscription handler failures go; the default writes to stderr with subject and seq. */
export type EventHandlerErrorReporter = (error: unknown, event: StoredEvent) => void;

export interface EventStoreOptions {
  readonly onHandlerError?: EventHandlerErrorReporter;
}

export const reportEventHandlerErrorToStderr: EventHandlerErrorReporter = (error, event) => {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[event-store] handler for ${event.subject} seq ${event.seq} failed: ${detail}\n`);
};

/** Duplicate msgIds are detected within this window (JetStream's default, 2 min). */
export const DEDUP_WINDOW_MS = 120_000;

/**
 * expectedLastSubjectSeq did not hold: someone appended to the subject since the caller read it.
 * A bug-or-race signal: the caller re-reads, re-decides, and appends again (or gives up).
 */
export class ConcurrencyConflictError extends Error {
  constructor(
    readonly subject: string,
    readonly expected: number,
    detail?: string,
    options?: ErrorOptions,
  ) {
    super(`concurrency conflict on ${subject}: expected last subject seq ${expected}${detail ? ` (${detail})` : ''}`, options);
    this.name = 'ConcurrencyConflictError';
  }
}

/** No stream captures the subject: a wiring bug (ensureStream not run, or a misspelt subject). */
export class NoStreamForSubjectError extends Error {
  constructor(
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`no stream captures subject ${subject}; call ensureStream with a spec whose subjects cover it`, options);
    this.name = 'NoStreamForSubjectError';
  }
}

/** A read/subscribe filter must fall within one stream: sequences of different streams do not interleave. */
export class FilterSpansStreamsError extends Error {
  constructor(
    readonly filter: string,
    readonly streams: readonly string[],
  ) {
    super(`filter ${filter} spans streams ${streams.join(', ')}; read each stream separately`);
    this.name = 'FilterSpansStreamsError';
  }
}
