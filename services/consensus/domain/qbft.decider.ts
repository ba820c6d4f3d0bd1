import type { Hex } from '#lib/contracts';
import {
  bare,
  carriedValueHash,
  carriesValue,
  faultyOf,
  isJustifiedDecided,
  isJustifiedPrePrepare,
  isJustifiedRoundChange,
  isSource,
  isWellFormed,
  leaderOf,
} from './qbft.justification.js';
import {
  MAX_DECIDED_RESENDS,
  QbftInvariantError,
  ROUND_LOOKAHEAD,
  type BufferedType,
  type QbftCommand,
  type QbftDefinition,
  type QbftEvent,
  type QbftMessage,
  type QbftRejectionReason,
  type QbftState,
  type RoundMessages,
} from './qbft.types.js';

/*
 * The decider is an Emmett-style triple. `decide` answers a command with events; `evolve`
 * folds one event into the state. Inside `decide`, the QBFT "upon" rules are evaluated
 * against the state *after* the command's first events and repeatedly until none fires
 * (a fixpoint). Because the rules read only state, the order in which messages arrived
 * does not matter, and a rule waiting for something (e.g. a leader waiting for its own
 * input) fires as soon as the state allows it.
 */

export function initialState(definition: QbftDefinition): QbftState {
  if (!Number.isInteger(definition.nodes) || definition.nodes < 1) {
    throw new QbftInvariantError(`nodes must be a positive integer, got ${definition.nodes}`);
  }
  if (!isSource(definition, definition.self)) {
    throw new QbftInvariantError(`self ${definition.self} is not in 0..${definition.nodes - 1}`);
  }
  if (!Number.isInteger(definition.quorum) || definition.quorum < 1 || definition.quorum > definition.nodes) {
    throw new QbftInvariantError(`quorum ${definition.quorum} is not in 1..${definition.nodes}`);
  }
  return {
    definition,
    round: 0,
    input: null,
    values: new Map(),
    rounds: new Map(),
    preparedRound: 0,
    preparedValueHash: null,
    preparedJustification: [],
    decision: null,
    decidedMessage: null,
    decidedResends: new Map(),
  };
}

export function decide(command: QbftCommand, state: QbftState): readonly QbftEvent[] {
  switch (command.kind) {
    case 'Start':
      return start(command.value, command.valueHash, state);
    case 'Receive':
      return receive(command, state);
    case 'TimerExpired':
      return timerExpired(command.round, state);
    default:
      return assertNever(command);
  }
}

export function evolve(state: QbftState, event: QbftEvent): QbftState {
  switch (event.kind) {
    case 'InputRecorded':
      return { ...state, input: { value: event.value, valueHash: event.valueHash }, values: learnValue(state.values, event.valueHash, event.value) };
    case 'RoundStarted':
      return { ...state, round: event.round, rounds: pruneBelow(state.rounds, event.round) };
    case 'RoundChanged':
      return state; // the fact for the audit log; RoundStarted (which always follows) moves the round
    case 'MessageAccepted':
      if (state.decision !== null) return recordResendTrigger(state, event.message);
      return buffer(state, event.message);
    case 'MessageBroadcast':
      if (event.message.type === 'DECIDED') return { ...state, decidedMessage: event.message };
      return buffer(state, event.message);
    case 'Prepared':
      return {
        ...state,
        preparedRound: event.round,
        preparedValueHash: event.valueHash,
        preparedJustification: event.prepares,
      };
    case 'Decided':
      return {
        ...state,
        decision: { round: event.round, valueHash: event.valueHash, value: event.value, commits: event.commits },
        values: learnValue(state.values, event.valueHash, event.value),
      };
    case 'MessageRejected':
      return state;
    default:
      return assertNever(event);
  }
}

// === Commands ===

function start(value: unknown, valueHash: Hex, state: QbftState): readonly QbftEvent[] {
  // A second Start (a replayed command) or a Start after a DECIDED changes nothing.
  if (state.input !== null || state.decision !== null) return [];
  const first: QbftEvent[] = [{ kind: 'InputRecorded', value, valueHash }];
  if (state.round === 0) first.push(roundStarted(state.definition, 1));
  return settle(state, first);
}

function receive(command: Extract<QbftCommand, { kind: 'Receive' }>, state: QbftState): readonly QbftEvent[] {
  const { message } = command;
  const reason = rejectionReason(command, state);
  if (reason !== null) return [{ kind: 'MessageRejected', message, reason }];

  if (state.decision !== null) {
    // Only a ROUND-CHANGE gets here: a peer still changing rounds missed our DECIDED (Alg 3:17).
    const resend = state.decidedMessage;
    return resend === null ? [{ kind: 'MessageAccepted', message }] : [{ kind: 'MessageAccepted', message }, { kind: 'MessageBroadcast', message: resend }];
  }
  if (message.type === 'DECIDED') {
    const commits = (message.justification ?? []).map((c) => c.source);
    return decidedWith(state, message.round, message.valueHash as Hex, message.value, commits, message.justification ?? []);
  }
  const first: QbftEvent[] = [];
  if (state.round === 0) first.push(roundStarted(state.definition, 1));
  first.push({ kind: 'MessageAccepted', message });
  return settle(state, first);
}

/** Alg 3:1: the round timer expired without a decision, move to the next round and say so. */
function timerExpired(round: number, state: QbftState): readonly QbftEvent[] {
  if (state.decision !== null || state.round === 0 || round !== state.round) return []; // a stale timer
  return settle(state, moveTo(state, round + 1, 'timeout', true));
}

// === Validation ===

function rejectionReason(command: Extract<QbftCommand, { kind: 'Receive' }>, state: QbftState): QbftRejectionReason | null {
  const def = state.definition;
  const m = command.message;
  if (!isSource(def, m.source)) return 'bad_source';
  if (!isWellFormed(def, m)) return 'malformed';

  if (state.decision !== null) return m.type === 'ROUND-CHANGE' && m.source !== def.self ? resendRefusal(state, m) : 'already_decided';

  const claimed = carriedValueHash(m);
  if (carriesValue(m) && command.computedValueHash !== undefined && command.computedValueHash !== claimed) return 'hash_mismatch';

  // DECIDED is self-justifying (a quorum of COMMITs), so it is taken from any round.
  if (m.type === 'DECIDED') return isJustifiedDecided(def, m) ? null : 'unjustified';

  const current = Math.max(1, state.round);
  if (m.round > current + ROUND_LOOKAHEAD) return 'future_round';
  // Old COMMITs still count: a quorum of them for any round decides (Alg 2:8 is safe for any round).
  if (m.type !== 'COMMIT' && m.round < current) return 'stale_round';
  const counted = state.rounds.get(m.round)?.[m.type].get(m.source);
  if (counted !== undefined) return sameVote(counted, m) ? 'duplicate' : 'equivocation';

  switch (m.type) {
    case 'PRE-PREPARE':
      if (m.source !== leaderOf(def, m.round)) return 'not_leader';
      if (!isJustifiedPrePrepare(def, m)) return 'unjustified';
      // Alg 2:1 accepts only a valid value: duty matches and the slashing guard approves.
      return command.valueValid ? null : 'invalid_value';
    case 'ROUND-CHANGE':
      return isJustifiedRoundChange(def, m) ? null : 'unjustified';
    case 'PREPARE':
    case 'COMMIT':
      return null;
    default:
      return assertNever(m.type);
  }
}

/**
 * Whether a second message of one (type, round, source) says the same as the one counted: a
 * retried delivery or a replay (`duplicate`), not a second opinion (`equivocation`). Both are
 * refused alike; only the audit reason differs. The signature is not compared: a correct node's
 * is deterministic (RFC 6979), but the same vote is the same vote however it is signed.
 */
function sameVote(a: QbftMessage, b: QbftMessage): boolean {
  return a.valueHash === b.valueHash && a.preparedRound === b.preparedRound && a.preparedValueHash === b.preparedValueHash;
}

/** Charon's allowDecidedResend, as pinned by shared/vectors/obol-dv-specs/qbft_decided_resends.json. */
function resendRefusal(state: QbftState, m: QbftMessage): QbftRejectionReason | null {
  const previous = state.decidedResends.get(m.source) ?? { round: 0, count: 0 };
  if (m.round === previous.round) return 'duplicate';
  if (m.round < previous.round) return 'stale_round';
  if (previous.count >= MAX_DECIDED_RESENDS) return 'resend_limit';
  return null;
}

// === Upon rules (Alg 2, 3) ===

/** Applies `first`, then fires upon rules until none does. Returns every event in order. */
function settle(state: QbftState, first: readonly QbftEvent[]): readonly QbftEvent[] {
  const events = [...first];
  let current = first.reduce(evolve, state);
  // Each rule flips its own guard when it fires, so the loop is short; the cap only
  // turns a future bug into an exception instead of a hang.
  for (let step = 0; step < 64; step += 1) {
    const next = nextRule(current);
    if (next.length === 0) return events;
    events.push(...next);
    current = next.reduce(evolve, current);
  }
  throw new QbftInvariantError('upon rules did not settle');
}

function nextRule(s: QbftState): readonly QbftEvent[] {
  if (s.round === 0 || s.decision !== null) return [];
  return (
    commitQuorum(s) ??
    justifiedFuturePrePrepare(s) ??
    fPlusOneRoundChanges(s) ??
    propose(s) ??
    prepareProposal(s) ??
    commitPrepared(s) ??
    []
  );
}

/** Alg 2:8: a quorum of COMMITs for one value in one round decides it, once the value is known. */
function commitQuorum(s: QbftState): readonly QbftEvent[] | null {
  for (const round of [...s.rounds.keys()].sort((a, b) => a - b)) {
    const commits = [...messagesOf(s, round, 'COMMIT')];
    for (const [valueHash, group] of groupByValueHash(commits)) {
      if (group.length >= s.definition.quorum && s.values.has(valueHash)) {
        return decidedWith(s, round, valueHash, s.values.get(valueHash), group.map((c) => c.source), group.map(bare));
      }
    }
  }
  return null;
}

function decidedWith(
  s: QbftState,
  round: number,
  valueHash: Hex,
  value: unknown,
  commits: readonly number[],
  justification: readonly QbftMessage[],
): readonly QbftEvent[] {
  const decided: QbftMessage = {
    type: 'DECIDED',
    source: s.definition.self,
    round,
    valueHash,
    value,
    preparedRound: 0,
    preparedValueHash: null,
    justification: justification.map(bare),
  };
  return [
    { kind: 'Decided', round, valueHash, value, commits: [...commits].sort((a, b) => a - b) },
    { kind: 'MessageBroadcast', message: decided },
  ];
}

/** Alg 2:1: a justified PRE-PREPARE for a later round moves this node there (its Qrc proves the cluster moved). */
function justifiedFuturePrePrepare(s: QbftState): readonly QbftEvent[] | null {
  const ahead = [...s.rounds.keys()].filter((r) => r > s.round && messagesOf(s, r, 'PRE-PREPARE').length > 0);
  if (ahead.length === 0) return null;
  return moveTo(s, Math.max(...ahead), 'round_change_quorum', false);
}

/**
 * Alg 3:5: f+1 processes are in higher rounds, so at least one honest one is: join the
 * smallest round of such a set. Taking each source's highest round and the (f+1)-th
 * highest of those picks the furthest round f+1 sources vouch for, deterministically.
 */
function fPlusOneRoundChanges(s: QbftState): readonly QbftEvent[] | null {
  const highestBySource = new Map<number, number>();
  for (const [round, messages] of s.rounds) {
    if (round <= s.round) continue;
    for (const source of messages['ROUND-CHANGE'].keys()) {
      highestBySource.set(source, Math.max(round, highestBySource.get(source) ?? 0));
    }
  }
  const f = faultyOf(s.definition.nodes);
  const rounds = [...highestBySource.values()].sort((a, b) => b - a);
  const target = rounds[f];
  return target === undefined ? null : moveTo(s, target, 'f_plus_1_round_changes', true);
}

/**
 * Alg 1:11 (round 1) and Alg 3:11 (later rounds): the leader proposes once per round. In a
 * later round it needs a quorum of ROUND-CHANGEs; if any carries a prepared value, it
 * must re-propose the one with the highest prepared round (it may already be committed
 * somewhere), else its own input. Without input and nothing prepared it waits for Start.
 */
function propose(s: QbftState): readonly QbftEvent[] | null {
  const def = s.definition;
  if (leaderOf(def, s.round) !== def.self || hasSent(s, s.round, 'PRE-PREPARE')) return null;

  if (s.round === 1) return s.input === null ? null : [broadcast(prePrepare(def, 1, s.input.valueHash, s.input.value, []))];

  const qrc = messagesOf(s, s.round, 'ROUND-CHANGE');
  if (qrc.length < def.quorum) return null;
  const highest = qrc.reduce<QbftMessage | null>((best, rc) => (rc.preparedRound > (best?.preparedRound ?? 0) ? rc : best), null);
  if (highest === null || highest.preparedValueHash === null) {
    if (s.input === null) return null;
    return [broadcast(prePrepare(def, s.round, s.input.valueHash, s.input.value, qrc.map(bare)))];
  }
  const pv = highest.preparedValueHash;
  const value = s.values.has(pv) ? s.values.get(pv) : highest.value;
  return [broadcast(prePrepare(def, s.round, pv, value, [...qrc.map(bare), ...(highest.justification ?? []).map(bare)]))];
}

/** Alg 2:1: accept the current round's justified proposal by broadcasting PREPARE, once per round. */
function prepareProposal(s: QbftState): readonly QbftEvent[] | null {
  const [proposal] = messagesOf(s, s.round, 'PRE-PREPARE');
  if (proposal === undefined || proposal.valueHash === null || hasSent(s, s.round, 'PREPARE')) return null;
  return [broadcast(vote(s.definition, 'PREPARE', s.round, proposal.valueHash))];
}

/**
 * Alg 2:4: a quorum of PREPAREs for one value in the current round locks it (pr, pv) and
 * this node COMMITs it. We also require knowing the value itself, so that every
 * ROUND-CHANGE we later send can carry it (Alg 3:11 needs it at the next leader).
 */
function commitPrepared(s: QbftState): readonly QbftEvent[] | null {
  if (hasSent(s, s.round, 'COMMIT')) return null;
  for (const [valueHash, prepares] of groupByValueHash(messagesOf(s, s.round, 'PREPARE'))) {
    if (prepares.length >= s.definition.quorum && s.values.has(valueHash)) {
      return [
        { kind: 'Prepared', round: s.round, valueHash, prepares: prepares.map(bare) },
        broadcast(vote(s.definition, 'COMMIT', s.round, valueHash)),
      ];
    }
  }
  return null;
}

// === Helpers ===

function moveTo(s: QbftState, to: number, reason: 'timeout' | 'round_change_quorum' | 'f_plus_1_round_changes', sendRoundChange: boolean): QbftEvent[] {
  const events: QbftEvent[] = [
    { kind: 'RoundChanged', from: s.round, to, reason },
    roundStarted(s.definition, to),
  ];
  if (sendRoundChange) events.push(broadcast(roundChange(s, to)));
  return events;
}

function roundStarted(def: QbftDefinition, round: number): QbftEvent {
  return { kind: 'RoundStarted', round, leader: leaderOf(def, round) };
}

function broadcast(message: QbftMessage): QbftEvent {
  return { kind: 'MessageBroadcast', message };
}

function prePrepare(def: QbftDefinition, round: number, valueHash: Hex, value: unknown, justification: readonly QbftMessage[]): QbftMessage {
  return { type: 'PRE-PREPARE', source: def.self, round, valueHash, value, preparedRound: 0, preparedValueHash: null, justification };
}

function vote(def: QbftDefinition, type: 'PREPARE' | 'COMMIT', round: number, valueHash: Hex): QbftMessage {
  return { type, source: def.self, round, valueHash, preparedRound: 0, preparedValueHash: null };
}

/** Alg 3:1/3:5: ROUND-CHANGE carries (pr, pv), the value itself and the PREPARE quorum behind it. */
function roundChange(s: QbftState, round: number): QbftMessage {
  const base = { type: 'ROUND-CHANGE' as const, source: s.definition.self, round, valueHash: null };
  if (s.preparedRound === 0 || s.preparedValueHash === null) {
    return { ...base, preparedRound: 0, preparedValueHash: null, justification: [] };
  }
  return {
    ...base,
    preparedRound: s.preparedRound,
    preparedValueHash: s.preparedValueHash,
    value: s.values.get(s.preparedValueHash),
    justification: s.preparedJustification,
  };
}

function hasSent(s: QbftState, round: number, type: BufferedType): boolean {
  return s.rounds.get(round)?.[type].has(s.definition.self) ?? false;
}

/** A round's messages of one type in source order (deterministic whatever the arrival order). */
function messagesOf(s: QbftState, round: number, type: BufferedType): readonly QbftMessage[] {
  const byType = s.rounds.get(round)?.[type];
  if (byType === undefined) return [];
  return [...byType.entries()].sort(([a], [b]) => a - b).map(([, m]) => m);
}

function groupByValueHash(messages: readonly QbftMessage[]): ReadonlyMap<Hex, readonly QbftMessage[]> {
  const groups = new Map<Hex, QbftMessage[]>();
  for (const m of messages) {
    if (m.valueHash === null) continue;
    groups.set(m.valueHash, [...(groups.get(m.valueHash) ?? []), m]);
  }
  return new Map([...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const EMPTY_ROUND: RoundMessages = {
  'PRE-PREPARE': new Map(),
  PREPARE: new Map(),
  COMMIT: new Map(),
  'ROUND-CHANGE': new Map(),
};

function buffer(state: QbftState, m: QbftMessage): QbftState {
  if (m.type === 'DECIDED') return state;
  const roundMessages = state.rounds.get(m.round) ?? EMPTY_ROUND;
  const byType = new Map(roundMessages[m.type]).set(m.source, m);
  const rounds = new Map(state.rounds).set(m.round, { ...roundMessages, [m.type]: byType });
  const hash = carriedValueHash(m);
  const values = hash !== null && carriesValue(m) ? learnValue(state.values, hash, m.value) : state.values;
  return { ...state, rounds, values };
}

/** First binding wins: a value learned under a hash (own input first) is never replaced. */
function learnValue(values: ReadonlyMap<Hex, unknown>, hash: Hex, value: unknown): ReadonlyMap<Hex, unknown> {
  return values.has(hash) ? values : new Map(values).set(hash, value);
}

/**
 * Rounds this node has left can no longer produce a proposal, a PREPARE quorum or a
 * round change it acts on; only their COMMITs can still decide. Dropping the rest keeps
 * the state bounded by the look-ahead window plus one COMMIT per process per past round.
 */
function pruneBelow(rounds: ReadonlyMap<number, RoundMessages>, round: number): ReadonlyMap<number, RoundMessages> {
  const kept = new Map<number, RoundMessages>();
  for (const [r, messages] of rounds) {
    if (r >= round) kept.set(r, messages);
    else if (messages.COMMIT.size > 0) kept.set(r, { ...EMPTY_ROUND, COMMIT: messages.COMMIT });
  }
  return kept;
}

function recordResendTrigger(state: QbftState, m: QbftMessage): QbftState {
  const previous = state.decidedResends.get(m.source) ?? { round: 0, count: 0 };
  return { ...state, decidedResends: new Map(state.decidedResends).set(m.source, { round: m.round, count: previous.count + 1 }) };
}

function assertNever(value: never): never {
  throw new QbftInvariantError(`unhandled case: ${JSON.stringify(value)}`);
}
