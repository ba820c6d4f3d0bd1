import { maxJustifications } from './qbft.types.js';

/**
 * Limits on an incoming QBFT message, applied before any per-element work (signature checks,
 * hashing, the decider), so a peer cannot make this node do unbounded work or hold unbounded
 * memory with one message (amplification). Charon core/consensus/qbft `verifyMsgLimits` and
 * `maxConsensusMsgSize`, pinned by shared/vectors/obol-dv-specs/qbft_msg_limits.json.
 *
 * Order matters and is part of the contract: the wire size is known first (before
 * decoding); then the justification count is checked before the value count, so a message
 * exceeding both is refused for its justifications.
 */

/** Charon maxConsensusMsgSize: 32 MiB, well below libp2p's 128 MiB default frame. */
export const MAX_QBFT_WIRE_BYTES = 32 * 1024 * 1024;

export const QBFT_LIMIT_REASONS = {
  msg_too_large: `the encoded message exceeds ${MAX_QBFT_WIRE_BYTES} bytes`,
  too_many_justifications: 'the message carries more than 2n justifications',
  too_many_values: 'the message carries more than 2 × (justifications + 1) values',
} as const;

export type QbftLimitReason = keyof typeof QBFT_LIMIT_REASONS;

/** Charon: at most two values per message (its own and a prepared one) per message carried. */
export function maxValues(justificationCount: number): number {
  return 2 * (justificationCount + 1);
}

export function wireSizeRefusal(wireSizeBytes: number): QbftLimitReason | null {
  return wireSizeBytes > MAX_QBFT_WIRE_BYTES ? 'msg_too_large' : null;
}

export function countRefusal(nodes: number, justificationCount: number, valueCount: number): QbftLimitReason | null {
  if (justificationCount > maxJustifications(nodes)) return 'too_many_justifications';
  if (valueCount > maxValues(justificationCount)) return 'too_many_values';
  return null;
}
