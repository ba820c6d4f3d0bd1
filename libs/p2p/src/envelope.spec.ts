import { randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { fromHex, toHex } from '#lib/contracts';
import { decodeWire, encodeEnvelope, openEnvelope, sealEnvelope, signerKey, SIGNATURE_BYTES, type Envelope, type OpenContext } from './envelope.js';
import { generateIdentityKey, secp256k1PublicKey } from './identity.js';

const senderKey = generateIdentityKey();
const otherKey = generateIdentityKey();
const envelope: Envelope = {
  clusterHash: new Uint8Array(randomBytes(32)),
  genesisValidatorsRoot: new Uint8Array(randomBytes(32)),
  protocol: '/cohort/qbft/1.0.0',
  senderIndex: 2,
  payload: new Uint8Array(randomBytes(100)),
};
const ctx: OpenContext = {
  clusterHash: envelope.clusterHash,
  genesisValidatorsRoot: envelope.genesisValidatorsRoot,
  protocol: envelope.protocol,
  remoteIndex: 2,
  remotePublicKey: signerKey(fromHex(secp256k1PublicKey(senderKey))),
  maxPayloadBytes: 1024,
};

describe('envelope', () => {
  it('round-trips a sealed envelope through the receiver checks', () => {
    const opened = openEnvelope(sealEnvelope(envelope, senderKey), ctx);
    expect(opened).toEqual({ ok: true, envelope });
  });

  it('is canonical: one encoding per envelope, and trailing bytes are malformed', () => {
    const wire = sealEnvelope(envelope, senderKey);
    const decoded = decodeWire(wire);
    expect(decoded?.encoded).toEqual(encodeEnvelope(envelope));
    const padded = new Uint8Array(wire.byteLength + 1);
    padded.set(wire);
    expect(openEnvelope(padded, ctx)).toEqual({ ok: false, reason: 'malformed' });
    expect(openEnvelope(wire.subarray(0, wire.byteLength - 1), ctx)).toEqual({ ok: false, reason: 'malformed' });
    expect(openEnvelope(new Uint8Array(randomBytes(200)), ctx)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a signature by another key, or any flipped bit under the signature', () => {
    expect(openEnvelope(sealEnvelope(envelope, otherKey), ctx)).toEqual({ ok: false, reason: 'bad_signature' });
    const wire = sealEnvelope(envelope, senderKey);
    const signatureByte = wire.byteLength - SIGNATURE_BYTES + 5;
    const payloadByte = wire.byteLength - SIGNATURE_BYTES - 1;
    for (const at of [signatureByte, payloadByte]) {
      const tampered = wire.slice();
      tampered[at]! ^= 0x01;
      expect(openEnvelope(tampered, ctx)).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('refuses the high-S twin of a valid signature (no malleability)', () => {
    const wire = sealEnvelope(envelope, senderKey);
    const at = wire.byteLength - SIGNATURE_BYTES;
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(toHex(wire.subarray(at + 32)));
    const twin = wire.slice();
    twin.set(fromHex((n - s).toString(16).padStart(64, '0')), at + 32);
    expect(twin).not.toEqual(wire);
    expect(openEnvelope(twin, ctx)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('binds the sender index to the authenticated peer', () => {
    const wire = sealEnvelope({ ...envelope, senderIndex: 3 }, senderKey);
    expect(openEnvelope(wire, ctx)).toEqual({ ok: false, reason: 'sender_mismatch' });
  });

  it('binds the cluster and the network, judged only after the signature', () => {
    const otherRoot = new Uint8Array(randomBytes(32));
    expect(openEnvelope(sealEnvelope({ ...envelope, clusterHash: otherRoot }, senderKey), ctx)).toEqual({ ok: false, reason: 'wrong_cluster' });
    expect(openEnvelope(sealEnvelope({ ...envelope, genesisValidatorsRoot: otherRoot }, senderKey), ctx)).toEqual({ ok: false, reason: 'wrong_network' });
    // A forged cluster hash under a bad signature is a bad signature, not a cluster question.
    expect(openEnvelope(sealEnvelope({ ...envelope, clusterHash: otherRoot }, otherKey), ctx)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses payloads over the bound and envelopes for another protocol', () => {
    const big = sealEnvelope({ ...envelope, payload: new Uint8Array(1025) }, senderKey);
    expect(openEnvelope(big, ctx)).toEqual({ ok: false, reason: 'too_large' });
    expect(openEnvelope(sealEnvelope(envelope, senderKey), { ...ctx, protocol: '/cohort/parsig/1.0.0' })).toEqual({ ok: false, reason: 'malformed' });
  });
});
