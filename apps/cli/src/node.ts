import 'reflect-metadata';
import type { Type } from '@nestjs/common';
import type { NodeConfig } from '#lib/config';
import type { ServiceName } from '#lib/contracts';
import { startNestService, type RunningService } from '#lib/service-kit';
import { AggregatorModule } from '#service/aggregator';
import { ConsensusModule } from '#service/consensus';
import { DutySchedulerModule } from '#service/duty-scheduler';
import { PeerGatewayModule } from '#service/peer-gateway';
import { SignerGatewayModule } from '#service/signer-gateway';
import { SlashingGuardModule } from '#service/slashing-guard';

/**
 * Each service's root module. Started in this order so that every consumer is subscribed
 * before the scheduler emits the first duty.
 */
export const SERVICE_MODULES = {
  'slashing-guard': SlashingGuardModule,
  'peer-gateway': PeerGatewayModule,
  consensus: ConsensusModule,
  aggregator: AggregatorModule,
  'signer-gateway': SignerGatewayModule,
  'duty-scheduler': DutySchedulerModule,
} as const satisfies Record<ServiceName, Type<unknown>>;

export interface RunningNode {
  readonly config: NodeConfig;
  readonly services: readonly RunningService[];
  stop(): Promise<void>;
}

/** Starts one service (a container in docker-compose / k8s runs exactly one). */
export function startService(name: ServiceName, config: NodeConfig): Promise<RunningService> {
  return startNestService(name, config, SERVICE_MODULES[name]);
}

/** All services of one node in this process: the simnet and a single-host deployment. */
export async function startNode(config: NodeConfig): Promise<RunningNode> {
  const services: RunningService[] = [];
  try {
    for (const name of Object.keys(SERVICE_MODULES) as ServiceName[]) services.push(await startService(name, config));
  } catch (error) {
    for (const s of services.reverse()) await s.close().catch(() => undefined);
    throw error;
  }
  let stopped = false;
  return {
    config,
    services,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of [...services].reverse()) await s.close().catch(() => undefined);
    },
  };
}
