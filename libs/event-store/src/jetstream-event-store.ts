import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
  type OrderedConsumerOptions,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connectNats, decodeJson, encodeJson, type NatsConnection, type NatsConnectionOptions } from '#lib/messaging';
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

const MSG_ID_HEADER = 'Nats-Msg-Id';
/** Messages a consumer keeps requested ahead of the handler; bounds memory, keeps reads streaming. */
/**
 * Each pull asks for at most this many bytes (and the client's default of 100 messages).
 * A byte cap, not a message count: several concurrent reads of large entries (a slashing shard's
 * import batches) would otherwise exceed the server's per-connection pending limit (64 MB), be
 * dropped by it, and never finish.
 */
const PULL_MAX_BYTES = 8 * 1024 * 1024;
const NANOS_PER_MS = 1_000_000;
/** "wrong last sequence" (10071); newer servers may answer 10164 when the last sequence is unknown. */
const CONFLICT_CODES: ReadonlySet<number> = new Set([JetStreamApiCodes.StreamWrongLastSequence, JetStreamApiCodes.StreamWrongLastSequenceUnknown]);

export async function connectJetStreamEventStore(opts: NatsConnectionOptions & EventStoreOptions): Promise<EventStore> {
  const nc = await connectNats(opts);
  return createJetStreamEventStore(nc, opts, true);
}

/** An event store on a connection the caller owns (shared with the bus); close() leaves it open. */
export function eventStoreOn(nc: NatsConnection, opts: EventStoreOptions = {}): EventStore {
  return createJetStreamEventStore(nc, opts, false);
}

function createJetStreamEventStore(nc: NatsConnection, opts: EventStoreOptions, ownsConnection: boolean): EventStore {
  const onHandlerError = opts.onHandlerError ?? reportEventHandlerErrorToStderr;
  const js = jetstream(nc);
  let manager: Promise<JetStreamManager> | undefined;
  const jsm = (): Promise<JetStreamManager> => (manager ??= jetstreamManager(nc));
  /** filter → stream name; cleared when streams change through this store. */
  const streamByFilter = new Map<string, string>();
  const subscriptions = new Set<EventSubscription>();

  const streamFor = async (filter: string): Promise<string> => {
    const cached = streamByFilter.get(filter);
    if (cached !== undefined) return cached;
    const names: string[] = [];
    for await (const name of (await jsm()).streams.names(filter)) names.push(name);
    if (names.length === 0) throw new NoStreamForSubjectError(filter);
    if (names.length > 1) throw new FilterSpansStreamsError(filter, names);
    const stream = names[0] as string;
    streamByFilter.set(filter, stream);
    return stream;
  };

  return {
    async ensureStream(spec) {
      const manager = await jsm();
      const wanted = streamConfig(spec);
      streamByFilter.clear();
      const existing = await manager.streams.info(spec.name).catch((error: unknown) => {
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
        throw error;
      });
      if (existing === undefined) {
        await manager.streams.add(wanted);
      } else if (!sameLimits(existing.config, wanted)) {
        await manager.streams.update(spec.name, { ...existing.config, ...wanted });
      }
    },

    async append<T>(subject: string, data: T, appendOpts: AppendOptions): Promise<AppendResult> {
      const expected = appendOpts.expectedLastSubjectSeq;
      try {
        const ack = await js.publish(subject, encodeJson(data), {
          msgID: appendOpts.msgId,
          ...(expected === undefined ? {} : { expect: { lastSubjectSequence: expected } }),
        });
        return { seq: ack.seq, duplicate: ack.duplicate };
      } catch (error) {
        if (error instanceof JetStreamApiError && CONFLICT_CODES.has(error.code) && expected !== undefined) {
          throw new ConcurrencyConflictError(subject, expected, error.message, { cause: error });
        }
        // nobody answers a publish no stream captures: the client reports that as "JetStream not enabled"
        // (the class is not exported, hence the name check)
        if (error instanceof Error && error.name === 'JetStreamNotEnabled') throw new NoStreamForSubjectError(subject, { cause: error });
        throw error;
      }
    },

    async lastSubjectSeq(subject) {
      const stream = await streamFor(subject);
      const last = await (await jsm()).streams.getMessage(stream, { last_by_subj: subject });
      return last?.seq ?? 0;
    },

    read<T>(filter: string, range: { fromSeq?: number; toSeq?: number } = {}): AsyncIterable<StoredEvent<T>> {
      return {
        async *[Symbol.asyncIterator]() {
          const fromSeq = Math.max(range.fromSeq ?? 1, 1);
          const toSeq = range.toSeq ?? Number.POSITIVE_INFINITY;
          if (toSeq < fromSeq) return;
          const stream = await streamFor(filter);
          const consumer = await js.consumers.get(stream, consumerOptions(filter, { seq: fromSeq }));
          try {
            // the consumer counts what matches at creation: nothing pending means an empty read, not a wait
            if ((await consumer.info(true)).num_pending === 0) return;
            const messages = await consumer.consume({ max_bytes: PULL_MAX_BYTES });
            try {
              for await (const m of messages) {
                if (m.seq > toSeq) return;
                yield toStoredEvent<T>(stream, m);
                if (m.info.pending === 0 || m.seq === toSeq) return;
              }
            } finally {
              await messages.close();
            }
          } finally {
            await consumer.delete().catch(() => false);
          }
        },
      };
    },

    async subscribe<T>(filter: string, from: SubscribeFrom, handler: EventHandler<T>): Promise<EventSubscription> {
      const stream = await streamFor(filter);
      // created on the server before this resolves, so 'new' means "appended after subscribe returned"
      const consumer = await js.consumers.get(stream, consumerOptions(filter, from));
      const messages: ConsumerMessages = await consumer.consume({ max_bytes: PULL_MAX_BYTES });
      let inHandler = false;
      const delivery = (async () => {
        for await (const m of messages) {
          const event = toStoredEvent<T>(stream, m);
          inHandler = true;
          try {
            await handler(event);
          } catch (error) {
            onHandlerError(error, event);
          } finally {
            inHandler = false;
          }
        }
      })().catch((error: unknown) => {
        // the consumer itself failed (e.g. its stream was deleted): nothing more will be delivered
        process.stderr.write(`[event-store] subscription to ${filter} on ${stream} ended: ${String(error)}\n`);
      });

      const subscription: EventSubscription = {
        async close() {
          if (!subscriptions.delete(subscription)) return;
          const closing = messages.close();
          // a handler closing its own subscription must not wait for itself; and a consumer
          // whose close never settles (seen with idle ordered consumers) must not hold up a
          // service's shutdown: the ordered consumer is ephemeral, the server reaps it.
          if (!inHandler) await withinMs(CLOSE_BOUND_MS, Promise.all([closing, delivery]));
          await withinMs(CLOSE_BOUND_MS, consumer.delete().catch(() => false));
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },

    async close() {
      await Promise.all([...subscriptions].map((s) => s.close()));
      if (ownsConnection && !nc.isClosed()) await nc.drain();
    },
  };
}

/** How long closing one subscription may take before shutdown goes on without it. */
const CLOSE_BOUND_MS = 300;

async function withinMs(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function streamConfig(spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    // file storage: the stream is the node's audit log and must survive a restart
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: (spec.maxAgeMs ?? 0) * NANOS_PER_MS,
    max_bytes: spec.maxBytes ?? -1,
    duplicate_window: DEDUP_WINDOW_MS * NANOS_PER_MS,
    num_replicas: 1,
  };
}

function sameLimits(current: StreamConfig, wanted: Partial<StreamConfig>): boolean {
  const sorted = (subjects: readonly string[] | undefined): string => [...(subjects ?? [])].sort().join(' ');
  return (
    sorted(current.subjects) === sorted(wanted.subjects) &&
    current.max_age === wanted.max_age &&
    current.max_bytes === wanted.max_bytes &&
    current.duplicate_window === wanted.duplicate_window
  );
}

function consumerOptions(filter: string, from: SubscribeFrom): Partial<OrderedConsumerOptions> {
  // a single filter as a string: servers before 2.10 (Debian's 2.9) only know filter_subject
  const base = { filter_subjects: filter };
  if (from === 'new') return { ...base, deliver_policy: DeliverPolicy.New };
  if (from === 'start') return { ...base, deliver_policy: DeliverPolicy.All };
  if ('time' in from) return { ...base, deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.time.toISOString() };
  return { ...base, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(from.seq, 1) };
}

function toStoredEvent<T>(stream: string, m: JsMsg): StoredEvent<T> {
  return {
    stream,
    subject: m.subject,
    seq: m.seq,
    msgId: m.headers?.get(MSG_ID_HEADER) ?? '',
    time: m.time,
    data: decodeJson<T>(m.data),
  };
}
