import { randomUUID } from 'node:crypto';
import {
  dutyId,
  isNoDuty,
  EVENT_VERSION,
  Streams,
  Subjects,
  type AnyCohortEvent,
  type CohortEvent,
  type DutyOf,
  type EventDuty,
  type EventPayloads,
  type EventType,
  type Hex,
  type ServiceName,
} from '#lib/contracts';
import { DEDUP_WINDOW_MS, type EventStore, type StoredEvent, type SubscribeFrom } from '#lib/event-store';
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
  private network?: Hex;

  constructor(private readonly opts: EventLogOptions) {}

  /**
   * Binds the log to a network (its genesis validators root), once the service has read it from
   * its BN: every event recorded from now on names it, its message id carries it (a reset starts
   * the slots again, and JetStream would drop a new network's event as a duplicate of the old
   * one's with the same id), and `on` skips other networks' events.
   */
  bindNetwork(genesisValidatorsRoot: Hex): void {
    this.network = genesisValidatorsRoot;
  }

  async record<T extends EventType>(
    type: T,
    duty: DutyOf<T>,
    pubkeys: readonly Hex[],
    data: EventPayloads[T],
    options: RecordOptions = {},
  ): Promise<CohortEvent<T>> {
    const { node, service, clusterHash } = this.opts;
    const id = [node, service, type, dutyId(duty), options.discriminator].filter(Boolean).join(':');
    // An event outside any duty belongs to no duty's trace (one trace per duty, DESIGN.md).
    const named: EventDuty = duty;
    const traced = isNoDuty(named) ? undefined : named;
    const event: CohortEvent<T> = {
      id,
      type,
      version: EVENT_VERSION,
      duty,
      pubkeys,
      correlationId: dutyId(duty),
      ...(options.causationId ? { causationId: options.causationId } : {}),
      ...(traced ? { traceparent: dutyTraceparent(clusterHash, traced, service) } : {}),
      producer: { node, service },
      time: (this.opts.now?.() ?? new Date()).toISOString(),
      ...(this.network ? { network: this.network } : {}),
      data,
    };
    const msgId = this.network ? `${id}@${this.network}` : id;
    const append = () => this.opts.store.append(Subjects.event(duty, service, type), event, { msgId });
    if (this.opts.tracing && traced) {
      await this.opts.tracing.inDutySpan(`${service} ${type}`, clusterHash, traced, async (span) => {
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
   * (a restarted service catching up on the duties still in flight). Once the log is bound to a
   * network, another network's events are skipped: after a reset, the old chain's decisions
   * for the same slot numbers must never reach the new chain's duties.
   */
  async on<T extends EventType>(
    type: T,
    handler: (event: CohortEvent<T>) => void | Promise<void>,
    from: SubscribeFrom = 'new',
  ): Promise<{ close(): Promise<void> }> {
    return this.opts.store.subscribe<CohortEvent<T>>(Subjects.eventsOfType(type), from, (stored: StoredEvent<CohortEvent<T>>) =>
      onNetwork(stored.data, this.network) ? handler(stored.data) : undefined,
    );
  }
}

/** Whether an event belongs to `network`: it names it, or one of the two is unknown (events recorded before networks were). */
export function onNetwork(event: { readonly network?: Hex }, network: Hex | undefined): boolean {
  return network === undefined || event.network === undefined || event.network === network;
}

/** Reads a node's recorded events (all, or one duty's) in append order. */
export async function readEvents(store: EventStore, filter: string = Subjects.allEvents): Promise<AnyCohortEvent[]> {
  const events: AnyCohortEvent[] = [];
  for await (const stored of store.read<AnyCohortEvent>(filter)) events.push(stored.data);
  return events;
}

export interface RetentionOptions {
  /** Age limit of the audit log (COHORT_EVENTS), ms; default DEFAULT_EVENTS_MAX_AGE_MS; 0 = no age limit. */
  readonly eventsMaxAgeMs?: number;
  /** Size limit of the audit log, bytes; default DEFAULT_EVENTS_MAX_BYTES; 0 = no size limit. */
  readonly eventsMaxBytes?: number;
}

/**
 * 30 days: long enough to investigate any incident an operator notices (a missed-attestation
 * alert, a monthly rewards review) and to cover a whole Ephemery iteration (28 days).
 */
export const DEFAULT_EVENTS_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
/**
 * 10 GiB: the audit log shares the JetStream store with the slashing history, and a full store
 * refuses every append — including the guard's, which stops all signing. A byte cap (with
 * discard-old) makes the audit log drop its oldest events instead. Rough size: each validator
 * is named in ~12 attester events per epoch (its pubkey in every envelope, its duty, its share
 * signatures, the aggregate): ~2 kB per validator per epoch, i.e. ~0.5 GB/day per 1,000
 * validators — the cap binds after ~20 days at 1,000 validators and ~2 days at 10,000, where
 * operators raise it (disk permitting) or export what they want to keep. Keep it well below the
 * server's JetStream max_file_store.
 */
export const DEFAULT_EVENTS_MAX_BYTES = 10 * 1024 ** 3;
/** A smaller cap is almost certainly a unit mistake (bytes for MiB) and would empty the audit log. */
export const MIN_EVENTS_MAX_BYTES = 1024 ** 2;
/** JetStream stores max_age in nanoseconds as an int64. */
const MAX_AGE_LIMIT_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/** The audit log's limits, validated: a bad value throws a RangeError naming the option. */
export function eventsRetention(retention: RetentionOptions = {}): { readonly maxAgeMs: number; readonly maxBytes: number } {
  const maxAgeMs = retention.eventsMaxAgeMs ?? DEFAULT_EVENTS_MAX_AGE_MS;
  const maxBytes = retention.eventsMaxBytes ?? DEFAULT_EVENTS_MAX_BYTES;
  if (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 0 || maxAgeMs > MAX_AGE_LIMIT_MS || (maxAgeMs > 0 && maxAgeMs < DEDUP_WINDOW_MS)) {
    // JetStream refuses a max age below the duplicate window (2 min): dedup of retried appends needs it
    throw new RangeError(`retention.eventsMaxAgeMs: expected 0 (no limit) or an integer from ${DEDUP_WINDOW_MS} to ${MAX_AGE_LIMIT_MS} ms, got ${maxAgeMs}`);
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || (maxBytes > 0 && maxBytes < MIN_EVENTS_MAX_BYTES)) {
    throw new RangeError(`retention.eventsMaxBytes: expected 0 (no limit) or an integer >= ${MIN_EVENTS_MAX_BYTES} bytes, got ${maxBytes}`);
  }
  return { maxAgeMs, maxBytes };
}

/**
 * JetStream's JSStorageResourcesExceededErr ("insufficient storage resources available"): a
 * stream's max_bytes is reserved up front against the server's JetStream store limit
 * (max_file_store; by default derived from the free disk), and a cap larger than what is left
 * is refused at creation.
 */
const JS_STORAGE_RESOURCES_EXCEEDED = 10047;
const isStorageRefusal = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === JS_STORAGE_RESOURCES_EXCEEDED;

/**
 * Creates (or updates) the node's streams: the audit log, with the retention limits, and the
 * slashing history, which never gets any: expiring it would let the guard approve a value that
 * contradicts one already signed. `ensureStream` writes the limits on every start, so limits put
 * on COHORT_SLASHING by hand are removed again.
 *
 * When the *default* byte cap does not fit the server's store (a small disk), the cap is halved
 * until it fits, then halved once more, leaving at least as much room for the slashing history
 * as the audit log takes: a node must start on a small disk. A cap the operator set is never
 * shrunk: it fails with a message saying what to change.
 */
export async function ensureCohortStreams(store: EventStore, retention: RetentionOptions = {}): Promise<RetentionApplied> {
  const { maxAgeMs, maxBytes: wanted } = eventsRetention(retention);
  const ensureEvents = (maxBytes: number) =>
    store.ensureStream({
      name: Streams.events.name,
      subjects: Streams.events.subjects,
      ...(maxAgeMs > 0 ? { maxAgeMs } : {}),
      ...(maxBytes > 0 ? { maxBytes } : {}),
    });
  let maxBytes = wanted;
  for (;;) {
    try {
      await ensureEvents(maxBytes);
      break;
    } catch (error) {
      if (!isStorageRefusal(error) || maxBytes === 0) throw error;
      if (retention.eventsMaxBytes !== undefined) {
        throw new RangeError(
          `retention.eventsMaxBytes: ${maxBytes} bytes do not fit the nats-server's JetStream store (max_file_store); lower it or give the server more storage`,
          { cause: error },
        );
      }
      if (maxBytes / 2 < MIN_EVENTS_MAX_BYTES) throw new Error(`the nats-server's JetStream store cannot reserve even ${MIN_EVENTS_MAX_BYTES} bytes for ${Streams.events.name}`, { cause: error });
      maxBytes = Math.floor(maxBytes / 2);
    }
  }
  if (maxBytes !== wanted && maxBytes / 2 >= MIN_EVENTS_MAX_BYTES) {
    maxBytes = Math.floor(maxBytes / 2);
    await ensureEvents(maxBytes);
  }
  await store.ensureStream({ name: Streams.slashing.name, subjects: Streams.slashing.subjects });
  return { eventsMaxAgeMs: maxAgeMs, eventsMaxBytes: maxBytes };
}

/** The limits the audit log got: the configured ones, or a byte cap reduced to fit the server's store. */
export interface RetentionApplied {
  readonly eventsMaxAgeMs: number;
  readonly eventsMaxBytes: number;
}

export const newId = (): string => randomUUID();
