import { isDutyType, type Duty, type PeerInbound } from '#lib/contracts';
import { encodeJson } from '#lib/messaging';
import { verifyQbftSignatures, type QbftSignatureFault } from '#lib/p2p';
import { countRefusal, wireSizeRefusal, type QbftLimitReason } from '../domain/qbft.limits.js';
import type { QbftMessage } from '../domain/qbft.types.js';

/** The wire payload of the `qbft` peer protocol. */
export interface QbftWireMessage {
  readonly duty: Duty;
  readonly message: QbftMessage;
}

/** Why a peer's QBFT message was refused before it reached the decider. */
export type InboundRefusalReason = QbftLimitReason | QbftSignatureFault | 'malformed' | 'sender_mismatch';

export type InboundCheck =
  | { readonly ok: true; readonly duty: Duty; readonly message: QbftMessage }
  | { readonly ok: false; readonly reason: InboundRefusalReason; readonly detail: string };

export interface InboundContext {
  /** n: operators in the cluster. */
  readonly nodes: number;
  /** Operators' compressed secp256k1 keys by operator index (cluster.operators[].publicKey). */
  readonly publicKeys: readonly Uint8Array[];
}

/**
 * Everything checked on a peer's QBFT message before the decider sees it, cheapest and
 * most bounding first, so hostile input costs as little as possible:
 *
 * 1. wire size (Charon maxConsensusMsgSize) — from the peer-gateway's byte count;
 * 2. justification count, then value count (Charon verifyMsgLimits, that order);
 * 3. shape: a duty, a message, and justification members that are flat (no nested
 *    justification, no value — what a correct node's `bare` produces), so the signature walk
 *    below is bounded by the counts just checked;
 * 4. sender: the message's author is the authenticated peer that sent it (the envelope);
 * 5. signatures: the message and every justification member are signed by the operator
 *    each names as author — a relayer cannot invent another operator's ROUND-CHANGE or PREPARE.
 *
 * `getVerified` returns the caller's per-duty cache of good signatures (or undefined).
 */
export function checkInboundQbft(
  inbound: PeerInbound<QbftWireMessage>,
  ctx: InboundContext,
  getVerified: (duty: Duty) => Set<string> | undefined = () => undefined,
): InboundCheck {
  const refuse = (reason: InboundRefusalReason, detail: string): InboundCheck => ({ ok: false, reason, detail });
  const payload = inbound.payload as Partial<QbftWireMessage> | undefined;
  const sizeBytes = inbound.sizeBytes ?? encodeJson(payload ?? null).byteLength;
  const tooLarge = wireSizeRefusal(sizeBytes);
  if (tooLarge !== null) return refuse(tooLarge, `${sizeBytes} bytes`);

  const duty = payload?.duty;
  const message = payload?.message;
  if (typeof message !== 'object' || message === null) return refuse('malformed', 'no message');
  const justification: unknown = message.justification ?? [];
  if (!Array.isArray(justification)) return refuse('malformed', 'justification is not a list');
  const values = (message.value !== undefined ? 1 : 0) + justification.filter((j: Partial<QbftMessage> | null) => j?.value !== undefined).length;
  const overCount = countRefusal(ctx.nodes, justification.length, values);
  if (overCount !== null) return refuse(overCount, `${justification.length} justifications, ${values} values`);

  if (typeof duty !== 'object' || duty === null || !Number.isSafeInteger(duty.slot) || duty.slot < 0 || !isDutyType(duty.type)) {
    return refuse('malformed', 'no valid duty');
  }
  const nested = justification.some((j: Partial<QbftMessage> | null) => typeof j !== 'object' || j === null || j.justification !== undefined || j.value !== undefined);
  if (nested) return refuse('malformed', 'a justification member carries a value or a justification of its own');
  if (message.source !== inbound.from) return refuse('sender_mismatch', `author ${String(message.source)}, sent by ${inbound.from}`);

  const refusal = verifyQbftSignatures(duty, message, ctx.publicKeys, getVerified(duty));
  if (refusal !== null) {
    return refuse(refusal.reason, `${refusal.type} by ${refusal.source} ${refusal.depth === 0 ? '(the message)' : '(in its justification)'}`);
  }
  return { ok: true, duty, message };
}
