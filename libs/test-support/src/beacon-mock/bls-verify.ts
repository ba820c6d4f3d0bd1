import { fastAggregateVerify, PublicKey, Signature } from '@chainsafe/blst';
import { fromHex, type Hex } from '#lib/contracts';

/** Deserialized validator pubkeys: the mock's validator set is fixed, so each is parsed once. */
const pubkeyCache = new Map<Hex, PublicKey>();

function publicKeyOf(pubkey: Hex): PublicKey {
  let key = pubkeyCache.get(pubkey);
  if (!key) {
    key = PublicKey.fromBytes(fromHex(pubkey));
    pubkeyCache.set(pubkey, key);
  }
  return key;
}

/**
 * Whether `signature` is the signature of `signingRoot` by `pubkeys` (one key: a plain signature;
 * several: their aggregate, FastAggregateVerify). False, not a throw, for bytes that are no G2
 * point: a refusal, not a bug.
 */
export function signedBy(signingRoot: Hex, pubkeys: readonly Hex[], signature: Uint8Array): boolean {
  if (pubkeys.length === 0) return false;
  try {
    return fastAggregateVerify(fromHex(signingRoot), pubkeys.map(publicKeyOf), Signature.fromBytes(signature, true));
  } catch {
    return false;
  }
}
