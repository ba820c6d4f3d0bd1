import { secp256k1 } from '@noble/curves/secp256k1.js';

/**
 * secp256k1 signatures over a 32-byte digest in Charon's 65-byte `R ‖ S ‖ V` form
 * (app/k1util Sign / Recover): RFC 6979 deterministic nonce, low-S, V = recovery id 0 or 1.
 * The digest is signed as is (no further hashing). Pinned by
 * shared/vectors/obol-dv-specs/secp256k1_signatures.json.
 */

export const K1_SIGNATURE_BYTES = 65;

export function signK1(secretKey: Uint8Array, digest: Uint8Array): Uint8Array {
  // noble's 'recovered' format is V ‖ R ‖ S; Charon's is R ‖ S ‖ V.
  const recovered = secp256k1.sign(digest, secretKey, { prehash: false, format: 'recovered' });
  const out = new Uint8Array(K1_SIGNATURE_BYTES);
  out.set(recovered.subarray(1), 0);
  out[64] = recovered[0]!;
  return out;
}

/**
 * The compressed (33-byte) public key that produced `signature` over `digest`, or undefined
 * when the signature is not a well-formed, low-S, recoverable 65-byte signature.
 */
export function recoverK1(digest: Uint8Array, signature: Uint8Array): Uint8Array | undefined {
  if (signature.byteLength !== K1_SIGNATURE_BYTES || digest.byteLength !== 32) return undefined;
  const v = signature[64]!;
  if (v > 1) return undefined;
  const recovered = new Uint8Array(K1_SIGNATURE_BYTES);
  recovered[0] = v;
  recovered.set(signature.subarray(0, 64), 1);
  try {
    const sig = secp256k1.Signature.fromBytes(recovered, 'recovered');
    if (sig.hasHighS()) return undefined; // the malleated twin of a valid signature is refused
    return secp256k1.recoverPublicKey(recovered, digest, { prehash: false });
  } catch {
    return undefined;
  }
}

/** True when `signature` over `digest` recovers to `compressedPublicKey`. */
export function verifyK1(compressedPublicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  const recovered = recoverK1(digest, signature);
  return recovered !== undefined && recovered.byteLength === compressedPublicKey.byteLength && recovered.every((b, i) => b === compressedPublicKey[i]);
}

/**
 * A verifier for one signer's key, for hot paths (every inbound QBFT message): the key's
 * point is precomputed once, so a check costs about half a recovery here (~2.3 ms against
 * ~5 ms, pure JS). Accepts exactly what recover-and-compare accepts: r and s in
 * range, low S, V ∈ {0, 1}, and R = (z/s)·G + (r/s)·P with R.x = r (not r + n, which V 0/1
 * cannot name) and R.y's parity = V.
 */
export function k1Verifier(compressedPublicKey: Uint8Array): (digest: Uint8Array, signature: Uint8Array) => boolean {
  const { Point } = secp256k1;
  const Fn = Point.Fn;
  const key = Point.fromBytes(compressedPublicKey);
  // Window 4: ~14 ms once per key, then ~2.3 ms a check here (window 8: ~100 ms, ~1.4 ms;
  // none: ~5 ms) — cheap enough to build for every operator at start, n² in a one-process simnet.
  key.precompute(4, false);
  return (digest, signature) => {
    if (signature.byteLength !== K1_SIGNATURE_BYTES || digest.byteLength !== 32) return false;
    const v = signature[64]!;
    if (v > 1) return false;
    try {
      const sig = secp256k1.Signature.fromBytes(signature.subarray(0, 64), 'compact'); // 1 ≤ r, s < n
      if (sig.hasHighS()) return false;
      const z = Fn.create(bytesToBigInt(digest));
      const w = Fn.inv(sig.s);
      const u1 = Fn.mul(z, w); // zero when the digest is ≡ 0 mod n; multiply() refuses a zero scalar
      const u2 = Fn.mul(sig.r, w); // never zero: r, w ≠ 0
      const r = (Fn.is0(u1) ? Point.ZERO : Point.BASE.multiply(u1)).add(key.multiply(u2));
      if (r.is0()) return false;
      const { x, y } = r.toAffine();
      return x === sig.r && Number(y & 1n) === v;
    } catch {
      return false;
    }
  };
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
}
