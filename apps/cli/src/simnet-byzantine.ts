import { randomBytes } from 'node:crypto';
import { generateSecretKey, initBls, sign } from '#lib/bls';
import { DUTY_ORDINAL, fromHex, toHex, type AttestationDataJson, type Duty, type Hex, type PartialSignature, type PeerProtocol, type UnsignedDataSet } from '#lib/contracts';
import { decodeJson, encodeJson } from '#lib/messaging';
import { createPeerNetwork, signOwnQbftMessages, type PeerNetwork, type PeerSpec, type SignableQbftMessage } from '#lib/p2p';
import { valueHash } from '#lib/signing';
import { freePort } from '#lib/test-support';
import type { SimnetHarnessContext, SimnetHarnessFactory } from './simnet.js';

/**
 * A byzantine operator for the simnet: it holds the operator's real identity key (so its
 * connections pass the gater and its envelopes and QBFT messages carry valid signatures) and
 * speaks the two peer protocols exactly as a Cohort peer-gateway does — `qbft` carries
 * `{duty, message}`, `parsig` carries `{duty, partials}`, JSON in a signed envelope — but
 * says what an honest node never would. It runs no VC and signs no valid share.
 *
 * What each behaviour sends, per slot (protocol wire formats: services/peer-gateway,
 * services/consensus/app/qbft-inbound.ts, services/aggregator/app):
 * - `equivocating_proposal`: when it leads round 1, PRE-PREPARE of value A (the BN's data) to
 *   the first half of its peers and of value B (A with another head root — as valid for the
 *   slashing guard) to the rest, PREPARE and COMMIT to match; the first peer gets B as well.
 * - `conflicting_votes`: when another operator leads, PREPARE and COMMIT of the leader's value
 *   to the first peer and of an unknown hash to the others; then the unknown hash to the
 *   first peer too.
 * - `invalid_partial_signatures`: once a peer sent its share signatures for a duty, the same
 *   validators and signing roots under this operator's share index, signed by a wrong key.
 * - `replayed_messages`: its own QBFT messages of the duty 3 slots back (validly signed, old
 *   duty); a peer's QBFT and `parsig` messages of that duty relayed under its own identity; its
 *   own messages of the current duty once more; a peer's current share signatures relayed.
 * - `unknown_duty`: a signed PREPARE and a `parsig` for a slot 2 epochs + 3 slots ahead (not
 *   scheduled yet: the scheduler looks one epoch ahead), and a PREPARE for a duty type that
 *   does not exist.
 * - `far_future_duty`: the same PREPARE and `parsig` for a slot 1000 slots ahead.
 * - `wrong_cluster`, `wrong_network`: a signed PREPARE for the current duty, sealed in an
 *   envelope bound to another cluster hash / another genesis validators root (a second libp2p
 *   host with the same identity key: the gater lets it in, the envelope check must refuse it).
 */
export const BYZANTINE_BEHAVIOURS = [
  'equivocating_proposal',
  'conflicting_votes',
  'invalid_partial_signatures',
  'replayed_messages',
  'unknown_duty',
  'far_future_duty',
  'wrong_cluster',
  'wrong_network',
] as const;
export type ByzantineBehaviour = (typeof BYZANTINE_BEHAVIOURS)[number];

export interface ByzantineNode {
  /** Pass in `SimnetOptions.harnesses` under the operator's index. */
  readonly harness: SimnetHarnessFactory;
  /** Messages sent so far per behaviour (one per recipient), and the slots where it led round 1 and equivocated. */
  readonly sent: Readonly<Record<ByzantineBehaviour, number>>;
  readonly equivocatedSlots: readonly number[];
}

interface Wire {
  readonly duty: Duty;
}
interface QbftWire extends Wire {
  readonly message: SignableQbftMessage & { readonly value?: unknown };
}
interface ParsigWire extends Wire {
  readonly partials: readonly PartialSignature[];
}

const QBFT: PeerProtocol = 'qbft';
const PARSIG: PeerProtocol = 'parsig';
/** Same bound as the peer-gateway's (Charon maxConsensusMsgSize). */
const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;
const REPLAY_DISTANCE_SLOTS = 3;
const FAR_FUTURE_SLOTS = 1000;

export function byzantineNode(behaviours: readonly ByzantineBehaviour[] = BYZANTINE_BEHAVIOURS): ByzantineNode {
  const enabled = new Set(behaviours);
  const sent = Object.fromEntries(BYZANTINE_BEHAVIOURS.map((b) => [b, 0])) as Record<ByzantineBehaviour, number>;
  const equivocatedSlots: number[] = [];
  const harness: SimnetHarnessFactory = (ctx) => startByzantine(ctx, enabled, sent, equivocatedSlots);
  return { harness, sent, equivocatedSlots };
}

async function startByzantine(
  ctx: SimnetHarnessContext,
  enabled: ReadonlySet<ByzantineBehaviour>,
  sent: Record<ByzantineBehaviour, number>,
  equivocatedSlots: number[],
): Promise<{ stop(): Promise<void> }> {
  await initBls();
  const self = ctx.index;
  const n = ctx.cluster.operators.length;
  const honest = ctx.cluster.operators.map((o) => o.index).filter((i) => i !== self);
  const peers: PeerSpec[] = ctx.cluster.operators.map((o) => ({ index: o.index, publicKey: o.publicKey, host: o.p2pHost, port: o.p2pPort }));
  const gvr = ctx.beacon.genesisValidatorsRoot;
  const base = { privateKey: ctx.identityKey, selfIndex: self, sendRetry: { attempts: 2, initialDelayMs: 50, maxDelayMs: 200, attemptTimeoutMs: 1000 }, maxPayloadBytes: MAX_PAYLOAD_BYTES };
  const network = await createPeerNetwork({ ...base, peers, clusterHash: ctx.cluster.clusterHash, genesisValidatorsRoot: gvr });
  // Same identity on a second, short-lived host (another port) whose envelopes are bound
  // elsewhere. Short-lived: while its connections are open, peers may pick them to reach this
  // operator, and it handles no protocol.
  const elsewhereHosts = new Set<PeerNetwork>();
  const fromElsewhere = async (clusterHash: Hex, genesisValidatorsRoot: Hex, work: (via: PeerNetwork) => Promise<unknown>): Promise<void> => {
    const port = await freePort();
    const via = await createPeerNetwork({ ...base, peers: peers.map((p) => (p.index === self ? { ...p, port } : p)), clusterHash, genesisValidatorsRoot });
    elsewhereHosts.add(via);
    try {
      await work(via);
    } finally {
      elsewhereHosts.delete(via);
      await via.stop();
    }
  };
  const otherClusterHash = toHex(randomBytes(32));
  const otherGenesisValidatorsRoot = toHex(randomBytes(32));
  const wrongKey = generateSecretKey();

  // What it saw from honest peers and what it sent itself, per slot (for replays).
  const received = new Map<number, { qbft: QbftWire[]; parsig: ParsigWire[] }>();
  const own = new Map<number, QbftWire[]>();
  const answered = new Set<number>();
  const seen = (slot: number) => received.get(slot) ?? received.set(slot, { qbft: [], parsig: [] }).get(slot)!;

  const send = (behaviour: ByzantineBehaviour, to: number, protocol: PeerProtocol, payload: unknown, via: PeerNetwork = network): Promise<void> => {
    sent[behaviour] += 1;
    return via.send(to, protocol, encodeJson(payload)).catch(() => undefined);
  };
  const signed = (duty: Duty, message: SignableQbftMessage & { value?: unknown }): QbftWire => {
    const wire = { duty, message: signOwnQbftMessages(duty, message, self, ctx.identityKey) };
    own.set(duty.slot, [...(own.get(duty.slot) ?? []), wire]);
    return wire;
  };
  const vote = (type: 'PREPARE' | 'COMMIT', round: number, hash: Hex): SignableQbftMessage => ({ type, source: self, round, valueHash: hash, preparedRound: 0, preparedValueHash: null });
  const leaderOfRound1 = (slot: number) => (slot + DUTY_ORDINAL.attester + 1) % n;
  const fakeHash = (): Hex => toHex(randomBytes(32));

  network.handle(QBFT, (from, bytes) => {
    const wire = decodeJson<QbftWire>(bytes);
    if (typeof wire?.duty?.slot !== 'number') return;
    seen(wire.duty.slot).qbft.push(wire);
    const m = wire.message;
    // Not the leader: vote for the leader's value to one peer and for something else to the others.
    if (enabled.has('conflicting_votes') && m.type === 'PRE-PREPARE' && m.round === 1 && from === leaderOfRound1(wire.duty.slot) && m.valueHash) {
      const duty = wire.duty;
      const other = fakeHash();
      const [first, ...rest] = honest;
      if (first === undefined) return;
      for (const type of ['PREPARE', 'COMMIT'] as const) {
        send('conflicting_votes', first, QBFT, signed(duty, vote(type, 1, m.valueHash)));
        for (const to of rest) send('conflicting_votes', to, QBFT, signed(duty, vote(type, 1, other)));
        send('conflicting_votes', first, QBFT, signed(duty, vote(type, 1, other)));
      }
    }
  });
  network.handle(PARSIG, (_from, bytes) => {
    const wire = decodeJson<ParsigWire>(bytes);
    if (typeof wire?.duty?.slot !== 'number' || !Array.isArray(wire.partials)) return;
    seen(wire.duty.slot).parsig.push(wire);
    if (answered.has(wire.duty.slot)) return;
    answered.add(wire.duty.slot);
    if (enabled.has('invalid_partial_signatures')) {
      const partials = wire.partials.map((p) => ({ ...p, shareIndex: self + 1, signature: toHex(sign(wrongKey, fromHex(p.signingRoot))) }));
      for (const to of honest) send('invalid_partial_signatures', to, PARSIG, { duty: wire.duty, partials });
    }
    if (enabled.has('replayed_messages')) {
      // A peer's valid share signatures, relayed as if they were this operator's.
      for (const to of honest) send('replayed_messages', to, PARSIG, wire);
    }
  });

  const secondsPerSlot = (ctx.beacon.slotStartMs(1) - ctx.beacon.slotStartMs(0)) / 1000;
  const slotsPerEpoch = Number(ctx.beacon.spec['SLOTS_PER_EPOCH'] ?? 8);

  /** The BN's attestation data for every committee with a duty in `slot`: what an honest node would propose. */
  const valueFor = async (slot: number): Promise<UnsignedDataSet | undefined> => {
    const committees = [...new Set(ctx.beacon.dutiesFor(Math.floor(slot / slotsPerEpoch)).filter((d) => Number(d.slot) === slot).map((d) => d.committee_index))];
    if (committees.length === 0) return undefined;
    const byCommittee: Record<string, AttestationDataJson> = {};
    for (const index of committees) {
      const response = await fetch(`${ctx.beacon.url}/eth/v1/validator/attestation_data?slot=${slot}&committee_index=${index}`);
      byCommittee[index] = ((await response.json()) as { data: AttestationDataJson }).data;
    }
    return { type: 'attester', byCommittee };
  };

  const equivocate = async (duty: Duty): Promise<void> => {
    const a = await valueFor(duty.slot);
    if (a?.type !== 'attester') return;
    const b: UnsignedDataSet = {
      type: 'attester',
      byCommittee: Object.fromEntries(Object.entries(a.byCommittee).map(([k, d]) => [k, { ...d, beacon_block_root: toHex(randomBytes(32)) }])),
    };
    const [hashA, hashB] = [valueHash(a), valueHash(b)];
    const proposal = (value: UnsignedDataSet, hash: Hex): SignableQbftMessage & { value: unknown } => ({
      type: 'PRE-PREPARE',
      source: self,
      round: 1,
      valueHash: hash,
      value,
      preparedRound: 0,
      preparedValueHash: null,
    });
    const half = Math.ceil(honest.length / 2);
    equivocatedSlots.push(duty.slot);
    honest.forEach((to, i) => {
      const [value, hash] = i < half ? [a, hashA] : [b, hashB];
      send('equivocating_proposal', to, QBFT, signed(duty, proposal(value, hash)));
      send('equivocating_proposal', to, QBFT, signed(duty, vote('PREPARE', 1, hash)));
      send('equivocating_proposal', to, QBFT, signed(duty, vote('COMMIT', 1, hash)));
    });
    // The first peer sees both proposals.
    if (honest[0] !== undefined) send('equivocating_proposal', honest[0], QBFT, signed(duty, proposal(b, hashB)));
  };

  const onSlot = async (slot: number): Promise<void> => {
    const duty: Duty = { slot, type: 'attester' };
    if (enabled.has('equivocating_proposal') && leaderOfRound1(slot) === self) await equivocate(duty);
    const aboutUnknownDuty = (behaviour: ByzantineBehaviour, unknown: Duty): void => {
      const prepare = { duty: unknown, message: signOwnQbftMessages(unknown, vote('PREPARE', 1, fakeHash()), self, ctx.identityKey) };
      const partials: PartialSignature[] = [{ pubkey: ctx.cluster.validators[0]!.groupPubkey, shareIndex: self + 1, signingRoot: fakeHash(), signature: toHex(sign(wrongKey, randomBytes(32))) }];
      for (const to of honest) {
        send(behaviour, to, QBFT, prepare);
        send(behaviour, to, PARSIG, { duty: unknown, partials });
      }
    };
    if (enabled.has('unknown_duty')) {
      aboutUnknownDuty('unknown_duty', { slot: slot + 2 * slotsPerEpoch + 3, type: 'attester' });
      const noSuchType = { duty: { slot, type: 'voluntary_exit' }, message: vote('PREPARE', 1, fakeHash()) };
      for (const to of honest) send('unknown_duty', to, QBFT, noSuchType);
    }
    if (enabled.has('far_future_duty')) aboutUnknownDuty('far_future_duty', { slot: slot + FAR_FUTURE_SLOTS, type: 'attester' });
    const prepare = { duty, message: signOwnQbftMessages(duty, vote('PREPARE', 1, fakeHash()), self, ctx.identityKey) };
    if (enabled.has('wrong_cluster')) {
      await fromElsewhere(otherClusterHash, gvr, (via) => Promise.all(honest.map((to) => send('wrong_cluster', to, QBFT, prepare, via))));
    }
    if (enabled.has('wrong_network')) {
      await fromElsewhere(ctx.cluster.clusterHash, otherGenesisValidatorsRoot, (via) => Promise.all(honest.map((to) => send('wrong_network', to, QBFT, prepare, via))));
    }
    if (enabled.has('replayed_messages') && slot >= REPLAY_DISTANCE_SLOTS) {
      const old = slot - REPLAY_DISTANCE_SLOTS;
      const theirs = received.get(old);
      for (const to of honest) {
        for (const wire of own.get(old) ?? []) send('replayed_messages', to, QBFT, wire);
        const relayed = theirs?.qbft.find((w) => w.message.source !== self);
        if (relayed) send('replayed_messages', to, QBFT, relayed);
        const relayedPartials = theirs?.parsig[0];
        if (relayedPartials) send('replayed_messages', to, PARSIG, relayedPartials);
      }
    }
  };

  // Its own messages of the current duty, once more, half a slot later (duplicates).
  const replayCurrent = (slot: number): void => {
    if (!enabled.has('replayed_messages')) return;
    for (const wire of own.get(slot)?.filter((w) => w.message.type !== 'PRE-PREPARE') ?? []) for (const to of honest) send('replayed_messages', to, QBFT, wire);
  };

  // Act at 1/3 of every slot, just after the honest nodes fetched their data and started consensus.
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const schedule = (slot: number): void => {
    const at = ctx.beacon.slotStartMs(slot) + (secondsPerSlot * 1000) / 3 + 50;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (stopped) return;
      void onSlot(slot).catch((error: unknown) => ctx.print(`byzantine node ${self + 1}: slot ${slot}: ${String(error)}`));
      const again = setTimeout(() => {
        timers.delete(again);
        if (!stopped) replayCurrent(slot);
      }, (secondsPerSlot * 1000) / 2);
      timers.add(again);
      schedule(slot + 1);
    }, Math.max(0, at - Date.now()));
    timers.add(timer);
  };
  schedule(Math.max(0, ctx.beacon.currentSlot() + 1));

  return {
    async stop() {
      stopped = true;
      timers.forEach(clearTimeout);
      await Promise.all([network.stop(), ...[...elsewhereHosts].map((h) => h.stop())]);
    },
  };
}
