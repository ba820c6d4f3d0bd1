import type { Hex } from '#lib/contracts';
import { maxJustifications, type QbftDefinition, type QbftMessage, type QbftMessageType } from './qbft.types.js';

/** q = ceil(2n/3) (n=4 → 3, n=7 → 5). */
export function quorumOf(nodes: number): number {
  return Math.ceil((2 * nodes) / 3);
}

/** f = floor((n-1)/3): the faulty processes a cluster of n tolerates. */
export function faultyOf(nodes: number): number {
  return Math.floor((nodes - 1) / 3);
}

export function qbftDefinition(nodes: number, self: number, leaderSeed: number): QbftDefinition {
  return { nodes, self, quorum: quorumOf(nodes), leaderSeed };
}

/** Round-robin leader, offset per duty so one operator does not lead every duty's round 1. */
export function leaderOf(def: QbftDefinition, round: number): number {
  return (((def.leaderSeed + round) % def.nodes) + def.nodes) % def.nodes;
}

export function isSource(def: QbftDefinition, source: number): boolean {
  return Number.isInteger(source) && source >= 0 && source < def.nodes;
}

const TYPES: ReadonlySet<QbftMessageType> = new Set(['PRE-PREPARE', 'PREPARE', 'COMMIT', 'ROUND-CHANGE', 'DECIDED']);

/** The hash the carried value (if any) must have: the proposal's on most types, the prepared one on ROUND-CHANGE. */
export function carriedValueHash(message: QbftMessage): Hex | null {
  return message.type === 'ROUND-CHANGE' ? message.preparedValueHash : message.valueHash;
}

export function carriesValue(message: QbftMessage): boolean {
  return message.value !== undefined;
}

/**
 * Shape rules that need no state: a message breaking one cannot be a correct process's.
 * Justification limit from Charon's verifyMsgLimits (checked before per-element work).
 */
export function isWellFormed(def: QbftDefinition, m: QbftMessage): boolean {
  if (!TYPES.has(m.type) || !Number.isSafeInteger(m.round) || m.round < 1) return false;
  if (!Number.isSafeInteger(m.preparedRound) || m.preparedRound < 0) return false;
  if ((m.justification?.length ?? 0) > maxJustifications(def.nodes)) return false;
  switch (m.type) {
    case 'PRE-PREPARE':
    case 'DECIDED':
      return typeof m.valueHash === 'string' && carriesValue(m);
    case 'PREPARE':
    case 'COMMIT':
      return typeof m.valueHash === 'string';
    case 'ROUND-CHANGE':
      // Alg 3: a ROUND-CHANGE carries (pr, pv) with pr < round, both null or both set; a
      // prepared value must travel with it so the next leader can re-propose it (Alg 3:11).
      if (m.valueHash !== null) return false;
      if (m.preparedRound === 0) return m.preparedValueHash === null && !carriesValue(m);
      return m.preparedRound < m.round && typeof m.preparedValueHash === 'string' && carriesValue(m);
  }
}

/** Messages of one type, round and (optionally) value hash from distinct, valid sources; null if any source repeats or is foreign. */
function distinctQuorumMembers(
  def: QbftDefinition,
  messages: readonly QbftMessage[],
  match: (m: QbftMessage) => boolean,
): readonly QbftMessage[] | null {
  const seen = new Set<number>();
  for (const m of messages) {
    if (!match(m)) return null;
    if (!isSource(def, m.source) || seen.has(m.source)) return null;
    seen.add(m.source);
  }
  return messages;
}

/**
 * A quorum of PREPAREs for (round, valueHash), each from a distinct process: what makes a
 * prepared value safe to re-propose (Alg 4 J2) and a ROUND-CHANGE's (pr, pv) believable.
 */
export function isPrepareQuorum(def: QbftDefinition, prepares: readonly QbftMessage[], round: number, valueHash: Hex): boolean {
  const members = distinctQuorumMembers(
    def,
    prepares,
    (m) => m.type === 'PREPARE' && m.round === round && m.valueHash === valueHash,
  );
  return members !== null && members.length >= def.quorum;
}

/** ROUND-CHANGE with a prepared value: its justification is the PREPARE quorum for (pr, pv). */
export function isJustifiedRoundChange(def: QbftDefinition, m: QbftMessage): boolean {
  if (m.preparedRound === 0 || m.preparedValueHash === null) return (m.justification ?? []).length === 0;
  return isPrepareQuorum(def, m.justification ?? [], m.preparedRound, m.preparedValueHash);
}

/** DECIDED: a quorum of COMMITs for its round and value (Charon isJustifiedDecided). */
export function isJustifiedDecided(def: QbftDefinition, m: QbftMessage): boolean {
  const commits = distinctQuorumMembers(
    def,
    m.justification ?? [],
    (c) => c.type === 'COMMIT' && c.round === m.round && c.valueHash === m.valueHash,
  );
  return commits !== null && commits.length >= def.quorum;
}

/**
 * PRE-PREPARE justification (Alg 4 JustifyPrePrepare). Round 1 needs none. A later round
 * needs a quorum Qrc of ROUND-CHANGEs for that round, and either
 *  J1: none of them prepared anything — the leader may propose any value; or
 *  J2: the justification holds a PREPARE quorum for (pr, pv) where pr is the highest
 *      prepared round in Qrc, some ROUND-CHANGE reports (pr, pv), and the proposal is pv.
 * J2 is what carries a possibly-committed value across rounds (safety).
 */
export function isJustifiedPrePrepare(def: QbftDefinition, m: QbftMessage): boolean {
  if (m.round === 1) return true;
  const justification = m.justification ?? [];
  const roundChanges = justification.filter((j) => j.type === 'ROUND-CHANGE');
  const prepares = justification.filter((j) => j.type === 'PREPARE');
  if (roundChanges.length + prepares.length !== justification.length) return false;

  const qrc = distinctQuorumMembers(
    def,
    roundChanges,
    (rc) => rc.round === m.round && (rc.preparedRound === 0) === (rc.preparedValueHash === null),
  );
  if (qrc === null || qrc.length < def.quorum) return false;

  const highest = Math.max(...qrc.map((rc) => rc.preparedRound));
  if (highest === 0) return prepares.length === 0; // J1
  const pv = m.valueHash;
  if (pv === null) return false;
  const reported = qrc.some((rc) => rc.preparedRound === highest && rc.preparedValueHash === pv);
  return reported && isPrepareQuorum(def, prepares, highest, pv); // J2
}

/**
 * A message as it travels inside another's justification: no nested justification, no value,
 * but its author's signature (what the signing root covers is exactly these fields).
 */
export function bare(m: QbftMessage): QbftMessage {
  return {
    type: m.type,
    source: m.source,
    round: m.round,
    valueHash: m.valueHash,
    preparedRound: m.preparedRound,
    preparedValueHash: m.preparedValueHash,
    ...(m.signature === undefined ? {} : { signature: m.signature }),
  };
}
