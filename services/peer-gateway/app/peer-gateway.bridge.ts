import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Counter } from 'prom-client';
import { fromHex, PEER_PROTOCOLS, Subjects, type PeerInbound, type PeerOutbound, type PeerProtocol, type PeerRefusalProtocol, type PeerRefusalReason } from '#lib/contracts';
import { PeerRefusalLog } from '#lib/event-log';
import { decodeJson, encodeJson } from '#lib/messaging';
import { createPeerNetwork, peerIdOf, PING_PROTOCOL, type PeerNetwork } from '#lib/p2p';
import { RUNTIME, type ServiceRuntime } from '#lib/service-kit';
import { createPingRecorder } from './ping-metrics.js';
import { signOutboundQbft } from './qbft-outbound.js';

/**
 * The node's one libp2p host: carries `qbft` and `parsig` between the local bus and the other
 * operators. It signs what leaves (the operator's secp256k1 key, bound to the cluster hash and
 * the genesis validators root) and lets in only what an operator of this cluster signed for
 * this cluster and network; the sender index it hands on is the authenticated one.
 *
 * QBFT messages are also signed one by one (Charon's per-message k1 signature): consensus
 * hands over its own messages unsigned, and this bridge — the only holder of the key — signs
 * every message in the tree this operator wrote, so that a peer relaying it inside a
 * justification cannot alter it. Consensus verifies every member's signature on arrival.
 *
 * Every refusal (an envelope that fails a check, a payload that is not JSON, a connection from
 * outside the cluster) is counted, and recorded as a PeerMessageRefused event summarised per
 * peer, protocol, reason and slot (`#lib/event-log` PeerRefusalLog), so a flood of bad envelopes
 * costs a bounded number of appends. None of them names a duty this service could know of.
 *
 * It also pings every operator (`/cohort/ping/1.0.0`) for round-trip time and clock offset,
 * exported as metrics (`ping-metrics.ts`), with a warning when a peer's clock is off.
 */

/** Charon maxConsensusMsgSize (32 MiB): the envelope must not refuse a QBFT message consensus would accept. */
const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;
@Injectable()
export class PeerGatewayBridge implements OnApplicationBootstrap, OnModuleDestroy {
  private network?: PeerNetwork;
  private readonly closers: (() => unknown)[] = [];
  private readonly abort = new AbortController();
  private readonly rejected: Counter;
  private readonly sendFailures: Counter;
  private refusals?: PeerRefusalLog;

  constructor(@Inject(RUNTIME) private readonly rt: ServiceRuntime) {
    this.rejected = new Counter({
      name: 'cohort_p2p_rejected_total',
      help: 'Peer connections or messages refused, by reason',
      labelNames: ['reason'],
      registers: [rt.metrics],
    });
    this.sendFailures = new Counter({
      name: 'cohort_p2p_send_failures_total',
      help: 'Messages that could not be delivered to a peer, by protocol and peer',
      labelNames: ['protocol', 'peer'],
      registers: [rt.metrics],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    const { config } = this.rt;
    const chain = await this.rt.loadChain(this.abort.signal);
    this.refusals = new PeerRefusalLog({
      events: this.rt.events,
      timing: chain.timing,
      onError: (error) => this.rt.log.warn('refused peer messages not recorded', { error: String(error) }),
    });
    const operatorOf = new Map(config.cluster.operators.map((o) => [peerIdOf(o.publicKey), o.index]));
    this.network = await createPeerNetwork({
      privateKey: fromHex(config.p2p.privateKey),
      selfIndex: config.node.index,
      peers: config.cluster.operators.map((o) => ({ index: o.index, publicKey: o.publicKey, host: o.p2pHost, port: o.p2pPort })),
      clusterHash: config.cluster.clusterHash,
      genesisValidatorsRoot: chain.genesisValidatorsRoot,
      onRejected: (r) => {
        const operator = r.peer === undefined ? undefined : operatorOf.get(r.peer);
        this.refuse(operator ?? null, refusalProtocol(r.protocol), r.reason, operator === undefined && r.peer !== undefined ? `from ${r.peer}` : undefined);
      },
      sendRetry: { attempts: 3, initialDelayMs: 50, maxDelayMs: 500, attemptTimeoutMs: 1000 },
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
    });
    // Parsed once here (the config already checked it is 32 bytes of hex); never logged.
    const secretKey = fromHex(config.p2p.privateKey);
    for (const protocol of PEER_PROTOCOLS) this.bridge(protocol, this.network, secretKey);
    // Round trip and clock offset to every operator, every 10 s (the network's default).
    this.network.startPinging(createPingRecorder(this.rt.metrics, this.rt.log));
  }

  async onModuleDestroy(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.closers.map((close) => close()));
    await this.network?.stop();
    await this.refusals?.close();
  }

  /** Counted, recorded (summarised per slot) and logged once per peer, protocol, reason and slot. */
  private refuse(peer: number | null, protocol: PeerRefusalProtocol, reason: PeerRefusalReason, detail?: string): void {
    this.rejected.inc({ reason });
    const first = this.refusals?.refuse({ peer, protocol, reason, ...(detail !== undefined && { detail }) }) ?? true;
    if (first) this.rt.log.warn('peer message refused', { reason, peer: peer ?? undefined, protocol, detail });
  }

  private bridge(protocol: PeerProtocol, network: PeerNetwork, secretKey: Uint8Array): void {
    network.handle(protocol, (from, payload) => {
      let decoded: unknown;
      try {
        decoded = decodeJson(payload);
      } catch {
        this.refuse(from, protocol, 'malformed', `${payload.byteLength} bytes that are not JSON`);
        return;
      }
      this.rt.bus.publish<PeerInbound>(Subjects.peerIn(protocol), { from, payload: decoded, sizeBytes: payload.byteLength });
    });
    const out = this.rt.bus.subscribe<PeerOutbound>(Subjects.peerOut(protocol), (msg) => {
      let outbound = msg.payload;
      if (protocol === 'qbft') {
        try {
          outbound = signOutboundQbft(msg.payload, this.rt.config.node.index, secretKey);
        } catch (error) {
          // Consensus only publishes messages it built; one that cannot be signed is a bug there.
          this.rt.log.error('qbft message not sent: cannot sign it', { error: String(error) });
          return;
        }
      }
      const bytes = encodeJson(outbound);
      const sent =
        msg.to === undefined
          ? network.broadcast(protocol, bytes).then(({ failed }) => failed.forEach((peer) => this.sendFailures.inc({ protocol, peer: String(peer) })))
          : network.send(msg.to, protocol, bytes).catch(() => this.sendFailures.inc({ protocol, peer: String(msg.to) }));
      // Delivery runs in the background: a dead peer must not hold up messages to live ones.
      void sent;
    });
    this.closers.push(() => out.close());
  }
}

/** The network names the libp2p protocol of a refused stream, or none for a refused connection. */
function refusalProtocol(protocol: string | undefined): PeerRefusalProtocol {
  if (protocol === PING_PROTOCOL) return 'ping';
  return (PEER_PROTOCOLS as readonly string[]).includes(protocol ?? '') ? (protocol as PeerProtocol) : 'connection';
}
