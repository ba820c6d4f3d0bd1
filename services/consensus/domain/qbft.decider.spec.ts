import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Hex } from '#lib/contracts';
import { describe, expect, it } from 'vitest';
import { decide, evolve, initialState } from './qbft.decider.js';
import { faultyOf, leaderOf, qbftDefinition, quorumOf } from './qbft.justification.js';
import { QbftSim, seededRandom, valueHashOf, type Envelope } from './qbft.sim.js';
import {
  maxJustifications,
  type QbftCommand,
  type QbftDefinition,
  type QbftEvent,
  type QbftMessage,
  type QbftState,
} from './qbft.types.js';

// n = 4, leaderSeed 0: leader(1) = 1, leader(2) = 2, leader(3) = 3, leader(4) = 0.
const DEF4 = qbftDefinition(4, 0, 0);
const V1 = 'value-of-1';
const H1 = valueHashOf(V1);
const VX = 'value-evil';
const HX = valueHashOf(VX);

// === Given / When / Then over one decider ===

function given(def: QbftDefinition, ...commands: readonly QbftCommand[]): { state: QbftState; when(command: QbftCommand): readonly QbftEvent[] } {
  const state = commands.reduce((s, command) => decide(command, s).reduce(evolve, s), initialState(def));
  return { state, when: (command) => decide(command, state) };
}

function msg(type: QbftMessage['type'], source: number, round: number, valueHash: Hex | null, extra: Partial<QbftMessage> = {}): QbftMessage {
  return { type, source, round, valueHash, preparedRound: 0, preparedValueHash: null, ...extra };
}

function receive(message: QbftMessage, valueValid = true): QbftCommand {
  return {
    kind: 'Receive',
    message,
    valueValid,
    ...(message.value !== undefined ? { computedValueHash: valueHashOf(message.value) } : {}),
  };
}

const prePrepare1 = msg('PRE-PREPARE', 1, 1, H1, { value: V1 });
const broadcasts = (events: readonly QbftEvent[]) =>
  events.flatMap((e) => (e.kind === 'MessageBroadcast' ? [e.message] : []));
const rejections = (events: readonly QbftEvent[]) =>
  events.flatMap((e) => (e.kind === 'MessageRejected' ? [e.reason] : []));

describe('QBFT parameters', () => {
  it('quorum = ceil(2n/3) and f = floor((n-1)/3): n=4 → 3 and 1, n=7 → 5 and 2', () => {
    expect([quorumOf(4), faultyOf(4), quorumOf(7), faultyOf(7), quorumOf(1), faultyOf(1)]).toEqual([3, 1, 5, 2, 1, 0]);
  });

  it('the leader rotates with the round, offset by the duty seed', () => {
    const def = qbftDefinition(4, 0, 6);
    expect([1, 2, 3, 4, 5].map((r) => leaderOf(def, r))).toEqual([3, 0, 1, 2, 3]);
  });

  it('justification limit equals Charon\'s 2n (shared/vectors/obol-dv-specs/qbft_msg_limits.json)', () => {
    const suite = JSON.parse(readFileSync(resolve(process.cwd(), '../shared/vectors/obol-dv-specs/qbft_msg_limits.json'), 'utf8')) as {
      counts: { name: string; input: { nodes: number; justification_count: number }; reason: string | null; max_justifications: number }[];
    };
    expect(suite.counts.length).toBeGreaterThan(0);
    for (const c of suite.counts) {
      expect(maxJustifications(c.input.nodes), c.name).toBe(c.max_justifications);
      // Our verdict on the justification count alone agrees with the vector's.
      expect(c.input.justification_count > maxJustifications(c.input.nodes), c.name).toBe(c.reason === 'too_many_justifications');
    }
  });
});

describe('QBFT decider, one node', () => {
  it('given nothing, when Start, then round 1 starts (with its leader) and a non-leader proposes nothing', () => {
    expect(given(DEF4).when({ kind: 'Start', value: 'mine', valueHash: valueHashOf('mine') })).toEqual([
      { kind: 'InputRecorded', value: 'mine', valueHash: valueHashOf('mine') },
      { kind: 'RoundStarted', round: 1, leader: 1 },
    ]);
  });

  it('given the round-1 leader, when Start, then it broadcasts PRE-PREPARE and PREPARE for its input', () => {
    const events = given(qbftDefinition(4, 1, 0)).when({ kind: 'Start', value: V1, valueHash: H1 });
    expect(broadcasts(events).map((m) => [m.type, m.round, m.valueHash, m.source])).toEqual([
      ['PRE-PREPARE', 1, H1, 1],
      ['PREPARE', 1, H1, 1],
    ]);
  });

  it('given a message before Start, then round 1 starts on it and the node prepares without its own input', () => {
    expect(given(DEF4).when(receive(prePrepare1))).toEqual([
      { kind: 'RoundStarted', round: 1, leader: 1 },
      { kind: 'MessageAccepted', message: prePrepare1 },
      { kind: 'MessageBroadcast', message: msg('PREPARE', 0, 1, H1) },
    ]);
  });

  it('rejects a PRE-PREPARE from a process that does not lead the round', () => {
    const forged = msg('PRE-PREPARE', 2, 1, HX, { value: VX });
    expect(given(DEF4).when(receive(forged))).toEqual([{ kind: 'MessageRejected', message: forged, reason: 'not_leader' }]);
  });

  it('rejects a PRE-PREPARE whose value the app finds invalid, and does not prepare it', () => {
    const events = given(DEF4).when(receive(prePrepare1, false));
    expect(events).toEqual([{ kind: 'MessageRejected', message: prePrepare1, reason: 'invalid_value' }]);
  });

  it('rejects a value that does not hash to its claimed identity', () => {
    const lying = msg('PRE-PREPARE', 1, 1, H1, { value: VX });
    expect(rejections(given(DEF4).when(receive(lying)))).toEqual(['hash_mismatch']);
  });

  it('rejects sources outside 0..n-1 and malformed messages', () => {
    const g = given(DEF4);
    expect(rejections(g.when(receive(msg('PREPARE', 4, 1, H1))))).toEqual(['bad_source']);
    expect(rejections(g.when(receive(msg('PREPARE', -1, 1, H1))))).toEqual(['bad_source']);
    expect(rejections(g.when(receive(msg('PREPARE', 2, 0, H1))))).toEqual(['malformed']);
    expect(rejections(g.when(receive(msg('PREPARE', 2, 1, null))))).toEqual(['malformed']);
    expect(rejections(g.when(receive(msg('PRE-PREPARE', 1, 1, H1))))).toEqual(['malformed']); // no value
    // A prepared round must be below the message's round.
    expect(rejections(g.when(receive(msg('ROUND-CHANGE', 2, 2, null, { preparedRound: 2, preparedValueHash: H1, value: V1 }))))).toEqual([
      'malformed',
    ]);
  });

  it('bounds justifications at 2n: 2n is accepted, 2n+1 is malformed', () => {
    const g = given(DEF4);
    const filler = (count: number) => Array.from({ length: count }, (_, i) => msg('PREPARE', i % 4, 1, H1));
    expect(rejections(g.when(receive(msg('PREPARE', 2, 1, H1, { justification: filler(8) }))))).toEqual([]);
    expect(rejections(g.when(receive(msg('PREPARE', 2, 1, H1, { justification: filler(9) }))))).toEqual(['malformed']);
  });

  it('counts an equivocating PREPARE source once: a second, different PREPARE is an equivocation, the same one again a duplicate', () => {
    const g = given(DEF4, receive(prePrepare1), receive(msg('PREPARE', 3, 1, H1)));
    // Node 0's own PREPARE + node 3's = 2 < quorum. Node 3's conflicting and repeated PREPAREs add nothing.
    expect(rejections(g.when(receive(msg('PREPARE', 3, 1, HX))))).toEqual(['equivocation']);
    expect(rejections(g.when(receive(msg('PREPARE', 3, 1, H1))))).toEqual(['duplicate']);
    const afterEquivocation = [receive(msg('PREPARE', 3, 1, HX)), receive(msg('PREPARE', 3, 1, H1))].reduce(
      (s, c) => decide(c, s).reduce(evolve, s),
      g.state,
    );
    expect(afterEquivocation.rounds.get(1)?.PREPARE.size).toBe(2);
    expect(broadcasts(decide(receive(msg('PREPARE', 3, 1, HX)), afterEquivocation))).toEqual([]);
    // A third distinct source makes the quorum: the node locks the value and COMMITs.
    const events = decide(receive(msg('PREPARE', 2, 1, H1)), afterEquivocation);
    expect(events.find((e) => e.kind === 'Prepared')).toMatchObject({ round: 1, valueHash: H1 });
    expect(broadcasts(events)).toEqual([msg('COMMIT', 0, 1, H1)]);
  });

  it('refuses a leader\'s second, different PRE-PREPARE for its round as an equivocation, and the same one again as a duplicate', () => {
    const g = given(DEF4, receive(prePrepare1));
    expect(rejections(g.when(receive(msg('PRE-PREPARE', 1, 1, HX, { value: VX }))))).toEqual(['equivocation']);
    expect(rejections(g.when(receive(prePrepare1)))).toEqual(['duplicate']);
  });

  it('decides exactly once on a COMMIT quorum, then broadcasts DECIDED carrying the commits', () => {
    const g = given(DEF4, receive(prePrepare1), receive(msg('COMMIT', 1, 1, H1)), receive(msg('COMMIT', 2, 1, H1)));
    const events = g.when(receive(msg('COMMIT', 3, 1, H1)));
    expect(events.filter((e) => e.kind === 'Decided')).toEqual([{ kind: 'Decided', round: 1, valueHash: H1, value: V1, commits: [1, 2, 3] }]);
    const decided = broadcasts(events).find((m) => m.type === 'DECIDED');
    expect(decided?.justification?.map((c) => [c.type, c.source, c.valueHash])).toEqual([
      ['COMMIT', 1, H1],
      ['COMMIT', 2, H1],
      ['COMMIT', 3, H1],
    ]);
    const after = events.reduce(evolve, g.state);
    expect(rejections(decide(receive(msg('COMMIT', 0, 1, H1)), after))).toEqual(['already_decided']);
    expect(decide({ kind: 'TimerExpired', round: 1 }, after)).toEqual([]);
  });

  it('does not decide on a COMMIT quorum for a value it has never seen (it waits for a DECIDED)', () => {
    const g = given(DEF4, receive(msg('COMMIT', 1, 1, H1)), receive(msg('COMMIT', 2, 1, H1)));
    expect(g.when(receive(msg('COMMIT', 3, 1, H1))).some((e) => e.kind === 'Decided')).toBe(false);
  });

  it('decides from a DECIDED with a quorum of COMMITs, and rejects one without', () => {
    const commits = [1, 2, 3].map((s) => msg('COMMIT', s, 1, H1));
    const good = msg('DECIDED', 2, 1, H1, { value: V1, justification: commits });
    expect(given(DEF4).when(receive(good)).filter((e) => e.kind === 'Decided')).toEqual([
      { kind: 'Decided', round: 1, valueHash: H1, value: V1, commits: [1, 2, 3] },
    ]);
    const short = msg('DECIDED', 2, 1, H1, { value: V1, justification: commits.slice(0, 2) });
    expect(rejections(given(DEF4).when(receive(short)))).toEqual(['unjustified']);
    const repeated = msg('DECIDED', 2, 1, H1, { value: V1, justification: [commits[0]!, commits[0]!, commits[1]!] });
    expect(rejections(given(DEF4).when(receive(repeated)))).toEqual(['unjustified']);
  });

  it('on timer expiry moves to the next round and broadcasts ROUND-CHANGE; a stale timer does nothing', () => {
    const g = given(DEF4, { kind: 'Start', value: 'mine', valueHash: valueHashOf('mine') });
    expect(g.when({ kind: 'TimerExpired', round: 1 })).toEqual([
      { kind: 'RoundChanged', from: 1, to: 2, reason: 'timeout' },
      { kind: 'RoundStarted', round: 2, leader: 2 },
      { kind: 'MessageBroadcast', message: msg('ROUND-CHANGE', 0, 2, null, { justification: [] }) },
    ]);
    expect(g.when({ kind: 'TimerExpired', round: 7 })).toEqual([]);
  });

  it('jumps to the smallest round of f+1 higher ROUND-CHANGEs', () => {
    const g = given(DEF4, { kind: 'Start', value: 'mine', valueHash: valueHashOf('mine') }, receive(msg('ROUND-CHANGE', 2, 5, null)));
    const events = g.when(receive(msg('ROUND-CHANGE', 3, 3, null)));
    expect(events.filter((e) => e.kind === 'RoundChanged')).toEqual([{ kind: 'RoundChanged', from: 1, to: 3, reason: 'f_plus_1_round_changes' }]);
    expect(broadcasts(events).map((m) => [m.type, m.round])).toEqual([['ROUND-CHANGE', 3]]);
  });

  it('rejects stale rounds and does not buffer rounds beyond the look-ahead window', () => {
    const g = given(DEF4, { kind: 'Start', value: 'mine', valueHash: valueHashOf('mine') }, { kind: 'TimerExpired', round: 1 });
    expect(rejections(g.when(receive(msg('PREPARE', 2, 1, H1))))).toEqual(['stale_round']);
    expect(rejections(g.when(receive(msg('PREPARE', 2, 18, H1))))).toEqual([]);
    expect(rejections(g.when(receive(msg('PREPARE', 2, 19, H1))))).toEqual(['future_round']);
  });

  it('rejects a round-2 PRE-PREPARE without a quorum of ROUND-CHANGEs, or ignoring the highest prepared value', () => {
    const def = qbftDefinition(4, 0, 0);
    const rcs = [0, 1, 3].map((s) => msg('ROUND-CHANGE', s, 2, null));
    expect(rejections(given(def).when(receive(msg('PRE-PREPARE', 2, 2, HX, { value: VX, justification: rcs.slice(0, 2) }))))).toEqual([
      'unjustified',
    ]);
    expect(rejections(given(def).when(receive(msg('PRE-PREPARE', 2, 2, HX, { value: VX, justification: rcs }))))).toEqual([]);
    // One ROUND-CHANGE reports V1 prepared in round 1 with its PREPARE quorum: proposing VX is unjustified, V1 is justified.
    const prepares = [0, 1, 3].map((s) => msg('PREPARE', s, 1, H1));
    const withPrepared = [rcs[0]!, rcs[1]!, msg('ROUND-CHANGE', 3, 2, null, { preparedRound: 1, preparedValueHash: H1 })];
    expect(
      rejections(given(def).when(receive(msg('PRE-PREPARE', 2, 2, HX, { value: VX, justification: [...withPrepared, ...prepares] })))),
    ).toEqual(['unjustified']);
    expect(
      rejections(given(def).when(receive(msg('PRE-PREPARE', 2, 2, H1, { value: V1, justification: [...withPrepared, ...prepares.slice(0, 2)] })))),
    ).toEqual(['unjustified']);
    const accepted = given(def).when(receive(msg('PRE-PREPARE', 2, 2, H1, { value: V1, justification: [...withPrepared, ...prepares] })));
    expect(rejections(accepted)).toEqual([]);
    expect(accepted.filter((e) => e.kind === 'RoundChanged')).toEqual([{ kind: 'RoundChanged', from: 1, to: 2, reason: 'round_change_quorum' }]);
    expect(broadcasts(accepted)).toEqual([msg('PREPARE', 0, 2, H1)]);
  });

  it('rejects a ROUND-CHANGE whose prepared value lacks its PREPARE quorum', () => {
    const rc = msg('ROUND-CHANGE', 2, 2, null, {
      preparedRound: 1,
      preparedValueHash: H1,
      value: V1,
      justification: [1, 2].map((s) => msg('PREPARE', s, 1, H1)),
    });
    expect(rejections(given(DEF4).when(receive(rc)))).toEqual(['unjustified']);
  });

  it('does not mutate the state it is given, and the state is the fold of its events (replay)', () => {
    const sim = new QbftSim({ nodes: 4 });
    sim.startAll();
    sim.deliverAll();
    for (let node = 0; node < 4; node += 1) {
      const replayed = (sim.log[node] ?? []).reduce(evolve, initialState(qbftDefinition(4, node, 0)));
      expect(replayed).toEqual(sim.states[node]);
    }
    const state = given(DEF4, receive(prePrepare1)).state;
    const before = structuredClone(state);
    decide(receive(msg('PREPARE', 2, 1, H1)), state);
    decide({ kind: 'TimerExpired', round: 1 }, state);
    expect(state).toEqual(before);
  });
});

describe('DECIDED resends after the decision (shared/vectors/obol-dv-specs/qbft_decided_resends.json)', () => {
  const suite = JSON.parse(readFileSync(resolve(process.cwd(), '../shared/vectors/obol-dv-specs/qbft_decided_resends.json'), 'utf8')) as {
    cases: {
      name: string;
      input: { nodes: number; decided_round: number; events: { source: number; round: number }[] };
      rebroadcast: boolean[];
      total_rebroadcasts: number;
    }[];
  };

  it('has cases', () => expect(suite.cases.length).toBeGreaterThan(0));

  for (const c of suite.cases) {
    it(c.name, () => {
      const def = qbftDefinition(c.input.nodes, 0, 0);
      const commits = [1, 2, 3].map((s) => msg('COMMIT', s, c.input.decided_round, H1));
      let state = given(def, receive(msg('DECIDED', 1, c.input.decided_round, H1, { value: V1, justification: commits }))).state;
      expect(state.decision).not.toBeNull();
      const resent: boolean[] = [];
      for (const e of c.input.events) {
        const events = decide(receive(msg('ROUND-CHANGE', e.source, e.round, null)), state);
        resent.push(broadcasts(events).some((m) => m.type === 'DECIDED'));
        state = events.reduce(evolve, state);
      }
      expect(resent).toEqual(c.rebroadcast);
      expect(resent.filter(Boolean).length).toBe(c.total_rebroadcasts);
    });
  }
});

describe('QBFT cluster (in-memory network)', () => {
  const valueOf = (node: number) => `value-of-${node}`;

  it('happy path: 4 nodes decide the round-1 leader\'s value in round 1, each exactly once', () => {
    const sim = new QbftSim({ nodes: 4 });
    sim.startAll();
    sim.deliverAll();
    for (let node = 0; node < 4; node += 1) {
      expect(sim.decisions(node).map((d) => [d.round, d.value, d.valueHash])).toEqual([[1, valueOf(1), valueHashOf(valueOf(1))]]);
      expect(sim.decisions(node)[0]?.commits.length).toBeGreaterThanOrEqual(3);
      expect(sim.eventsOf(node, 'RoundChanged')).toEqual([]);
      expect(sim.eventsOf(node, 'MessageBroadcast').filter((e) => e.message.type === 'DECIDED')).toHaveLength(1);
    }
  });

  it('leader down: round 1 times out, round 2\'s leader proposes, every honest node decides', () => {
    const sim = new QbftSim({ nodes: 4, down: [1] });
    sim.startAll();
    sim.deliverAll();
    expect(sim.live().map((n) => sim.decisions(n).length)).toEqual([0, 0, 0]);
    sim.fireTimers();
    sim.deliverAll();
    for (const node of sim.live()) {
      expect(sim.eventsOf(node, 'RoundChanged')).toEqual([{ kind: 'RoundChanged', from: 1, to: 2, reason: 'timeout' }]);
      expect(sim.decisions(node).map((d) => [d.round, d.value])).toEqual([[2, valueOf(2)]]);
    }
  });

  it('a value prepared in round 1 but not committed is the one decided in round 2, whatever round 2\'s leader had as input', () => {
    const sim = new QbftSim({ nodes: 4 });
    sim.startAll();
    // Node 2 (round 2's leader) never sees round 1's PREPAREs, and no COMMIT reaches anyone.
    const filter = () => sim.dropWhere((e) => e.message.type === 'COMMIT' || (e.message.type === 'PREPARE' && e.to === 2));
    for (filter(); sim.queue.length > 0; filter()) sim.deliverAt(0);
    expect(sim.states.map((s) => s.preparedRound)).toEqual([1, 1, 0, 1]);
    expect(sim.states.every((s) => s.decision === null)).toBe(true);

    sim.fireTimers();
    sim.deliverAll();
    const proposal = sim.eventsOf(2, 'MessageBroadcast').find((e) => e.message.type === 'PRE-PREPARE');
    expect(proposal?.message).toMatchObject({ round: 2, valueHash: valueHashOf(valueOf(1)), value: valueOf(1) });
    for (let node = 0; node < 4; node += 1) {
      expect(sim.decisions(node).map((d) => [d.round, d.value])).toEqual([[2, valueOf(1)]]);
    }
  });

  it('fewer than a quorum up (2 of 4): no decision however many timers expire', () => {
    const sim = new QbftSim({ nodes: 4, down: [0, 3] });
    sim.startAll();
    for (let i = 0; i < 30; i += 1) {
      sim.deliverAll();
      sim.fireTimers();
    }
    sim.deliverAll();
    expect(sim.live().flatMap((n) => sim.decisions(n))).toEqual([]);
    expect(sim.live().flatMap((n) => sim.eventsOf(n, 'Prepared'))).toEqual([]);
    expect(sim.live().map((n) => sim.states[n]?.round)).toEqual([31, 31]);
  });

  it('invalid value: a PRE-PREPARE the app refuses is rejected, nobody prepares it, the next round decides another value', () => {
    const sim = new QbftSim({ nodes: 4, isValid: (_node, value) => value !== valueOf(1) });
    sim.startAll();
    sim.deliverAll();
    for (const node of [0, 2, 3]) {
      expect(sim.eventsOf(node, 'MessageRejected').map((e) => [e.message.type, e.reason])).toEqual([['PRE-PREPARE', 'invalid_value']]);
      expect(sim.eventsOf(node, 'MessageBroadcast').map((e) => e.message.type)).toEqual([]);
    }
    expect(sim.states.map((s) => s.preparedRound)).toEqual([0, 0, 0, 0]);
    sim.fireTimers();
    sim.deliverAll();
    for (let node = 0; node < 4; node += 1) expect(sim.decisions(node).map((d) => [d.round, d.value])).toEqual([[2, valueOf(2)]]);
  });

  it('byzantine: a non-leader\'s PRE-PREPARE is rejected everywhere and does not disturb the decision', () => {
    const sim = new QbftSim({ nodes: 4 });
    const forged = msg('PRE-PREPARE', 3, 1, HX, { value: VX });
    for (const to of [0, 1, 2]) sim.receive(to, forged);
    sim.startAll();
    sim.deliverAll();
    for (const node of [0, 1, 2]) {
      expect(sim.eventsOf(node, 'MessageRejected').filter((e) => e.message === forged).map((e) => e.reason)).toEqual(['not_leader']);
    }
    for (let node = 0; node < 4; node += 1) expect(sim.decisions(node).map((d) => d.value)).toEqual([valueOf(1)]);
  });

  it('a late node decides from a DECIDED message alone', () => {
    const sim = new QbftSim({ nodes: 4 });
    sim.startAll();
    const filter = () => sim.dropWhere((e) => e.to === 3 && e.message.type !== 'DECIDED');
    for (filter(); sim.queue.length > 0; filter()) sim.deliverAt(0);
    const decisions = [0, 1, 2, 3].map((n) => sim.decisions(n).map((d) => [d.round, d.value]));
    expect(decisions).toEqual([[[1, valueOf(1)]], [[1, valueOf(1)]], [[1, valueOf(1)]], [[1, valueOf(1)]]]);
    expect(sim.eventsOf(3, 'MessageAccepted')).toEqual([]); // it never saw a proposal, a PREPARE or a COMMIT
  });

  it('a node that missed everything, DECIDED included, is answered with a DECIDED resend when it changes round', () => {
    const sim = new QbftSim({ nodes: 4 });
    sim.startAll();
    const filter = () => sim.dropWhere((e) => e.to === 3);
    for (filter(); sim.queue.length > 0; filter()) sim.deliverAt(0);
    expect(sim.decisions(3)).toEqual([]);
    sim.fireTimers(); // only node 3 is undecided
    sim.deliverAll();
    expect(sim.decisions(3).map((d) => [d.round, d.value])).toEqual([[1, valueOf(1)]]);
  });
});

describe('QBFT safety under seeded random schedules', () => {
  interface Outcome {
    decided: Set<string>;
    perNode: number[];
    allLiveDecided: boolean;
    /** Some nodes decided in one round and others in a later one. */
    splitRounds: boolean;
  }

  /**
   * Chaos, then GST: random delivery order, random drops and random timer expiries for a
   * while (anything may happen, only safety is expected), then a reliable network with
   * timers (liveness is expected too, since at most f nodes are faulty).
   */
  function chaos(seed: number, nodes: number, options: { down?: number[]; byzantine?: number; noDecidedMessages?: boolean } = {}): Outcome {
    const random = seededRandom(seed);
    const down = [...(options.down ?? []), ...(options.byzantine !== undefined ? [options.byzantine] : [])];
    const sim = new QbftSim({
      nodes,
      leaderSeed: seed % nodes,
      down,
      inputOf: (n) => `input-${n}-${seed}`,
      ...(options.noDecidedMessages ? { lose: (e: Envelope) => e.message.type === 'DECIDED' } : {}),
    });
    for (const node of sim.live()) if (random() < 0.8) sim.start(node);
    // Each seed draws its own weather: how lossy the network is, how often timers fire, and
    // how much harder COMMIT and DECIDED are hit (the schedules where a value is decided
    // somewhere while the others move on are the ones that test the locking rules).
    const dropRate = 0.1 * random();
    const lateDropRate = Math.min(0.95, dropRate + 0.5 + 0.4 * random());
    const timerRate = 0.005 + 0.02 * random();
    const byzantineRate = options.byzantine === undefined ? 0 : 0.1;
    for (let step = 0; step < 500; step += 1) {
      const r = random();
      if (r < byzantineRate) injectByzantine(sim, options.byzantine ?? 0, random);
      else if (r < byzantineRate + timerRate) sim.fireNextTimers();
      else if (r < byzantineRate + timerRate + 0.03) for (const node of sim.live()) if (sim.states[node]?.input === null) sim.start(node);
      else if (sim.queue.length > 0) {
        const index = Math.floor(random() * sim.queue.length);
        const type = sim.queue[index]?.message.type;
        if (random() < (type === 'COMMIT' || type === 'DECIDED' ? lateDropRate : dropRate)) sim.queue.splice(index, 1);
        else sim.deliverAt(index);
      }
    }
    for (const node of sim.live()) if (sim.states[node]?.input === null) sim.start(node);
    const allLiveDecided = sim.runUntilDecided();
    const decided = new Set(sim.live().flatMap((n) => sim.decisions(n).map((d) => `${d.valueHash}`)));
    const rounds = new Set(sim.live().flatMap((n) => sim.decisions(n).map((d) => d.round)));
    return { decided, perNode: sim.live().map((n) => sim.decisions(n).length), allLiveDecided, splitRounds: rounds.size > 1 };
  }

  /** A byzantine process sends whatever it likes, equivocating on values and rounds. */
  function injectByzantine(sim: QbftSim, source: number, random: () => number): void {
    const values = ['evil-a', 'evil-b', `input-${(source + 1) % sim.nodes}`];
    const value = values[Math.floor(random() * values.length)]!;
    const round = 1 + Math.floor(random() * 3);
    const types = ['PRE-PREPARE', 'PREPARE', 'COMMIT', 'ROUND-CHANGE'] as const;
    const type = types[Math.floor(random() * types.length)]!;
    const message =
      type === 'ROUND-CHANGE'
        ? msg(type, source, round, null)
        : msg(type, source, round, valueHashOf(value), type === 'PRE-PREPARE' ? { value } : {});
    for (const to of sim.live()) if (random() < 0.6) sim.receive(to, message);
  }

  it('4 nodes, 150 seeds: no two nodes decide different values, nobody decides twice, all decide after GST', () => {
    for (let seed = 1; seed <= 150; seed += 1) {
      const outcome = chaos(seed, 4);
      expect(outcome.decided.size, `seed ${seed}`).toBe(1);
      expect(outcome.perNode, `seed ${seed}`).toEqual([1, 1, 1, 1]);
      expect(outcome.allLiveDecided, `seed ${seed}`).toBe(true);
    }
  });

  it('4 nodes with one down, 7 nodes with two down: same properties over 60 seeds each', () => {
    for (let seed = 1; seed <= 60; seed += 1) {
      const four = chaos(seed, 4, { down: [seed % 4] });
      expect([four.decided.size, four.allLiveDecided], `n=4 seed ${seed}`).toEqual([1, true]);
      expect(four.perNode.every((c) => c === 1), `n=4 seed ${seed}`).toBe(true);
      const seven = chaos(seed, 7, { down: [seed % 7, (seed + 3) % 7] });
      expect([seven.decided.size, seven.allLiveDecided], `n=7 seed ${seed}`).toEqual([1, true]);
      expect(seven.perNode.every((c) => c === 1), `n=7 seed ${seed}`).toBe(true);
    }
  });

  it('4 nodes with one byzantine equivocator, 100 seeds: the honest nodes agree', () => {
    for (let seed = 1; seed <= 100; seed += 1) {
      const outcome = chaos(seed, 4, { byzantine: seed % 4 });
      expect(outcome.decided.size, `seed ${seed}`).toBe(1);
      expect(outcome.perNode.every((c) => c === 1), `seed ${seed}`).toBe(true);
      expect(outcome.allLiveDecided, `seed ${seed}`).toBe(true);
    }
  });

  it('without DECIDED messages (a node that decided falls silent), 4 and 7 nodes, 150 seeds each: still never two values', () => {
    // DECIDED and its resends are a liveness aid; safety must come from the locking rules
    // alone (a prepared value is carried into every later round), so take the aid away.
    let laterRoundDecisions = 0;
    for (let seed = 1; seed <= 150; seed += 1) {
      for (const nodes of [4, 7]) {
        const outcome = chaos(seed, nodes, { noDecidedMessages: true });
        expect(outcome.decided.size, `n=${nodes} seed ${seed}`).toBeLessThanOrEqual(1);
        expect(outcome.perNode.every((c) => c <= 1), `n=${nodes} seed ${seed}`).toBe(true);
        laterRoundDecisions += outcome.splitRounds ? 1 : 0;
      }
    }
    // The schedules did produce decisions in different rounds on different nodes, the case the
    // locks exist for. (Checked by mutation: a leader that ignores the highest prepared value
    // with receivers not checking J2, or a node that never locks what it prepared, makes this
    // test fail — at n=4, seed 2 already.)
    expect(laterRoundDecisions).toBeGreaterThan(10);
  });
});
