import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNodeConfig, type NodeConfig } from '#lib/config';
import { Streams, type AnyCohortEvent, type Hex } from '#lib/contracts';
import { connectJetStreamEventStore } from '#lib/event-store';
import { freePort, startBeaconMock, startNatsServer, waitFor, type BeaconMock, type NatsServerHandle } from '#lib/test-support';
import { RUNTIME, startNestService } from './nest.js';
import type { ServiceRuntime } from './runtime.js';

const hex = (bytes: number, byte: string) => `0x${byte.repeat(bytes)}` as Hex;
const ROOT_A = hex(32, 'a1');
const ROOT_B = hex(32, 'b2');

/** What the service under test saw: each boot's network, and how many incarnations were destroyed. */
const seen = { booted: [] as Hex[], destroyed: 0 };

@Injectable()
class ChainReader implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly abort = new AbortController();
  constructor(@Inject(RUNTIME) private readonly rt: ServiceRuntime) {}
  async onApplicationBootstrap(): Promise<void> {
    seen.booted.push((await this.rt.loadChain(this.abort.signal)).genesisValidatorsRoot);
  }
  onModuleDestroy(): void {
    this.abort.abort();
    seen.destroyed++;
  }
}

@Module({ providers: [ChainReader] })
class ChainReaderModule {}

function configFor(bnUrl: string, natsUrl: string): NodeConfig {
  return parseNodeConfig({
    node: { index: 0, name: 'n0' },
    beacon: { url: bnUrl, timeoutMs: 500, genesisPollMs: 100 },
    nats: { url: natsUrl },
    cluster: {
      clusterHash: hex(32, '0c'),
      threshold: 3,
      operators: Array.from({ length: 4 }, (_, i) => ({ index: i, publicKey: `0x02${String(i).repeat(64)}`, p2pHost: '127.0.0.1', p2pPort: 9000 + i })),
      validators: [{ groupPubkey: hex(48, '5a'), publicShares: Array.from({ length: 4 }, (_, i) => hex(48, `6${i}`)) }],
    },
    p2p: { privateKey: hex(32, '07') },
    gateway: { port: 3600 },
    observability: { logLevel: 'error' },
  });
}

async function recorded(natsUrl: string): Promise<AnyCohortEvent[]> {
  const store = await connectJetStreamEventStore({ servers: natsUrl, name: 'nest-spec' });
  try {
    const events: AnyCohortEvent[] = [];
    for await (const e of store.read<AnyCohortEvent>(Streams.events.subjects[0])) events.push(e.data);
    return events;
  } finally {
    await store.close();
  }
}

/** A BN that knows its genesis but never answers the spec: a service booting on it waits. */
async function halfUpBeaconNode(port: number, root: Hex): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/eth/v1/beacon/genesis') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: { genesis_time: '1700000000', genesis_validators_root: root, genesis_fork_version: '0x00000000' } }));
      return;
    }
    res.statusCode = 503;
    res.end('{"code":503,"message":"syncing"}');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

describe('startNestService: a network reset under a running service', { timeout: 30_000 }, () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => nats.stop());

  it('restarts the service on the new genesis validators root and records NetworkChanged under it; a BN that is down is not a reset', async () => {
    seen.booted.length = 0;
    seen.destroyed = 0;
    const port = await freePort();
    let bn: BeaconMock = await startBeaconMock({ validators: [], genesisValidatorsRoot: ROOT_A, port });
    const service = await startNestService('consensus', configFor(bn.url, nats.url), ChainReaderModule);
    try {
      expect(service.runtime.chain()?.genesisValidatorsRoot).toBe(ROOT_A);
      await bn.stop();
      await new Promise((r) => setTimeout(r, 400)); // several polls against a BN that is gone
      expect(seen).toEqual({ booted: [ROOT_A], destroyed: 0 });
      bn = await startBeaconMock({ validators: [], genesisValidatorsRoot: ROOT_B, port });
      await waitFor(() => service.runtime.chain()?.genesisValidatorsRoot === ROOT_B, 5000);
      expect(seen).toEqual({ booted: [ROOT_A, ROOT_B], destroyed: 1 });
      // recorded once the new incarnation is up: read until it is there
      let changed: AnyCohortEvent[] = [];
      for (const until = Date.now() + 5000; changed.length === 0 && Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
        changed = (await recorded(nats.url)).filter((e) => e.type === 'NetworkChanged');
      }
      expect(changed).toHaveLength(1);
      expect(changed[0]).toMatchObject({ network: ROOT_B, producer: { node: 'n0', service: 'consensus' }, duty: { slot: 0, type: 'none' } });
      expect(changed[0]?.data).toEqual({ from: ROOT_A, to: ROOT_B, genesisTime: bn.genesisTime });
    } finally {
      await service.close();
      await bn.stop();
    }
    expect(seen.destroyed).toBe(2);
  });

  it('closing while the restart waits for the new network\'s BN ends the wait at once', async () => {
    seen.booted.length = 0;
    seen.destroyed = 0;
    const port = await freePort();
    const bn = await startBeaconMock({ validators: [], genesisValidatorsRoot: ROOT_A, port });
    const service = await startNestService('aggregator', configFor(bn.url, nats.url), ChainReaderModule);
    await bn.stop();
    const halfUp = await halfUpBeaconNode(port, ROOT_B);
    try {
      // the reset is seen, the old incarnation stopped, the new one waits for the spec
      await waitFor(() => seen.destroyed === 1, 5000);
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      await service.close();
      expect(Date.now() - started).toBeLessThan(2500);
      expect(seen.booted).toEqual([ROOT_A]);
    } finally {
      await new Promise((resolve) => halfUp.close(resolve));
    }
  });
});
