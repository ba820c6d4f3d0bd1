import { randomBytes } from 'node:crypto';
import * as blst from '@chainsafe/blst';
import { BlsError } from './errors.js';

/**
 * Plain BLS signatures, with @chainsafe/blst (native): the Ethereum ciphersuite
 * BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_ (consensus specs `phase0/beacon-chain.md#bls-signatures`),
 * 48-byte compressed G1 public keys and 96-byte compressed G2 signatures.
 *
 * Verification never throws on malformed bytes: an untrusted peer's garbage is a `false`,
 * not an exception.
 */

export const SECRET_KEY_LENGTH = 32;
export const PUBLIC_KEY_LENGTH = 48;
export const SIGNATURE_LENGTH = 96;

/** Compressed encoding of the point at infinity: compression and infinity flags set, rest zero. */
function isInfinityEncoding(bytes: Uint8Array): boolean {
  return bytes[0] === 0xc0 && bytes.subarray(1).every((b) => b === 0);
}

function secretKeyFrom(sk: Uint8Array): blst.SecretKey {
  if (sk.length !== SECRET_KEY_LENGTH) {
    throw new BlsError('invalid_secret_key', `secret key must be ${SECRET_KEY_LENGTH} bytes, got ${sk.length}`);
  }
  try {
    return blst.SecretKey.fromBytes(sk);
  } catch (cause) {
    // blst refuses zero and values not below the curve order (KeyGen never yields them).
    throw new BlsError('invalid_secret_key', 'secret key is zero or not below the curve order', { cause });
  }
}

/**
 * A public key for verification: compressed only, and KeyValidate'd (in G1, not infinity),
 * as the ciphersuite's KeyValidate requires. `undefined` when the bytes are not one.
 */
export function decodePublicKey(bytes: Uint8Array): blst.PublicKey | undefined {
  if (bytes.length !== PUBLIC_KEY_LENGTH) return undefined;
  try {
    return blst.PublicKey.fromBytes(bytes, true);
  } catch {
    return undefined;
  }
}

/** A signature for verification: compressed only, in G2 (infinity allowed, as the spec's signature_to_point). */
export function decodeSignature(bytes: Uint8Array): blst.Signature | undefined {
  if (bytes.length !== SIGNATURE_LENGTH) return undefined;
  try {
    return blst.Signature.fromBytes(bytes, true, false);
  } catch {
    return undefined;
  }
}

/** Whether `bytes` is a canonical compressed G1 point in the r-order subgroup (infinity included). */
export function isPublicKeyEncoding(bytes: Uint8Array): boolean {
  if (bytes.length !== PUBLIC_KEY_LENGTH) return false;
  return isInfinityEncoding(bytes) || decodePublicKey(bytes) !== undefined;
}

/** Whether `bytes` is a canonical compressed G2 point in the r-order subgroup (infinity included). */
export function isSignatureEncoding(bytes: Uint8Array): boolean {
  return decodeSignature(bytes) !== undefined;
}

/** A fresh secret key: blst KeyGen (IETF BLS draft §2.3) over 32 bytes of OS randomness. */
export function generateSecretKey(): Uint8Array {
  return blst.SecretKey.fromKeygen(randomBytes(32)).toBytes();
}

export function secretKeyToPublicKey(sk: Uint8Array): Uint8Array {
  return secretKeyFrom(sk).toPublicKey().toBytes(true);
}

export function sign(sk: Uint8Array, message: Uint8Array): Uint8Array {
  return secretKeyFrom(sk).sign(message).toBytes(true);
}

export function verify(pubkey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const pk = decodePublicKey(pubkey);
  const sig = decodeSignature(signature);
  if (!pk || !sig) return false;
  try {
    return blst.verify(message, pk, sig);
  } catch {
    return false;
  }
}

/** FastAggregateVerify: many signers, one message (needs proof of possession of each key). */
export function fastAggregateVerify(pubkeys: readonly Uint8Array[], message: Uint8Array, signature: Uint8Array): boolean {
  const pks = pubkeys.map(decodePublicKey);
  const sig = decodeSignature(signature);
  if (pks.length === 0 || !sig || !isEvery(pks)) return false;
  try {
    return blst.fastAggregateVerify(message, pks, sig);
  } catch {
    return false;
  }
}

/** AggregateVerify: signer i signed message i; one aggregate signature. */
export function aggregateVerify(
  pubkeys: readonly Uint8Array[],
  messages: readonly Uint8Array[],
  signature: Uint8Array,
): boolean {
  const pks = pubkeys.map(decodePublicKey);
  const sig = decodeSignature(signature);
  if (pks.length === 0 || pks.length !== messages.length || !sig || !isEvery(pks)) return false;
  try {
    return blst.aggregateVerify([...messages], pks, sig);
  } catch {
    return false;
  }
}

/** Plain (coefficient-free) aggregation: the sum of the signatures in G2. */
export function aggregateSignatures(signatures: readonly Uint8Array[]): Uint8Array {
  if (signatures.length === 0) throw new BlsError('empty_input', 'cannot aggregate zero signatures');
  const sigs = signatures.map((bytes, i) => {
    const sig = decodeSignature(bytes);
    if (!sig) throw new BlsError('invalid_signature', `signature ${i} is not a compressed G2 point in the subgroup`);
    return sig;
  });
  return blst.aggregateSignatures(sigs).toBytes(true);
}

/** Plain aggregation of public keys: the sum in G1. Each key must pass KeyValidate. */
export function aggregatePublicKeys(pubkeys: readonly Uint8Array[]): Uint8Array {
  if (pubkeys.length === 0) throw new BlsError('empty_input', 'cannot aggregate zero public keys');
  const pks = pubkeys.map((bytes, i) => {
    const pk = decodePublicKey(bytes);
    if (!pk) throw new BlsError('invalid_public_key', `public key ${i} is not a valid compressed G1 key`);
    return pk;
  });
  return blst.aggregatePublicKeys(pks).toBytes(true);
}

function isEvery<T>(values: readonly (T | undefined)[]): values is T[] {
  return values.every((v) => v !== undefined);
}
