import { createHash, createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';

/**
 * The signed envelope every peer message travels in. Authenticity does not rest on the
 * transport (DESIGN.md, peer-gateway): the sender's operator key signs the whole envelope,
 * and the cluster lock hash and genesis validators root inside it bind the message to one
 * cluster on one network (so an Ephemery reset, or a second cluster of the same operators,
 * cannot replay it).
 *
 * Canonical encoding, version 1 (big-endian integers, no optional fields, no trailing bytes):
 *
 *   u8  version (= 1)
 *   32  clusterHash
 *   32  genesisValidatorsRoot
 *   u16 senderIndex
 *   u16 protocol length ‖ protocol (UTF-8)
 *   u32 payload length  ‖ payload
 *   64  signature: compact secp256k1 (r ‖ s, low-S) over sha256(DOMAIN ‖ all bytes above)
 */

export const ENVELOPE_VERSION = 1;
export const ROOT_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** Default payload bound: far above a 10,000-validator partial-signature set, far below memory trouble. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
const MAX_PROTOCOL_BYTES = 256;
const MAX_SENDER_INDEX = 0xffff;
/** Domain separation: a signature over an envelope can never be mistaken for any other signed object. */
const DOMAIN = new TextEncoder().encode('cohort/p2p/envelope/v1');
const FIXED_BYTES = 1 + ROOT_BYTES + ROOT_BYTES + 2 + 2 + 4;

export type RejectReason =
  | 'unknown_peer'
  | 'bad_signature'
  | 'wrong_cluster'
  | 'wrong_network'
  | 'malformed'
  | 'too_large'
  | 'sender_mismatch'
  /** Not the envelope's fault: its stream ended or failed before the whole message arrived (the transport's reason). */
  | 'incomplete';

export const REJECT_REASONS = [
  'unknown_peer',
  'bad_signature',
  'wrong_cluster',
  'wrong_network',
  'malformed',
  'too_large',
  'sender_mismatch',
  'incomplete',
] as const satisfies readonly RejectReason[];

export interface Envelope {
  readonly clusterHash: Uint8Array;
  readonly genesisValidatorsRoot: Uint8Array;
  readonly protocol: string;
  readonly senderIndex: number;
  readonly payload: Uint8Array;
}

/** What the receiver knows independently of the bytes: its cluster, its network, who is on the other end. */
export interface OpenContext {
  readonly clusterHash: Uint8Array;
  readonly genesisValidatorsRoot: Uint8Array;
  /** The libp2p protocol the stream was negotiated for. */
  readonly protocol: string;
  /** Operator index of the noise-authenticated remote PeerId. */
  readonly remoteIndex: number;
  /** That operator's public key, as made once by signerKey(). */
  readonly remotePublicKey: SignerKey;
  readonly maxPayloadBytes: number;
}

export type Opened = { readonly ok: true; readonly envelope: Envelope } | { readonly ok: false; readonly reason: RejectReason };

/** Largest wire size an envelope with a payload of at most maxPayloadBytes can have. */
export function maxWireBytes(maxPayloadBytes: number): number {
  return FIXED_BYTES + MAX_PROTOCOL_BYTES + maxPayloadBytes + SIGNATURE_BYTES;
}

/** The canonical, unsigned encoding. Throws on values no correct caller produces. */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const protocol = new TextEncoder().encode(envelope.protocol);
  if (envelope.clusterHash.byteLength !== ROOT_BYTES || envelope.genesisValidatorsRoot.byteLength !== ROOT_BYTES) {
    throw new TypeError(`clusterHash and genesisValidatorsRoot must be ${ROOT_BYTES} bytes`);
  }
  if (protocol.byteLength === 0 || protocol.byteLength > MAX_PROTOCOL_BYTES) throw new TypeError('protocol length out of range');
  if (!Number.isInteger(envelope.senderIndex) || envelope.senderIndex < 0 || envelope.senderIndex > MAX_SENDER_INDEX) {
    throw new TypeError('senderIndex out of range');
  }
  const out = new Uint8Array(FIXED_BYTES + protocol.byteLength + envelope.payload.byteLength);
  const view = new DataView(out.buffer);
  let at = 0;
  out[at++] = ENVELOPE_VERSION;
  out.set(envelope.clusterHash, at);
  at += ROOT_BYTES;
  out.set(envelope.genesisValidatorsRoot, at);
  at += ROOT_BYTES;
  view.setUint16(at, envelope.senderIndex);
  at += 2;
  view.setUint16(at, protocol.byteLength);
  at += 2;
  out.set(protocol, at);
  at += protocol.byteLength;
  view.setUint32(at, envelope.payload.byteLength);
  at += 4;
  out.set(envelope.payload, at);
  return out;
}

/** sha256(DOMAIN ‖ canonical encoding): what the sender's key signs. */
export function envelopeDigest(encoded: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(DOMAIN).update(encoded).digest());
}

/** Encode and sign: the bytes that go on the wire. */
export function sealEnvelope(envelope: Envelope, secretKey: Uint8Array): Uint8Array {
  const encoded = encodeEnvelope(envelope);
  const signature = secp256k1.sign(envelopeDigest(encoded), secretKey, { prehash: false });
  const wire = new Uint8Array(encoded.byteLength + SIGNATURE_BYTES);
  wire.set(encoded, 0);
  wire.set(signature, encoded.byteLength);
  return wire;
}

/** Strict decode of wire bytes; undefined when they are not exactly one canonical envelope. */
export function decodeWire(wire: Uint8Array): { readonly envelope: Envelope; readonly encoded: Uint8Array; readonly signature: Uint8Array } | undefined {
  if (wire.byteLength < FIXED_BYTES + SIGNATURE_BYTES) return undefined;
  const view = new DataView(wire.buffer, wire.byteOffset, wire.byteLength);
  if (wire[0] !== ENVELOPE_VERSION) return undefined;
  let at = 1;
  const clusterHash = wire.slice(at, at + ROOT_BYTES);
  at += ROOT_BYTES;
  const genesisValidatorsRoot = wire.slice(at, at + ROOT_BYTES);
  at += ROOT_BYTES;
  const senderIndex = view.getUint16(at);
  at += 2;
  const protocolLength = view.getUint16(at);
  at += 2;
  if (protocolLength === 0 || protocolLength > MAX_PROTOCOL_BYTES || at + protocolLength + 4 > wire.byteLength) return undefined;
  let protocol: string;
  try {
    protocol = new TextDecoder('utf-8', { fatal: true }).decode(wire.subarray(at, at + protocolLength));
  } catch {
    return undefined;
  }
  at += protocolLength;
  const payloadLength = view.getUint32(at);
  at += 4;
  if (at + payloadLength + SIGNATURE_BYTES !== wire.byteLength) return undefined;
  const payload = wire.slice(at, at + payloadLength);
  at += payloadLength;
  return {
    envelope: { clusterHash, genesisValidatorsRoot, protocol, senderIndex, payload },
    encoded: wire.subarray(0, at),
    signature: wire.subarray(at),
  };
}

/**
 * Receiver-side checks, in an order where unauthenticated bytes can only ever produce
 * 'malformed', 'too_large', 'sender_mismatch' or 'bad_signature': the cluster and network
 * bindings are judged only on an envelope the claimed operator really signed.
 */
export function openEnvelope(wire: Uint8Array, ctx: OpenContext): Opened {
  if (wire.byteLength > maxWireBytes(ctx.maxPayloadBytes)) return { ok: false, reason: 'too_large' };
  const decoded = decodeWire(wire);
  if (decoded === undefined) return { ok: false, reason: 'malformed' };
  const { envelope, encoded, signature } = decoded;
  if (envelope.payload.byteLength > ctx.maxPayloadBytes) return { ok: false, reason: 'too_large' };
  if (envelope.protocol !== ctx.protocol) return { ok: false, reason: 'malformed' };
  if (envelope.senderIndex !== ctx.remoteIndex) return { ok: false, reason: 'sender_mismatch' };
  if (!verifySignature(signature, encoded, ctx.remotePublicKey)) return { ok: false, reason: 'bad_signature' };
  if (!bytesEqual(envelope.clusterHash, ctx.clusterHash)) return { ok: false, reason: 'wrong_cluster' };
  if (!bytesEqual(envelope.genesisValidatorsRoot, ctx.genesisValidatorsRoot)) return { ok: false, reason: 'wrong_network' };
  return { ok: true, envelope };
}

/** An operator's secp256k1 public key, prepared for verification (OpenSSL key object). */
export type SignerKey = KeyObject;

/** Prepare a compressed (33-byte) secp256k1 public key for openEnvelope; do it once per operator. */
export function signerKey(compressedPublicKey: Uint8Array): SignerKey {
  const uncompressed = secp256k1.Point.fromBytes(compressedPublicKey).toBytes(false);
  const coordinate = (from: number): string => Buffer.from(uncompressed.subarray(from, from + 32)).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'secp256k1', x: coordinate(1), y: coordinate(33) }, format: 'jwk' });
}

/** secp256k1 group order n (SEC 2, section 2.4.1). */
const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * Verification runs on every inbound message, so it uses OpenSSL (about 0.6 ms here, against
 * 2-4 ms for pure-JS noble); OpenSSL hashes DOMAIN ‖ encoded itself, the same sha256 the
 * sender signed. OpenSSL accepts high-S signatures, so low-S is checked here: the malleated
 * twin of a valid signature is refused, as noble's default would.
 */
function verifySignature(signature: Uint8Array, encoded: Uint8Array, key: SignerKey): boolean {
  if (signature.byteLength !== SIGNATURE_BYTES) return false;
  const s = BigInt(`0x${Buffer.from(signature.subarray(32)).toString('hex')}`);
  if (s > CURVE_ORDER >> 1n) return false;
  try {
    return createVerify('sha256').update(DOMAIN).update(encoded).verify({ key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
