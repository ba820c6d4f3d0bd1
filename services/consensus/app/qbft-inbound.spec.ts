import { describe, expect, it } from 'vitest';
import { fromHex, type Duty, type Hex, type PeerInbound } from '#lib/contracts';
import { generateIdentityKey, secp256k1PublicKey, signOwnQbftMessages } from '#lib/p2p';
import { valueHash } from '#lib/signing';
import { decide, evolve, initialState } from '../domain/qbft.decider.js';
import { MAX_QBFT_WIRE_BYTES } from '../domain/qbft.limits.js';
import type { QbftMessage } from '../domain/qbft.types.js';
import { checkInboundQbft, type InboundContext, type QbftWireMessage } from './qbft-inbound.js';

// Four operators; duty slot 40 → leaderSeed 41: leader(2) = (41 + 2) mod 4 = 3.
const keys = [0, 1, 2, 3].map(() => generateIdentityKey());
const ctx: InboundContext = { nodes: 4, publicKeys: keys.map((k) => fromHex(secp256k1PublicKey(k))) };
const duty: Duty = { slot: 40, type: 'attester' };
const VALUE = { proposal: 'of operator 3' };
const H: Hex = valueHash(VALUE);

/** What operator `author`'s peer-gateway does to its node's outbound messages. */
const signed = (m: QbftMessage, author: number): QbftMessage => signOwnQbftMessages(duty, m, author, keys[author]!);
const roundChange = (source: number): QbftMessage => ({ type: 'ROUND-CHANGE', source, round: 2, valueHash: null, preparedRound: 0, preparedValueHash: null, justification: [] });
const bareRoundChange = (source: number): QbftMessage => ({ type: 'ROUND-CHANGE', source, round: 2, valueHash: null, preparedRound: 0, preparedValueHash: null });
const inbound = (from: number, message: QbftMessage, sizeBytes?: number): PeerInbound<QbftWireMessage> => ({
  from,
  payload: { duty, message },
  ...(sizeBytes === undefined ? {} : { sizeBytes }),
});
const proposal = (justification: readonly QbftMessage[]): QbftMessage => ({
  type: 'PRE-PREPARE',
  source: 3,
  round: 2,
  valueHash: H,
  value: VALUE,
  preparedRound: 0,
  preparedValueHash: null,
  justification,
});

describe('inbound QBFT checks before the decider', () => {
  const honestQuorum = [0, 1, 2].map((s) => signed(bareRoundChange(s), s));

  it('accepts a round-2 proposal justified by three ROUND-CHANGEs each signed by its author, and the decider takes it', () => {
    const message = signed(proposal(honestQuorum), 3);
    const checked = checkInboundQbft(inbound(3, message), ctx);
    expect(checked).toEqual({ ok: true, duty, message });
    // The decider (operator 0, moved to round 2 by its timer) accepts the checked message and prepares it.
    const entered = [{ kind: 'Start', value: 'own', valueHash: valueHash('own') } as const, { kind: 'TimerExpired', round: 1 } as const].reduce(
      (s, command) => decide(command, s).reduce(evolve, s),
      initialState({ nodes: 4, self: 0, quorum: 3, leaderSeed: 41 }),
    );
    expect(entered.round).toBe(2);
    const events = decide({ kind: 'Receive', message, valueValid: true, computedValueHash: H }, entered);
    expect(events.some((e) => e.kind === 'MessageBroadcast' && e.message.type === 'PREPARE' && e.message.valueHash === H)).toBe(true);
  });

  it('rejects a forged justification: operator 3 relays a ROUND-CHANGE claiming operator 2 but signed with its own key', () => {
    const forged = signOwnQbftMessages(duty, bareRoundChange(2), 2, keys[3]!); // author field 2, relayer's key
    const message = signed(proposal([honestQuorum[0]!, honestQuorum[1]!, forged]), 3);
    const checked = checkInboundQbft(inbound(3, message), ctx);
    expect(checked).toEqual({ ok: false, reason: 'bad_signature', detail: 'ROUND-CHANGE by 2 (in its justification)' });
  });

  it('rejects an unsigned justification member and an unsigned message', () => {
    expect(checkInboundQbft(inbound(3, signed(proposal([...honestQuorum.slice(0, 2), bareRoundChange(2)]), 3)), ctx)).toMatchObject({ ok: false, reason: 'missing_signature' });
    expect(checkInboundQbft(inbound(3, proposal(honestQuorum)), ctx)).toMatchObject({ ok: false, reason: 'missing_signature' });
  });

  it('rejects a message whose author is not the authenticated sender, even if correctly signed by its author', () => {
    expect(checkInboundQbft(inbound(1, signed(roundChange(2), 2)), ctx)).toMatchObject({ ok: false, reason: 'sender_mismatch' });
  });

  it('applies the limits first, in Charon\'s order: wire size, then the justification count, before any signature work', () => {
    const over = Array.from({ length: 9 }, (_, i) => bareRoundChange(i % 4)); // 9 > 2n, and unsigned
    expect(checkInboundQbft(inbound(3, proposal(over), MAX_QBFT_WIRE_BYTES + 1), ctx)).toMatchObject({ ok: false, reason: 'msg_too_large' });
    expect(checkInboundQbft(inbound(3, proposal(over)), ctx)).toMatchObject({ ok: false, reason: 'too_many_justifications' });
    const atLimit = Array.from({ length: 8 }, (_, i) => signed(bareRoundChange(i % 4), i % 4));
    expect(checkInboundQbft(inbound(3, signed(proposal(atLimit), 3), MAX_QBFT_WIRE_BYTES), ctx)).toMatchObject({ ok: true });
  });

  it('counts values across the message and its justification: members may not carry one (Cohort sends them bare)', () => {
    // 1 justification allows 4 values; 2 are carried, so the count passes and the shape rule refuses the member's value.
    expect(checkInboundQbft(inbound(3, proposal([{ ...bareRoundChange(0), value: 'v' }])), ctx)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('rejects nested justifications and a bad duty as malformed', () => {
    const nested = { ...honestQuorum[0]!, justification: [honestQuorum[1]!] };
    expect(checkInboundQbft(inbound(3, signed(proposal([nested, ...honestQuorum.slice(1)]), 3)), ctx)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(checkInboundQbft({ from: 3, payload: { duty: { slot: -1, type: 'attester' }, message: signed(proposal(honestQuorum), 3) } }, ctx)).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });
});
