import { assertNever, type FailureReason, type Hex, type RejectionReason } from '#lib/contracts';

/**
 * Collects share signatures for one duty until `threshold` distinct valid shares exist per
 * validator, then hands exactly that set to be combined. Signature verification is done by
 * the app (batched blst) and arrives here as a verdict; the decider owns the bookkeeping:
 * which share indices count, duplicates, conflicts, threshold, and the failure reason when
 * the deadline passes first.
 */
export interface AggregationDefinition {
  readonly threshold: number;
  readonly totalShares: number;
  /** This node's share index: tells "my VC never signed" apart from "peers were missing". */
  readonly selfShareIndex: number;
}

export interface ShareSignature {
  readonly signingRoot: Hex;
  readonly signature: Hex;
}

export interface ValidatorAggregation {
  /** Set once consensus decided and the slashing guard approved; absent = nothing to sign yet. */
  readonly signingRoot?: Hex;
  /**
   * No root is decided beforehand (DUTY_FLOW `signed`, e.g. a sync committee message): any
   * root counts once `threshold` valid shares agree on it.
   */
  readonly agreement?: boolean;
  readonly shares: ReadonlyMap<number, ShareSignature>;
  readonly done: boolean;
  /** The slashing guard refused the decided value for this validator: nothing will be signed. */
  readonly refused?: boolean;
}

export interface AggregationState {
  readonly scheduled: boolean;
  readonly expired: boolean;
  readonly validators: ReadonlyMap<Hex, ValidatorAggregation>;
}

export const initialAggregationState: AggregationState = { scheduled: false, expired: false, validators: new Map() };

export interface IncomingPartial {
  readonly pubkey: Hex;
  readonly signingRoot: Hex;
  readonly signature: Hex;
  /** The app's verdict: verified under the sender's public share for this validator. */
  readonly valid: boolean;
}

export type AggregationCommand =
  | { readonly kind: 'ScheduleValidators'; readonly pubkeys: readonly Hex[] }
  | { readonly kind: 'ExpectSignatures'; readonly roots: readonly { readonly pubkey: Hex; readonly signingRoot: Hex }[] }
  | { readonly kind: 'ExpectAgreement'; readonly pubkeys: readonly Hex[] }
  | { readonly kind: 'RecordPartials'; readonly shareIndex: number; readonly partials: readonly IncomingPartial[] }
  | { readonly kind: 'RecordRefusals'; readonly pubkeys: readonly Hex[] }
  | { readonly kind: 'ExpireDuty' };

export type AggregationEvent =
  | { readonly kind: 'ValidatorsScheduled'; readonly pubkeys: readonly Hex[] }
  | { readonly kind: 'ValidatorsRefused'; readonly pubkeys: readonly Hex[] }
  | { readonly kind: 'SignaturesExpected'; readonly roots: readonly { readonly pubkey: Hex; readonly signingRoot: Hex }[] }
  | { readonly kind: 'AgreementExpected'; readonly pubkeys: readonly Hex[] }
  | { readonly kind: 'PartialsRecorded'; readonly shareIndex: number; readonly partials: readonly { readonly pubkey: Hex; readonly signingRoot: Hex; readonly signature: Hex }[] }
  | {
      readonly kind: 'PartialsRejected';
      readonly shareIndex: number;
      readonly rejections: readonly { readonly pubkey: Hex; readonly reason: RejectionReason }[];
    }
  | {
      readonly kind: 'ThresholdReached';
      readonly sets: readonly { readonly pubkey: Hex; readonly signingRoot: Hex; readonly shares: readonly { readonly shareIndex: number; readonly signature: Hex }[] }[];
    }
  | { readonly kind: 'DutyExpired'; readonly failures: readonly { readonly pubkey: Hex; readonly reason: FailureReason }[] };

export function decide(
  command: AggregationCommand,
  state: AggregationState,
  def: AggregationDefinition,
): readonly AggregationEvent[] {
  switch (command.kind) {
    case 'ScheduleValidators': {
      const fresh = command.pubkeys.filter((pk) => !state.validators.has(pk));
      return fresh.length > 0 ? [{ kind: 'ValidatorsScheduled', pubkeys: fresh }] : [];
    }
    case 'ExpectSignatures': {
      if (state.expired) return [];
      const roots = command.roots.filter((r) => state.validators.get(r.pubkey)?.signingRoot === undefined);
      if (roots.length === 0) return [];
      const events: AggregationEvent[] = [{ kind: 'SignaturesExpected', roots }];
      return [...events, ...thresholdsReached(events.reduce(evolve, state), def)];
    }
    case 'ExpectAgreement': {
      if (state.expired) return [];
      const pubkeys = command.pubkeys.filter((pk) => {
        const v = state.validators.get(pk);
        return v !== undefined && v.signingRoot === undefined && !v.agreement;
      });
      if (pubkeys.length === 0) return [];
      const events: AggregationEvent[] = [{ kind: 'AgreementExpected', pubkeys }];
      return [...events, ...thresholdsReached(events.reduce(evolve, state), def)];
    }
    case 'RecordPartials':
      return recordPartials(command.shareIndex, command.partials, state, def);
    case 'RecordRefusals': {
      const pubkeys = command.pubkeys.filter((pk) => {
        const v = state.validators.get(pk);
        return v !== undefined && !v.refused && !v.done;
      });
      return pubkeys.length > 0 ? [{ kind: 'ValidatorsRefused', pubkeys }] : [];
    }
    case 'ExpireDuty':
      return state.expired ? [] : [{ kind: 'DutyExpired', failures: failuresAtDeadline(state, def) }];
    default:
      return assertNever(command);
  }
}

function recordPartials(
  shareIndex: number,
  partials: readonly IncomingPartial[],
  state: AggregationState,
  def: AggregationDefinition,
): AggregationEvent[] {
  const rejections: { pubkey: Hex; reason: RejectionReason }[] = [];
  const accepted: { pubkey: Hex; signingRoot: Hex; signature: Hex }[] = [];
  const seen = new Set<Hex>();
  for (const p of partials) {
    const validator = state.validators.get(p.pubkey);
    const reason = ((): RejectionReason | undefined => {
      if (state.expired) return 'deadline_expired';
      if (shareIndex < 1 || shareIndex > def.totalShares) return 'share_idx_mismatch';
      if (!validator) return 'unknown_validator';
      if (validator.signingRoot === undefined && !validator.agreement) return 'unknown_duty';
      if (validator.signingRoot !== undefined && p.signingRoot !== validator.signingRoot) return 'data_mismatch';
      if (!p.valid) return 'invalid_signature';
      if (validator.shares.has(shareIndex) || seen.has(p.pubkey)) return 'duplicate';
      return undefined;
    })();
    if (reason) rejections.push({ pubkey: p.pubkey, reason });
    else {
      seen.add(p.pubkey);
      accepted.push({ pubkey: p.pubkey, signingRoot: p.signingRoot, signature: p.signature });
    }
  }
  const events: AggregationEvent[] = [];
  if (accepted.length > 0) events.push({ kind: 'PartialsRecorded', shareIndex, partials: accepted });
  if (rejections.length > 0) events.push({ kind: 'PartialsRejected', shareIndex, rejections });
  return [...events, ...thresholdsReached(events.reduce(evolve, state), def)];
}

/** Validators that have just reached threshold (and were not yet handed over). */
function thresholdsReached(state: AggregationState, def: AggregationDefinition): AggregationEvent[] {
  const sets = [...state.validators.entries()].flatMap(([pubkey, v]) => {
    const signingRoot = v.signingRoot ?? (v.agreement ? agreedRoot(v, def.threshold) : undefined);
    if (v.done || signingRoot === undefined) return [];
    const shares = [...v.shares.entries()]
      .filter(([, s]) => s.signingRoot === signingRoot)
      .sort(([a], [b]) => a - b)
      .slice(0, def.threshold)
      .map(([shareIndex, s]) => ({ shareIndex, signature: s.signature }));
    return shares.length < def.threshold ? [] : [{ pubkey, signingRoot, shares }];
  });
  return sets.length > 0 ? [{ kind: 'ThresholdReached', sets }] : [];
}

/** The root that `threshold` shares agree on, if any (the lowest, should two ever both reach it). */
function agreedRoot(v: ValidatorAggregation, threshold: number): Hex | undefined {
  const counts = new Map<Hex, number>();
  for (const share of v.shares.values()) counts.set(share.signingRoot, (counts.get(share.signingRoot) ?? 0) + 1);
  return [...counts.entries()].filter(([, n]) => n >= threshold).map(([root]) => root).sort()[0];
}

function failuresAtDeadline(state: AggregationState, def: AggregationDefinition) {
  return [...state.validators.entries()].flatMap(([pubkey, v]) => {
    if (v.done) return [];
    const reason: FailureReason = v.refused
      ? 'slashing_refused'
      : v.agreement && new Set([...v.shares.values()].map((s) => s.signingRoot)).size > 1
        ? 'partial_signatures_disagree'
      : v.signingRoot === undefined && !v.agreement
        ? 'no_consensus'
        : !v.shares.has(def.selfShareIndex)
          ? 'no_local_signature'
          : 'insufficient_partial_signatures';
    return [{ pubkey, reason }];
  });
}

export function evolve(state: AggregationState, event: AggregationEvent): AggregationState {
  const validators = new Map(state.validators);
  const update = (pubkey: Hex, f: (v: ValidatorAggregation) => ValidatorAggregation) => {
    const v = validators.get(pubkey);
    if (v) validators.set(pubkey, f(v));
  };
  switch (event.kind) {
    case 'ValidatorsScheduled':
      for (const pk of event.pubkeys) validators.set(pk, { shares: new Map(), done: false });
      return { ...state, scheduled: true, validators };
    case 'SignaturesExpected':
      for (const { pubkey, signingRoot } of event.roots) update(pubkey, (v) => ({ ...v, signingRoot }));
      return { ...state, validators };
    case 'AgreementExpected':
      for (const pubkey of event.pubkeys) update(pubkey, (v) => ({ ...v, agreement: true }));
      return { ...state, validators };
    case 'ValidatorsRefused':
      for (const pubkey of event.pubkeys) update(pubkey, (v) => ({ ...v, refused: true }));
      return { ...state, validators };
    case 'PartialsRecorded':
      for (const p of event.partials) {
        update(p.pubkey, (v) => ({
          ...v,
          shares: new Map(v.shares).set(event.shareIndex, { signingRoot: p.signingRoot, signature: p.signature }),
        }));
      }
      return { ...state, validators };
    case 'PartialsRejected':
      return state;
    case 'ThresholdReached':
      for (const set of event.sets) update(set.pubkey, (v) => ({ ...v, done: true }));
      return { ...state, validators };
    case 'DutyExpired':
      return { ...state, expired: true };
    default:
      return assertNever(event);
  }
}
