/**
 * Loopback latency baseline for the peer network (the consensus benchmark builds on it).
 * Run: npm exec -- vitest bench --run libs/p2p/bench/
 *
 * All nodes share one process (and this machine's 2 slow cores), so figures include the
 * receiver's work on the same event loop; across hosts add the network RTT.
 * Printed: p50/p99 from our own per-operation samples (tinybench's table has no p50).
 */
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { createPeerNetwork, type PeerNetwork } from '../src/index.js';
import { openEnvelope, sealEnvelope, signerKey } from '../src/envelope.js';
import { testCluster } from '../src/test-cluster.js';
import { fromHex } from '#lib/contracts';

const PING = '/cohort/bench/ping/1.0.0';
const PONG = '/cohort/bench/pong/1.0.0';
const ONE_WAY = '/cohort/bench/one-way/1.0.0';
const QBFT_SIZED = new Uint8Array(512); // a QBFT message with a justification is a few hundred bytes
const PARSIG_SET = new Uint8Array(10_000 * 100); // ~1 MB: 10,000 validators × (96-byte signature + index)

const samples = new Map<string, number[]>();
const record = (name: string, ms: number): void => void samples.get(name)?.push(ms);
const options = (name: string) => ({
  time: 3_000,
  warmupIterations: 50,
  setup: (_task: unknown, mode: 'warmup' | 'run') => void (mode === 'run' && samples.set(name, [])),
});

let nets: PeerNetwork[] = [];
let crypto: { seal: () => Uint8Array; open: (wire: Uint8Array) => boolean } | undefined;
let pongWaiter: (() => void) | undefined;
let oneWayWaiter: ((at: number) => void) | undefined;

beforeAll(async () => {
  const c = await testCluster(4);
  nets = await Promise.all(
    c.keys.map((privateKey, selfIndex) =>
      createPeerNetwork({ privateKey, selfIndex, peers: c.peers, clusterHash: c.clusterHash, genesisValidatorsRoot: c.genesisValidatorsRoot }),
    ),
  );
  for (const net of nets) {
    net.handle(PING, (from, payload) => void net.send(from, PONG, payload));
    net.handle(PONG, () => pongWaiter?.());
    net.handle(ONE_WAY, () => oneWayWaiter?.(performance.now()));
  }
  await nets[0]!.broadcast(PING, QBFT_SIZED); // dial once: the baseline is for kept connections
  const root = fromHex(c.clusterHash);
  const gvr = fromHex(c.genesisValidatorsRoot);
  const key = signerKey(fromHex(c.peers[0]!.publicKey));
  crypto = {
    seal: () => sealEnvelope({ clusterHash: root, genesisValidatorsRoot: gvr, protocol: ONE_WAY, senderIndex: 0, payload: QBFT_SIZED }, c.keys[0]!),
    open: (wire) =>
      openEnvelope(wire, { clusterHash: root, genesisValidatorsRoot: gvr, protocol: ONE_WAY, remoteIndex: 0, remotePublicKey: key, maxPayloadBytes: 1 << 24 }).ok,
  };
});

afterAll(async () => {
  const rows = [...samples].map(([operation, ms]) => {
    const sorted = [...ms].sort((a, b) => a - b);
    const at = (q: number): string => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(2);
    return { operation, n: sorted.length, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: at(1) };
  });
  console.table(rows);
  await Promise.all(nets.map((net) => net.stop()));
});

describe('p2p loopback latency', () => {
  // Same-run baseline: the CPU part of every message (sign at the sender, verify at the receiver).
  bench(
    'baseline: seal + open a 512 B envelope, no network',
    () => {
      const t0 = performance.now();
      if (!crypto!.open(crypto!.seal())) throw new Error('envelope did not verify');
      record('baseline seal+open 512 B', performance.now() - t0);
    },
    options('baseline seal+open 512 B'),
  );

  bench(
    'one-way 512 B (send → remote handler)',
    async () => {
      const t0 = performance.now();
      const handled = new Promise<number>((resolve) => (oneWayWaiter = resolve));
      await nets[0]!.send(1, ONE_WAY, QBFT_SIZED);
      record('one-way 512 B', (await handled) - t0);
    },
    options('one-way 512 B'),
  );

  bench(
    'send() 512 B resolved (delivery acked)',
    async () => {
      const t0 = performance.now();
      await nets[0]!.send(1, ONE_WAY, QBFT_SIZED);
      record('send() acked 512 B', performance.now() - t0);
    },
    options('send() acked 512 B'),
  );

  bench(
    'round trip 512 B (ping → pong handler)',
    async () => {
      const t0 = performance.now();
      const ponged = new Promise<void>((resolve) => (pongWaiter = resolve));
      await nets[0]!.send(1, PING, QBFT_SIZED);
      await ponged;
      record('round trip 512 B', performance.now() - t0);
    },
    options('round trip 512 B'),
  );

  bench(
    'broadcast 512 B to 3 operators (all acked)',
    async () => {
      const t0 = performance.now();
      await nets[0]!.broadcast(ONE_WAY, QBFT_SIZED);
      record('broadcast 512 B ×3', performance.now() - t0);
    },
    options('broadcast 512 B ×3'),
  );

  bench(
    'send() 1 MB partial-signature set (delivery acked)',
    async () => {
      const t0 = performance.now();
      await nets[0]!.send(1, ONE_WAY, PARSIG_SET);
      record('send() acked 1 MB', performance.now() - t0);
    },
    options('send() acked 1 MB'),
  );
});
