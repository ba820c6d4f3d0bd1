import { Module, type DynamicModule, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NodeConfig } from '#lib/config';
import type { ServiceName } from '#lib/contracts';
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
  readonly runtime: ServiceRuntime;
  readonly app: INestApplicationContext;
  close(): Promise<void>;
}

/**
 * Boots one service as a standalone Nest application (no Nest HTTP: the gateway owns its own
 * server) around its runtime. Closing stops the consumers first (Nest lifecycle hooks),
 * then the connection.
 */
export async function startNestService(name: ServiceName, config: NodeConfig, module: Type<unknown>): Promise<RunningService> {
  const runtime = await createServiceRuntime(config, name);
  @Module({ imports: [RuntimeModule.of(runtime), module] })
  class ServiceRoot {}
  const app = await NestFactory.createApplicationContext(ServiceRoot, { logger: false, abortOnError: false });
  await app.init();
  runtime.log.info('service started');
  let closed = false;
  return {
    name,
    runtime,
    app,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await runtime.close();
    },
  };
}
