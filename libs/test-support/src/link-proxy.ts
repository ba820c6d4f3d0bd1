import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy standing for one network link: whoever dials `port` reaches `target`
 * through it, and the test decides what the link does. Fault injection without product hooks:
 * a node is simply told to reach a peer at the proxy's port.
 *
 * - `setDelayMs(ms)`: every chunk, in both directions, is forwarded `ms` after it arrived
 *   (order kept, also across a change of delay) — a long or slow link.
 * - `cut()`: existing connections are reset and new ones are accepted and reset at once, as
 *   when a route is gone and the peer's kernel answers with RST; `heal()` lets new connections
 *   through again (the cut ones stay cut: TCP state does not survive a partition here).
 */
export interface LinkProxy {
  /** The port to dial instead of the target's. */
  readonly port: number;
  readonly target: { readonly host: string; readonly port: number };
  setDelayMs(ms: number): void;
  cut(): void;
  heal(): void;
  readonly isCut: boolean;
  /** Connections accepted so far, and connections refused while cut. */
  stats(): { readonly accepted: number; readonly refused: number; readonly open: number };
  stop(): Promise<void>;
}

export interface LinkProxyOptions {
  readonly target: { readonly host: string; readonly port: number };
  /** One-way delay per direction; default 0. */
  readonly delayMs?: number;
  /** Listen port; default a free one on 127.0.0.1. */
  readonly port?: number;
}

/** Forwards chunks from `from` to `to` `delayMs()` after each arrived, in arrival order. */
function pipeDelayed(from: Socket, to: Socket, delayMs: () => number): void {
  const queue: { readonly dueAt: number; readonly chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let lastDueAt = 0;
  let ended = false;
  const pump = (): void => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.dueAt <= now) {
      if (!to.destroyed) to.write(queue.shift()!.chunk);
      else queue.shift();
    }
    if (queue.length > 0) timer = setTimeout(pump, Math.max(0, queue[0]!.dueAt - now));
    else if (ended && !to.destroyed) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    const delay = delayMs();
    if (delay <= 0 && queue.length === 0) {
      to.write(chunk);
      return;
    }
    // Monotonic due times: shortening the delay never reorders bytes already queued.
    lastDueAt = Math.max(performance.now() + delay, lastDueAt);
    queue.push({ dueAt: lastDueAt, chunk });
    timer ??= setTimeout(pump, Math.max(0, queue[0]!.dueAt - performance.now()));
  });
  from.on('end', () => {
    ended = true;
    if (queue.length === 0 && !to.destroyed) to.end();
  });
  from.on('close', () => {
    if (timer !== undefined && to.destroyed) clearTimeout(timer);
  });
}

export async function startLinkProxy(opts: LinkProxyOptions): Promise<LinkProxy> {
  let delayMs = opts.delayMs ?? 0;
  let isCut = false;
  let accepted = 0;
  let refused = 0;
  const pairs = new Set<readonly [Socket, Socket]>();
  // Half-open allowed: each direction ends on its own, after its delayed bytes are out.
  const server: Server = createServer({ noDelay: true, allowHalfOpen: true }, (inbound) => {
    inbound.on('error', () => undefined);
    if (isCut) {
      refused++;
      inbound.resetAndDestroy();
      return;
    }
    accepted++;
    const outbound = createConnection({ host: opts.target.host, port: opts.target.port, noDelay: true, allowHalfOpen: true });
    const pair = [inbound, outbound] as const;
    pairs.add(pair);
    // An error on either side resets both (the endpoints see what a broken route shows them).
    const reset = (): void => {
      pairs.delete(pair);
      if (!inbound.destroyed) inbound.resetAndDestroy();
      if (!outbound.destroyed) outbound.resetAndDestroy();
    };
    const closed = (hadError: boolean): void => {
      if (hadError) reset();
      else if (inbound.destroyed && outbound.destroyed) pairs.delete(pair);
    };
    inbound.on('error', reset).on('close', closed);
    outbound.on('error', reset).on('close', closed);
    pipeDelayed(inbound, outbound, () => delayMs);
    pipeDelayed(outbound, inbound, () => delayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const resetAll = (): void => {
    for (const [a, b] of [...pairs]) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    pairs.clear();
  };
  return {
    port,
    target: opts.target,
    setDelayMs(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay must be a non-negative number of ms, got ${ms}`);
      delayMs = ms;
    },
    cut() {
      isCut = true;
      resetAll();
    },
    heal() {
      isCut = false;
    },
    get isCut() {
      return isCut;
    },
    stats: () => ({ accepted, refused, open: pairs.size }),
    async stop() {
      resetAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
