import { assertNever, type Hex, type SlashingRefusalReason } from '#lib/contracts';
import { ValidatorHistory, type AttestationRecord, type BlockRecord, type SurroundConflict } from './validator-history.js';

export { HISTORY_PRUNING, HISTORY_WINDOW_EPOCHS, ValidatorHistory, type AttestationRecord, type BlockRecord } from './validator-history.js';

/**
 * Slashing protection, EIP-3076 complete strategy: every signed (and imported) attestation
 * and block of a window of recent epochs is kept, and a new one is checked against all of
 * them and the window's watermark, in the EIP's order
 * (https://eips.ethereum.org/EIPS/eip-3076#conditions):
 *
 * attestations — source after target; double vote (same target, different or unknown
 * signing root); surround in both directions; source below the lowest source; target at or
 * below the lowest target unless an exact repeat.
 * blocks — same slot with a different or unknown signing root; slot at or below the lowest
 * slot unless an exact repeat.
 *
 * "Lowest" is over the whole kept history of the validator (imported and signed): with an import
 * it is the import's watermark, and without one the first signed value sets it. An entry
 * imported without a signing root matches no root, so it can never be re-signed.
 *
 * The history is bounded (validator-history.ts, HISTORY_WINDOW_EPOCHS): records older than the
 * window are one rootless watermark record, then the lowest record. Above the watermark every
 * verdict is the complete strategy's on the whole history (proved there); at or below it
 * everything is refused, as the minimal strategy would — an exact repeat that old included.
 *
 * Pure: no clock, no I/O. State is the fold of the Recorded/Imported facts.
 */
export interface AttestationAttempt extends AttestationRecord {
  readonly pubkey: Hex;
  readonly signingRoot: Hex;
}

export interface BlockAttempt extends BlockRecord {
  readonly pubkey: Hex;
  readonly signingRoot: Hex;
}

/** An attestation from an interchange file: the signing root may be missing. */
export interface ImportedAttestation extends AttestationRecord {
  readonly pubkey: Hex;
}
export interface ImportedBlock extends BlockRecord {
  readonly pubkey: Hex;
}

export type AttestationRefusalReason = Extract<
  SlashingRefusalReason,
  'source_after_target' | 'double_vote' | 'surrounds_previous' | 'surrounded_by_previous' | 'source_below_lowest' | 'target_at_or_below_lowest'
>;
export type BlockRefusalReason = Extract<SlashingRefusalReason, 'double_proposal' | 'slot_at_or_below_lowest'>;

export type AttestationVerdict =
  | { readonly pubkey: Hex; readonly ok: true; readonly repeat: boolean }
  | { readonly pubkey: Hex; readonly ok: false; readonly reason: AttestationRefusalReason };
export type BlockVerdict =
  | { readonly pubkey: Hex; readonly ok: true; readonly repeat: boolean }
  | { readonly pubkey: Hex; readonly ok: false; readonly reason: BlockRefusalReason };

export interface SlashingState {
  /** Per group pubkey (for one genesis validators root). */
  readonly validators: ReadonlyMap<Hex, ValidatorHistory>;
}

export const emptySlashingState: SlashingState = { validators: new Map() };

export type SlashingCommand =
  | { readonly kind: 'CheckAttestations'; readonly attempts: readonly AttestationAttempt[] }
  | { readonly kind: 'RecordAttestations'; readonly attempts: readonly AttestationAttempt[] }
  | { readonly kind: 'CheckBlocks'; readonly attempts: readonly BlockAttempt[] }
  | { readonly kind: 'RecordBlocks'; readonly attempts: readonly BlockAttempt[] }
  /** Merge an interchange file's records; entries already in the history (exactly) are skipped. */
  | { readonly kind: 'ImportHistory'; readonly attestations: readonly ImportedAttestation[]; readonly blocks: readonly ImportedBlock[] };

export type SlashingEvent =
  | { readonly kind: 'AttestationsChecked'; readonly verdicts: readonly AttestationVerdict[] }
  | { readonly kind: 'AttestationsRecorded'; readonly records: readonly AttestationAttempt[] }
  | {
      readonly kind: 'AttestationsRefused';
      readonly refusals: readonly { readonly pubkey: Hex; readonly reason: AttestationRefusalReason }[];
    }
  | { readonly kind: 'BlocksChecked'; readonly verdicts: readonly BlockVerdict[] }
  | { readonly kind: 'BlocksRecorded'; readonly records: readonly BlockAttempt[] }
  | { readonly kind: 'BlocksRefused'; readonly refusals: readonly { readonly pubkey: Hex; readonly reason: BlockRefusalReason }[] }
  | { readonly kind: 'HistoryImported'; readonly attestations: readonly ImportedAttestation[]; readonly blocks: readonly ImportedBlock[] };

/**
 * One attestation against one validator's history, in EIP-3076's order. `pending` are
 * attestations approved earlier in the same command (not yet in the history).
 */
export function checkAttestation(
  history: ValidatorHistory | undefined,
  attempt: AttestationAttempt,
  pending: readonly AttestationRecord[] = [],
): AttestationVerdict {
  const { pubkey, sourceEpoch, targetEpoch, signingRoot } = attempt;
  if (sourceEpoch > targetEpoch) return { pubkey, ok: false, reason: 'source_after_target' };
  const h = history ?? ValidatorHistory.empty;
  // Same target: an exact repeat is safe to sign again; a different or unknown root is a double vote.
  let repeat = false;
  for (const root of h.rootsAtTarget(targetEpoch)) {
    if (root === undefined || root !== signingRoot) return { pubkey, ok: false, reason: 'double_vote' };
    repeat = true;
  }
  for (const p of pending) {
    if (p.targetEpoch !== targetEpoch) continue;
    if (p.signingRoot !== signingRoot) return { pubkey, ok: false, reason: 'double_vote' };
    repeat = true;
  }
  const surrounds = pending.length === 0 ? h.surroundConflict(sourceEpoch, targetEpoch) : worstSurround(h.surroundConflict(sourceEpoch, targetEpoch), pendingSurround(pending, sourceEpoch, targetEpoch));
  if (surrounds !== undefined) return { pubkey, ok: false, reason: surrounds };
  // Infinity when the validator has no attestation yet: no watermark
  let lowestSource = h.minSource;
  let lowestTarget = h.minTarget;
  for (const p of pending) {
    lowestSource = Math.min(lowestSource, p.sourceEpoch);
    lowestTarget = Math.min(lowestTarget, p.targetEpoch);
  }
  if (lowestSource === Infinity) return { pubkey, ok: true, repeat };
  if (sourceEpoch < lowestSource) return { pubkey, ok: false, reason: 'source_below_lowest' };
  // At or below the watermark of a pruned history: refused as the minimal strategy would (the
  // watermark is the lowest row, so the rule above already says so; explicit, as it is the deviation).
  if ((!repeat && targetEpoch <= lowestTarget) || targetEpoch <= h.prunedTarget) return { pubkey, ok: false, reason: 'target_at_or_below_lowest' };
  return { pubkey, ok: true, repeat };
}

/** "surrounds" before "surrounded": one reason per attempt, whatever the order of the records. */
function worstSurround(a: SurroundConflict | undefined, b: SurroundConflict | undefined): SurroundConflict | undefined {
  if (a === 'surrounds_previous' || b === 'surrounds_previous') return 'surrounds_previous';
  return a ?? b;
}

function pendingSurround(pending: readonly AttestationRecord[], sourceEpoch: number, targetEpoch: number) {
  if (pending.some((p) => sourceEpoch < p.sourceEpoch && targetEpoch > p.targetEpoch)) return 'surrounds_previous' as const;
  if (pending.some((p) => sourceEpoch > p.sourceEpoch && targetEpoch < p.targetEpoch)) return 'surrounded_by_previous' as const;
  return undefined;
}

/** One block proposal against one validator's history, in EIP-3076's order. */
export function checkBlock(history: ValidatorHistory | undefined, attempt: BlockAttempt, pending: readonly BlockRecord[] = []): BlockVerdict {
  const { pubkey, slot, signingRoot } = attempt;
  const h = history ?? ValidatorHistory.empty;
  const sameSlot = [...h.rootsAtSlot(slot), ...pending.filter((p) => p.slot === slot).map((p) => p.signingRoot)];
  if (sameSlot.some((root) => root === undefined || root !== signingRoot)) return { pubkey, ok: false, reason: 'double_proposal' };
  const repeat = sameSlot.length > 0;
  const lowestSlot = Math.min(h.minSlot, ...pending.map((p) => p.slot));
  if (lowestSlot === Infinity) return { pubkey, ok: true, repeat };
  if ((!repeat && slot <= lowestSlot) || slot <= h.prunedSlot) return { pubkey, ok: false, reason: 'slot_at_or_below_lowest' };
  return { pubkey, ok: true, repeat };
}

/**
 * Checks a whole duty set, including conflicts inside the set itself: two attempts for one
 * validator in one command are judged in order, as if the earlier approved one were recorded.
 */
function checkAllAttestations(state: SlashingState, attempts: readonly AttestationAttempt[]): AttestationVerdict[] {
  const pending = new Map<Hex, AttestationRecord[]>();
  return attempts.map((attempt) => {
    const verdict = checkAttestation(state.validators.get(attempt.pubkey), attempt, pending.get(attempt.pubkey));
    if (verdict.ok && !verdict.repeat) pending.set(attempt.pubkey, [...(pending.get(attempt.pubkey) ?? []), attempt]);
    return verdict;
  });
}

function checkAllBlocks(state: SlashingState, attempts: readonly BlockAttempt[]): BlockVerdict[] {
  const pending = new Map<Hex, BlockRecord[]>();
  return attempts.map((attempt) => {
    const verdict = checkBlock(state.validators.get(attempt.pubkey), attempt, pending.get(attempt.pubkey));
    if (verdict.ok && !verdict.repeat) pending.set(attempt.pubkey, [...(pending.get(attempt.pubkey) ?? []), attempt]);
    return verdict;
  });
}

const isNew = <V extends { ok: boolean; repeat?: boolean }>(v: V | undefined): boolean => v !== undefined && v.ok && v.repeat === false;

export function decide(command: SlashingCommand, state: SlashingState): readonly SlashingEvent[] {
  switch (command.kind) {
    case 'CheckAttestations':
      return [{ kind: 'AttestationsChecked', verdicts: checkAllAttestations(state, command.attempts) }];
    case 'RecordAttestations': {
      const verdicts = checkAllAttestations(state, command.attempts);
      const records = command.attempts.filter((_, i) => isNew(verdicts[i]));
      const refusals = verdicts.flatMap((v) => (v.ok ? [] : [{ pubkey: v.pubkey, reason: v.reason }]));
      const events: SlashingEvent[] = [];
      if (records.length > 0) events.push({ kind: 'AttestationsRecorded', records });
      if (refusals.length > 0) events.push({ kind: 'AttestationsRefused', refusals });
      return events;
    }
    case 'CheckBlocks':
      return [{ kind: 'BlocksChecked', verdicts: checkAllBlocks(state, command.attempts) }];
    case 'RecordBlocks': {
      const verdicts = checkAllBlocks(state, command.attempts);
      const records = command.attempts.filter((_, i) => isNew(verdicts[i]));
      const refusals = verdicts.flatMap((v) => (v.ok ? [] : [{ pubkey: v.pubkey, reason: v.reason }]));
      const events: SlashingEvent[] = [];
      if (records.length > 0) events.push({ kind: 'BlocksRecorded', records });
      if (refusals.length > 0) events.push({ kind: 'BlocksRefused', refusals });
      return events;
    }
    case 'ImportHistory': {
      // An interchange file is a fact about what was signed elsewhere: it is merged whole,
      // slashable or not (the checks then refuse anything conflicting with it). Only exact
      // duplicates of what is already known are dropped, so importing a file twice is a no-op.
      const attestations = newImportedAttestations(state, command.attestations);
      const blocks = newImportedBlocks(state, command.blocks);
      return attestations.length + blocks.length === 0 ? [] : [{ kind: 'HistoryImported', attestations, blocks }];
    }
    default:
      return assertNever(command);
  }
}

function newImportedAttestations(state: SlashingState, records: readonly ImportedAttestation[]): ImportedAttestation[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = `${r.pubkey}/${r.sourceEpoch}/${r.targetEpoch}/${r.signingRoot ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return !(state.validators.get(r.pubkey)?.hasAttestation(r) ?? false);
  });
}

function newImportedBlocks(state: SlashingState, records: readonly ImportedBlock[]): ImportedBlock[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = `${r.pubkey}/${r.slot}/${r.signingRoot ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return !(state.validators.get(r.pubkey)?.hasBlock(r) ?? false);
  });
}

export function evolve(state: SlashingState, event: SlashingEvent): SlashingState {
  return evolveAll(state, [event]);
}

/** Folds many events with one copy of the validator map (a rebuild folds thousands). */
export function evolveAll(state: SlashingState, events: readonly SlashingEvent[]): SlashingState {
  let validators: Map<Hex, ValidatorHistory> | undefined;
  const history = (pubkey: Hex): ValidatorHistory => (validators ?? state.validators).get(pubkey) ?? ValidatorHistory.empty;
  const set = (pubkey: Hex, next: ValidatorHistory): void => {
    validators ??= new Map(state.validators);
    validators.set(pubkey, next);
  };
  for (const event of events) {
    switch (event.kind) {
      case 'AttestationsRecorded':
        for (const [pubkey, records] of byPubkey(event.records)) set(pubkey, history(pubkey).withAttestations(records.map(attestationRecord)));
        break;
      case 'BlocksRecorded':
        for (const [pubkey, records] of byPubkey(event.records)) set(pubkey, history(pubkey).withBlocks(records.map(blockRecord)));
        break;
      case 'HistoryImported':
        for (const [pubkey, records] of byPubkey(event.attestations)) set(pubkey, history(pubkey).withAttestations(records.map(attestationRecord)));
        for (const [pubkey, records] of byPubkey(event.blocks)) set(pubkey, history(pubkey).withBlocks(records.map(blockRecord)));
        break;
      case 'AttestationsChecked':
      case 'AttestationsRefused':
      case 'BlocksChecked':
      case 'BlocksRefused':
        break;
      default:
        assertNever(event);
    }
  }
  return validators === undefined ? state : { validators };
}

function byPubkey<R extends { readonly pubkey: Hex }>(records: readonly R[]): Map<Hex, R[]> {
  const out = new Map<Hex, R[]>();
  for (const r of records) {
    const list = out.get(r.pubkey);
    if (list) list.push(r);
    else out.set(r.pubkey, [r]);
  }
  return out;
}

const attestationRecord = (r: AttestationRecord): AttestationRecord =>
  r.signingRoot === undefined
    ? { sourceEpoch: r.sourceEpoch, targetEpoch: r.targetEpoch }
    : { sourceEpoch: r.sourceEpoch, targetEpoch: r.targetEpoch, signingRoot: r.signingRoot };
const blockRecord = (r: BlockRecord): BlockRecord => (r.signingRoot === undefined ? { slot: r.slot } : { slot: r.slot, signingRoot: r.signingRoot });
