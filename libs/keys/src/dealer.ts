import { fromHex, toHex, type Hex } from '#lib/contracts';
import {
  BlsError,
  generateSecretKey,
  recoverSecret,
  secretKeyToPublicKey,
  splitSecret,
  type ThresholdParams,
} from '#lib/bls';
import { KeyMaterialError } from './errors.js';

/**
 * Trusted-dealer key material for `cohort create cluster` (DESIGN.md "Keys and clusters"):
 * one process sees each validator's secret, splits it into n Shamir shares (share index i =
 * x-coordinate i, 1..n, as Charon's tbls) and hands share i to operator i. A DKG ceremony
 * replaces this later; its output has the same shape (`DealtValidator` minus `groupSecret`).
 */

export interface DealtValidator {
  /**
   * The validator's full secret key. Only for signing deposit data in the dealer's process;
   * never written to an operator folder.
   */
  readonly groupSecret: Uint8Array;
  readonly groupPubkey: Hex;
  /** shareIndex (1..n) → 32-byte secret share, for operator shareIndex − 1's keystore. */
  readonly shares: ReadonlyMap<number, Uint8Array>;
  /** shareIndex → compressed G1 public share, as the cluster lock lists them. */
  readonly publicShares: ReadonlyMap<number, Hex>;
}

/** `count` fresh validator keys (blst KeyGen over OS randomness), each split t-of-n. */
export function dealValidators({ count, total, threshold }: { readonly count: number } & ThresholdParams): DealtValidator[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`validator count must be a positive integer, got ${count}`);
  return Array.from({ length: count }, () => deal(generateSecretKey(), { total, threshold }));
}

/**
 * Splits existing validator secrets (e.g. from the operator's EIP-2335 keystores,
 * `--split-existing-keys`) t-of-n. Refuses a malformed secret or the same key twice, naming
 * its position in `secrets`.
 */
export function splitExistingKeys(secrets: readonly Uint8Array[], params: ThresholdParams): DealtValidator[] {
  const seen = new Map<Hex, number>();
  return secrets.map((secret, i) => {
    let pubkey: Hex;
    try {
      pubkey = toHex(secretKeyToPublicKey(secret));
    } catch (cause) {
      throw new KeyMaterialError('invalid_secret_key', `secret ${i}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    const twin = seen.get(pubkey);
    if (twin !== undefined) throw new KeyMaterialError('duplicate_key', `secret ${i} is the same key as secret ${twin} (${pubkey})`);
    seen.set(pubkey, i);
    return deal(secret, params);
  });
}

function deal(secret: Uint8Array, params: ThresholdParams): DealtValidator {
  const sharing = splitSecret(secret, params);
  return {
    groupSecret: secret,
    groupPubkey: toHex(sharing.groupPublicKey),
    shares: sharing.shares,
    publicShares: new Map([...sharing.publicShares].map(([shareIndex, pk]) => [shareIndex, toHex(pk)])),
  };
}

/**
 * Operator `shareIndex − 1`'s secret shares, one per validator in `dealt` order: what goes
 * into that operator's `validator_keys/keystore-N.json`, N = validator position.
 */
export function sharesForOperator(dealt: readonly DealtValidator[], shareIndex: number): Uint8Array[] {
  return dealt.map((v, i) => {
    const share = v.shares.get(shareIndex);
    if (share === undefined) throw new RangeError(`validator ${i} (${v.groupPubkey}) has no share with index ${shareIndex}`);
    return share;
  });
}

export interface SecretShare {
  readonly shareIndex: number;
  readonly secret: Uint8Array;
}

/**
 * Lagrange-recovers the group secret from t shares and returns it only if its public key is
 * `groupPubkey`; otherwise (too few shares, shares of another validator, a wrong share index)
 * it refuses with `KeyMaterialError('group_pubkey_mismatch')`. When the public shares are
 * given (from the lock), each share is checked against its own first, so the error names the
 * share that is wrong.
 */
export function recoverGroupSecret(
  shares: readonly SecretShare[],
  groupPubkey: Hex,
  opts: { readonly publicShares?: ReadonlyMap<number, Hex> } = {},
): Uint8Array {
  if (shares.length === 0) throw new KeyMaterialError('invalid_share', 'no shares given');
  const byIndex = new Map<number, Uint8Array>();
  for (const { shareIndex, secret } of shares) {
    if (!Number.isSafeInteger(shareIndex) || shareIndex < 1) {
      throw new KeyMaterialError('invalid_share', `share index must be a positive integer, got ${shareIndex}`);
    }
    if (byIndex.has(shareIndex)) throw new KeyMaterialError('duplicate_share_index', `share index ${shareIndex} given twice`);
    let publicShare: Hex;
    try {
      publicShare = toHex(secretKeyToPublicKey(secret));
    } catch (cause) {
      throw new KeyMaterialError('invalid_share', `share ${shareIndex}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    const expected = opts.publicShares?.get(shareIndex);
    if (opts.publicShares !== undefined && expected?.toLowerCase() !== publicShare) {
      throw new KeyMaterialError(
        'public_share_mismatch',
        expected === undefined
          ? `share ${shareIndex}: the cluster has no public share with that index`
          : `share ${shareIndex}: its public key ${publicShare} is not the cluster's public share ${expected} for that index`,
      );
    }
    byIndex.set(shareIndex, secret);
  }
  let secret: Uint8Array;
  try {
    secret = recoverSecret(byIndex);
  } catch (cause) {
    if (cause instanceof BlsError) throw new KeyMaterialError('invalid_share', cause.message, { cause });
    throw cause;
  }
  const recovered = secretKeyOrUndefined(secret);
  const wanted = toHex(fromHex(groupPubkey)); // normalise case and prefix
  if (recovered !== wanted) {
    throw new KeyMaterialError(
      'group_pubkey_mismatch',
      `the ${byIndex.size} shares (indices ${[...byIndex.keys()].sort((a, b) => a - b).join(', ')}) recover a key ` +
        `${recovered ?? '(zero)'} that is not the group pubkey ${wanted}: fewer than threshold shares, ` +
        'shares of another validator, or share indices that do not belong to these shares',
    );
  }
  return secret;
}

function secretKeyOrUndefined(secret: Uint8Array): Hex | undefined {
  try {
    return toHex(secretKeyToPublicKey(secret));
  } catch {
    return undefined; // Lagrange at 0 can land on zero for inconsistent shares
  }
}
