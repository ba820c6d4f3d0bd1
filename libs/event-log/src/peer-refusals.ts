import {
  NO_DUTY,
  dutyId,
  slotAt,
  slotStartMs,
  type Duty,
  type EventDuty,
  type EventPayloads,
  type PeerRefusalProtocol,
  type PeerRefusalReason,
  type SlotTiming,
} from '#lib/contracts';
import type { EventLog } from './event-log.js';

/** One refused peer message, as the refusing service saw it. */
export interface PeerRefusal {
  /** Operator index of the authenticated sender; null when the remote is not an operator (name it in `detail`). */
  readonly peer: number | null;
  readonly protocol: PeerRefusalProtocol;
  readonly reason: PeerRefusalReason;
  readonly detail?: string;
  /**
   * The duty the message was about, only when this node knows that duty (it has scheduled it):
   * a duty named by a message alone is the sender's choice, and would let it spread its
   * refusals over as many keys as it likes. Without one the refusal counts outside any duty.
   */
  readonly duty?: Duty;
}

/** One window's refusals of one key, ready to record. */
export interface PeerRefusalSummary {
  readonly duty: EventDuty;
  /** The slot the refusals arrived in. */
  readonly windowSlot: number;
  readonly data: EventPayloads['PeerMessageRefused'];
}

/** Default bound on the keys with a duty per window (see `PeerRefusalWindows`). */
export const MAX_DUTY_KEYS_PER_WINDOW = 64;
/** `detail` is cut to this many characters: it often quotes what a hostile peer sent. */
export const MAX_REFUSAL_DETAIL_CHARS = 200;

interface Tally {
  readonly duty: EventDuty;
  readonly windowSlot: number;
  readonly peer: number | null;
  readonly protocol: PeerRefusalProtocol;
  readonly reason: PeerRefusalReason;
  readonly detail: string | undefined;
  readonly firstAtMs: number;
  lastAtMs: number;
  count: number;
}

/**
 * Counts refused peer messages per window (a slot) and key (peer, protocol, reason, duty), so
 * that a flood of hostile messages becomes at most one event per key and slot. The keys are
 * bounded whatever a peer sends: peers are the cluster's operators (or one "not an operator"),
 * protocols and reasons come from catalogs, and duties only from this node's own schedule —
 * at most `maxDutyKeys` of them per window, after which further duties count outside any duty.
 * Pure: the caller passes the time.
 */
export class PeerRefusalWindows {
  private readonly tallies = new Map<string, Tally>();
  private readonly dutyKeys = new Map<number, number>();

  constructor(
    private readonly timing: SlotTiming,
    private readonly maxDutyKeys: number = MAX_DUTY_KEYS_PER_WINDOW,
  ) {}

  /** Counts one refusal; true when it is the first of its key in its window (the caller may log it). */
  add(refusal: PeerRefusal, nowMs: number): boolean {
    const windowSlot = slotAt(this.timing, nowMs);
    let duty: EventDuty = refusal.duty ?? { slot: windowSlot, type: NO_DUTY };
    let key = keyOf(windowSlot, duty, refusal);
    let tally = this.tallies.get(key);
    if (tally === undefined && refusal.duty !== undefined) {
      const used = this.dutyKeys.get(windowSlot) ?? 0;
      if (used >= this.maxDutyKeys) {
        duty = { slot: windowSlot, type: NO_DUTY };
        key = keyOf(windowSlot, duty, refusal);
        tally = this.tallies.get(key);
      } else {
        this.dutyKeys.set(windowSlot, used + 1);
      }
    }
    if (tally !== undefined) {
      tally.count += 1;
      tally.lastAtMs = nowMs;
      return false;
    }
    const detail = refusal.detail === undefined ? undefined : cleanDetail(refusal.detail);
    this.tallies.set(key, { duty, windowSlot, peer: refusal.peer, protocol: refusal.protocol, reason: refusal.reason, detail, firstAtMs: nowMs, lastAtMs: nowMs, count: 1 });
    return true;
  }

  /** The earliest window still holding refusals, if any. */
  earliestWindow(): number | undefined {
    let earliest: number | undefined;
    for (const t of this.tallies.values()) if (earliest === undefined || t.windowSlot < earliest) earliest = t.windowSlot;
    return earliest;
  }

  /** Removes and returns the summaries of every window before `slot` (all of them when omitted), oldest first. */
  take(beforeSlot: number = Number.POSITIVE_INFINITY): PeerRefusalSummary[] {
    const due: Tally[] = [];
    for (const [key, t] of this.tallies) {
      if (t.windowSlot >= beforeSlot) continue;
      due.push(t);
      this.tallies.delete(key);
    }
    for (const slot of this.dutyKeys.keys()) if (slot < beforeSlot) this.dutyKeys.delete(slot);
    return due
      .sort((a, b) => a.windowSlot - b.windowSlot || a.firstAtMs - b.firstAtMs)
      .map((t) => ({
        duty: t.duty,
        windowSlot: t.windowSlot,
        data: {
          peer: t.peer,
          protocol: t.protocol,
          reason: t.reason,
          count: t.count,
          firstAt: new Date(t.firstAtMs).toISOString(),
          lastAt: new Date(t.lastAtMs).toISOString(),
          ...(t.detail !== undefined && { detail: t.detail }),
        },
      }));
  }
}

const keyOf = (windowSlot: number, duty: EventDuty, r: PeerRefusal): string => `${windowSlot}|${dutyId(duty)}|${r.peer ?? '-'}|${r.protocol}|${r.reason}`;

/** One line, printable, bounded: the detail often quotes what a hostile peer sent. */
function cleanDetail(detail: string): string {
  const line = detail.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return line.length > MAX_REFUSAL_DETAIL_CHARS ? `${line.slice(0, MAX_REFUSAL_DETAIL_CHARS - 1)}…` : line;
}

/**
 * The event id's discriminator of a summary: the window's slot, peer, protocol and reason.
 * With the duty in the id (EventLog), one key's summaries of two windows never share an id —
 * a duty's refusals can span its slot and the next ones — while a retried append of the same
 * summary is deduplicated. `final` marks a summary flushed at shutdown: a process restarted
 * within the same slot records that window again, under its own id.
 */
export function peerRefusalDiscriminator(s: PeerRefusalSummary, final = false): string {
  return `w${s.windowSlot}:${s.data.peer ?? 'x'}:${s.data.protocol}:${s.data.reason}${final ? ':final' : ''}`;
}

export interface PeerRefusalLogOptions {
  readonly events: Pick<EventLog, 'record'>;
  readonly timing: SlotTiming;
  /** ms since the Unix epoch; default Date.now. */
  readonly now?: () => number;
  readonly maxDutyKeys?: number;
  /** An append failed (the refusal summary is lost; the prom counters still have it). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Records refused peer messages as `PeerMessageRefused` events, one per key and window (a slot),
 * appended when the window's slot has ended: a hostile peer's flood costs a map update per
 * message and at most a bounded number of appends per slot (`PeerRefusalWindows`), never an
 * append per message. `close()` records what is pending (at shutdown).
 */
export class PeerRefusalLog {
  private readonly windows: PeerRefusalWindows;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private timerFor: number | undefined;
  private appending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: PeerRefusalLogOptions) {
    this.windows = new PeerRefusalWindows(opts.timing, opts.maxDutyKeys);
    this.now = opts.now ?? Date.now;
  }

  /** Counts a refusal; true when it is the first of its key in this slot (log it then, not every time). */
  refuse(refusal: PeerRefusal): boolean {
    if (this.closed) return false;
    const first = this.windows.add(refusal, this.now());
    this.schedule();
    return first;
  }

  /** Records every window that has ended. Returns once they are appended. */
  flushEnded(): Promise<void> {
    return this.append(this.windows.take(slotAt(this.opts.timing, this.now())), false);
  }

  /** Records everything pending, ended or not, and stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.append(this.windows.take(), true);
  }

  private schedule(): void {
    const earliest = this.windows.earliestWindow();
    if (earliest === undefined || this.closed) return;
    if (this.timer !== undefined && this.timerFor !== undefined && this.timerFor <= earliest) return;
    clearTimeout(this.timer);
    this.timerFor = earliest;
    const dueMs = slotStartMs(this.opts.timing, earliest + 1);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerFor = undefined;
      void this.flushEnded().then(() => this.schedule());
    }, Math.max(0, dueMs - this.now()));
  }

  private append(summaries: readonly PeerRefusalSummary[], final: boolean): Promise<void> {
    if (summaries.length === 0) return this.appending;
    this.appending = this.appending.then(async () => {
      for (const s of summaries) {
        try {
          await this.opts.events.record('PeerMessageRefused', s.duty, [], s.data, { discriminator: peerRefusalDiscriminator(s, final) });
        } catch (error) {
          this.opts.onError?.(error);
        }
      }
    });
    return this.appending;
  }
}
