import type { Hex } from '#lib/contracts';

/**
 * The VC's side of aggregation as the Beacon API carries it: selection proofs for the DV
 * selection endpoints (apis/validator/beacon_committee_selections.yaml,
 * sync_committee_selections.yaml) and signed aggregate/contribution-and-proofs
 * (aggregate_and_proofs.v2.yaml, sync_committee_contribution_and_proof.yaml). Parsing only:
 * which duty a submission belongs to and whether it matches is the app's question.
 */

const UINT64 = /^(0|[1-9][0-9]{0,15})$/;
const SIGNATURE = /^0x[0-9a-fA-F]{192}$/;

type Parsed<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly detail: string };

const record = (value: unknown): Readonly<Record<string, unknown>> => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {});
const uint = (value: unknown): number | undefined => (typeof value === 'string' && UINT64.test(value) ? Number(value) : undefined);
const signature = (value: unknown): Hex | undefined => (typeof value === 'string' && SIGNATURE.test(value) ? (value.toLowerCase() as Hex) : undefined);

/** A BeaconCommitteeSelection `{validator_index, slot, selection_proof}`, or with `subcommittee_index` a SyncCommitteeSelection. */
export function parseSelection(
  item: unknown,
  sync: boolean,
): Parsed<{ readonly validatorIndex: number; readonly slot: number; readonly subcommitteeIndex: number; readonly selectionProof: Hex }> {
  const m = record(item);
  const validatorIndex = uint(m['validator_index']);
  const slot = uint(m['slot']);
  const subcommitteeIndex = sync ? uint(m['subcommittee_index']) : 0;
  const selectionProof = signature(m['selection_proof']);
  if (validatorIndex === undefined || slot === undefined || subcommitteeIndex === undefined || selectionProof === undefined) {
    return { ok: false, detail: `expected {validator_index, slot, ${sync ? 'subcommittee_index, ' : ''}selection_proof} with decimal strings and a 96-byte proof` };
  }
  return { ok: true, validatorIndex, slot, subcommitteeIndex, selectionProof };
}

/** A SignedAggregateAndProof (phase0 or Electra): the slot is the aggregate's. */
export function parseSignedAggregateAndProof(
  item: unknown,
): Parsed<{ readonly slot: number; readonly aggregatorIndex: number; readonly message: Readonly<Record<string, unknown>>; readonly selectionProof: Hex; readonly signature: Hex }> {
  const outer = record(item);
  const message = record(outer['message']);
  const slot = uint(record(record(message['aggregate'])['data'])['slot']);
  const aggregatorIndex = uint(message['aggregator_index']);
  const selectionProof = signature(message['selection_proof']);
  const sig = signature(outer['signature']);
  if (slot === undefined || aggregatorIndex === undefined || selectionProof === undefined || sig === undefined) {
    return { ok: false, detail: 'expected {message: {aggregator_index, aggregate: {aggregation_bits, data, signature}, selection_proof}, signature}' };
  }
  return { ok: true, slot, aggregatorIndex, message, selectionProof, signature: sig };
}

/** A SignedContributionAndProof: the slot and subcommittee are the contribution's. */
export function parseSignedContributionAndProof(item: unknown): Parsed<{
  readonly slot: number;
  readonly subcommitteeIndex: number;
  readonly aggregatorIndex: number;
  readonly message: Readonly<Record<string, unknown>>;
  readonly selectionProof: Hex;
  readonly signature: Hex;
}> {
  const outer = record(item);
  const message = record(outer['message']);
  const contribution = record(message['contribution']);
  const slot = uint(contribution['slot']);
  const subcommitteeIndex = uint(contribution['subcommittee_index']);
  const aggregatorIndex = uint(message['aggregator_index']);
  const selectionProof = signature(message['selection_proof']);
  const sig = signature(outer['signature']);
  if (slot === undefined || subcommitteeIndex === undefined || aggregatorIndex === undefined || selectionProof === undefined || sig === undefined) {
    return { ok: false, detail: 'expected {message: {aggregator_index, contribution: {slot, beacon_block_root, subcommittee_index, aggregation_bits, signature}, selection_proof}, signature}' };
  }
  return { ok: true, slot, subcommitteeIndex, aggregatorIndex, message, selectionProof, signature: sig };
}
