import { setTimeout as sleep } from 'node:timers/promises';
import { Module, type DynamicModule, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NodeConfig } from '#lib/config';
import { NO_DUTY, type Hex, type ServiceName } from '#lib/contracts';
import { createServiceRuntime, type ServiceRuntime } from './runtime.js';

/** DI token of the ServiceRuntime (`@Inject(RUNTIME) runtime: ServiceRuntime`). */
export const RUNTIME = Symbol('cohort.runtime');

@Module({})
export class RuntimeModule {
  static of(runtime: ServiceRuntime): DynamicModule {
    return { module: RuntimeModule, global: true, providers: [{ provide: RUNTIME, useValue: runtime }], exports: [RUNTIME] };
  }
}

export interface RunningService {
  readonly name: ServiceName;
  /** The running incarnation's runtime (a network reset replaces it). */
  readonly runtime: ServiceRuntime;
  readonly app: INestApplicationContext;
  close(): Promise<void>;
}

interface Incarnation {
  readonly runtime: ServiceRuntime;
  readonly app: INestApplicationContext;
}

/**
 * Boots one service as a standalone Nest application (no Nest HTTP: the gateway owns its own
 * server) around its runtime. Closing stops the consumers first (Nest lifecycle hooks),
 * then the connection. `stop` ends a boot still waiting for its BN.
 */
async function boot(name: ServiceName, config: NodeConfig, module: Type<unknown>, stop: AbortSignal): Promise<Incarnation> {
  const runtime = await createServiceRuntime(config, name);
  const abandon = () => void runtime.close().catch(() => undefined);
  stop.addEventListener('abort', abandon);
  @Module({ imports: [RuntimeModule.of(runtime), module] })
  class ServiceRoot {}
  let app: INestApplicationContext | undefined;
  try {
    app = await NestFactory.createApplicationContext(ServiceRoot, { logger: false, abortOnError: false });
    await app.init();
    if (stop.aborted) throw new Error(`${name} was closed while it started`);
  } catch (error) {
    await app?.close().catch(() => undefined);
    await runtime.close().catch(() => undefined);
    throw error;
  } finally {
    stop.removeEventListener('abort', abandon);
  }
  const chain = runtime.chain();
  runtime.log.info('service started', chain ? { genesisValidatorsRoot: chain.genesisValidatorsRoot } : {});
  return { runtime, app };
}

async function shutDown({ app, runtime }: Incarnation): Promise<void> {
  await app.close();
  await runtime.close();
}

/**
 * Starts one service and keeps it on its BN's network: every `beacon.genesisPollMs` it asks the BN for
 * the genesis, and when the genesis validators root is not the one it runs on (a reset), it
 * stops the service and starts it again on the new network — a fresh slashing history (the
 * guard keys history by root and keeps the old one), a journal bound to the new network, the
 * new chain's slot clock — and records `NetworkChanged`. Nobody has to touch the node.
 * A BN that does not answer is not a reset: the services' own requests report it.
 */
export async function startNestService(name: ServiceName, config: NodeConfig, module: Type<unknown>): Promise<RunningService> {
  const closing = new AbortController();
  /** The running incarnation; undefined while a reset restarts the service. */
  let current: Incarnation | undefined = await boot(name, config, module, closing.signal);
  let last: Incarnation = current;
  let switching: Promise<void> | undefined;

  const restartOn = async (from: Hex, to: Hex): Promise<void> => {
    const log = last.runtime.log;
    log.warn("the beacon node is on another network (a new genesis validators root): restarting the service on it; the previous network's history is kept", { from, to });
    const stopping = current;
    current = undefined;
    if (stopping) await shutDown(stopping).catch((error: unknown) => log.error('stopping the service for the new network failed', { error: String(error) }));
    for (let attempt = 1; !closing.signal.aborted; attempt++) {
      try {
        current = last = await boot(name, config, module, closing.signal);
        break;
      } catch (error) {
        if (closing.signal.aborted) return;
        const retryMs = Math.min(30_000, 1000 * 2 ** attempt);
        log.error('restarting the service on the new network failed; retrying', { attempt, retryMs, error: String(error) });
        await sleep(retryMs, undefined, { signal: closing.signal }).catch(() => undefined);
      }
    }
    const chain = current?.runtime.chain();
    if (!current || !chain) return;
    const { runtime } = current;
    await runtime.events
      .record('NetworkChanged', { slot: 0, type: NO_DUTY }, [], { from, to: chain.genesisValidatorsRoot, genesisTime: chain.timing.genesisTimeMs / 1000 }, { discriminator: from })
      .catch((error: unknown) => runtime.log.error('recording NetworkChanged failed', { error: String(error) }));
    runtime.log.info('service restarted on the new network', { genesisValidatorsRoot: chain.genesisValidatorsRoot });
  };

  const check = async (): Promise<void> => {
    const running = current?.runtime.chain();
    if (!current || !running) return; // still waiting for its BN
    const genesis = await current.runtime.beacon.genesis().catch(() => undefined);
    if (closing.signal.aborted || !genesis || genesis.genesisValidatorsRoot === running.genesisValidatorsRoot) return;
    await restartOn(running.genesisValidatorsRoot, genesis.genesisValidatorsRoot);
  };

  const poll = setInterval(() => {
    if (switching || closing.signal.aborted) return;
    switching = check()
      .catch((error: unknown) => last.runtime.log.error('network check failed', { error: String(error) }))
      .finally(() => (switching = undefined));
  }, config.beacon.genesisPollMs);
  poll.unref();

  return {
    name,
    get runtime() {
      return last.runtime;
    },
    get app() {
      return last.app;
    },
    async close() {
      if (closing.signal.aborted) return;
      closing.abort();
      clearInterval(poll);
      await switching; // a restart in progress gives up (its wait for the BN ends with its runtime)
      const stopping = current;
      current = undefined;
      if (stopping) await shutDown(stopping);
    },
  };
}
