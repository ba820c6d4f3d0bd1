import { errors, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
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
import { connectNats, type NatsConnectionOptions } from './nats-connection.js';

/**
 * Marks a reply as the replier's failure, so a successful reply whose type happens to have an
 * `error` field is never mistaken for one.
 */
const REPLY_ERROR_HEADER = 'Cohort-Reply-Error';

export async function connectNatsBus(opts: NatsConnectionOptions & BusOptions): Promise<Bus> {
  const nc = await connectNats(opts);
  return createNatsBus(nc, opts, true);
}

/** A bus on a connection the caller owns (shared with the event store); close() leaves it open. */
export function busOn(nc: NatsConnection, opts: BusOptions = {}): Bus {
  return createNatsBus(nc, opts, false);
}

function createNatsBus(nc: NatsConnection, opts: BusOptions, ownsConnection: boolean): Bus {
  const onHandlerError = opts.onHandlerError ?? reportToStderr;
  const loops = new Map<Subscription, Promise<void>>();

  const track = (sub: Subscription, handle: (m: Msg) => Promise<void>): BusSubscription => {
    const loop = (async () => {
      for await (const m of sub) await handle(m);
    })().catch((error: unknown) => {
      // the subscription itself failed (e.g. a permission violation): nothing more will arrive
      onHandlerError(error, sub.getSubject());
    });
    loops.set(sub, loop);
    void loop.finally(() => loops.delete(sub));
    return { close: () => sub.unsubscribe() };
  };

  return {
    publish(subject, msg) {
      nc.publish(subject, encodeJson(msg));
    },

    subscribe(subject, handler, subOpts) {
      const sub = nc.subscribe(subject, queueOption(subOpts?.queue));
      return track(sub, async (m) => {
        try {
          await handler(decodeJson(m.data), m.subject);
        } catch (error) {
          onHandlerError(error, m.subject);
        }
      });
    },

    async request<Req, Res>(subject: string, msg: Req, reqOpts: { timeoutMs: number }): Promise<Res> {
      let response: Msg;
      try {
        response = await nc.request(subject, encodeJson(msg), { timeout: reqOpts.timeoutMs });
      } catch (error) {
        throw translateRequestError(error, subject, reqOpts.timeoutMs);
      }
      if (response.headers?.get(REPLY_ERROR_HEADER) === 'true') {
        throw new RemoteError(subject, decodeJson<ReplyErrorBody>(response.data).error.message);
      }
      return decodeJson<Res>(response.data);
    },

    reply(subject, handler, subOpts) {
      const sub = nc.subscribe(subject, queueOption(subOpts?.queue));
      return track(sub, async (m) => {
        try {
          const result = await handler(decodeJson(m.data));
          m.respond(encodeJson(result));
        } catch (error) {
          onHandlerError(error, m.subject);
          const h = headers();
          h.set(REPLY_ERROR_HEADER, 'true');
          m.respond(encodeJson(replyErrorBody(error)), { headers: h });
        }
      });
    },

    async close() {
      if (ownsConnection) {
        // drain: let in-flight handlers finish and their replies go out before closing
        if (!nc.isClosed()) await nc.drain();
      } else {
        for (const sub of loops.keys()) sub.unsubscribe();
      }
      await Promise.all([...loops.values()]);
    },
  };
}

function queueOption(queue: string | undefined): { queue?: string } {
  return queue === undefined ? {} : { queue };
}

function translateRequestError(error: unknown, subject: string, timeoutMs: number): Error {
  const cause = error instanceof errors.RequestError && error.cause !== undefined ? error.cause : error;
  if (cause instanceof errors.NoRespondersError) return new NoRespondersError(subject, { cause: error });
  if (cause instanceof errors.TimeoutError) return new BusTimeoutError(subject, timeoutMs, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}
