import { isValidSubject, subjectMatches, subjectsOverlap } from '#lib/messaging';
import {
  ConcurrencyConflictError,
  DEDUP_WINDOW_MS,
  FilterSpansStreamsError,
  NoStreamForSubjectError,
  reportEventHandlerErrorToStderr,
  type AppendOptions,
  type AppendResult,
  type EventHandler,
  type EventStore,
  type EventStoreOptions,
  type EventSubscription,
  type StoredEvent,
  type StreamSpec,
  type SubscribeFrom,
} from './event-store.js';

interface MemoryStream {
  spec: StreamSpec;
  /** events[seq - 1]: one sequence per stream, as in JetStream. */
  readonly events: StoredEvent[];
  readonly lastSeqBySubject: Map<string, number>;
  readonly seqByMsgId: Map<string, { readonly seq: number; readonly atMs: number }>;
  /** Wakes live subscriptions after an append. */
  readonly wake: Set<() => void>;
}

/**
 * The event store in one process, with JetStream's semantics: subject wildcards, one sequence
 * per stream, dedup by msgId within the window, expected last subject sequence, JSON round trip.
 * Retention limits (maxAgeMs, maxBytes) are accepted and not enforced: tests do not outlive them.
 */
export function createMemoryEventStore(opts: EventStoreOptions = {}): EventStore {
  const onHandlerError = opts.onHandlerError ?? reportEventHandlerErrorToStderr;
  const streams = new Map<string, MemoryStream>();
  const subscriptions = new Set<EventSubscription>();

  const capturing = (subject: string): MemoryStream => {
    for (const stream of streams.values()) {
      if (stream.spec.subjects.some((s) => subjectMatches(s, subject))) return stream;
    }
    throw new NoStreamForSubjectError(subject);
  };

  const streamForFilter = (filter: string): MemoryStream => {
    if (!isValidSubject(filter, true)) throw new TypeError(`invalid subject filter: ${filter}`);
    const found = [...streams.values()].filter((s) => s.spec.subjects.some((subject) => subjectsOverlap(subject, filter)));
    if (found.length === 0) throw new NoStreamForSubjectError(filter);
    if (found.length > 1) throw new FilterSpansStreamsError(filter, found.map((s) => s.spec.name));
    return found[0] as MemoryStream;
  };

  return {
    async ensureStream(spec) {
      if (!/^[^.*>\s]+$/.test(spec.name)) throw new TypeError(`invalid stream name: ${spec.name}`);
      for (const subject of spec.subjects) {
        if (!isValidSubject(subject, true)) throw new TypeError(`invalid stream subject: ${subject}`);
        for (const other of streams.values()) {
          if (other.spec.name !== spec.name && other.spec.subjects.some((s) => subjectsOverlap(s, subject))) {
            throw new Error(`stream ${spec.name}: subject ${subject} overlaps stream ${other.spec.name}`);
          }
        }
      }
      const frozen: StreamSpec = { ...spec, subjects: [...spec.subjects] };
      const existing = streams.get(spec.name);
      if (existing !== undefined) existing.spec = frozen;
      else streams.set(spec.name, { spec: frozen, events: [], lastSeqBySubject: new Map(), seqByMsgId: new Map(), wake: new Set() });
    },

    async append<T>(subject: string, data: T, appendOpts: AppendOptions): Promise<AppendResult> {
      if (!isValidSubject(subject, false)) throw new TypeError(`invalid subject: ${subject}`);
      const stream = capturing(subject);
      const nowMs = Date.now();
      // dedup before the concurrency check, as JetStream does: a retried conditional append is a duplicate, not a conflict
      const earlier = stream.seqByMsgId.get(appendOpts.msgId);
      if (earlier !== undefined && nowMs - earlier.atMs < DEDUP_WINDOW_MS) return { seq: earlier.seq, duplicate: true };
      const expected = appendOpts.expectedLastSubjectSeq;
      const last = stream.lastSeqBySubject.get(subject) ?? 0;
      if (expected !== undefined && expected !== last) {
        throw new ConcurrencyConflictError(subject, expected, `last is ${last}`);
      }
      const seq = stream.events.length + 1;
      stream.events.push({
        stream: stream.spec.name,
        subject,
        seq,
        msgId: appendOpts.msgId,
        time: new Date(nowMs),
        data: JSON.parse(JSON.stringify(data ?? null)) as unknown,
      });
      stream.lastSeqBySubject.set(subject, seq);
      stream.seqByMsgId.set(appendOpts.msgId, { seq, atMs: nowMs });
      for (const wake of stream.wake) wake();
      return { seq, duplicate: false };
    },

    async lastSubjectSeq(subject) {
      return capturing(subject).lastSeqBySubject.get(subject) ?? 0;
    },

    read<T>(filter: string, range: { fromSeq?: number; toSeq?: number } = {}): AsyncIterable<StoredEvent<T>> {
      return {
        async *[Symbol.asyncIterator]() {
          const stream = streamForFilter(filter);
          const end = Math.min(range.toSeq ?? Number.POSITIVE_INFINITY, stream.events.length);
          for (let seq = Math.max(range.fromSeq ?? 1, 1); seq <= end; seq++) {
            const event = stream.events[seq - 1] as StoredEvent;
            if (subjectMatches(filter, event.subject)) yield event as StoredEvent<T>;
          }
        },
      };
    },

    async subscribe<T>(filter: string, from: SubscribeFrom, handler: EventHandler<T>): Promise<EventSubscription> {
      const stream = streamForFilter(filter);
      let nextSeq =
        from === 'new'
          ? stream.events.length + 1
          : from === 'start'
            ? 1
            : 'time' in from
              ? firstAtOrAfter(stream.events, from.time)
              : Math.max(from.seq, 1);
      let closed = false;
      let pumping: Promise<void> | undefined;

      const pump = async (): Promise<void> => {
        while (!closed && nextSeq <= stream.events.length) {
          const event = stream.events[nextSeq - 1] as StoredEvent;
          nextSeq++;
          if (!subjectMatches(filter, event.subject)) continue;
          try {
            await handler(event as StoredEvent<T>);
          } catch (error) {
            onHandlerError(error, event);
          }
        }
        pumping = undefined;
      };
      // a microtask, never inside append(): the appender's await resumes first, as over the network
      const wake = (): void => {
        pumping ??= Promise.resolve().then(pump);
      };
      stream.wake.add(wake);
      wake();

      const subscription: EventSubscription = {
        async close() {
          closed = true;
          stream.wake.delete(wake);
          subscriptions.delete(subscription);
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },

    async close() {
      await Promise.all([...subscriptions].map((s) => s.close()));
    },
  };
}

/** Sequence of the first event stored at or after `time` (events are in time order); past the end when none. */
function firstAtOrAfter(events: readonly StoredEvent[], time: Date): number {
  const index = events.findIndex((e) => e.time.getTime() >= time.getTime());
  return index === -1 ? events.length + 1 : index + 1;
}
