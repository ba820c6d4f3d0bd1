import type { Hex } from '#lib/contracts';

/** The last attestation a key signed: all the minimal strategy keeps per key. */
export interface LastSignedAttestation {
  readonly sourceEpoch: number;
  readonly targetEpoch: number;
  readonly signingRoot: Hex;
}

export type ProtectionVerdict = { readonly safe: true } | { readonly safe: false; readonly reason: string };

/**
 * The low-watermark check stock VCs apply before signing (EIP-3076 "minimal" conditions):
 * the source may not go back, the target must move forward, and re-signing the same target is
 * allowed only for the very same signing root (a retry, not a double vote).
 */
export function checkAttestation(last: LastSignedAttestation | undefined, next: LastSignedAttestation): ProtectionVerdict {
  if (!last) return { safe: true };
  if (next.sourceEpoch < last.sourceEpoch) {
    return { safe: false, reason: `source epoch ${next.sourceEpoch} is before last signed source ${last.sourceEpoch}` };
  }
  if (next.targetEpoch < last.targetEpoch) {
    return { safe: false, reason: `target epoch ${next.targetEpoch} is before last signed target ${last.targetEpoch}` };
  }
  if (next.targetEpoch === last.targetEpoch && next.signingRoot !== last.signingRoot) {
    return { safe: false, reason: `double vote: target epoch ${next.targetEpoch} already signed with another root` };
  }
  return { safe: true };
}
