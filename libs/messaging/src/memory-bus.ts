import {
  BusTimeoutError,
  NoRespondersError,
  RemoteError,
  replyErrorBody,
  reportToStderr,
  type Bus,
  type BusOptions,
  type BusSubscription,
  type ReplyErrorBody,
} from './bus.js';
import { decodeJson, encodeJson } from './codec.js';
import { isValidSubject, subjectMatches } from './subject.js';

type Respond = (payload: Uint8Array, failed: boolean) => void;

interface Delivery {
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly respond: Respond | undefined;
}

interface Mailbox {
  readonly filter: string;
  readonly queue: string | undefined;
  readonly inbox: Delivery[];
  closed: boolean;
  /** The running drain of the inbox, if any: deliveries are handled one at a time. */
  draining: Promise<void> | undefined;
  readonly handle: (delivery: Delivery) => Promise<void>;
}

/**
 * The bus in one process, with NATS semantics: subject wildcards, queue groups (one member per
 * group), sequential handling per subscription, JSON round trip of every message (so a test
 * catches a payload that would not survive the wire), no-responders and timeouts on request.
 */
export function createMemoryBus(opts: BusOptions = {}): Bus {
  const onHandlerError = opts.onHandlerError ?? reportToStderr;
  const mailboxes = new Set<Mailbox>();
  const queueTurns = new Map<string, number>();
  let closed = false;

  const assertOpen = (): void => {
    if (closed) throw new Error('bus is closed');
  };

  const drain = async (box: Mailbox): Promise<void> => {
    for (let next = box.inbox.shift(); next !== undefined && !box.closed; next = box.inbox.shift()) {
      await box.handle(next);
    }
    box.draining = undefined;
  };

  const deliver = (box: Mailbox, delivery: Delivery): void => {
    box.inbox.push(delivery);
    // a microtask, not a direct call: like the network, delivery never runs inside publish()
    box.draining ??= Promise.resolve().then(() => drain(box));
  };

  /** Every plain recipient, plus one member per queue group (taking turns). Returns how many got it. */
  const route = (subject: string, payload: Uint8Array, respond: Respond | undefined): number => {
    const recipients: Mailbox[] = [];
    const groups = new Map<string, Mailbox[]>();
    for (const box of mailboxes) {
      if (!subjectMatches(box.filter, subject)) continue;
      if (box.queue === undefined) recipients.push(box);
      else {
        // a queue group is per (queue name, subject), as in NATS
        const group = `${box.queue}\u0000${box.filter}`;
        groups.set(group, [...(groups.get(group) ?? []), box]);
      }
    }
    for (const [group, members] of groups) {
      const turn = queueTurns.get(group) ?? 0;
      queueTurns.set(group, turn + 1);
      recipients.push(members[turn % members.length] as Mailbox);
    }
    for (const box of recipients) deliver(box, { subject, payload, respond });
    return recipients.length;
  };

  const open = (filter: string, queue: string | undefined, handle: Mailbox['handle']): BusSubscription => {
    assertOpen();
    if (!isValidSubject(filter, true)) throw new TypeError(`invalid subject: ${filter}`);
    const box: Mailbox = { filter, queue, inbox: [], closed: false, draining: undefined, handle };
    mailboxes.add(box);
    return {
      close() {
        box.closed = true;
        mailboxes.delete(box);
      },
    };
  };

  return {
    publish(subject, msg) {
      assertOpen();
      if (!isValidSubject(subject, false)) throw new TypeError(`invalid subject: ${subject}`);
      route(subject, encodeJson(msg), undefined);
    },

    subscribe(subject, handler, subOpts) {
      return open(subject, subOpts?.queue, async ({ subject: actual, payload }) => {
        try {
          await handler(decodeJson(payload), actual);
        } catch (error) {
          onHandlerError(error, actual);
        }
      });
    },

    request<Req, Res>(subject: string, msg: Req, reqOpts: { timeoutMs: number }): Promise<Res> {
      assertOpen();
      return new Promise<Res>((resolve, reject) => {
        let answered = false;
        const timer = setTimeout(() => {
          answered = true;
          reject(new BusTimeoutError(subject, reqOpts.timeoutMs));
        }, reqOpts.timeoutMs);
        const respond: Respond = (payload, failed) => {
          if (answered) return;
          answered = true;
          clearTimeout(timer);
          if (failed) reject(new RemoteError(subject, decodeJson<ReplyErrorBody>(payload).error.message));
          else resolve(decodeJson<Res>(payload));
        };
        if (route(subject, encodeJson(msg), respond) === 0) {
          answered = true;
          clearTimeout(timer);
          queueMicrotask(() => reject(new NoRespondersError(subject)));
        }
      });
    },

    reply(subject, handler, subOpts) {
      return open(subject, subOpts?.queue, async ({ subject: actual, payload, respond }) => {
        try {
          const result = await handler(decodeJson(payload));
          respond?.(encodeJson(result), false);
        } catch (error) {
          onHandlerError(error, actual);
          respond?.(encodeJson(replyErrorBody(error)), true);
        }
      });
    },

    async close() {
      closed = true;
      const inFlight = [...mailboxes].map((box) => box.draining);
      for (const box of mailboxes) box.closed = true;
      mailboxes.clear();
      await Promise.all(inFlight);
    },
  };
}
