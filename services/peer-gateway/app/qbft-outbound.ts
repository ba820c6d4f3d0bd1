import { isDutyType, type Duty } from '#lib/contracts';
import { signOwnQbftMessages, type SignableQbftMessage } from '#lib/p2p';

/** The `qbft` payload as consensus publishes it: its own messages unsigned. */
export interface OutboundQbft {
  readonly duty: Duty;
  readonly message: SignableQbftMessage;
}

/**
 * Signs every message of a `{duty, message}` payload this operator authored — the message
 * and, recursively, its justification — with the operator's identity key (Charon's per-message
 * k1 signature over the QBFT signing root). Others' messages, relayed inside a justification,
 * keep the signatures they arrived with. Throws a TypeError on a payload that is not one.
 */
export function signOutboundQbft(payload: unknown, selfIndex: number, secretKey: Uint8Array): OutboundQbft {
  const { duty, message } = (payload ?? {}) as Partial<OutboundQbft>;
  if (typeof duty !== 'object' || duty === null || !Number.isSafeInteger(duty.slot) || duty.slot < 0 || !isDutyType(duty.type)) {
    throw new TypeError('qbft payload: no valid duty');
  }
  if (typeof message !== 'object' || message === null) throw new TypeError('qbft payload: no message');
  return { duty, message: signOwnQbftMessages(duty, message, selfIndex, secretKey) };
}
