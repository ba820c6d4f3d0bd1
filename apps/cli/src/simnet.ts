import { generateSecretKey, initBls, secretKeyToPublicKey, sign, splitSecret } from '#lib/bls';
import { parseNodeConfig, type NodeConfig } from '#lib/config';
import { fromHex, Streams, toHex, type AnyCohortEvent, type EventType, type Hex, type SignedValidatorRegistrationJson } from '#lib/contracts';
import { onNetwork } from '#lib/event-log';
import { connectJetStreamEventStore } from '#lib/event-store';
import { generateIdentityKey, secp256k1PublicKey } from '#lib/p2p';
import { builderRegistrationSigningRoot, valueHash } from '#lib/signing';
import {
  BEACON_MOCK_GENESIS_FORK_VERSION,
  freePort,
  startBeaconMock,
  startNatsServer,
  startVcMock,
  type BeaconMock,
  type BeaconMockOptions,
  type NatsServerHandle,
  type VcMock,
  type VcMockOptions,
} from '#lib/test-support';
import { ensureSlashingStream, parseInterchange, SlashingHistories, type Interchange } from '#service/slashing-guard';
import { startNode, type RunningNode } from './node.js';

export interface SimnetOptions {
  readonly nodes: number;
  readonly validators: number;
  readonly secondsPerSlot: number;
  /** Slots to run after genesis; the run then waits out the last duties' deadlines. */
  readonly slots: number;
  /** Operator indices whose node (and VC) is stopped right after start: fault injection. */
  readonly stopped?: readonly number[];
  /** Operator indices whose VC signs with a key that is not its share (every signature invalid): fault injection. */
  readonly wrongVcKeys?: readonly number[];
  /** Crashes and restarts of nodes during the run (the node's nats-server and VC keep running). */
  readonly faults?: readonly SimnetFault[];
  /** The cluster to run; default: dealt in memory for `nodes` × `validators`. */
  readonly cluster?: SimnetCluster;
  /**
   * The port node `from` dials to reach operator `to`, whose libp2p listens on `port`;
   * default `port`. Link faults put a proxy there (simnet-links.ts): only each node's view of
   * its peers' addresses changes, the cluster hash stays the same.
   */
  readonly peerPort?: (from: number, to: number, port: number) => number | Promise<number>;
  /** Test actions at an offset into a slot (cut or heal links, …), printed like faults. */
  readonly actions?: readonly SimnetAction[];
  /** Operator indices whose VC is never started (a silent VC): fault injection. */
  readonly silentVcs?: readonly number[];
  /** The beacon node answers 503 to the attestations of these slots: fault injection. */
  readonly failBroadcastAt?: (slot: number) => boolean;
  /**
   * Slashing history imported into a node's store before it starts, as `cohort slashing import`
   * does: EIP-3076 interchange JSON for the chain's genesis validators root.
   */
  readonly slashingImports?: ReadonlyMap<number, (genesisValidatorsRoot: Hex) => string>;
  /** Operators run by a harness instead of a Cohort node (e.g. a byzantine node), by operator index. */
  readonly harnesses?: ReadonlyMap<number, SimnetHarnessFactory>;

  readonly logLevel?: NodeConfig['observability']['logLevel'];
  /** Beacon mock settings beyond the simnet's own (fork schedule, slots per epoch, blinded blocks). */
  readonly beaconOptions?: Partial<Omit<BeaconMockOptions, 'validators' | 'secondsPerSlot' | 'genesisTime' | 'failSubmissionsAt'>>;
  /** VC mock settings for every VC (which duties it performs, which routes it uses). */
  readonly vcOptions?: VcOptions | ((index: number) => VcOptions);
  /**
   * `all`: the chain hands the cluster proposals and a sync committee, and the VCs do every duty
   * a VC does, aggregation in its distributed mode (DV selection endpoints). `attester` (the default): attestations alone, the pipeline the fault
   * scenarios are about (the chain's proposers and sync committee are outside the cluster).
   */
  readonly duties?: 'attester' | 'all';
  /** Where VC `index` sends its Beacon API calls, given its node's gateway URL (e.g. a recording proxy in front of it). */
  readonly vcBeaconUrl?: (index: number, gatewayUrl: string) => string | Promise<string>;
  /**
   * A network reset (Ephemery) once the run's `slots` are reported: the VCs and the beacon mock
   * stop; a beacon mock with `genesisValidatorsRoot` and a genesis a few seconds ahead starts on
   * the same port; the VCs start again on it (as an operator restarts them on a new chain). The
   * nodes are not touched. Then `slots` slots of the new chain are run and reported.
   */
  readonly reset?: { readonly genesisValidatorsRoot: Hex; readonly slots: number };
  /** One line per slot; default stdout. */
  readonly print?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/**
 * A node crash (all its services stop at once) or restart (a fresh process on the same
 * event store, ports and keys), `offsetMs` into slot `atSlot`.
 */
type VcOptions = Partial<Omit<VcMockOptions, 'beaconUrl' | 'secretKeys' | 'name' | 'signWithWrongKey'>>;

export interface SimnetFault {
  readonly kind: 'crash' | 'restart';
  /** Operator index (0-based). */
  readonly node: number;
  readonly atSlot: number;
  readonly offsetMs?: number;
}

/** Something a test does at `offsetMs` into slot `atSlot`; `label` is printed. */
export interface SimnetAction {
  readonly atSlot: number;
  readonly offsetMs?: number;
  readonly label: string;
  /** `vcs[i]`: operator i's VC mock (absent when stopped, silent or run by a harness), e.g. to submit an exit. */
  run(ctx: { readonly vcs: readonly (VcMock | undefined)[] }): void | Promise<void>;
}

/** What a harness standing in for operator `index` gets: that operator's secrets and view of the cluster. */
export interface SimnetHarnessContext {
  readonly index: number;
  readonly identityKey: Uint8Array;
  readonly shareSecrets: readonly Uint8Array[];
  /** The cluster as this operator's node config would hold it (its own entry = its listen port). */
  readonly cluster: NodeConfig['cluster'];
  readonly beacon: BeaconMock;
  readonly print: (line: string) => void;
}

export type SimnetHarnessFactory = (ctx: SimnetHarnessContext) => Promise<{ stop(): Promise<void> }>;

/** One counter or gauge sample of a node's services at the end of the run (prom-client's JSON). */
export interface SimnetMetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly value: number;
}

/**
 * Everything the simnet needs of a cluster: its public description (what a node's config
 * holds) and, per operator, the secrets an operator holds (identity key, VC key shares).
 */
export interface SimnetCluster {
  readonly cluster: Omit<NodeConfig['cluster'], 'operators'> & {
    readonly operators: readonly Omit<NodeConfig['cluster']['operators'][number], 'p2pPort'>[];
  };
  /** libp2p port per operator when the cluster fixes it (an ENR's tcp port); else a free port. */
  readonly p2pPorts?: readonly (number | undefined)[];
  readonly identityKeys: readonly Uint8Array[];
  /** `shareSecrets[operator][validator]`: the key shares that operator's VC holds. */
  readonly shareSecrets: readonly (readonly Uint8Array[])[];
}

/** The simnet's fee recipient, as a cluster creator would pin it in the lock. */
export const SIMNET_FEE_RECIPIENT: Hex = `0x${'fe'.repeat(20)}`;

/**
 * A builder registration signed with the whole key, as `create cluster` signs one into the lock
 * (under the beacon mock's genesis fork version: the builder domain has no genesis validators root).
 */
function dealerRegistration(secret: Uint8Array): SignedValidatorRegistrationJson {
  const message = { fee_recipient: SIMNET_FEE_RECIPIENT, gas_limit: '30000000', timestamp: String(Math.floor(Date.now() / 1000)), pubkey: toHex(secretKeyToPublicKey(secret)) };
  const root = builderRegistrationSigningRoot(BEACON_MOCK_GENESIS_FORK_VERSION, message);
  return { message, signature: toHex(sign(secret, fromHex(root))) };
}

/** A cluster dealt in memory by a trusted dealer (the simnet's default). */
export async function dealSimnetCluster(nodes: number, validatorCount: number): Promise<SimnetCluster> {
  const threshold = Math.ceil((2 * nodes) / 3);
  await initBls();
  const secrets = Array.from({ length: validatorCount }, () => generateSecretKey());
  const validators = secrets.map((secret) => splitSecret(secret, { total: nodes, threshold }));
  const identityKeys = Array.from({ length: nodes }, () => generateIdentityKey());
  const description = {
    name: 'simnet',
    threshold,
    operators: identityKeys.map((key, index) => ({ index, publicKey: secp256k1PublicKey(key), p2pHost: '127.0.0.1' })),
    validators: validators.map((v, i) => ({
      groupPubkey: toHex(v.groupPublicKey),
      publicShares: Array.from({ length: nodes }, (_, i) => toHex(v.publicShares.get(i + 1) as Uint8Array)),
      builderRegistration: dealerRegistration(secrets[i] as Uint8Array),
    })),
  };
  return {
    cluster: { ...description, clusterHash: valueHash(description) },
    identityKeys,
    shareSecrets: Array.from({ length: nodes }, (_, i) => validators.map((v) => v.shares.get(i + 1) as Uint8Array)),
  };
}

export interface SlotReport {
  readonly slot: number;
  readonly duties: number;
  /** Nodes that recorded DutyDecided. */
  readonly decidedNodes: number;
  /** Validators some node aggregated. */
  readonly aggregated: number;
  /** Validators whose attestation the BN accepted under the group key. */
  readonly accepted: number;
  readonly decideMs: readonly number[];
  readonly submitToBroadcastMs: readonly number[];
}

export interface SimnetResult {
  /** When slot 0 started (unix ms); slot s starts `s × secondsPerSlot` s later. */
  readonly genesisTimeMs: number;
  readonly slots: readonly SlotReport[];
  readonly beacon: { readonly accepted: BeaconMock['accepted']; readonly rejected: BeaconMock['rejected'] };
  /** The beacon mock itself (stopped): every record it kept, per duty type. */
  readonly beaconMock: BeaconMock;
  /** Every event each node recorded (index = operator index; stopped nodes: empty). */
  readonly events: readonly (readonly AnyCohortEvent[])[];
  readonly vcErrors: readonly string[];
  /** Each node's metric samples (all services) at the end of the run; empty for stopped and harness-run operators. */
  readonly metrics: readonly (readonly SimnetMetricSample[])[];
  /** Per node (stopped and harness-run: empty), each network's slashing history as `cohort slashing export` writes it. */
  readonly slashing: readonly (readonly Interchange[])[];
  /** With `reset`: the new chain's reports and beacon mock (`slots`, `beaconMock` are the first chain's). */
  readonly afterReset?: { readonly genesisTimeMs: number; readonly slots: readonly SlotReport[]; readonly beaconMock: BeaconMock };
}

interface SimNode {
  readonly index: number;
  readonly nats: NatsServerHandle;
  readonly config: NodeConfig;
  node: RunningNode;
  /** Absent for a silent VC. */
  vc?: VcMock;
  stopped: boolean;
}


export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

/**
 * A whole cluster on loopback: a beacon mock, n Cohort nodes (six services each, its own
 * nats-server, libp2p between them) and n VC mocks holding the key shares. Keys are dealt
 * here (trusted dealer); cluster files come with the keys issue.
 */
export async function runSimnet(opts: SimnetOptions): Promise<SimnetResult> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dealt = opts.cluster ?? (await dealSimnetCluster(opts.nodes, opts.validators));
  const n = dealt.cluster.operators.length;
  const threshold = dealt.cluster.threshold;
  const ports = await Promise.all(Array.from({ length: 2 * n }, (_, i) => (i < n ? dealt.p2pPorts?.[i] : undefined) ?? freePort()));
  const cluster = { ...dealt.cluster, operators: dealt.cluster.operators.map((o, i) => ({ ...o, p2pPort: ports[i] as number })) };
  // Genesis a few seconds ahead: every service is subscribed before the first duty.
  const startBeacon = (more: Partial<BeaconMockOptions> = {}) =>
    startBeaconMock({
      validators: cluster.validators.map((v) => ({ pubkey: v.groupPubkey })),
      secondsPerSlot: opts.secondsPerSlot,
      genesisTime: Math.ceil(Date.now() / 1000) + 4 + n,
      ...(opts.duties !== 'all' && { proposals: false, syncCommittee: false }),
      ...opts.beaconOptions,
      ...(opts.failBroadcastAt ? { failSubmissionsAt: opts.failBroadcastAt } : {}),
      ...more,
    });
  let beacon = await startBeacon();
  /** The first chain's (stopped after a reset). */
  const firstBeacon = beacon;
  const sim: SimNode[] = [];
  const harnesses: { stop(): Promise<void> }[] = [];
  const simNode = (index: number) => sim.find((s) => s.index === index);
  const faultTimers: NodeJS.Timeout[] = [];
  const faultsDone: Promise<void>[] = [];
  // Shutdown in parallel, VCs first (no new requests), then the nodes, then their servers.
  const cleanup = async () => {
    faultTimers.forEach(clearTimeout);
    await Promise.all(faultsDone);
    await Promise.all(sim.map((s) => s.vc?.stop().catch(() => undefined)));
    await Promise.all([...sim.map((s) => s.node.stop().catch(() => undefined)), ...harnesses.map((h) => h.stop().catch(() => undefined))]);
    await Promise.all(sim.map((s) => s.nats.stop().catch(() => undefined)));
    await beacon.stop().catch(() => undefined);
  };
  const startVc = async (index: number): Promise<VcMock | undefined> =>
    opts.silentVcs?.includes(index)
      ? undefined
      : startVcMock({
          name: `vc${index}`,
          beaconUrl: (await opts.vcBeaconUrl?.(index, `http://127.0.0.1:${ports[n + index]}`)) ?? `http://127.0.0.1:${ports[n + index]}`,
          secretKeys: dealt.shareSecrets[index] ?? [],
          ...(opts.duties === 'all' && { proposals: true, syncCommittee: true, aggregation: true, distributed: true, subscriptions: true }),
          ...(typeof opts.vcOptions === 'function' ? opts.vcOptions(index) : opts.vcOptions),
          signWithWrongKey: opts.wrongVcKeys?.includes(index) ?? false,
        });
  try {
    for (let index = 0; index < n; index++) {
      const view = opts.peerPort
        ? {
            ...cluster,
            operators: await Promise.all(
              cluster.operators.map(async (o) => (o.index === index ? o : { ...o, p2pPort: await opts.peerPort!(index, o.index, o.p2pPort) })),
            ),
          }
        : cluster;
      const harness = opts.harnesses?.get(index);
      if (harness) {
        harnesses.push(
          await harness({ index, identityKey: dealt.identityKeys[index] as Uint8Array, shareSecrets: dealt.shareSecrets[index] ?? [], cluster: view, beacon, print }),
        );
        continue;
      }
      const nats = await startNatsServer();
      const config = parseNodeConfig({
        node: { name: `node${index}`, index },
        // a reset is noticed within a second (12 s in operation)
        beacon: { url: beacon.url, timeoutMs: 2000, ...(opts.reset && { genesisPollMs: 1000 }) },
        nats: { url: nats.url },
        cluster: view,
        p2p: { privateKey: toHex(dealt.identityKeys[index] as Uint8Array) },
        gateway: { host: '127.0.0.1', port: ports[n + index] },
        // Attestation-only runs stand for stock VCs without a distributed mode: no aggregation duties.
        duties: { aggregation: opts.duties === 'all' },
        observability: { logLevel: opts.logLevel ?? 'warn' },
      });
      const history = opts.slashingImports?.get(index);
      if (history) await importSlashingHistory(nats.url, history(beacon.genesisValidatorsRoot));
      const node = await startNode(config).catch(async (error: unknown) => {
        await nats.stop();
        throw error;
      });
      const vc = await startVc(index);
      sim.push({ index, nats, config, node, ...(vc ? { vc } : {}), stopped: false });
    }
    for (const index of opts.stopped ?? []) {
      const s = simNode(index);
      if (!s) continue;
      s.stopped = true;
      await s.vc?.stop();
      await s.node.stop();
      await s.nats.stop();
    }
    print(
      `simnet: ${n} nodes (threshold ${threshold}), ${cluster.validators.length} validators, ${opts.secondsPerSlot}s slots, ${opts.slots} slots` +
        (opts.stopped?.length ? `, nodes stopped: ${opts.stopped.map((i) => i + 1).join(',')}` : '') +
        (opts.wrongVcKeys?.length ? `, VCs with wrong keys: ${opts.wrongVcKeys.map((i) => i + 1).join(',')}` : '') +
        (opts.harnesses?.size ? `, run by a harness: ${[...opts.harnesses.keys()].map((i) => i + 1).join(',')}` : ''),
    );
    // Each live node's audit log, followed live from its start: the report reads what the
    // nodes recorded, exactly as an operator would.
    const logs: AnyCohortEvent[][] = Array.from({ length: n }, () => []);
    const followers = await Promise.all(
      sim.map(async (s) => {
        if (s.stopped) return undefined;
        const store = await connectJetStreamEventStore({ servers: s.nats.url, name: 'simnet-report' });
        const sub = await store.subscribe<AnyCohortEvent>(Streams.events.subjects[0], 'start', (e) => void logs[s.index]?.push(e.data));
        return { store, sub, index: s.index };
      }),
    );
    for (const fault of opts.faults ?? []) {
      const s = simNode(fault.node);
      if (!s || s.stopped) continue;
      const at = beacon.slotStartMs(fault.atSlot) + (fault.offsetMs ?? 0);
      faultTimers.push(
        setTimeout(() => {
          print(`slot ${String(fault.atSlot).padStart(4)}  fault: node ${fault.node + 1} ${fault.kind === 'crash' ? 'crashed' : 'restarted'}`);
          const done = fault.kind === 'crash' ? s.node.stop() : startNode(s.config).then((node) => void (s.node = node));
          faultsDone.push(done.catch((error: unknown) => print(`fault on node ${fault.node + 1} failed: ${String(error)}`)));
        }, Math.max(0, at - Date.now())),
      );
    }
    for (const action of opts.actions ?? []) {
      const at = beacon.slotStartMs(action.atSlot) + (action.offsetMs ?? 0);
      faultTimers.push(
        setTimeout(() => {
          print(`slot ${String(action.atSlot).padStart(4)}  action: ${action.label}`);
          const vcs = Array.from({ length: n }, (_, i) => simNode(i)?.vc);
          faultsDone.push(Promise.resolve().then(() => action.run({ vcs })).catch((error: unknown) => print(`action "${action.label}" failed: ${String(error)}`)));
        }, Math.max(0, at - Date.now())),
      );
    }
    const deadlineSlots = 2;
    const runSlots = async (slots: number): Promise<SlotReport[]> => {
      const reports: SlotReport[] = [];
      for (let slot = 0; slot < slots; slot++) {
        // Report a slot once its duty's deadline has passed.
        const reportAt = beacon.slotStartMs(slot + deadlineSlots) + 250;
        await sleep(reportAt - Date.now(), opts.signal);
        if (opts.signal?.aborted) break;
        const ofSlot = (e: AnyCohortEvent) => e.duty.slot === slot && e.duty.type === 'attester' && onNetwork(e, beacon.genesisValidatorsRoot);
        const report = slotReport(slot, logs.map((events) => events.filter(ofSlot)), beacon);
        reports.push(report);
        print(formatSlot(report));
      }
      return reports;
    };
    const reports = await runSlots(opts.slots);
    faultTimers.forEach(clearTimeout);
    await Promise.all(faultsDone);
    let afterReset: SimnetResult['afterReset'];
    if (opts.reset && !opts.signal?.aborted) {
      const before = beacon;
      await Promise.all(sim.map((s) => s.vc?.stop()));
      await before.stop();
      beacon = await startBeacon({ genesisValidatorsRoot: opts.reset.genesisValidatorsRoot, port: Number(new URL(before.url).port) });
      print(`network reset: genesis validators root ${before.genesisValidatorsRoot} → ${beacon.genesisValidatorsRoot}, genesis in ${((beacon.slotStartMs(0) - Date.now()) / 1000).toFixed(1)} s; VCs restarted`);
      for (const s of sim) if (!s.stopped) s.vc = await startVc(s.index);
      afterReset = { genesisTimeMs: beacon.slotStartMs(0), slots: await runSlots(opts.reset.slots), beaconMock: beacon };
    }
    // The live followers feed the per-slot report and may trail the nodes under a full duty
    // load; the logs handed over are each node's whole event stream, read once at the end.
    for (const f of followers) {
      if (!f) continue;
      await f.sub.close();
      const whole: AnyCohortEvent[] = [];
      for await (const e of f.store.read<AnyCohortEvent>(Streams.events.subjects[0])) whole.push(e.data);
      logs[f.index] = whole;
      await f.store.close();
    }
    const events = logs;
    const slashing = await Promise.all(Array.from({ length: n }, (_, index) => {
      const s = simNode(index);
      return s && !s.stopped ? exportSlashingHistories(s.nats.url) : [];
    }));
    const metrics: SimnetMetricSample[][] = Array.from({ length: n }, () => []);
    for (const s of sim) {
      if (s.stopped) continue;
      for (const service of s.node.services) {
        for (const metric of await service.runtime.metrics.getMetricsAsJSON()) {
          if (String(metric.type) !== 'counter' && String(metric.type) !== 'gauge') continue;
          for (const v of metric.values) metrics[s.index]?.push({ name: metric.name, labels: { ...v.labels }, value: v.value });
        }
      }
    }
    return {
      genesisTimeMs: firstBeacon.slotStartMs(0),
      slots: reports,
      beacon: { accepted: [...firstBeacon.accepted], rejected: [...firstBeacon.rejected] },
      beaconMock: firstBeacon,
      events,
      vcErrors: sim.flatMap((s) => (s.vc?.stats.errors ?? []).map((e) => `vc${s.index}: ${e}`)),
      metrics,
      slashing,
      ...(afterReset && { afterReset }),
    };
  } finally {
    await cleanup();
  }
}

function slotReport(slot: number, perNode: readonly (readonly AnyCohortEvent[])[], beacon: BeaconMock): SlotReport {
  const first = (events: readonly AnyCohortEvent[], type: EventType) => events.find((e) => e.type === type);
  const slotStart = beacon.slotStartMs(slot);
  const duties = Math.max(0, ...perNode.map((events) => first(events, 'DutyScheduled')?.pubkeys.length ?? 0));
  const decideMs: number[] = [];
  const submitToBroadcastMs: number[] = [];
  const aggregated = new Set<Hex>();
  let decidedNodes = 0;
  for (const events of perNode) {
    const fetched = first(events, 'UnsignedDataFetched');
    const decided = first(events, 'DutyDecided');
    if (decided) {
      decidedNodes++;
      decideMs.push(Date.parse(decided.time) - (fetched ? Date.parse(fetched.time) : slotStart));
    }
    const submitted = first(events, 'PartialSignatureSubmitted');
    for (const e of events) {
      if (e.type === 'SignaturesAggregated') e.pubkeys.forEach((pk) => aggregated.add(pk));
      if (e.type === 'Broadcast' && submitted) submitToBroadcastMs.push(Date.parse(e.time) - Date.parse(submitted.time));
    }
  }
  const accepted = beacon.accepted.filter((a) => a.slot === slot).length;
  return { slot, duties, decidedNodes, aggregated: aggregated.size, accepted, decideMs, submitToBroadcastMs };
}

export function formatSlot(r: SlotReport): string {
  const ms = (values: readonly number[]) =>
    values.length === 0 ? '-' : `${percentile(values, 50).toFixed(0)}/${percentile(values, 99).toFixed(0)}ms`;
  return (
    `slot ${String(r.slot).padStart(4)}  duties ${r.duties}  decided ${r.decidedNodes} nodes  aggregated ${r.aggregated}  ` +
    `accepted by BN ${r.accepted}/${r.duties}  decide p50/p99 ${ms(r.decideMs)}  VC-submit→BN p50/p99 ${ms(r.submitToBroadcastMs)}`
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}

/** Every network's slashing history on a node's store, as `cohort slashing export` reads it. */
async function exportSlashingHistories(natsUrl: string): Promise<Interchange[]> {
  const store = await connectJetStreamEventStore({ servers: natsUrl, name: 'simnet-slashing-export' });
  try {
    const histories = new SlashingHistories(store);
    return await Promise.all((await histories.roots()).map(async (root) => (await histories.forRoot(root)).exportInterchange()));
  } finally {
    await store.close();
  }
}

/** Imports an EIP-3076 interchange into a node's slashing history, through the same path as `cohort slashing import`. */
async function importSlashingHistory(natsUrl: string, interchange: string): Promise<void> {
  const records = parseInterchange(interchange, 'simnet slashing history');
  const store = await connectJetStreamEventStore({ servers: natsUrl, name: 'simnet-slashing-import' });
  try {
    await ensureSlashingStream(store);
    const outcome = await (await new SlashingHistories(store).forRoot(records.genesisValidatorsRoot)).importInterchange(records);
    if (!outcome.ok) throw new Error('simnet: slashing history import conflicted');
  } finally {
    await store.close();
  }
}
