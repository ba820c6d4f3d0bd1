import { describe, expect, it } from 'vitest';
import { fromHex, type Duty } from '#lib/contracts';
import { generateIdentityKey, secp256k1PublicKey, signOwnQbftMessages, verifyQbftSignatures, type SignableQbftMessage } from '#lib/p2p';
import { signOutboundQbft } from './qbft-outbound.js';

const keys = [0, 1, 2, 3].map(() => generateIdentityKey());
const publicKeys = keys.map((k) => fromHex(secp256k1PublicKey(k)));
const duty: Duty = { slot: 12, type: 'attester' };
const prepare = (source: number): SignableQbftMessage => ({ type: 'PREPARE', source, round: 1, valueHash: `0x${'11'.repeat(32)}`, preparedRound: 0, preparedValueHash: null });

describe('peer-gateway: signing consensus\'s outbound QBFT messages', () => {
  it('signs this operator\'s messages in the tree and keeps the relayed ones as they arrived', () => {
    const relayed = [0, 2].map((s) => signOwnQbftMessages(duty, prepare(s), s, keys[s]!));
    const roundChange: SignableQbftMessage = {
      type: 'ROUND-CHANGE',
      source: 1,
      round: 2,
      valueHash: null,
      preparedRound: 1,
      preparedValueHash: `0x${'11'.repeat(32)}`,
      justification: [relayed[0]!, prepare(1), relayed[1]!], // own PREPARE unsigned, as the decider keeps it
    };
    const out = signOutboundQbft({ duty, message: roundChange }, 1, keys[1]!);
    expect(out.message.justification?.[0]).toEqual(relayed[0]);
    expect(out.message.justification?.[2]).toEqual(relayed[1]);
    expect(verifyQbftSignatures(duty, out.message, publicKeys)).toBeNull();
    expect(verifyQbftSignatures(duty, roundChange, publicKeys)?.reason).toBe('missing_signature');
  });

  it('refuses a payload that is not {duty, message}', () => {
    expect(() => signOutboundQbft({ message: prepare(1) }, 1, keys[1]!)).toThrow(TypeError);
    expect(() => signOutboundQbft({ duty: { slot: 1, type: 'voluntary_exit' }, message: prepare(1) }, 1, keys[1]!)).toThrow(TypeError);
    expect(() => signOutboundQbft({ duty }, 1, keys[1]!)).toThrow(TypeError);
  });
});
