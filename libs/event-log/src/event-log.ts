import { randomUUID } from 'node:crypto';
import {
  dutyId,
  EVENT_VERSION,
  Streams,
  Subjects,
  type AnyCohortEvent,
  type CohortEvent,
  type Duty,
  type EventPayloads,
  type EventType,
  type Hex,
  type ServiceName,
} from '#lib/contracts';
import type { EventStore, StoredEvent, SubscribeFrom } from '#lib/event-store';
import { dutyTraceparent, type Tracing } from '#lib/observability';

export interface EventLogOptions {
  readonly store: EventStore;
  readonly node: string;
  readonly service: ServiceName;
  readonly clusterHash: Hex;
  readonly now?: () => Date;
  /** When given, each recorded step is also a span in the duty's trace (one trace per duty, all nodes). */
  readonly tracing?: Tracing;
}

export interface RecordOptions {
  readonly causationId?: string;
  /** Makes the event id unique when a stage records the same type twice for one duty. */
  readonly discriminator?: string;
}

/**
 * A stage's append-only journal: builds the envelope (DESIGN.md "Event store and bus") and
 * appends with a deterministic message id, so a retried append is deduplicated by JetStream.
 */
export class EventLog {
  constructor(private readonly opts: EventLogOptions) {}

  async record<T extends EventType>(
    type: T,
    duty: Duty,
    pubkeys: readonly Hex[],
    data: EventPayloads[T],
    options: RecordOptions = {},
  ): Promise<CohortEvent<T>> {
    const { node, service, clusterHash } = this.opts;
    const id = [node, service, type, dutyId(duty), options.discriminator].filter(Boolean).join(':');
    const event: CohortEvent<T> = {
      id,
      type,
      version: EVENT_VERSION,
      duty,
      pubkeys,
      correlationId: dutyId(duty),
      ...(options.causationId ? { causationId: options.causationId } : {}),
      traceparent: dutyTraceparent(clusterHash, duty, service),
      producer: { node, service },
      time: (this.opts.now?.() ?? new Date()).toISOString(),
      data,
    };
    const append = () => this.opts.store.append(Subjects.event(duty, service, type), event, { msgId: id });
    if (this.opts.tracing) {
      await this.opts.tracing.inDutySpan(`${service} ${type}`, clusterHash, duty, async (span) => {
        span.setAttribute('cohort.event_id', id);
        span.setAttribute('cohort.validators', pubkeys.length);
        await append();
      });
    } else {
      await append();
    }
    return event;
  }

  /**
   * Live events of one type, in order, from now on — or from a stream sequence, or from a time
   * (a restarted service catching up on the duties still in flight).
   */
  async on<T extends EventType>(
    type: T,
    handler: (event: CohortEvent<T>) => void | Promise<void>,
    from: SubscribeFrom = 'new',
  ): Promise<{ close(): Promise<void> }> {
    return this.opts.store.subscribe<CohortEvent<T>>(Subjects.eventsOfType(type), from, (stored: StoredEvent<CohortEvent<T>>) =>
      handler(stored.data),
    );
  }
}

/** Reads a node's recorded events (all, or one duty's) in append order. */
export async function readEvents(store: EventStore, filter: string = Subjects.allEvents): Promise<AnyCohortEvent[]> {
  const events: AnyCohortEvent[] = [];
  for await (const stored of store.read<AnyCohortEvent>(filter)) events.push(stored.data);
  return events;
}

export interface RetentionOptions {
  /** Audit log age limit; default 30 days. The slashing history is never expired. */
  readonly eventsMaxAgeMs?: number;
  readonly eventsMaxBytes?: number;
}

/** Creates (or updates) the node's streams: the audit log and the slashing history. */
export async function ensureCohortStreams(store: EventStore, retention: RetentionOptions = {}): Promise<void> {
  await store.ensureStream({
    name: Streams.events.name,
    subjects: Streams.events.subjects,
    maxAgeMs: retention.eventsMaxAgeMs ?? 30 * 24 * 3600 * 1000,
    ...(retention.eventsMaxBytes ? { maxBytes: retention.eventsMaxBytes } : {}),
  });
  await store.ensureStream({ name: Streams.slashing.name, subjects: Streams.slashing.subjects });
}

export const newId = (): string => randomUUID();
