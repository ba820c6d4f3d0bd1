import type { AttestationDataJson, AttesterDuty, Hex, UnsignedDataSet } from '#lib/contracts';
import type { ChainSigningContext } from './fork-schedule.js';
import { attestationSigningRoot } from './signing-root.js';

/** What each validator of a decided attester duty signs. */
export interface AttesterSigningItem {
  readonly pubkey: Hex;
  readonly duty: AttesterDuty;
  readonly data: AttestationDataJson;
  readonly signingRoot: Hex;
}

/**
 * Signing roots of every validator in an attester duty. Validators of one committee sign the
 * same data, so the root is computed once per committee (at 10,000 validators that is a few
 * dozen hashes, not ten thousand). Duties whose committee is absent from the value are left out.
 */
export function attesterSigningItems(
  ctx: ChainSigningContext,
  duties: readonly AttesterDuty[],
  value: UnsignedDataSet,
): AttesterSigningItem[] {
  const roots = new Map<string, Hex>();
  const items: AttesterSigningItem[] = [];
  for (const duty of duties) {
    const key = String(duty.committeeIndex);
    const data = value.byCommittee[key];
    if (!data) continue;
    let signingRoot = roots.get(key);
    if (!signingRoot) {
      signingRoot = attestationSigningRoot(ctx, data);
      roots.set(key, signingRoot);
    }
    items.push({ pubkey: duty.pubkey, duty, data, signingRoot });
  }
  return items;
}
