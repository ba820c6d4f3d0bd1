import type {
  AggregateAttestationJson,
  AttestationDataJson,
  AttesterDuty,
  ProposerDuty,
  SyncCommitteeContributionJson,
  SyncContributionDuty,
  UnsignedDataSet,
} from '#lib/contracts';

/**
 * First half of the consensus validity predicate: does a proposed value match the duty
 * this node scheduled? (The second half, the slashing guard's read-only check, is I/O and
 * lives in the app.) A value for another slot, a missing committee or an extra one is invalid.
 * From Electra (`committeeIndexInData` false) every committee's data carries index 0 (EIP-7549).
 */
export function attesterValueMatchesDuty(
  slot: number,
  duties: readonly AttesterDuty[],
  value: UnsignedDataSet,
  committeeIndexInData = true,
): Validity {
  if (value.type !== 'attester') return { ok: false, detail: `value of type ${String(value.type)} for an attester duty` };
  const expected = [...new Set(duties.map((d) => String(d.committeeIndex)))].sort();
  const proposed = Object.keys(value.byCommittee).sort();
  if (expected.join(',') !== proposed.join(',')) {
    return { ok: false, detail: `committees ${proposed.join(',')} proposed, ${expected.join(',')} scheduled` };
  }
  for (const [committee, data] of Object.entries(value.byCommittee)) {
    if (Number(data.slot) !== slot || data.index !== (committeeIndexInData ? committee : '0')) {
      return { ok: false, detail: `data for slot ${data.slot} index ${data.index} under committee ${committee} of slot ${slot}` };
    }
    if (Number(data.source.epoch) > Number(data.target.epoch)) {
      return { ok: false, detail: `source epoch ${data.source.epoch} after target epoch ${data.target.epoch}` };
    }
  }
  return { ok: true };
}

export type Validity = { ok: true } | { ok: false; detail: string };

/**
 * A proposed block matches the proposer duty when it is for the duty's slot, by the scheduled
 * proposer, of the fork in force at that slot, and carries the validator's RANDAO reveal for the
 * epoch — which the app checks by verifying it under the group pubkey: a BLS signature is
 * unique, so a valid reveal is exactly the one the cluster combines. Blinded blocks exist from
 * Bellatrix only.
 */
export function proposerValueMatchesDuty(
  slot: number,
  duties: readonly ProposerDuty[],
  value: UnsignedDataSet,
  expected: { readonly fork: string; readonly blindedAllowed: boolean; readonly randaoRevealValid: (reveal: string) => boolean },
): Validity {
  if (value.type !== 'proposer') return { ok: false, detail: `value of type ${String(value.type)} for a proposer duty` };
  const block = value.block;
  if (typeof block !== 'object' || block === null) return { ok: false, detail: 'no block in the value' };
  if (Number(block.slot) !== slot) return { ok: false, detail: `block for slot ${String(block.slot)} under the duty of slot ${slot}` };
  if (!duties.some((d) => d.slot === slot && String(d.validatorIndex) === block.proposer_index)) {
    return { ok: false, detail: `proposer ${String(block.proposer_index)} is not the scheduled proposer of slot ${slot}` };
  }
  if (value.fork !== expected.fork) return { ok: false, detail: `block of fork ${String(value.fork)}, fork ${expected.fork} is in force` };
  if (value.blinded && !expected.blindedAllowed) return { ok: false, detail: `no blinded blocks in fork ${expected.fork}` };
  const body = block['body'] as { readonly randao_reveal?: unknown } | undefined;
  if (typeof body?.randao_reveal !== 'string' || !expected.randaoRevealValid(body.randao_reveal)) {
    return { ok: false, detail: "the block's RANDAO reveal is not the proposer's signature of the epoch" };
  }
  return { ok: true };
}

/**
 * An aggregator duty's value: per committee, an aggregate of the fork in force over exactly the
 * attestation data the cluster decided for that committee and slot (`decidedData`, by committee;
 * a committee this node has no decided data for is invalid: a refusal over a doubt). Only
 * committees of the slot's attester duties may appear; the container checks (bits, committee
 * bits) are the app's, through `malformed`.
 */
export function aggregatorValueMatchesDuty(
  slot: number,
  value: UnsignedDataSet,
  expected: {
    readonly fork: string;
    readonly committees: ReadonlySet<string>;
    readonly sameAsDecided: (committee: string, data: AttestationDataJson) => boolean;
    readonly malformed: (committee: string, aggregate: AggregateAttestationJson) => string | undefined;
  },
): Validity {
  if (value.type !== 'aggregator') return { ok: false, detail: `value of type ${String(value.type)} for an aggregator duty` };
  if (value.fork !== expected.fork) return { ok: false, detail: `aggregates of fork ${String(value.fork)}, fork ${expected.fork} is in force` };
  const entries = Object.entries(value.byCommittee ?? {});
  if (entries.length === 0) return { ok: false, detail: 'no aggregate in the value' };
  for (const [committee, aggregate] of entries) {
    if (!expected.committees.has(committee)) return { ok: false, detail: `committee ${committee} has no attester duty of this cluster at slot ${slot}` };
    const problem = expected.malformed(committee, aggregate);
    if (problem !== undefined) return { ok: false, detail: `aggregate of committee ${committee}: ${problem}` };
    if (Number(aggregate.data.slot) !== slot) return { ok: false, detail: `aggregate for slot ${aggregate.data.slot} under the duty of slot ${slot}` };
    if (!expected.sameAsDecided(committee, aggregate.data)) {
      return { ok: false, detail: `the aggregate of committee ${committee} is not over the attestation data decided for it` };
    }
  }
  return { ok: true };
}

/**
 * A sync contribution duty's value: per subcommittee this cluster aggregates, the contribution
 * of that slot and subcommittee (the block root is the BN's: contributions are not slashable).
 */
export function syncContributionValueMatchesDuty(
  slot: number,
  duties: readonly SyncContributionDuty[],
  value: UnsignedDataSet,
  malformed: (contribution: SyncCommitteeContributionJson) => string | undefined,
): Validity {
  if (value.type !== 'sync_contribution') return { ok: false, detail: `value of type ${String(value.type)} for a sync contribution duty` };
  const scheduled = new Set(duties.map((d) => String(d.subcommitteeIndex)));
  const entries = Object.entries(value.bySubcommittee ?? {});
  if (entries.length === 0) return { ok: false, detail: 'no contribution in the value' };
  for (const [subcommittee, contribution] of entries) {
    if (!scheduled.has(subcommittee)) return { ok: false, detail: `subcommittee ${subcommittee} has no aggregator of this cluster at slot ${slot}` };
    const problem = malformed(contribution);
    if (problem !== undefined) return { ok: false, detail: `contribution of subcommittee ${subcommittee}: ${problem}` };
    if (Number(contribution.slot) !== slot || contribution.subcommittee_index !== subcommittee) {
      return { ok: false, detail: `contribution for slot ${contribution.slot} subcommittee ${contribution.subcommittee_index} under slot ${slot} subcommittee ${subcommittee}` };
    }
  }
  return { ok: true };
}
