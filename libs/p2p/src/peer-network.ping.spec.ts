import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPeerNetwork, PeerNetworkConfigError, PeerUnreachableError, type PeerNetwork, type PeerNetworkOptions, type PingOutcome } from './peer-network.js';
import { createWallClock, PING_PROTOCOL, type PingSample } from './ping.js';
import { testCluster, type TestCluster } from './test-cluster.js';

const started: PeerNetwork[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((net) => net.stop()));
});

async function start(opts: PeerNetworkOptions): Promise<PeerNetwork> {
  const net = await createPeerNetwork(opts);
  started.push(net);
  return net;
}

function optionsFor(c: TestCluster, selfIndex: number, extra: Partial<PeerNetworkOptions> = {}): PeerNetworkOptions {
  return {
    privateKey: c.keys[selfIndex]!,
    selfIndex,
    peers: c.peers,
    clusterHash: c.clusterHash,
    genesisValidatorsRoot: c.genesisValidatorsRoot,
    ping: { intervalMs: 100, timeoutMs: 500 },
    reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    ...extra,
  };
}

/**
 * RFC 5905 §8: on any path the measured offset is within δ/2 of the true one; 1 ms more for
 * the two clocks' own disagreement (anchoring) and timer resolution.
 */
function expectOffsetNear(sample: PingSample, trueOffsetMs: number): void {
  expect(Math.abs(sample.clockOffsetMs - trueOffsetMs)).toBeLessThanOrEqual(sample.rttMs / 2 + 1);
}

/** A clock `skewMs` ahead of this process's wall clock: operator with a wrong system time. */
function skewedClock(skewMs: number): () => number {
  const clock = createWallClock();
  return () => clock() + skewMs;
}

describe('PeerNetwork ping on loopback', () => {
  it('measures a small positive round trip and an offset near zero between operators on one clock', async () => {
    const c = await testCluster(3);
    const nets = await Promise.all([0, 1, 2].map((i) => start(optionsFor(c, i))));

    await nets[0]!.ping(1); // the first ping dials; the next ones ride the open connection
    const samples = [];
    for (let i = 0; i < 5; i += 1) samples.push(await nets[0]!.ping(1), await nets[0]!.ping(2), await nets[2]!.ping(0));

    for (const s of samples) {
      expect(s.rttMs).toBeGreaterThan(0);
      expect(s.rttMs).toBeLessThan(100);
      expectOffsetNear(s, 0);
    }
    expect(Object.keys(nets[0]!.peerMetrics().pings)).toEqual(['1', '2']);
    expect(nets[0]!.peerMetrics().pingFailures).toEqual({});
  });

  it('measures an injected clock skew, in both directions, within half the round trip', async () => {
    const c = await testCluster(3);
    const a = await start(optionsFor(c, 0));
    await start(optionsFor(c, 1, { now: skewedClock(800) }));
    await start(optionsFor(c, 2, { now: skewedClock(-1_250) }));

    await a.ping(1);
    const ahead = await a.ping(1);
    const behind = await a.ping(2);

    expectOffsetNear(ahead, 800);
    expectOffsetNear(behind, -1_250);
    // the skew cancels out of the round trip
    expect(ahead.rttMs).toBeGreaterThan(0);
    expect(ahead.rttMs).toBeLessThan(100);
  });

  it('pings every other operator periodically and reports a stopped one as failures, not exceptions', async () => {
    const c = await testCluster(3);
    const a = await start(optionsFor(c, 0, { ping: { intervalMs: 50, timeoutMs: 300 } }));
    const b = await start(optionsFor(c, 1));
    const down = await start(optionsFor(c, 2));
    await down.stop();
    const outcomes: PingOutcome[] = [];

    a.startPinging((o) => outcomes.push(o));
    const rounds = (peer: number): number => outcomes.filter((o) => o.peer === peer).length;
    await expect.poll(() => Math.min(rounds(1), rounds(2)), { timeout: 5_000 }).toBeGreaterThanOrEqual(2);

    const toLive = outcomes.filter((o) => o.peer === 1);
    const toDead = outcomes.filter((o) => o.peer === 2);
    expect(toLive.length).toBeGreaterThanOrEqual(2);
    expect(toLive.every((o) => o.ok && o.sample.rttMs > 0)).toBe(true);
    expect(toDead.every((o) => !o.ok && o.error.length > 0)).toBe(true);
    expect(outcomes.some((o) => o.peer === 0)).toBe(false);
    const metrics = a.peerMetrics();
    expect(metrics.pingFailures[2]).toBeGreaterThanOrEqual(toDead.length);
    expect(metrics.pingFailures[1]).toBeUndefined();
    expect(metrics.pings[2]).toBeUndefined();
    expect(metrics.pings[1]?.atMs).toBeGreaterThan(0);
    expect(() => a.startPinging()).toThrow(PeerNetworkConfigError);
    expect(() => a.handle(PING_PROTOCOL, () => undefined)).toThrow(PeerNetworkConfigError);
    expect(b.connectedPeers()).toEqual([0]);
  });

  it('a peer that dies keeps its last sample and counts failures; ping() rejects within its timeout', async () => {
    const c = await testCluster(2);
    const a = await start(optionsFor(c, 0, { ping: { intervalMs: 1_000, timeoutMs: 300 } }));
    const b = await start(optionsFor(c, 1));
    const last = await a.ping(1);

    await b.stop();
    const before = performance.now();
    await expect(a.ping(1)).rejects.toBeInstanceOf(PeerUnreachableError);
    expect(performance.now() - before).toBeLessThan(1_000);

    expect(a.peerMetrics().pings[1]).toEqual(last);
    expect(a.peerMetrics().pingFailures).toEqual({ 1: 1 });
    await expect(a.ping(0)).rejects.toBeInstanceOf(RangeError);
  });

  it('gives up on a peer that accepts the connection but never answers, within the timeout', async () => {
    const c = await testCluster(2);
    const a = await start(optionsFor(c, 0, { ping: { intervalMs: 1_000, timeoutMs: 300 } }));
    const silent: Server = createServer(() => undefined); // takes the TCP connection, never speaks
    await new Promise<void>((resolve) => silent.listen(c.peers[1]!.port, '127.0.0.1', resolve));
    try {
      const before = performance.now();
      await expect(a.ping(1)).rejects.toBeInstanceOf(PeerUnreachableError);
      expect(performance.now() - before).toBeLessThan(1_000);
      expect(a.peerMetrics().pingFailures).toEqual({ 1: 1 });
    } finally {
      silent.close();
    }
  });

  it('refuses a non-positive ping interval or timeout at startup', async () => {
    const c = await testCluster(2);
    await expect(createPeerNetwork(optionsFor(c, 0, { ping: { intervalMs: 0, timeoutMs: -1 } }))).rejects.toThrow(
      /ping.intervalMs must be a positive number; ping.timeoutMs must be a positive number/,
    );
  });
});
