import { Subjects, type AnyCohortEvent, type EventDuty, type EventType, type Hex, type ServiceName } from '#lib/contracts';

/** Inclusive. */
export interface SlotRange {
  readonly from: number;
  readonly to: number;
}

/**
 * Which events an operator asks for. Every field narrows; an empty query is every event.
 * `service` is the producing stage, `node` the producing node (`producer.node` of the envelope).
 */
export interface EventQuery {
  readonly slots?: SlotRange;
  /** A duty type, or `none`: the events outside any duty (refused peer messages). */
  readonly dutyType?: EventDuty['type'];
  /** A group pubkey: events whose `pubkeys` name it. */
  readonly validator?: Hex;
  readonly service?: ServiceName;
  readonly node?: string;
  readonly eventType?: EventType;
  /**
   * A network's genesis validators root: only the events recorded on it (a reset starts the slot
   * numbers again, so one slot can hold two networks' duties). Events recorded before networks
   * were named match no network.
   */
  readonly network?: Hex;
}

/** Mainnet's SLOTS_PER_EPOCH (consensus specs, presets/mainnet/phase0.yaml); the minimal preset has 8. */
export const DEFAULT_SLOTS_PER_EPOCH = 32;

/** The slots of an inclusive epoch range (`compute_start_slot_at_epoch`). */
export function slotsOfEpochs(epochs: SlotRange, slotsPerEpoch: number = DEFAULT_SLOTS_PER_EPOCH): SlotRange {
  if (!Number.isSafeInteger(slotsPerEpoch) || slotsPerEpoch < 1) throw new RangeError(`slotsPerEpoch: expected a positive integer, got ${slotsPerEpoch}`);
  return { from: epochs.from * slotsPerEpoch, to: (epochs.to + 1) * slotsPerEpoch - 1 };
}

/** The query's test on one event; sources apply it after whatever the server filtered. */
export function matchesQuery(event: AnyCohortEvent, query: EventQuery): boolean {
  const { slots } = query;
  if (slots && (event.duty.slot < slots.from || event.duty.slot > slots.to)) return false;
  if (query.dutyType !== undefined && event.duty.type !== query.dutyType) return false;
  if (query.service !== undefined && event.producer.service !== query.service) return false;
  if (query.node !== undefined && event.producer.node !== query.node) return false;
  if (query.eventType !== undefined && event.type !== query.eventType) return false;
  if (query.validator !== undefined && !event.pubkeys.includes(query.validator)) return false;
  if (query.network !== undefined && event.network !== query.network) return false;
  return true;
}

/**
 * A slot range up to this many slots is read as one exact subject per slot (the server filters);
 * a wider one, or none, as one subject with the slot token wildcarded, the range applied here.
 * Measured here (2 slow cores, nats-server 2.9): a subject read costs ~30 ms whatever it holds
 * (consumer create, pull, delete; Debian's 2.9 allows one filter subject per consumer, so slots
 * cannot share one), while a wildcard read streams ~34,000 events/s. 64 slots (2 mainnet epochs,
 * 8 minimal ones) take ~2 s per-slot, independent of the log's size; a 30-day log holds millions
 * of events, which a wildcard read would take minutes to scan. So `explain` and epoch queries
 * stay exact, and only wide ranges scan.
 */
export const MAX_SLOT_SUBJECTS = 64;

/**
 * The subject filter(s) that select the query's events in COHORT_EVENTS, as narrow as JetStream
 * subjects allow: slot, duty type, producing service and event type are subject tokens
 * (`Subjects.event`); validator, node and network are not, and are always filtered client-side.
 */
export function subjectFilters(query: EventQuery, maxSlotSubjects: number = MAX_SLOT_SUBJECTS): readonly string[] {
  const { slots } = query;
  if (slots && slots.to < slots.from) return [];
  const filter = (slot: number | undefined) => eventSubjectFilter(slot, query);
  if (!slots || slots.to - slots.from + 1 > maxSlotSubjects) return [filter(undefined)];
  const filters: string[] = [];
  for (let slot = slots.from; slot <= slots.to; slot++) filters.push(filter(slot));
  return filters;
}

/** One filter for a live subscription: the slot token is exact only for a single slot. */
export function followFilter(query: EventQuery): string {
  const { slots } = query;
  return eventSubjectFilter(slots && slots.from === slots.to ? slots.from : undefined, query);
}

const ANY = '*';

/**
 * `Subjects.event` with `*` in the tokens the query leaves open. Built through the contract's own
 * function so the token order has a single definition (STYLE.md rule 4).
 */
function eventSubjectFilter(slot: number | undefined, query: EventQuery): string {
  return Subjects.event(
    { slot: (slot ?? ANY) as number, type: (query.dutyType ?? ANY) as EventDuty['type'] } as EventDuty,
    (query.service ?? ANY) as ServiceName,
    (query.eventType ?? ANY) as EventType,
  );
}
