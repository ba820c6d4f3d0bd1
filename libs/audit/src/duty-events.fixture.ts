import { recordedEvent } from '#lib/test-support';
import {
  type AnyCohortEvent,
  type CohortEvent,
  type Duty,
  type EventPayloads,
  type EventType,
  type Hex,
  type ServiceName,
} from '#lib/contracts';

/**
 * Test-only: synthetic event sequences of one attester duty as node0 (share 1) of a 4-node
 * cluster (t = 3) records them, built with the contract types and the envelope EventLog writes.
 * Times follow the real pipeline: scheduled an epoch ahead, data at 1/3 slot, deadline at +2 slots.
 */

export const GENESIS_MS = Date.UTC(2025, 0, 1);
export const SECONDS_PER_SLOT = 12;
export const SLOT = 100;
export const DUTY: Duty = { slot: SLOT, type: 'attester' };
export const SLOT_START_MS = GENESIS_MS + SLOT * SECONDS_PER_SLOT * 1000;
export const DEADLINE_MS = 2 * SECONDS_PER_SLOT * 1000;
export const NODE = 'node0';
export const SELF_SHARE = 1;

export const VALIDATORS: readonly Hex[] = ['a1', 'b2', 'c3', 'd4'].map((b) => `0x${b.repeat(48)}` as Hex);
const VALUE_HASH = `0x${'5e'.repeat(32)}` as Hex;
const ROOT = `0x${'77'.repeat(32)}` as Hex;
const sig = (n: number) => `0x${n.toString(16).padStart(2, '0').repeat(96)}` as Hex;

const attestationData = {
  slot: String(SLOT),
  index: '0',
  beacon_block_root: ROOT,
  source: { epoch: '2', root: ROOT },
  target: { epoch: '3', root: ROOT },
};

export function event<T extends EventType>(
  type: T,
  service: ServiceName,
  atMs: number,
  pubkeys: readonly Hex[],
  data: EventPayloads[T],
  options: { node?: string; discriminator?: string; duty?: Duty } = {},
): CohortEvent<T> {
  const duty = options.duty ?? DUTY;
  const timeMs = GENESIS_MS + duty.slot * SECONDS_PER_SLOT * 1000 + atMs;
  return recordedEvent({ type, service, node: options.node ?? NODE, duty, pubkeys, data, timeMs, ...(options.discriminator ? { discriminator: options.discriminator } : {}) });
}

const all = VALIDATORS;
const scheduled = () =>
  event('DutyScheduled', 'duty-scheduler', -32 * SECONDS_PER_SLOT * 1000, all, {
    duties: all.map((pubkey, i) => ({
      pubkey,
      validatorIndex: 10 + i,
      committeeIndex: 0,
      committeeLength: 4,
      committeesAtSlot: 1,
      validatorCommitteeIndex: i,
      slot: SLOT,
    })),
  });
const fetched = () => event('UnsignedDataFetched', 'duty-scheduler', 4000, all, { value: { type: 'attester', byCommittee: { '0': attestationData } } });
const started = () => event('ConsensusStarted', 'consensus', 4002, all, { round: 1, leader: (SLOT + 1 + 1) % 4 });
const decided = (atMs = 4100) => event('DutyDecided', 'consensus', atMs, all, { round: 1, valueHash: VALUE_HASH, value: { type: 'attester', byCommittee: { '0': attestationData } } });
const approved = (pubkeys: readonly Hex[] = all) => event('ProposalApproved', 'slashing-guard', 4110, pubkeys, { valueHash: VALUE_HASH });
const served = () => event('DecidedDataServed', 'signer-gateway', 4200, all, { committeeIndex: 0, valueHash: VALUE_HASH }, { discriminator: 'c0' });
const submitted = (pubkeys: readonly Hex[] = all) =>
  event('PartialSignatureSubmitted', 'signer-gateway', 4300, pubkeys, {
    partials: pubkeys.map((pubkey, i) => ({ pubkey, shareIndex: SELF_SHARE, signingRoot: ROOT, signature: sig(i) })),
  });
const recorded = (shareIndex: number, atMs: number, pubkeys: readonly Hex[] = all) =>
  event('PartialSignaturesRecorded', 'aggregator', atMs, pubkeys, { shareIndex, count: pubkeys.length }, { discriminator: `s${shareIndex}` });
const aggregated = (pubkeys: readonly Hex[] = all) =>
  event('SignaturesAggregated', 'aggregator', 4360, pubkeys, { signatures: pubkeys.map((pubkey, i) => ({ pubkey, signature: sig(100 + i) })) });
const failed = (reason: EventPayloads['DutyFailed']['reason'], pubkeys: readonly Hex[] = all) =>
  event('DutyFailed', 'aggregator', DEADLINE_MS, pubkeys, { reason, detail: `${pubkeys.length} validator(s) not aggregated by the deadline` }, { discriminator: reason });

/** Every validator aggregated and broadcast at +4400 ms. */
export function successRun(): AnyCohortEvent[] {
  return [scheduled(), fetched(), started(), decided(), approved(), served(), submitted(), recorded(2, 4320), recorded(3, 4350), aggregated(), event('Broadcast', 'aggregator', 4400, all, { count: all.length })];
}

/** Two round changes, then the deadline: consensus never decided. */
export function noConsensusRun(): AnyCohortEvent[] {
  return [
    scheduled(),
    fetched(),
    started(),
    event('RoundChanged', 'consensus', 5002, all, { from: 1, to: 2, reason: 'timeout' }, { discriminator: 'r2' }),
    event('RoundChanged', 'consensus', 7002, all, { from: 2, to: 3, reason: 'timeout' }, { discriminator: 'r3' }),
    event('ConsensusTimedOut', 'consensus', DEADLINE_MS, all, { round: 3, reason: 'no_consensus' }),
    failed('no_consensus'),
  ];
}

/** The guard refuses every validator (double vote); nothing served, the aggregator gives up at the deadline. */
export function slashingRefusedRun(): AnyCohortEvent[] {
  return [
    scheduled(),
    fetched(),
    started(),
    decided(),
    event('ProposalRefused', 'slashing-guard', 4110, all, { valueHash: VALUE_HASH, refusals: all.map((pubkey) => ({ pubkey, reason: 'double_vote' })) }),
    failed('slashing_refused'),
  ];
}

/** Own share and share 2 arrive, share 3's are all invalid, share 4 sends nothing: 2 of 3 needed. */
export function insufficientPartialsRun(): AnyCohortEvent[] {
  return [
    scheduled(),
    fetched(),
    started(),
    decided(),
    approved(),
    served(),
    submitted(),
    recorded(2, 4320),
    event('PartialSignaturesRejected', 'aggregator', 4340, all, { shareIndex: 3, rejections: all.map((pubkey) => ({ pubkey, reason: 'invalid_signature' as const })) }, { discriminator: 's3' }),
    failed('insufficient_partial_signatures'),
  ];
}

/** Aggregated, but the BN refuses the submission. */
export function broadcastFailedRun(): AnyCohortEvent[] {
  return [
    ...successRun().filter((e) => e.type !== 'Broadcast'),
    event('BroadcastFailed', 'aggregator', 4400, all, { reason: 'bn_broadcast_failed', detail: 'Error: 400 Bad Request: attestation signature invalid' }),
  ];
}

/** The VC signs with a wrong key: the gateway refuses every share signature; peers' arrive. */
export function noLocalSignatureRun(): AnyCohortEvent[] {
  return [
    scheduled(),
    fetched(),
    started(),
    decided(),
    approved(),
    served(),
    event('PartialSignaturesRejected', 'signer-gateway', 4300, all, { shareIndex: SELF_SHARE, rejections: all.map((pubkey) => ({ pubkey, reason: 'invalid_signature' as const })) }, { discriminator: 'refused-1' }),
    recorded(2, 4320),
    recorded(3, 4350),
    recorded(4, 4360),
    failed('no_local_signature'),
  ];
}

/** Validators 0 and 1 refused by the guard, 2 and 3 broadcast. */
export function mixedRun(): AnyCohortEvent[] {
  const refused = all.slice(0, 2);
  const ok = all.slice(2);
  return [
    scheduled(),
    fetched(),
    started(),
    decided(),
    event('ProposalRefused', 'slashing-guard', 4105, refused, { valueHash: VALUE_HASH, refusals: refused.map((pubkey) => ({ pubkey, reason: 'surrounds_previous' })) }),
    approved(ok),
    served(),
    submitted(ok),
    recorded(2, 4320, ok),
    recorded(3, 4350, ok),
    aggregated(ok),
    event('Broadcast', 'aggregator', 4400, ok, { count: ok.length }),
    failed('slashing_refused', refused),
  ];
}
