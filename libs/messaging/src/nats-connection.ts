import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';

export type { NatsConnection };

export interface NatsConnectionOptions {
  /** e.g. `nats://127.0.0.1:4222` (comma-separated for several) */
  readonly servers: string;
  /** Shown in the server's connection list: the service name helps an operator read it. */
  readonly name?: string;
}

const RECONNECT_WAIT_MS = 250;

/**
 * One connection per service, shared by its bus and its event store. The server is the node's
 * own, on loopback: the client never gives up reconnecting (a service outliving a NATS restart
 * is normal) and retries quickly. A request in flight across a disconnect can be lost; callers
 * retry until their deadline (appends are safe to retry: msgId dedup).
 */
export function connectNats(opts: NatsConnectionOptions): Promise<NatsConnection> {
  return connect({
    servers: opts.servers.split(',').map((s) => s.trim()).filter(Boolean),
    ...(opts.name === undefined ? {} : { name: opts.name }),
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
  });
}
