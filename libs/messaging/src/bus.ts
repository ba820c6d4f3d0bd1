/**
 * A small typed bus for commands and queries between one node's services (core NATS semantics:
 * at-most-once, no persistence). Events never travel here: they are appended to the event store.
 */
export interface Bus {
  /** Fire-and-forget; delivered to every current subscriber (one member per queue group). */
  publish<T>(subject: string, msg: T): void;
  /**
   * Messages are handled one at a time per subscription, in arrival order. A handler that
   * throws is reported (stderr by default) and the subscription keeps going.
   */
  subscribe<T>(subject: string, handler: MessageHandler<T>, opts?: SubscribeOptions): BusSubscription;
  /**
   * Rejects with BusTimeoutError when no reply arrives in time, NoRespondersError when nobody
   * listens on the subject, RemoteError when the replier's handler threw.
   */
  request<Req, Res>(subject: string, msg: Req, opts: RequestOptions): Promise<Res>;
  /** Answers requests one at a time; a thrown error is sent back as `{ error: { message } }`. */
  reply<Req, Res>(subject: string, handler: (msg: Req) => Promise<Res> | Res, opts?: SubscribeOptions): BusSubscription;
  /** Ends every subscription made through this bus (and the connection, when the bus owns it). */
  close(): Promise<void>;
}

export type MessageHandler<T> = (msg: T, subject: string) => void | Promise<void>;

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  readonly queue?: string;
}

export interface RequestOptions {
  readonly timeoutMs: number;
}

export interface BusSubscription {
  close(): void;
}

/** Where handler failures go; the default writes to stderr with the subject. */
export type HandlerErrorReporter = (error: unknown, subject: string) => void;

export interface BusOptions {
  readonly onHandlerError?: HandlerErrorReporter;
}

export const reportToStderr: HandlerErrorReporter = (error, subject) => {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[bus] handler for ${subject} failed: ${detail}\n`);
};

/** The body a replier sends when its handler threw. */
export interface ReplyErrorBody {
  readonly error: { readonly message: string };
}

export class BusTimeoutError extends Error {
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`request on ${subject} got no reply within ${timeoutMs} ms`, options);
    this.name = 'BusTimeoutError';
  }
}

export class NoRespondersError extends Error {
  constructor(
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`no responders on ${subject}`, options);
    this.name = 'NoRespondersError';
  }
}

/** The replier's handler threw; its message travels back, its stack does not. */
export class RemoteError extends Error {
  constructor(
    readonly subject: string,
    readonly remoteMessage: string,
  ) {
    super(`reply handler on ${subject} failed: ${remoteMessage}`);
    this.name = 'RemoteError';
  }
}

export function replyErrorBody(error: unknown): ReplyErrorBody {
  return { error: { message: error instanceof Error ? error.message : String(error) } };
}
