import { EVENT_VERSION, dutyId, type CohortEvent, type Duty, type EventPayloads, type EventType, type Hex, type ServiceName } from '#lib/contracts';

/** What a test says about an event; the rest of the envelope is derived as EventLog derives it. */
export interface RecordedEventSpec<T extends EventType> {
  readonly type: T;
  readonly service: ServiceName;
  readonly node: string;
  readonly duty: Duty;
  readonly pubkeys: readonly Hex[];
  readonly data: EventPayloads[T];
  /** Unix ms the event was recorded at. */
  readonly timeMs: number;
  /** Makes the id unique among events of one type, service and duty (as EventLog's option). */
  readonly discriminator?: string;
}

/**
 * A stored event envelope as libs/event-log writes it (id `<node>:<service>:<type>:<duty>[:discriminator]`,
 * correlation id = duty id), for fixtures of the read side (explain, replay).
 */
export function recordedEvent<T extends EventType>(spec: RecordedEventSpec<T>): CohortEvent<T> {
  return {
    id: [spec.node, spec.service, spec.type, dutyId(spec.duty), spec.discriminator].filter(Boolean).join(':'),
    type: spec.type,
    version: EVENT_VERSION,
    duty: spec.duty,
    pubkeys: spec.pubkeys,
    correlationId: dutyId(spec.duty),
    producer: { node: spec.node, service: spec.service },
    time: new Date(spec.timeMs).toISOString(),
    data: spec.data,
  };
}
