import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fromHex, toHex, type AttestationDataJson, type Duty, type Hex, type PeerInbound, type UnsignedDataSet } from '#lib/contracts';
import { decodeJson, encodeJson } from '#lib/messaging';
import { createPeerNetwork, generateIdentityKey, secp256k1PublicKey, signOwnQbftMessages, type PeerNetwork, type PeerSpec } from '#lib/p2p';
import { valueHash } from '#lib/signing';
import { freePort } from '#lib/test-support';
import { checkInboundQbft, type QbftWireMessage } from '../services/consensus/app/qbft-inbound.js';
import { decide, evolve, initialState, qbftDefinition, type QbftCommand, type QbftState } from '../services/consensus/domain/index.js';

/**
 * QBFT decide latency and messages per decision for n = 4, 7 and 10 operators on loopback.
 *
 * Each operator is what a Cohort node runs for consensus, minus NATS and the slashing guard:
 * the consensus decider (services/consensus/domain), its inbound checks with per-message
 * secp256k1 signature verification (checkInboundQbft), its own messages signed as the
 * peer-gateway signs them (signOwnQbftMessages), JSON `{duty, message}` payloads in signed
 * envelopes over a libp2p host per operator (TCP + noise + yamux, the peer-gateway's retry
 * policy). The round timer is round r ends r s after the start (no round change is expected
 * on loopback; any is counted). Every value is valid (no slashing-guard round trip).
 *
 * All operators share this process and its one event loop (as in the simnet), so the figures
 * include every receiver's verification work done one after another; across hosts, add the
 * network RTT and divide the CPU part by n.
 *
 * Per decision: all operators get the same input at the same instant t0 (the leader's
 * proposal is what starts it); decide latency = t0 → that operator's Decided; messages = peer
 * deliveries of the `qbft` protocol between t0 and the last Decided plus a settle time
 * (a happy-path decision is PRE-PREPARE n-1, PREPARE, COMMIT and DECIDED n(n-1) each).
 * Baseline measured in the same run on the same hosts: raw round trip of a 512-byte message
 * (send → peer's handler → send back → handler), envelope signing and verification included.
 * Also printed: the process's CPU time per decision (all operators), since on one event loop
 * the decide latency is mostly that CPU time, serialised.
 *
 *   npm run build --silent && node dist/bench/consensus.js [--quick] [--nodes 4,7,10] [--decisions 50]
 */
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, nodes: { type: 'string' }, decisions: { type: 'string' } } });
const quick = values.quick ?? false;
const SIZES = (values.nodes ?? '4,7,10').split(',').map(Number);
const DECISIONS = Number(values.decisions ?? (quick ? 10 : 50));
const ROUND_TRIPS = quick ? 50 : 200;
const SETTLE_MS = 100;
const DECIDE_TIMEOUT_MS = 6_000;
const QBFT = 'qbft';
const PING = '/cohort/bench/ping/1.0.0';
const PONG = '/cohort/bench/pong/1.0.0';

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
const ms = (v: number) => `${v.toFixed(1).padStart(7)} ms`;
const sleep = (delayMs: number) => new Promise((resolve) => setTimeout(resolve, delayMs));

/** An attestation duty's value shaped like the real one: attestation data for 4 committees. */
function attesterValue(slot: number): UnsignedDataSet {
  const root = (): Hex => toHex(randomBytes(32));
  const data = (index: number): AttestationDataJson => ({
    slot: String(slot),
    index: String(index),
    beacon_block_root: root(),
    source: { epoch: String(Math.floor(slot / 32) - 1), root: root() },
    target: { epoch: String(Math.floor(slot / 32)), root: root() },
  });
  return { type: 'attester', byCommittee: Object.fromEntries([0, 1, 2, 3].map((i) => [String(i), data(i)])) };
}

interface Operator {
  readonly index: number;
  readonly key: Uint8Array;
  readonly net: PeerNetwork;
  state?: QbftState;
  duty?: Duty;
  decidedAt?: number;
  decidedRound?: number;
  timer?: NodeJS.Timeout;
  startedAt: number;
  verified: Set<string>;
}

async function runSize(n: number): Promise<string[]> {
  const keys = Array.from({ length: n }, () => generateIdentityKey());
  const peers: PeerSpec[] = [];
  for (const [index, key] of keys.entries()) peers.push({ index, publicKey: secp256k1PublicKey(key), host: '127.0.0.1', port: await freePort() });
  const clusterHash = toHex(randomBytes(32));
  const genesisValidatorsRoot = toHex(randomBytes(32));
  const publicKeys = peers.map((p) => fromHex(p.publicKey));
  const refusals: string[] = [];
  let ponged: (() => void) | undefined;
  const operators: Operator[] = await Promise.all(
    keys.map(async (key, index) => ({
      index,
      key,
      startedAt: 0,
      verified: new Set<string>(),
      net: await createPeerNetwork({
        privateKey: key,
        selfIndex: index,
        peers,
        clusterHash,
        genesisValidatorsRoot,
        // The peer-gateway's policy and payload bound.
        sendRetry: { attempts: 3, initialDelayMs: 50, maxDelayMs: 500, attemptTimeoutMs: 1000 },
        maxPayloadBytes: 32 * 1024 * 1024,
        onRejected: (r) => refusals.push(`p2p:${r.reason}`),
      }),
    })),
  );

  const apply = (op: Operator, command: QbftCommand): void => {
    if (!op.state || !op.duty) return;
    const duty = op.duty;
    const events = decide(command, op.state);
    for (const event of events) op.state = evolve(op.state, event);
    for (const event of events) {
      switch (event.kind) {
        case 'RoundStarted': {
          clearTimeout(op.timer);
          const round = event.round;
          op.timer = setTimeout(() => apply(op, { kind: 'TimerExpired', round }), Math.max(0, op.startedAt + round * 1000 - performance.now()));
          break;
        }
        case 'MessageBroadcast': {
          const signed = signOwnQbftMessages(duty, event.message, op.index, op.key);
          void op.net.broadcast(QBFT, encodeJson({ duty, message: signed }));
          break;
        }
        case 'Decided':
          clearTimeout(op.timer);
          op.decidedAt = performance.now();
          op.decidedRound = event.round;
          break;
        case 'MessageRejected':
          refusals.push(`qbft:${event.reason}`);
          break;
        default:
          break;
      }
    }
  };

  for (const op of operators) {
    op.net.handle(QBFT, (from, bytes) => {
      const inbound: PeerInbound<QbftWireMessage> = { from, payload: decodeJson<QbftWireMessage>(bytes), sizeBytes: bytes.byteLength };
      if (op.duty === undefined || inbound.payload?.duty?.slot !== op.duty.slot) return; // a finished decision's late messages
      const checked = checkInboundQbft(inbound, { nodes: n, publicKeys }, () => op.verified);
      if (!checked.ok) return void refusals.push(`inbound:${checked.reason}`);
      const carried = checked.message.value;
      apply(op, carried === undefined ? { kind: 'Receive', message: checked.message, valueValid: true } : { kind: 'Receive', message: checked.message, valueValid: true, computedValueHash: valueHash(carried) });
    });
    op.net.handle(PING, (from, payload) => void op.net.send(from, PONG, payload).catch(() => undefined));
    op.net.handle(PONG, () => op.index === 0 && ponged?.());
  }

  // Connections up first (every pair), so neither figure pays for dials.
  await Promise.all(operators.map((op) => op.net.broadcast(PING, new Uint8Array(1))));
  await sleep(500);

  // Baseline: raw round trip 0 → 1 → 0, 512 bytes each way.
  const roundTrips: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t0 = performance.now();
    const back = new Promise<void>((resolve) => (ponged = resolve));
    await operators[0]!.net.send(1, PING, new Uint8Array(512));
    await back;
    roundTrips.push(performance.now() - t0);
  }

  const decideMs: number[] = [];
  const lastMs: number[] = [];
  const messages: number[] = [];
  const bytesOut: number[] = [];
  const cpuMs: number[] = [];
  let laterRounds = 0;
  let undecided = 0;
  const sentQbft = () => operators.reduce((sum, op) => sum + (op.net.peerMetrics().messagesSent[QBFT] ?? 0), 0);
  let bytesSent = 0;
  for (const op of operators) {
    const broadcast = op.net.broadcast.bind(op.net);
    op.net.broadcast = (protocol, payload) => {
      if (protocol === QBFT) bytesSent += payload.byteLength * (n - 1);
      return broadcast(protocol, payload);
    };
  }

  for (let d = 0; d < DECISIONS; d++) {
    const slot = 1_000 + d;
    const duty: Duty = { slot, type: 'attester' };
    const value = attesterValue(slot);
    const hash = valueHash(value);
    const sentBefore = sentQbft();
    const bytesBefore = bytesSent;
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    for (const op of operators) {
      op.duty = duty;
      op.state = initialState(qbftDefinition(n, op.index, slot + 1));
      op.decidedAt = undefined;
      op.decidedRound = undefined;
      op.verified = new Set();
      op.startedAt = t0;
    }
    for (const op of operators) apply(op, { kind: 'Start', value, valueHash: hash });
    const deadline = t0 + DECIDE_TIMEOUT_MS;
    while (operators.some((op) => op.decidedAt === undefined) && performance.now() < deadline) await sleep(1);
    await sleep(SETTLE_MS);
    for (const op of operators) {
      clearTimeout(op.timer);
      if (op.decidedAt === undefined) undecided++;
      else {
        decideMs.push(op.decidedAt - t0);
        if ((op.decidedRound ?? 1) > 1) laterRounds++;
      }
    }
    const decidedTimes = operators.flatMap((op) => (op.decidedAt === undefined ? [] : [op.decidedAt - t0]));
    if (decidedTimes.length > 0) lastMs.push(Math.max(...decidedTimes));
    const cpu = process.cpuUsage(cpuBefore);
    cpuMs.push((cpu.user + cpu.system) / 1000);
    messages.push(sentQbft() - sentBefore);
    bytesOut.push(bytesSent - bytesBefore);
  }
  await Promise.all(operators.map((op) => op.net.stop()));

  const expected = (n - 1) * (3 * n + 1);
  const avg = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  const refusalCounts = refusals.reduce<Record<string, number>>((m, r) => ({ ...m, [r]: (m[r] ?? 0) + 1 }), {});
  return [
    `n = ${String(n).padStart(2)} (quorum ${qbftDefinition(n, 0, 0).quorum}), ${DECISIONS} decisions`,
    `  baseline: raw round trip 512 B (0 → 1 → 0)       p50 ${ms(percentile(roundTrips, 50))}  p99 ${ms(percentile(roundTrips, 99))}  (${roundTrips.length} samples)`,
    `  decide latency, each operator (t0 → Decided)    p50 ${ms(percentile(decideMs, 50))}  p99 ${ms(percentile(decideMs, 99))}  (${decideMs.length} samples)`,
    `  decide latency, last operator of each decision  p50 ${ms(percentile(lastMs, 50))}  p99 ${ms(percentile(lastMs, 99))}`,
    `  decide p50 / round trip p50: ${(percentile(decideMs, 50) / percentile(roundTrips, 50)).toFixed(1)}×`,
    `  CPU per decision, all operators: p50 ${ms(percentile(cpuMs, 50))} (${ms(percentile(cpuMs, 50) / n).trim()} per operator; this process, 1 thread + libuv)`,
    `  messages per decision: ${avg(messages).toFixed(1)} (happy path (n-1)(3n+1) = ${expected}), ${(avg(bytesOut) / 1024).toFixed(1)} KiB`,
    `  decided after round 1: ${laterRounds}; operators that did not decide: ${undecided}; refusals: ${JSON.stringify(refusalCounts)}`,
  ];
}

process.stdout.write(`consensus: QBFT over libp2p on loopback, all operators in one process${quick ? ' (quick)' : ''}\n`);
for (const n of SIZES) process.stdout.write(`${(await runSize(n)).join('\n')}\n`);
process.exit(0);
