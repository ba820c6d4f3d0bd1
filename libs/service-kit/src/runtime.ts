import type { Registry } from 'prom-client';
import { BeaconClient, loadChainContext, type ChainContext } from '#lib/beacon';
import { catchUpFromMs, type ServiceName } from '#lib/contracts';
import type { NodeConfig } from '#lib/config';
import { EventLog, ensureCohortStreams } from '#lib/event-log';
import { eventStoreOn, type EventStore, type SubscribeFrom } from '#lib/event-store';
import { busOn, connectNats, type Bus, type NatsConnection } from '#lib/messaging';
import { createLogger, createMetricsRegistry, createTracing, serveMetrics, type Logger, type MetricsServer, type Tracing } from '#lib/observability';

/**
 * What every service of a node is given: its config, one NATS connection shared by its bus
 * and its event store, its journal, logger, metrics registry and tracer. The Nest modules
 * receive it as providers; the domain never sees it.
 */
export interface ServiceRuntime {
  readonly service: ServiceName;
  readonly config: NodeConfig;
  readonly nc: NatsConnection;
  readonly bus: Bus;
  readonly store: EventStore;
  readonly events: EventLog;
  readonly log: Logger;
  readonly metrics: Registry;
  readonly tracing: Tracing;
  /** This node's own BN. */
  readonly beacon: BeaconClient;
  /**
   * Genesis and spec from the BN, waiting (and saying so) until it answers or `signal` aborts.
   * Binds the journal to the network it found.
   */
  loadChain(signal: AbortSignal): Promise<ChainContext>;
  /** What the last `loadChain` found: the network this service runs on (none until it has asked). */
  chain(): ChainContext | undefined;
  close(): Promise<void>;
}

/**
 * Where a consumer of duty events starts reading: far enough back that a restarted service
 * sees every duty still in flight (the scheduled duties, decisions and approvals it must
 * honour), not so far that it re-reads the whole audit log. On a first start it reads what
 * the node's other services recorded while it was starting.
 */
export const catchUpFrom = (chain: ChainContext, nowMs = Date.now()): SubscribeFrom => ({ time: new Date(catchUpFromMs(chain.timing, nowMs)) });

/** Metric ports per service: base + offset, so one node's five services never collide. */
export const METRICS_PORT_OFFSET = {
  'duty-scheduler': 0,
  consensus: 1,
  'slashing-guard': 2,
  'signer-gateway': 3,
  aggregator: 4,
  'peer-gateway': 5,
} as const satisfies Record<ServiceName, number>;

export async function createServiceRuntime(config: NodeConfig, service: ServiceName): Promise<ServiceRuntime> {
  const log = createLogger({ scope: `${config.node.name}/${service}`, level: config.observability.logLevel });
  const nc = await connectNats({ servers: config.nats.url, name: `${config.node.name}/${service}` });
  const onError = (error: unknown, where: string) =>
    log.error('handler failed', { where, error: error instanceof Error ? error.message : String(error) });
  const bus = busOn(nc, { onHandlerError: (error, subject) => onError(error, subject) });
  const store = eventStoreOn(nc, { onHandlerError: (error, event) => onError(error, event.subject) });
  await ensureCohortStreams(store, config.retention);
  const metrics = createMetricsRegistry({ node: config.node.name, service });
  const tracing = createTracing({
    serviceName: `cohort-${service}`,
    node: config.node.name,
    ...(config.observability.otlpEndpoint ? { otlpEndpoint: config.observability.otlpEndpoint } : {}),
  });
  const events = new EventLog({ store, node: config.node.name, service, clusterHash: config.cluster.clusterHash, tracing });
  const { metricsHost, metricsPortBase } = config.observability;
  const metricsServer: MetricsServer | undefined =
    metricsPortBase > 0 ? await serveMetrics(metrics, metricsHost, metricsPortBase + METRICS_PORT_OFFSET[service]) : undefined;
  const beacon = new BeaconClient(config.beacon.url, config.beacon.timeoutMs);
  let chain: ChainContext | undefined;
  // closing the runtime ends a wait for the BN (a service closed while it restarts on a new network)
  const closing = new AbortController();
  return {
    service,
    config,
    beacon,
    async loadChain(signal) {
      chain = await loadChainContext(beacon, { signal: AbortSignal.any([signal, closing.signal]), onRetry: (e) => log.warn('waiting for the beacon node', { url: config.beacon.url, error: String(e) }) });
      events.bindNetwork(chain.genesisValidatorsRoot);
      return chain;
    },
    chain: () => chain,
    nc,
    bus,
    store,
    events,
    log,
    metrics,
    tracing,
    async close() {
      closing.abort();
      await metricsServer?.close();
      await tracing.shutdown();
      await store.close();
      await bus.close();
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}
