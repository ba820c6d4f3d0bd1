import { assertNever, type DutyType, type FailureReason, type Hex, type RejectionReason } from '#lib/contracts';

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

export interface ValidatorAggregation {
  /**
   * The roots this validator signs in the duty, set once consensus decided and the slashing
   * guard approved (or fixed by a `signed` duty); absent = nothing to sign yet. Usually one; a
   * sync committee member signs one selection proof or contribution per subcommittee it sits in.
   */
  readonly signingRoots?: ReadonlySet<Hex>;
  /**
   * No root is decided beforehand (DUTY_FLOW `signed`, e.g. a sync committee message): any
   * root counts once `threshold` valid shares agree on it.
   */
  readonly agreement?: boolean;
  /** Valid shares: by share index, then by the root each signed. */
  readonly shares: ReadonlyMap<number, ReadonlyMap<Hex, Hex>>;
  /** Roots already combined (handed over in ThresholdReached). */
  readonly done: ReadonlySet<Hex>;
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
      const fresh = new Set<string>();
      const roots = command.roots.filter((r) => {
        const v = state.validators.get(r.pubkey);
        const key = `${r.pubkey}/${r.signingRoot}`;
        if (!v || v.signingRoots?.has(r.signingRoot) || fresh.has(key)) return false;
        fresh.add(key);
        return true;
      });
      if (roots.length === 0) return [];
      const events: AggregationEvent[] = [{ kind: 'SignaturesExpected', roots }];
      return [...events, ...thresholdsReached(events.reduce(evolve, state), def)];
    }
    case 'ExpectAgreement': {
      if (state.expired) return [];
      const pubkeys = command.pubkeys.filter((pk) => {
        const v = state.validators.get(pk);
        return v !== undefined && v.signingRoots === undefined && !v.agreement;
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
        return v !== undefined && !v.refused && !complete(v);
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
  const seen = new Set<string>();
  for (const p of partials) {
    const validator = state.validators.get(p.pubkey);
    // One share per index and root; under agreement, one per index whatever the root.
    const slot = validator?.agreement ? p.pubkey : `${p.pubkey}/${p.signingRoot}`;
    const reason = ((): RejectionReason | undefined => {
      if (state.expired) return 'deadline_expired';
      if (shareIndex < 1 || shareIndex > def.totalShares) return 'share_idx_mismatch';
      if (!validator) return 'unknown_validator';
      if (validator.signingRoots === undefined && !validator.agreement) return 'unknown_duty';
      if (validator.signingRoots !== undefined && !validator.signingRoots.has(p.signingRoot)) return 'data_mismatch';
      if (!p.valid) return 'invalid_signature';
      const own = validator.shares.get(shareIndex);
      if ((validator.agreement ? own !== undefined : own?.has(p.signingRoot)) || seen.has(slot)) return 'duplicate';
      return undefined;
    })();
    if (reason) rejections.push({ pubkey: p.pubkey, reason });
    else {
      seen.add(slot);
      accepted.push({ pubkey: p.pubkey, signingRoot: p.signingRoot, signature: p.signature });
    }
  }
  const events: AggregationEvent[] = [];
  if (accepted.length > 0) events.push({ kind: 'PartialsRecorded', shareIndex, partials: accepted });
  if (rejections.length > 0) events.push({ kind: 'PartialsRejected', shareIndex, rejections });
  return [...events, ...thresholdsReached(events.reduce(evolve, state), def)];
}

/** Every root the validator signs is combined (under agreement: the one root it agreed on). */
function complete(v: ValidatorAggregation): boolean {
  if (v.agreement) return v.done.size > 0;
  return v.signingRoots !== undefined && [...v.signingRoots].every((root) => v.done.has(root));
}

/** (validator, root) pairs that have just reached threshold (and were not yet handed over). */
function thresholdsReached(state: AggregationState, def: AggregationDefinition): AggregationEvent[] {
  const sets = [...state.validators.entries()].flatMap(([pubkey, v]) => {
    if (complete(v)) return [];
    const agreed = v.agreement ? agreedRoot(v, def.threshold) : undefined;
    const candidates = v.agreement ? (agreed === undefined ? [] : [agreed]) : [...(v.signingRoots ?? [])].filter((root) => !v.done.has(root));
    return candidates.flatMap((signingRoot) => {
      const shares = [...v.shares.entries()]
        .flatMap(([shareIndex, byRoot]) => {
          const signature = byRoot.get(signingRoot);
          return signature === undefined ? [] : [{ shareIndex, signature }];
        })
        .sort((a, b) => a.shareIndex - b.shareIndex)
        .slice(0, def.threshold);
      return shares.length < def.threshold ? [] : [{ pubkey, signingRoot, shares }];
    });
  });
  return sets.length > 0 ? [{ kind: 'ThresholdReached', sets }] : [];
}

/** The root that `threshold` shares agree on, if any (the lowest, should two ever both reach it). */
function agreedRoot(v: ValidatorAggregation, threshold: number): Hex | undefined {
  const counts = new Map<Hex, number>();
  for (const byRoot of v.shares.values()) for (const root of byRoot.keys()) counts.set(root, (counts.get(root) ?? 0) + 1);
  return [...counts.entries()].filter(([, n]) => n >= threshold).map(([root]) => root).sort()[0];
}

function failuresAtDeadline(state: AggregationState, def: AggregationDefinition) {
  return [...state.validators.entries()].flatMap(([pubkey, v]) => {
    if (complete(v)) return [];
    const reason: FailureReason = v.refused
      ? 'slashing_refused'
      : v.agreement && new Set([...v.shares.values()].flatMap((byRoot) => [...byRoot.keys()])).size > 1
        ? 'partial_signatures_disagree'
      : v.signingRoots === undefined && !v.agreement
        ? 'no_consensus'
        : !v.shares.has(def.selfShareIndex)
          ? 'no_local_signature'
          : 'insufficient_partial_signatures';
    return [{ pubkey, reason }];
  });
}

/**
 * The reason a validator's part of a duty of `type` failed, as recorded: a selection proof this
 * node's VC never sent means the VC never called the DV selection endpoints (no distributed
 * mode), which is what an operator has to fix.
 */
export function failureReasonOf(type: DutyType, reason: FailureReason): FailureReason {
  const prepare = type === 'prepare_aggregator' || type === 'prepare_sync_contribution';
  return prepare && reason === 'no_local_signature' ? 'vc_not_distributed' : reason;
}

export function evolve(state: AggregationState, event: AggregationEvent): AggregationState {
  const validators = new Map(state.validators);
  const update = (pubkey: Hex, f: (v: ValidatorAggregation) => ValidatorAggregation) => {
    const v = validators.get(pubkey);
    if (v) validators.set(pubkey, f(v));
  };
  switch (event.kind) {
    case 'ValidatorsScheduled':
      for (const pk of event.pubkeys) validators.set(pk, { shares: new Map(), done: new Set() });
      return { ...state, scheduled: true, validators };
    case 'SignaturesExpected':
      for (const { pubkey, signingRoot } of event.roots) update(pubkey, (v) => ({ ...v, signingRoots: new Set(v.signingRoots).add(signingRoot) }));
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
          shares: new Map(v.shares).set(event.shareIndex, new Map(v.shares.get(event.shareIndex)).set(p.signingRoot, p.signature)),
        }));
      }
      return { ...state, validators };
    case 'PartialsRejected':
      return state;
    case 'ThresholdReached':
      for (const set of event.sets) update(set.pubkey, (v) => ({ ...v, done: new Set(v.done).add(set.signingRoot) }));
      return { ...state, validators };
    case 'DutyExpired':
      return { ...state, expired: true };
    default:
      return assertNever(event);
  }
}
