import type { Hex } from '#lib/contracts';
import { decide, evolve, initialState } from './qbft.decider.js';
import { qbftDefinition } from './qbft.justification.js';
import type { QbftCommand, QbftEvent, QbftMessage, QbftState } from './qbft.types.js';

/*
 * A deterministic in-memory network of QBFT deciders, for specs only. Nothing here is
 * concurrent: messages wait in one queue and the spec chooses which is delivered next
 * (FIFO, or an index drawn from a seeded PRNG), drops messages, takes nodes down and fires
 * round timers. Broadcasts go to every other live node; a decider counts its own message
 * itself (see `MessageBroadcast`), so the sim never loops a message back to its sender.
 */

/** The value identity the app would compute; here an injective encoding of the JSON text. */
export function valueHashOf(value: unknown): Hex {
  const text = JSON.stringify(value) ?? 'undefined';
  let hex = '';
  for (let i = 0; i < text.length; i += 1) hex += text.charCodeAt(i).toString(16).padStart(4, '0');
  return `0x${hex}`;
}

/** mulberry32: a tiny seeded PRNG, so a failing seed replays exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Envelope {
  readonly from: number;
  readonly to: number;
  readonly message: QbftMessage;
}

export interface SimOptions {
  readonly nodes: number;
  readonly leaderSeed?: number;
  /** Each node's own input (its proposal when it leads with nothing prepared). */
  readonly inputOf?: (node: number) => unknown;
  /** The app's validity predicate at `node`; all values valid by default. */
  readonly isValid?: (node: number, value: unknown) => boolean;
  readonly down?: readonly number[];
  /** Messages this returns true for are lost when sent (e.g. every DECIDED, to test safety without that aid). */
  readonly lose?: (envelope: Envelope) => boolean;
}

export class QbftSim {
  readonly nodes: number;
  readonly states: QbftState[];
  /** Every event each node's decider emitted, in order. */
  readonly log: QbftEvent[][];
  queue: Envelope[] = [];
  readonly down: Set<number>;
  /** Virtual time, in round-timer units; it moves only when `fireNextTimers` advances it. */
  now = 0;
  /** When each node entered its current round (its timer's start). */
  readonly roundStartedAt: number[];
  private readonly inputOf: (node: number) => unknown;
  private readonly isValid: (node: number, value: unknown) => boolean;
  private readonly lose: (envelope: Envelope) => boolean;

  constructor(options: SimOptions) {
    this.nodes = options.nodes;
    this.states = Array.from({ length: options.nodes }, (_, self) =>
      initialState(qbftDefinition(options.nodes, self, options.leaderSeed ?? 0)),
    );
    this.log = this.states.map(() => []);
    this.roundStartedAt = this.states.map(() => 0);
    this.down = new Set(options.down ?? []);
    this.inputOf = options.inputOf ?? ((node) => `value-of-${node}`);
    this.isValid = options.isValid ?? (() => true);
    this.lose = options.lose ?? (() => false);
  }

  /** Runs one command through node's decider, folds the events, queues its broadcasts. */
  apply(node: number, command: QbftCommand): readonly QbftEvent[] {
    const state = this.states[node];
    if (state === undefined) throw new RangeError(`no node ${node}`);
    const events = decide(command, state);
    this.states[node] = events.reduce(evolve, state);
    this.log[node]?.push(...events);
    for (const event of events) {
      if (event.kind === 'RoundStarted') this.roundStartedAt[node] = this.now;
      if (event.kind !== 'MessageBroadcast') continue;
      for (let to = 0; to < this.nodes; to += 1) {
        const envelope = { from: node, to, message: event.message };
        if (to !== node && !this.down.has(to) && !this.lose(envelope)) this.queue.push(envelope);
      }
    }
    return events;
  }

  start(node: number): void {
    const value = this.inputOf(node);
    this.apply(node, { kind: 'Start', value, valueHash: valueHashOf(value) });
  }

  startAll(): void {
    for (const node of this.live()) this.start(node);
  }

  live(): number[] {
    return Array.from({ length: this.nodes }, (_, i) => i).filter((i) => !this.down.has(i));
  }

  /** Delivers a message as the app would: validity and the value's hash computed at the receiver. */
  receive(to: number, message: QbftMessage): readonly QbftEvent[] {
    const carries = message.value !== undefined;
    return this.apply(to, {
      kind: 'Receive',
      message,
      valueValid: carries ? this.isValid(to, message.value) : true,
      ...(carries ? { computedValueHash: valueHashOf(message.value) } : {}),
    });
  }

  deliverAt(index: number): void {
    const [envelope] = this.queue.splice(index, 1);
    if (envelope !== undefined && !this.down.has(envelope.to)) this.receive(envelope.to, envelope.message);
  }

  /** Delivers until the queue is empty: FIFO, or in the order `pick` chooses (index into the queue). */
  deliverAll(pick: (queueLength: number) => number = () => 0, maxSteps = 100_000): void {
    for (let step = 0; this.queue.length > 0; step += 1) {
      if (step >= maxSteps) throw new Error('sim did not quiesce');
      this.deliverAt(pick(this.queue.length));
    }
  }

  dropWhere(predicate: (envelope: Envelope) => boolean): number {
    const before = this.queue.length;
    this.queue = this.queue.filter((e) => !predicate(e));
    return before - this.queue.length;
  }

  /** Every live, started, undecided node's current round timer expires. */
  fireTimers(): void {
    for (const node of this.live()) {
      const state = this.states[node];
      if (state !== undefined && state.round > 0 && state.decision === null) {
        this.apply(node, { kind: 'TimerExpired', round: state.round });
      }
    }
  }

  /**
   * Advances virtual time to the earliest running round timer and fires every timer due
   * then. Round r's timeout grows with r (as Charon's linear round timer does): that is
   * what lets a node left behind in a lower round catch up with one ahead of it, since
   * the laggard's shorter timers expire first.
   */
  fireNextTimers(timeoutOf: (round: number) => number = (round) => round): void {
    const running = this.live().flatMap((node) => {
      const state = this.states[node];
      if (state === undefined || state.round === 0 || state.decision !== null) return [];
      return [{ node, round: state.round, deadline: (this.roundStartedAt[node] ?? 0) + timeoutOf(state.round) }];
    });
    if (running.length === 0) return;
    this.now = Math.max(this.now, Math.min(...running.map((t) => t.deadline)));
    for (const timer of running) {
      if (timer.deadline <= this.now) this.apply(timer.node, { kind: 'TimerExpired', round: timer.round });
    }
  }

  /** Partial synchrony after GST: messages arrive before any timer expires; run until all live nodes decide. */
  runUntilDecided(maxTimerSteps = 200): boolean {
    for (let i = 0; i <= maxTimerSteps; i += 1) {
      this.deliverAll();
      if (this.live().every((n) => this.states[n]?.decision !== null)) return true;
      this.fireNextTimers();
    }
    return false;
  }

  decisions(node: number): Extract<QbftEvent, { kind: 'Decided' }>[] {
    return (this.log[node] ?? []).filter((e): e is Extract<QbftEvent, { kind: 'Decided' }> => e.kind === 'Decided');
  }

  eventsOf<K extends QbftEvent['kind']>(node: number, kind: K): Extract<QbftEvent, { kind: K }>[] {
    return (this.log[node] ?? []).filter((e): e is Extract<QbftEvent, { kind: K }> => e.kind === kind);
  }
}
