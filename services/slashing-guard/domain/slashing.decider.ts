import { assertNever, type Hex } from '#lib/contracts';

/**
 * Slashing protection for attestations, EIP-3076 complete strategy, checks in the EIP's
 * order (https://eips.ethereum.org/EIPS/eip-3076#conditions). The full strategy with
 * blocks, interchange import/export and watermarks is its own issue; this decider holds
 * the attestation rules the walking skeleton needs.
 *
 * Pure: no clock, no I/O. State is the fold of `AttestationsRecorded` facts.
 */
export interface AttestationRecord {
  readonly sourceEpoch: number;
  readonly targetEpoch: number;
  /** Absent when imported without one: then it matches no root (EIP-3076). */
  readonly signingRoot?: Hex;
}

export interface AttestationAttempt extends AttestationRecord {
  readonly pubkey: Hex;
  readonly signingRoot: Hex;
}

export type AttestationRefusalReason =
  | 'source_after_target'
  | 'double_vote'
  | 'surrounds_previous'
  | 'surrounded_by_previous'
  | 'source_below_lowest'
  | 'target_at_or_below_lowest';

export type AttestationVerdict =
  | { readonly pubkey: Hex; readonly ok: true; readonly repeat: boolean }
  | { readonly pubkey: Hex; readonly ok: false; readonly reason: AttestationRefusalReason };

export interface ValidatorHistory {
  readonly attestations: readonly AttestationRecord[];
}

export interface SlashingState {
  /** Per group pubkey (for one genesis validators root). */
  readonly validators: ReadonlyMap<Hex, ValidatorHistory>;
}

export const emptySlashingState: SlashingState = { validators: new Map() };

export type SlashingCommand =
  | { readonly kind: 'CheckAttestations'; readonly attempts: readonly AttestationAttempt[] }
  | { readonly kind: 'RecordAttestations'; readonly attempts: readonly AttestationAttempt[] };

export type SlashingEvent =
  | { readonly kind: 'AttestationsChecked'; readonly verdicts: readonly AttestationVerdict[] }
  | { readonly kind: 'AttestationsRecorded'; readonly records: readonly AttestationAttempt[] }
  | {
      readonly kind: 'AttestationsRefused';
      readonly refusals: readonly { readonly pubkey: Hex; readonly reason: AttestationRefusalReason }[];
    };

/** One attestation against one validator's history, in EIP-3076's order. */
export function checkAttestation(history: ValidatorHistory | undefined, attempt: AttestationAttempt): AttestationVerdict {
  const { pubkey } = attempt;
  if (attempt.sourceEpoch > attempt.targetEpoch) return { pubkey, ok: false, reason: 'source_after_target' };
  const records = history?.attestations ?? [];
  let repeat = false;
  for (const prior of records) {
    if (prior.targetEpoch === attempt.targetEpoch) {
      // Same target: an exact repeat is safe to sign again; anything else is a double vote.
      if (prior.signingRoot !== undefined && prior.signingRoot === attempt.signingRoot) {
        repeat = true;
        continue;
      }
      return { pubkey, ok: false, reason: 'double_vote' };
    }
    if (attempt.sourceEpoch < prior.sourceEpoch && attempt.targetEpoch > prior.targetEpoch) {
      return { pubkey, ok: false, reason: 'surrounds_previous' };
    }
    if (attempt.sourceEpoch > prior.sourceEpoch && attempt.targetEpoch < prior.targetEpoch) {
      return { pubkey, ok: false, reason: 'surrounded_by_previous' };
    }
  }
  if (repeat) return { pubkey, ok: true, repeat: true };
  if (records.length > 0) {
    const lowestSource = Math.min(...records.map((r) => r.sourceEpoch));
    const lowestTarget = Math.min(...records.map((r) => r.targetEpoch));
    if (attempt.sourceEpoch < lowestSource) return { pubkey, ok: false, reason: 'source_below_lowest' };
    if (attempt.targetEpoch <= lowestTarget) return { pubkey, ok: false, reason: 'target_at_or_below_lowest' };
  }
  return { pubkey, ok: true, repeat: false };
}

/**
 * Checks a whole duty set, including conflicts inside the set itself (two attempts for one
 * validator in one command are judged in order, as if the first had been recorded).
 */
function checkAll(state: SlashingState, attempts: readonly AttestationAttempt[]): AttestationVerdict[] {
  let working = state;
  return attempts.map((attempt) => {
    const verdict = checkAttestation(working.validators.get(attempt.pubkey), attempt);
    if (verdict.ok && !verdict.repeat) working = withRecords(working, [attempt]);
    return verdict;
  });
}

export function decide(command: SlashingCommand, state: SlashingState): readonly SlashingEvent[] {
  const verdicts = checkAll(state, command.attempts);
  switch (command.kind) {
    case 'CheckAttestations':
      return [{ kind: 'AttestationsChecked', verdicts }];
    case 'RecordAttestations': {
      const refusals = verdicts.flatMap((v) => (v.ok ? [] : [{ pubkey: v.pubkey, reason: v.reason }]));
      const records = command.attempts.filter((_, i) => {
        const v = verdicts[i];
        return v !== undefined && v.ok && !v.repeat;
      });
      const events: SlashingEvent[] = [];
      if (records.length > 0) events.push({ kind: 'AttestationsRecorded', records });
      if (refusals.length > 0) events.push({ kind: 'AttestationsRefused', refusals });
      return events;
    }
    default:
      return assertNever(command);
  }
}

export function evolve(state: SlashingState, event: SlashingEvent): SlashingState {
  switch (event.kind) {
    case 'AttestationsRecorded':
      return withRecords(state, event.records);
    case 'AttestationsChecked':
    case 'AttestationsRefused':
      return state;
    default:
      return assertNever(event);
  }
}

function withRecords(state: SlashingState, records: readonly AttestationAttempt[]): SlashingState {
  const validators = new Map(state.validators);
  for (const { pubkey, sourceEpoch, targetEpoch, signingRoot } of records) {
    const prior = validators.get(pubkey)?.attestations ?? [];
    validators.set(pubkey, { attestations: [...prior, { sourceEpoch, targetEpoch, signingRoot }] });
  }
  return { validators };
}
