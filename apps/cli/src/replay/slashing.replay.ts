import { attesterDutiesOf, isAggregatorDuty, isSyncContributionDuty, toHex, type Hex, type UnsignedDataSet, type ValidatorDuty } from '#lib/contracts';
import { attestationDataRoot, blockRoot, isBlockFork } from '#lib/signing';
import { decideSlashing, emptySlashingState, evolveSlashing, type AttestationAttempt, type BlockAttempt, type SlashingState } from '#service/slashing-guard';
import { approvedFact, refusedFact, type Fact } from './facts.js';

/** The slashing guard's state during a replay: its history, and the duties of recent slots. */
export interface SlashingReplay {
  state: SlashingState | undefined;
  /** Scheduled validator duties by duty id (`slot/type`): one slot has several duties. */
  readonly dutiesById: Map<string, { readonly slot: number; readonly duties: readonly ValidatorDuty[] }>;
}

/**
 * The attempts the guard builds from a decided value, as `SlashingGuardConsumer.recordDecided`
 * does, with the attestation data root standing in for the signing root (the signing domain is
 * not in the log; within one network it is fixed per target epoch, so root equality — all
 * EIP-3076 compares — is the same).
 */
export function slashingAttempts(duties: readonly ValidatorDuty[], value: UnsignedDataSet): AttestationAttempt[] {
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

/** A decided block as the guard records it, with the block root standing in for the signing root (as above). */
export function blockAttempts(duties: readonly ValidatorDuty[], value: UnsignedDataSet): BlockAttempt[] {
  if (value.type !== 'proposer' || !isBlockFork(value.fork)) return [];
  const proposer = duties.find((d) => String(d.validatorIndex) === value.block.proposer_index && d.slot === Number(value.block.slot));
  if (!proposer) return [];
  return [{ pubkey: proposer.pubkey, slot: Number(value.block.slot), signingRoot: toHex(blockRoot(value.fork, value.blinded, value.block)) }];
}

/** Aggregates and contributions are not slashable: the guard approves the validators they name (SlashingGuardConsumer.approveUnslashable). */
export function unslashableApprovals(duties: readonly ValidatorDuty[], value: UnsignedDataSet, valueHash: Hex): Fact[] {
  const named =
    value.type === 'aggregator'
      ? duties.filter(isAggregatorDuty).filter((d) => value.byCommittee[String(d.committeeIndex)] !== undefined)
      : value.type === 'sync_contribution'
        ? duties.filter(isSyncContributionDuty).filter((d) => value.bySubcommittee[String(d.subcommitteeIndex)] !== undefined)
        : [];
  return [...new Set(named.map((d) => d.pubkey))].map((pubkey) => approvedFact(pubkey, valueHash));
}

/** A decided value through the guard's decider (attestations or a block); returns the facts the guard would have recorded. */
export function replayDecided(slashing: SlashingReplay, duties: readonly ValidatorDuty[], value: UnsignedDataSet, valueHash: Hex): Fact[] {
  if (value.type === 'aggregator' || value.type === 'sync_contribution') return unslashableApprovals(duties, value, valueHash);
  if (value.type === 'attester') return replaySlashing(slashing, slashingAttempts(duties, value), valueHash);
  const attempts = blockAttempts(duties, value);
  return attempts.length === 0 ? [] : recordThroughGuard(slashing, attempts, valueHash, (state) => decideSlashing({ kind: 'RecordBlocks', attempts }, state));
}

/** `RecordAttestations` through the guard's decider; returns the facts the guard would have recorded. */
export function replaySlashing(slashing: SlashingReplay, attempts: readonly AttestationAttempt[], valueHash: Hex): Fact[] {
  return recordThroughGuard(slashing, attempts, valueHash, (state) => decideSlashing({ kind: 'RecordAttestations', attempts }, state));
}

/** One record command through the guard's decider: the history moves on, and each attempt is approved or refused with its reason. */
function recordThroughGuard(
  slashing: SlashingReplay,
  attempts: readonly { readonly pubkey: Hex }[],
  valueHash: Hex,
  decide: (state: SlashingState) => ReturnType<typeof decideSlashing>,
): Fact[] {
  const events = decide(slashing.state ?? emptySlashingState);
  slashing.state = evolveSlashing(slashing.state ?? emptySlashingState, events);
  const refusals: { readonly pubkey: Hex; readonly reason: string }[] = events.flatMap((e) =>
    e.kind === 'AttestationsRefused' || e.kind === 'BlocksRefused' ? [...e.refusals] : [],
  );
  const refused = new Set<Hex>(refusals.map((r) => r.pubkey));
  return [
    ...refusals.map((r) => refusedFact(r.pubkey, r.reason, valueHash)),
    ...attempts.filter((a) => !refused.has(a.pubkey)).map((a) => approvedFact(a.pubkey, valueHash)),
  ];
}
