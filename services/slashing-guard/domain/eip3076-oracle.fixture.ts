import type { Hex } from '#lib/contracts';

/**
 * The property tests' oracle: EIP-3076's complete strategy written from its text
 * (https://eips.ethereum.org/EIPS/eip-3076#conditions) over plain lists, every rule a scan, in
 * the EIP's order. Test support only: it is what the indexed, bounded history must agree with.
 */
export type OracleAttestation = { pubkey: Hex; sourceEpoch: number; targetEpoch: number; signingRoot?: Hex };
export type OracleBlock = { pubkey: Hex; slot: number; signingRoot?: Hex };

/** `ok`, `repeat` or the refusal reason of an attestation against every record held (any validator's). */
export function oracleAttestationVerdict(records: readonly OracleAttestation[], a: OracleAttestation): string {
  const mine = records.filter((p) => p.pubkey === a.pubkey);
  if (a.sourceEpoch > a.targetEpoch) return 'source_after_target';
  const same = mine.filter((p) => p.targetEpoch === a.targetEpoch);
  if (same.some((p) => p.signingRoot !== a.signingRoot)) return 'double_vote';
  if (mine.some((p) => a.sourceEpoch < p.sourceEpoch && p.targetEpoch < a.targetEpoch)) return 'surrounds_previous';
  if (mine.some((p) => p.sourceEpoch < a.sourceEpoch && a.targetEpoch < p.targetEpoch)) return 'surrounded_by_previous';
  if (mine.length > 0 && mine.every((p) => a.sourceEpoch < p.sourceEpoch)) return 'source_below_lowest';
  if (same.length === 0 && mine.length > 0 && mine.every((p) => a.targetEpoch <= p.targetEpoch)) return 'target_at_or_below_lowest';
  return same.length > 0 ? 'repeat' : 'ok';
}

/** `ok`, `repeat` or the refusal reason of a block against every record held. */
export function oracleBlockVerdict(records: readonly OracleBlock[], b: OracleBlock): string {
  const mine = records.filter((p) => p.pubkey === b.pubkey);
  const same = mine.filter((p) => p.slot === b.slot);
  if (same.some((p) => p.signingRoot !== b.signingRoot)) return 'double_proposal';
  if (same.length === 0 && mine.length > 0 && mine.every((p) => b.slot <= p.slot)) return 'slot_at_or_below_lowest';
  return same.length > 0 ? 'repeat' : 'ok';
}

/** A decider verdict in the oracle's words. */
export const verdictText = (v: { ok: boolean; repeat?: boolean; reason?: string }): string => (v.ok ? (v.repeat ? 'repeat' : 'ok') : (v.reason as string));
