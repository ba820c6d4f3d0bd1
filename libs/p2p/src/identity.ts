import { publicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { fromHex, toHex, type Hex } from '#lib/contracts';

/**
 * An operator's node identity is its ENR key: a secp256k1 key, as in Charon. The same key
 * gives the libp2p PeerId (noise authenticates it) and signs every envelope.
 */

export const SECRET_KEY_BYTES = 32;
export const COMPRESSED_PUBLIC_KEY_BYTES = 33;

/** Compressed (33-byte) secp256k1 public key of an identity secret. */
export function secp256k1PublicKey(privateKey: Uint8Array): Hex {
  if (privateKey.byteLength !== SECRET_KEY_BYTES || !secp256k1.utils.isValidSecretKey(privateKey)) {
    throw new TypeError('not a secp256k1 secret key');
  }
  return toHex(secp256k1.getPublicKey(privateKey, true));
}

/** A fresh random secp256k1 identity secret (tests, or a new operator before its ENR exists). */
export function generateIdentityKey(): Uint8Array {
  return secp256k1.utils.randomSecretKey();
}

/** The libp2p PeerId string (identity multihash of the public key) an operator's node presents. */
export function peerIdOf(publicKey: Hex): string {
  const bytes = fromHex(publicKey);
  if (bytes.byteLength !== COMPRESSED_PUBLIC_KEY_BYTES) {
    throw new TypeError(`operator public key must be ${COMPRESSED_PUBLIC_KEY_BYTES} bytes compressed secp256k1`);
  }
  return peerIdFromPublicKey(publicKeyFromRaw(bytes)).toString();
}
