import type { Hex } from '#lib/contracts';

/**
 * One QBFT instance decides one value for one duty (slot + duty type) — DESIGN.md "Scale":
 * consensus runs once per duty over the whole validator set. The algorithm is Istanbul BFT
 * as specified by Moniz, "The Istanbul BFT Consensus Algorithm" (arXiv 2002.03613),
 * the one Charon's core/qbft implements. Algorithm line references below ("Alg 2:4") are
 * to that paper.
 */
export interface QbftDefinition {
  /** n: operators in the cluster. */
  readonly nodes: number;
  /** This node's process id, 0-based (its operator index in the cluster lock). */
  readonly self: number;
  /** q = ceil(2n/3): any two quorums share an honest node when f = floor((n-1)/3). */
  readonly quorum: number;
  /** Makes the leader rotate across duties: leader(round) = (leaderSeed + round) mod n. */
  readonly leaderSeed: number;
}

export type QbftMessageType = 'PRE-PREPARE' | 'PREPARE' | 'COMMIT' | 'ROUND-CHANGE' | 'DECIDED';

/**
 * A consensus message as the decider sees it (the app authenticates the sender and maps
 * the wire format to this). The value travels only where the protocol needs it:
 * PRE-PREPARE (the proposal), ROUND-CHANGE with a prepared value (so the next leader can
 * re-propose it), DECIDED. Everywhere else `valueHash` is the identity of the value.
 */
export interface QbftMessage {
  readonly type: QbftMessageType;
  readonly source: number;
  readonly round: number;
  /** The value this message is about; null on ROUND-CHANGE. */
  readonly valueHash: Hex | null;
  /** The value whose hash is `valueHash` (or `preparedValueHash` on a ROUND-CHANGE). */
  readonly value?: unknown;
  /** ROUND-CHANGE only: the round this node last prepared in, 0 = none. */
  readonly preparedRound: number;
  readonly preparedValueHash: Hex | null;
  /**
   * PRE-PREPARE (round > 1): the quorum of ROUND-CHANGEs plus, if any carried a prepared
   * value, the quorum of PREPAREs for the highest one (Alg 4 J1/J2). ROUND-CHANGE: the
   * quorum of PREPAREs behind its prepared value. DECIDED: the quorum of COMMITs.
   */
  readonly justification?: readonly QbftMessage[];
  /**
   * The author's 65-byte secp256k1 signature (R ‖ S ‖ V) over the message's signing root
   * (Charon's QBFTMsg hash root; see #lib/p2p qbft-signing). Verified by the app, carried
   * untouched by the decider so a message relayed inside a justification stays provable.
   * Absent on this node's own messages: the peer-gateway signs those on the way out.
   */
  readonly signature?: Hex;
}

export type QbftCommand =
  /** This node's own input: its proposal whenever it leads a round with nothing prepared. */
  | { readonly kind: 'Start'; readonly value: unknown; readonly valueHash: Hex }
  | {
      readonly kind: 'Receive';
      readonly message: QbftMessage;
      /** The app's validity predicate on `message.value` (duty matches, slashing guard approves). */
      readonly valueValid: boolean;
      /**
       * The app's own hash of `message.value`, when the message carries one. Without it the
       * decider must trust the hash the sender claims; with it, a value that does not hash
       * to its claimed identity is rejected as `hash_mismatch`.
       */
      readonly computedValueHash?: Hex;
    }
  /** The round timer the app armed on `RoundStarted{round}` fired. */
  | { readonly kind: 'TimerExpired'; readonly round: number };

export type RoundChangeReason = 'timeout' | 'round_change_quorum' | 'f_plus_1_round_changes';

/**
 * Why a received message was not taken into account. Hostile or useless input is a fact
 * for the audit log, never an exception.
 */
export const QBFT_REJECTION_REASONS = {
  bad_source: 'the source is not a process of this cluster (0..n-1)',
  malformed: 'the message is structurally invalid for its type (missing value or hash, bad rounds, too many justifications)',
  already_decided: 'this instance has decided; the message cannot change anything',
  stale_round: 'the message is for a round this node has left',
  future_round: 'the message is more than the look-ahead window of rounds ahead, so it is not buffered',
  duplicate: 'this source already sent this message (same type, round and values): a retried delivery or a replay',
  equivocation: 'this source already sent a different message of this type for this round',
  not_leader: 'a PRE-PREPARE from a process that does not lead its round',
  hash_mismatch: 'the carried value does not hash to the claimed value hash',
  unjustified: 'the justification does not carry the quorum the protocol requires',
  invalid_value: 'the application\'s validity predicate refused the proposed value',
  resend_limit: 'after the decision, this source already triggered the maximum number of DECIDED resends',
} as const;

export type QbftRejectionReason = keyof typeof QBFT_REJECTION_REASONS;

export type QbftEvent =
  /** The node's own input was recorded (Start). */
  | { readonly kind: 'InputRecorded'; readonly value: unknown; readonly valueHash: Hex }
  /** The node entered `round`: the app (re)arms the round timer for it. */
  | { readonly kind: 'RoundStarted'; readonly round: number; readonly leader: number }
  /** A peer's message passed every check and now counts (buffered for its round). */
  | { readonly kind: 'MessageAccepted'; readonly message: QbftMessage }
  /**
   * The app sends `message` to every peer. The decider counts its own messages itself (the
   * fold of this event stores them), so the app must NOT feed them back as `Receive`
   * (an echo would be recorded as `duplicate`).
   */
  | { readonly kind: 'MessageBroadcast'; readonly message: QbftMessage }
  /** A quorum of PREPAREs for `valueHash` in `round` was seen (Alg 2:4): the value is locked. */
  | { readonly kind: 'Prepared'; readonly round: number; readonly valueHash: Hex; readonly prepares: readonly QbftMessage[] }
  | { readonly kind: 'RoundChanged'; readonly from: number; readonly to: number; readonly reason: RoundChangeReason }
  /** Exactly once per instance. `commits` are the sources of the quorum of COMMITs. */
  | {
      readonly kind: 'Decided';
      readonly round: number;
      readonly valueHash: Hex;
      readonly value: unknown;
      readonly commits: readonly number[];
    }
  | { readonly kind: 'MessageRejected'; readonly message: QbftMessage; readonly reason: QbftRejectionReason };

/** The message types buffered per round (DECIDED is acted upon at once, never buffered). */
export type BufferedType = Exclude<QbftMessageType, 'DECIDED'>;

/** One round's buffered messages: at most one per (type, source), so n per type. */
export type RoundMessages = Readonly<Record<BufferedType, ReadonlyMap<number, QbftMessage>>>;

export interface QbftDecision {
  readonly round: number;
  readonly valueHash: Hex;
  readonly value: unknown;
  readonly commits: readonly number[];
}

export interface QbftState {
  readonly definition: QbftDefinition;
  /** 0 until the instance starts (Start or the first accepted message), then the current round. */
  readonly round: number;
  readonly input: { readonly value: unknown; readonly valueHash: Hex } | null;
  /** Values learned so far, by hash (own input, PRE-PREPAREs, ROUND-CHANGEs, DECIDED). */
  readonly values: ReadonlyMap<Hex, unknown>;
  readonly rounds: ReadonlyMap<number, RoundMessages>;
  /** pr, pv and the PREPARE quorum behind them (Alg 2:4), carried on ROUND-CHANGE. */
  readonly preparedRound: number;
  readonly preparedValueHash: Hex | null;
  readonly preparedJustification: readonly QbftMessage[];
  readonly decision: QbftDecision | null;
  /** The DECIDED message this node broadcast, re-sent to peers still changing rounds. */
  readonly decidedMessage: QbftMessage | null;
  /** Per source: highest round that triggered a DECIDED resend, and how many it triggered. */
  readonly decidedResends: ReadonlyMap<number, { readonly round: number; readonly count: number }>;
}

/** Messages more than this many rounds ahead are not buffered: bounds memory per instance. */
export const ROUND_LOOKAHEAD = 16;

/**
 * Charon core/qbft `maxDecidedResends`: a post-decision ROUND-CHANGE triggers at most one
 * DECIDED resend per source per strictly higher round, at most this many per source, so
 * round-incrementing peers cannot extract unbounded rebroadcasts (amplification).
 */
export const MAX_DECIDED_RESENDS = 16;

/** Charon core/consensus/qbft verifyMsgLimits: at most 2n justifications per message. */
export function maxJustifications(nodes: number): number {
  return 2 * nodes;
}

/** The decider's broken invariants (bugs, not refusals). */
export class QbftInvariantError extends Error {
  override readonly name = 'QbftInvariantError';
}
