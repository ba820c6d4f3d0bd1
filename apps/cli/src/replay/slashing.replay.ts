import { attesterDutiesOf, type Hex, type UnsignedDataSet, type ValidatorDuty } from '#lib/contracts';
import { attestationDataRoot } from '#lib/signing';
import { decideSlashing, emptySlashingState, evolveSlashing, type AttestationAttempt, type SlashingState } from '#service/slashing-guard';
import { approvedFact, refusedFact, type Fact } from './facts.js';

/** The slashing guard's state during a replay: its history, and the duties of recent slots. */
export interface SlashingReplay {
  state: SlashingState | undefined;
  readonly dutiesBySlot: Map<number, readonly ValidatorDuty[]>;
}

/**
 * The attempts the guard builds from a decided value, as `SlashingGuardConsumer.recordDecided`
 * does, with the attestation data root standing in for the signing root (the signing domain is
 * not in the log; within one network it is fixed per target epoch, so root equality — all
 * EIP-3076 compares — is the same).
 */
export function slashingAttempts(duties: readonly ValidatorDuty[], value: UnsignedDataSet): AttestationAttempt[] {
  // Block proposals are not replayed yet: their history is separate from attestations', so leaving them out changes no attestation verdict.
  if (value.type !== 'attester') return [];
  const roots = new Map<string, Hex>();
  return attesterDutiesOf(duties).flatMap((duty) => {
    const key = String(duty.committeeIndex);
    const data = value.byCommittee[key];
    if (!data) return [];
    let root = roots.get(key);
    if (root === undefined) {
      root = attestationDataRoot(data);
      roots.set(key, root);
    }
    return [{ pubkey: duty.pubkey, sourceEpoch: Number(data.source.epoch), targetEpoch: Number(data.target.epoch), signingRoot: root }];
  });
}

/** `RecordAttestations` through the guard's decider; returns the facts the guard would have recorded. */
export function replaySlashing(slashing: SlashingReplay, attempts: readonly AttestationAttempt[], valueHash: Hex): Fact[] {
  const events = decideSlashing({ kind: 'RecordAttestations', attempts }, slashing.state ?? emptySlashingState);
  slashing.state = evolveSlashing(slashing.state ?? emptySlashingState, events);
  const refusals = events.flatMap((e) => (e.kind === 'AttestationsRefused' ? e.refusals : []));
  const refused = new Set<Hex>(refusals.map((r) => r.pubkey));
  return [
    ...refusals.map((r) => refusedFact(r.pubkey, r.reason, valueHash)),
    ...attempts.filter((a) => !refused.has(a.pubkey)).map((a) => approvedFact(a.pubkey, valueHash)),
  ];
}
