import { randomBytes } from 'node:crypto';
import { afterEach, describe, it, expect, vi } from 'vitest';
import { toHex } from '#lib/contracts';
import { decodeWire, sealEnvelope } from './envelope.js';
import { generateIdentityKey, secp256k1PublicKey } from './identity.js';
import {
  createPeerNetwork,
  createPeerNetworkWith,
  PeerNetworkConfigError,
  PeerUnreachableError,
  type PeerNetwork,
  type PeerNetworkHooks,
  type PeerNetworkOptions,
} from './peer-network.js';
import { freePort } from '#lib/test-support';
import { testCluster, type TestCluster } from './test-cluster.js';
import type { RejectReason } from './envelope.js';

const QBFT = '/cohort/qbft/1.0.0';
const PARSIG = '/cohort/parsig/1.0.0';
const FAST_RETRY = { attempts: 3, initialDelayMs: 20, maxDelayMs: 50, attemptTimeoutMs: 500 };

interface Rejection {
  readonly reason: RejectReason;
  readonly peer?: string;
  readonly protocol?: string;
}

const started: PeerNetwork[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((net) => net.stop()));
});

async function start(opts: PeerNetworkOptions, hooks: PeerNetworkHooks = {}): Promise<PeerNetwork> {
  const net = await createPeerNetworkWith(opts, hooks);
  started.push(net);
  return net;
}

function optionsFor(c: TestCluster, selfIndex: number, rejections: Rejection[] = []): PeerNetworkOptions {
  return {
    privateKey: c.keys[selfIndex]!,
    selfIndex,
    peers: c.peers,
    clusterHash: c.clusterHash,
    genesisValidatorsRoot: c.genesisValidatorsRoot,
    onRejected: (r) => rejections.push(r),
    sendRetry: FAST_RETRY,
  };
}

/** Receives into a list so a test can assert who sent what. */
function inbox(net: PeerNetwork, protocol: string): Array<{ from: number; text: string }> {
  const received: Array<{ from: number; text: string }> = [];
  net.handle(protocol, (from, payload) => received.push({ from, text: Buffer.from(payload).toString() }));
  return received;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Node 1 of a fresh 3-operator cluster, receiving QBFT; the sender (operator 0) is built by the test. */
async function receiverOf3(): Promise<{ c: TestCluster; received: ReturnType<typeof inbox>; rejections: Rejection[] }> {
  const c = await testCluster(3);
  const rejections: Rejection[] = [];
  const receiver = await start(optionsFor(c, 1, rejections));
  return { c, received: inbox(receiver, QBFT), rejections };
}

describe('PeerNetwork on loopback', () => {
  it('3 operators exchange on two protocols, each message attributed to its authenticated sender', async () => {
    const c = await testCluster(3);
    const nets = await Promise.all([0, 1, 2].map((i) => start(optionsFor(c, i))));
    const qbft = nets.map((net) => inbox(net, QBFT));
    const parsig = nets.map((net) => inbox(net, PARSIG));

    await nets[0]!.send(1, QBFT, bytes('prepare from 0'));
    await nets[2]!.send(1, PARSIG, bytes('partial from 2'));
    await nets[1]!.send(0, PARSIG, bytes('partial from 1'));
    await nets[1]!.send(2, QBFT, bytes('commit from 1'));

    expect(qbft[1]).toEqual([{ from: 0, text: 'prepare from 0' }]);
    expect(parsig[1]).toEqual([{ from: 2, text: 'partial from 2' }]);
    expect(parsig[0]).toEqual([{ from: 1, text: 'partial from 1' }]);
    expect(qbft[2]).toEqual([{ from: 1, text: 'commit from 1' }]);
    expect(qbft[0]).toEqual([]);
    expect(parsig[2]).toEqual([]);
    expect(nets[1]!.connectedPeers()).toEqual([0, 2]);
    expect(nets[1]!.peerMetrics().messagesReceived).toEqual({ [QBFT]: 1, [PARSIG]: 1 });
    expect(nets[0]!.peerMetrics().messagesSent).toEqual({ [QBFT]: 1 });
  });

  it('broadcast reaches every other operator and reports them delivered', async () => {
    const c = await testCluster(3);
    const nets = await Promise.all([0, 1, 2].map((i) => start(optionsFor(c, i))));
    const qbft = nets.map((net) => inbox(net, QBFT));

    const result = await nets[2]!.broadcast(QBFT, bytes('round change'));

    expect(result).toEqual({ delivered: [0, 1], failed: [] });
    expect(qbft[0]).toEqual([{ from: 2, text: 'round change' }]);
    expect(qbft[1]).toEqual([{ from: 2, text: 'round change' }]);
    expect(qbft[2]).toEqual([]);
    expect(nets[2]!.peerMetrics().messagesSent).toEqual({ [QBFT]: 2 });
  });

  it('broadcast reports an operator that is down as failed, without throwing', async () => {
    const c = await testCluster(3);
    const nets = await Promise.all([0, 1].map((i) => start(optionsFor(c, i))));
    const qbft = inbox(nets[1]!, QBFT);

    const result = await nets[0]!.broadcast(QBFT, bytes('proposal'));

    expect(result).toEqual({ delivered: [1], failed: [2] });
    expect(qbft).toEqual([{ from: 0, text: 'proposal' }]);
    expect(nets[0]!.peerMetrics().sendFailures).toEqual({ [QBFT]: 1 });
    await expect(nets[0]!.send(2, QBFT, bytes('again'))).rejects.toBeInstanceOf(PeerUnreachableError);
  });

  it('does not count a message as delivered to a peer that does not speak the protocol', async () => {
    const c = await testCluster(2);
    const a = await start(optionsFor(c, 0));
    const b = await start(optionsFor(c, 1));
    const qbft = inbox(b, QBFT);

    await expect(a.send(1, PARSIG, bytes('nobody listens'))).rejects.toBeInstanceOf(PeerUnreachableError);
    await a.send(1, QBFT, bytes('still fine'));

    expect(qbft).toEqual([{ from: 0, text: 'still fine' }]);
    expect(a.peerMetrics().messagesSent).toEqual({ [QBFT]: 1 });
    expect(a.peerMetrics().sendFailures).toEqual({ [PARSIG]: 1 });
  });

  it('refuses a node outside the cluster at the connection and counts it', async () => {
    const { c, received, rejections } = await receiverOf3();
    const outsiderKey = generateIdentityKey();
    const outsiderPeers = [
      { index: 0, publicKey: secp256k1PublicKey(outsiderKey), host: '127.0.0.1', port: await freePort() },
      { ...c.peers[1]!, index: 1 },
    ];
    const outsider = await start({ ...optionsFor(c, 0), privateKey: outsiderKey, peers: outsiderPeers });

    await expect(outsider.send(1, QBFT, bytes('let me in'))).rejects.toBeInstanceOf(PeerUnreachableError);

    expect(received).toEqual([]);
    expect(rejections.length).toBeGreaterThanOrEqual(1);
    expect(rejections.every((r) => r.reason === 'unknown_peer')).toBe(true);
    expect(rejections[0]?.peer).toMatch(/^16Uiu2/); // a secp256k1 PeerId, not a key
    expect(started[0]!.peerMetrics().rejected.unknown_peer).toBe(rejections.length);
    expect(started[0]!.connectedPeers()).toEqual([]);
  });

  it('rejects an envelope for another cluster, signed by a real operator key', async () => {
    const { c, received, rejections } = await receiverOf3();
    const peers = c.peers.map((p) => (p.index === 0 ? { ...p, port: 0 } : p));
    const otherCluster = await start({ ...optionsFor(c, 0), peers, clusterHash: toHex(randomBytes(32)) });

    await otherCluster.send(1, QBFT, bytes('vote in another cluster'));

    await vi.waitFor(() => expect(rejections).toEqual([{ reason: 'wrong_cluster', peer: expect.any(String), protocol: QBFT }]));
    expect(received).toEqual([]);
    expect(started[0]!.peerMetrics().rejected.wrong_cluster).toBe(1);
  });

  it('rejects an envelope for another network (genesis validators root)', async () => {
    const { c, received, rejections } = await receiverOf3();
    const peers = c.peers.map((p) => (p.index === 0 ? { ...p, port: 0 } : p));
    const otherNetwork = await start({ ...optionsFor(c, 0), peers, genesisValidatorsRoot: toHex(randomBytes(32)) });

    await otherNetwork.send(1, QBFT, bytes('vote on the previous Ephemery iteration'));

    await vi.waitFor(() => expect(rejections.map((r) => r.reason)).toEqual(['wrong_network']));
    expect(received).toEqual([]);
  });

  it('rejects a tampered signature, a claimed sender index that is not the remote peer, and garbage', async () => {
    const { c, received, rejections } = await receiverOf3();
    const forge = (mutate: (wire: Uint8Array) => Uint8Array): PeerNetworkHooks => ({ outboundWire: (wire) => mutate(wire) });
    const flipLastByte = (wire: Uint8Array): Uint8Array => {
      const out = wire.slice();
      out[out.length - 1]! ^= 0xff;
      return out;
    };
    // Operator 0 signs correctly but claims to be operator 2.
    const claimOperator2 = (wire: Uint8Array): Uint8Array => sealEnvelope({ ...decodeWire(wire)!.envelope, senderIndex: 2 }, c.keys[0]!);
    const garbage = (): Uint8Array => new Uint8Array(randomBytes(150));

    for (const mutate of [flipLastByte, claimOperator2, garbage]) {
      const sender = await start({ ...optionsFor(c, 0), peers: c.peers.map((p) => (p.index === 0 ? { ...p, port: 0 } : p)) }, forge(mutate));
      await sender.send(1, QBFT, bytes('forged'));
    }

    await vi.waitFor(() => expect(rejections.map((r) => r.reason)).toEqual(['bad_signature', 'sender_mismatch', 'malformed']));
    expect(received).toEqual([]);
  });

  it('a sender cut off mid-message is refused as incomplete (a transport failure), not as malformed', async () => {
    const { c, received, rejections } = await receiverOf3();
    const sender = await start(
      { ...optionsFor(c, 0), peers: c.peers.map((p) => (p.index === 0 ? { ...p, port: 0 } : p)) },
      { outboundCutAfter: () => 40 },
    );
    await expect(sender.send(1, QBFT, bytes('cut short'))).rejects.toThrow(PeerUnreachableError);
    await vi.waitFor(() => expect(rejections.length).toBeGreaterThan(0));
    expect(new Set(rejections.map((r) => r.reason))).toEqual(new Set(['incomplete']));
    expect(received).toEqual([]);
  });

  it('rejects a payload over the receiver bound', async () => {
    const c = await testCluster(2);
    const rejections: Rejection[] = [];
    const receiver = await start({ ...optionsFor(c, 1, rejections), maxPayloadBytes: 1024 });
    const received = inbox(receiver, QBFT);
    const sender = await start(optionsFor(c, 0));

    await sender.send(1, QBFT, new Uint8Array(1024)).catch(() => undefined);
    await sender.send(1, QBFT, new Uint8Array(64 * 1024)).catch(() => undefined);

    await vi.waitFor(() => expect(rejections.map((r) => r.reason)).toContain('too_large'));
    expect(received.map((m) => m.text.length)).toEqual([1024]);
  });

  it('redials an operator in the background when it comes back on the same port', async () => {
    const c = await testCluster(2);
    const a = await start({ ...optionsFor(c, 0), reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    const b = await start(optionsFor(c, 1));
    inbox(b, QBFT);
    await a.send(1, QBFT, bytes('hello'));

    await b.stop();
    await vi.waitFor(() => expect(a.connectedPeers()).toEqual([]));
    await start(optionsFor(c, 1));

    // No send: the reconnect loop alone brings the link back.
    await vi.waitFor(() => expect(a.connectedPeers()).toEqual([1]), { timeout: 3_000 });
    expect(a.peerMetrics().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('send() retries with backoff while a peer restarts on the same port, then reaches it', async () => {
    const c = await testCluster(2);
    const a = await start({
      ...optionsFor(c, 0),
      sendRetry: { attempts: 8, initialDelayMs: 50, maxDelayMs: 400, attemptTimeoutMs: 1_000 },
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 }, // keep the background loop out of this test
    });
    let b = await start(optionsFor(c, 1));
    const before = inbox(b, QBFT);
    await a.send(1, QBFT, bytes('before'));
    expect(before).toEqual([{ from: 0, text: 'before' }]);

    await b.stop();
    await vi.waitFor(() => expect(a.connectedPeers()).toEqual([]));
    const inFlight = a.send(1, QBFT, bytes('during restart'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    b = await start(optionsFor(c, 1));
    const after = inbox(b, QBFT);

    await inFlight;
    await a.send(1, QBFT, bytes('after'));
    expect(after).toEqual([
      { from: 0, text: 'during restart' },
      { from: 0, text: 'after' },
    ]);
    expect(a.connectedPeers()).toEqual([1]);
    expect(a.peerMetrics().reconnects).toBe(0);
  });

  it('refuses at startup a key that is not the operator it claims to be, listing every problem', async () => {
    const c = await testCluster(2);
    const attempt = createPeerNetwork({ ...optionsFor(c, 0), privateKey: c.keys[1]!, clusterHash: '0x1234' });
    await expect(attempt).rejects.toBeInstanceOf(PeerNetworkConfigError);
    await expect(attempt).rejects.toThrow(/does not match the public key of operator 0.*clusterHash must be 32 bytes/);
  });
});
