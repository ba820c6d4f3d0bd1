import { randomBytes } from 'node:crypto';
import { BlsError } from './errors.js';

/**
 * Arithmetic in the BLS12-381 scalar field F_r, on bigint. Only secrets and Lagrange
 * coefficients live here (a handful of multiplications per call), so bigint's speed is
 * irrelevant next to one curve operation.
 */

/** Order r of the BLS12-381 G1/G2 subgroups (draft-irtf-cfrg-pairing-friendly-curves §4.2.1). */
export const CURVE_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

export const SCALAR_BYTES = 32;

export function mod(a: bigint): bigint {
  const reduced = a % CURVE_ORDER;
  return reduced < 0n ? reduced + CURVE_ORDER : reduced;
}

/** a^-1 mod r by the extended Euclidean algorithm; `a` must be non-zero mod r. */
export function invert(a: bigint): bigint {
  let [oldR, r] = [mod(a), CURVE_ORDER];
  let [oldS, s] = [1n, 0n];
  if (oldR === 0n) throw new RangeError('zero has no inverse mod r');
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS);
}

/** Big-endian bytes → scalar; the secret-key encoding of the consensus specs (and Charon). */
export function scalarFromBytes(bytes: Uint8Array): bigint {
  if (bytes.length !== SCALAR_BYTES) {
    throw new BlsError('invalid_secret_key', `secret key must be ${SCALAR_BYTES} bytes, got ${bytes.length}`);
  }
  const value = BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
  if (value >= CURVE_ORDER) throw new BlsError('invalid_secret_key', 'secret key is not below the curve order');
  return value;
}

export function scalarToBytes(value: bigint): Uint8Array {
  return new Uint8Array(Buffer.from(mod(value).toString(16).padStart(SCALAR_BYTES * 2, '0'), 'hex'));
}

/**
 * A uniformly random scalar in [1, r). 48 random bytes reduced mod r leave a bias below
 * 2^-128, the same margin hash_to_field and EIP-2333 take.
 */
export function randomNonZeroScalar(): bigint {
  for (;;) {
    const value = mod(BigInt(`0x${randomBytes(48).toString('hex')}`));
    if (value !== 0n) return value;
  }
}

/** f(x) for f given by its coefficients, constant term first (Horner). */
export function evaluatePolynomial(coefficients: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let i = coefficients.length - 1; i >= 0; i--) acc = mod(acc * x + (coefficients[i] ?? 0n));
  return acc;
}

/**
 * Lagrange basis polynomials evaluated at 0 for the x-coordinates `xs`:
 * λ_i = Π_{j≠i} x_j / (x_j − x_i). The x-coordinates are share indices, so they are
 * distinct and non-zero, which keeps every denominator invertible.
 */
export function lagrangeCoefficientsAtZero(xs: readonly bigint[]): bigint[] {
  return xs.map((xi, i) => {
    let numerator = 1n;
    let denominator = 1n;
    xs.forEach((xj, j) => {
      if (j === i) return;
      numerator = mod(numerator * xj);
      denominator = mod(denominator * (xj - xi));
    });
    return mod(numerator * invert(denominator));
  });
}
