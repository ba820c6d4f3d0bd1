import herumi from 'bls-eth-wasm';
import { BlsError } from './errors.js';
import {
  evaluatePolynomial,
  lagrangeCoefficientsAtZero,
  mod,
  randomNonZeroScalar,
  scalarFromBytes,
  scalarToBytes,
} from './scalar.js';
import { decodeSignature, secretKeyToPublicKey } from './signature.js';

/**
 * Threshold BLS as Charon's `tbls` does it: Shamir shares of the validator secret over the
 * BLS12-381 scalar field, share index i is the x-coordinate i (1..n), and the group signature
 * is the Lagrange interpolation at 0 of t partial signatures in G2.
 *
 * Scalars (split, recover) are bigint arithmetic. Interpolation in G2 needs scalar
 * multiplication, which @chainsafe/blst does not expose, so it runs on herumi's wasm
 * (`Signature.recover`: ~0.5 ms for 3-of-4 on decoded points, ~1.2–1.8 ms bytes to bytes;
 * bench/bls.ts). Herumi never verifies: it is four to five times slower than blst at that.
 */

/** bls-eth-wasm exports these at runtime; its type declarations omit them. */
const herumiEth = herumi as typeof herumi & {
  readonly ETH_MODE_DRAFT_07: number;
  setETHmode(mode: number): void;
};

let herumiReady: Promise<void> | undefined;
let initialised = false;

/**
 * Loads herumi's wasm in Ethereum mode. Await once before `combinePartialSignatures`;
 * repeated calls share the same initialisation.
 */
export function initBls(): Promise<void> {
  herumiReady ??= (async () => {
    await herumi.init(herumi.BLS12_381);
    // Hash-to-curve of the Ethereum ciphersuite (draft-07 = RFC 9380's suite), compressed
    // ZCash-style encodings: the bytes blst reads and writes.
    herumiEth.setETHmode(herumiEth.ETH_MODE_DRAFT_07);
    // Herumi's own subgroup check on deserialisation doubles its decode time (~0.6 → ~0.3 ms
    // per signature, measured in bench/bls.ts); combine subgroup-checks every partial with
    // blst first (~0.1 ms), so herumi only decompresses.
    herumi.verifySignatureOrder(false);
    initialised = true;
  })();
  return herumiReady;
}

function requireInitialised(): void {
  if (!initialised) throw new BlsError('not_initialised', 'await initBls() before threshold operations');
}

export interface ThresholdParams {
  /** Number of shares, n. */
  readonly total: number;
  /** Shares needed to sign, t. */
  readonly threshold: number;
}

export interface SecretSharing {
  /** shareIndex (1..n) → 32-byte big-endian secret share f(shareIndex). */
  readonly shares: ReadonlyMap<number, Uint8Array>;
  /** shareIndex → compressed G1 public share, as a cluster lock lists them. */
  readonly publicShares: ReadonlyMap<number, Uint8Array>;
  readonly groupPublicKey: Uint8Array;
}

/**
 * Trusted-dealer split: f(x) = secret + a_1·x + … + a_{t−1}·x^{t−1} with random a_j, share i
 * = f(i). The leading coefficient is non-zero, so no t−1 shares determine the secret.
 */
export function splitSecret(secret: Uint8Array, { total, threshold }: ThresholdParams): SecretSharing {
  if (!Number.isSafeInteger(total) || !Number.isSafeInteger(threshold) || threshold < 1 || threshold > total) {
    throw new BlsError('invalid_threshold', `need 1 <= threshold <= total, got threshold ${threshold} of ${total}`);
  }
  const constant = scalarFromBytes(secret);
  if (constant === 0n) throw new BlsError('invalid_secret_key', 'secret key is zero');
  const groupPublicKey = secretKeyToPublicKey(secret);
  for (;;) {
    const coefficients = [constant, ...Array.from({ length: threshold - 1 }, randomNonZeroScalar)];
    const indices = Array.from({ length: total }, (_, i) => i + 1);
    const values = indices.map((i) => evaluatePolynomial(coefficients, BigInt(i)));
    // A zero share is not a usable secret key; with probability ~n/r, draw another polynomial.
    if (values.some((v) => v === 0n)) continue;
    const shares = new Map(indices.map((shareIndex, k) => [shareIndex, scalarToBytes(values[k] ?? 0n)]));
    const publicShares = new Map([...shares].map(([shareIndex, share]) => [shareIndex, secretKeyToPublicKey(share)]));
    return { shares, publicShares, groupPublicKey };
  }
}

/** Lagrange interpolation at 0 of secret shares keyed by share index (needs t of them). */
export function recoverSecret(shares: ReadonlyMap<number, Uint8Array>): Uint8Array {
  const entries = checkedEntries(shares);
  const coefficients = lagrangeCoefficientsAtZero(entries.map(([shareIndex]) => BigInt(shareIndex)));
  const secret = entries.reduce(
    (acc, [, share], k) => mod(acc + (coefficients[k] ?? 0n) * scalarFromBytes(share)),
    0n,
  );
  return scalarToBytes(secret);
}

/**
 * The group signature from t partial signatures keyed by share index: Σ λ_i·σ_i with the
 * Lagrange coefficients at 0. Partials must have been verified against their public shares
 * first (batch verification); an unverified bad partial only yields a group signature that
 * fails verification.
 */
export function combinePartialSignatures(partials: ReadonlyMap<number, Uint8Array>): Uint8Array {
  requireInitialised();
  const entries = checkedEntries(partials);
  const signatures = entries.map(([shareIndex, bytes]) => {
    if (!decodeSignature(bytes)) {
      throw new BlsError('invalid_signature', `partial signature of share ${shareIndex} is not a compressed G2 point`);
    }
    const signature = new herumi.Signature();
    try {
      signature.deserialize(bytes);
    } catch (cause) {
      throw new BlsError('invalid_signature', `herumi cannot decode partial signature of share ${shareIndex}`, { cause });
    }
    return signature;
  });
  const ids = entries.map(([shareIndex]) => {
    const id = new herumi.Id();
    id.setInt(shareIndex); // x-coordinate = share index, as Charon's tbls
    return id;
  });
  const group = new herumi.Signature();
  group.recover(signatures, ids);
  return group.serialize();
}

/** herumi's Id.setInt takes an int32; share indices are small positive integers anyway. */
const MAX_SHARE_INDEX = 2 ** 31 - 1;

function checkedEntries(byShareIndex: ReadonlyMap<number, Uint8Array>): [number, Uint8Array][] {
  const entries = [...byShareIndex].sort(([a], [b]) => a - b);
  if (entries.length === 0) throw new BlsError('empty_input', 'need at least one share');
  for (const [shareIndex] of entries) {
    if (!Number.isInteger(shareIndex) || shareIndex < 1 || shareIndex > MAX_SHARE_INDEX) {
      throw new BlsError('invalid_share_index', `share index must be an integer in 1..${MAX_SHARE_INDEX}, got ${shareIndex}`);
    }
  }
  return entries;
}
