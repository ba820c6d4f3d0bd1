import { SecretKey } from '@chainsafe/blst';
import { BitArray } from '@chainsafe/ssz';
import { ssz } from '@lodestar/types';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import {
  attestationSigningRoot,
  blockForkAtSlot,
  blockSigningRoot,
  builderRegistrationSigningRoot,
  forkAtEpoch,
  forkHasBlockContents,
  forkIsElectraOrLater,
  randaoSigningRoot,
  signingContextFromSpec,
  syncCommitteeMessageSigningRoot,
  syncSubcommitteeOf,
  voluntaryExitSigningRoot,
  type AttestationDataJson,
  type ChainSigningContext,
} from '#lib/signing';
import {
  attesterSelectionProofs,
  publishAggregates,
  publishContributions,
  syncSelectionProofs,
  type AggregationContext,
  type Attested,
  type SyncMember,
  type SyncSelectionProofs,
} from './aggregation-duties.js';
import { checkAttestation, type LastSignedAttestation } from './attestation-protection.js';
import { acceptedDespite, BeaconHttpError, beaconRequester } from './beacon-request.js';

export interface VcMockOptions {
  readonly beaconUrl: string;
  /** The VC's keys. In a DV these are share keys; the VC cannot tell. */
  readonly secretKeys: readonly Uint8Array[];
  readonly name?: string;
  readonly onLog?: (line: string) => void;
  /**
   * `v1` posts to /eth/v1/beacon/pool/attestations; `v2` to /eth/v2/… with the
   * `Eth-Consensus-Version` header, as recent Lodestar/Teku do. Default `v1`.
   */
  readonly poolApi?: 'v1' | 'v2';
  /** Retry interval while the BN cannot be reached at start. Default 500 ms. */
  readonly retryMs?: number;
  /** Fault injection: sign with a key that is not the validator's, so every signature is invalid. */
  readonly signWithWrongKey?: boolean;
  /** Propose blocks for its proposer duties (validator-flow.md "Block Proposing"). Default false. */
  readonly proposals?: boolean;
  /** Sign sync committee messages for its sync duties (from Altair). Default false. */
  readonly syncCommittee?: boolean;
  /** `v2` publishes blocks with `Eth-Consensus-Version` (default); `v1` on the legacy routes. */
  readonly blockPublishApi?: 'v1' | 'v2';
  /** `v3` asks `produceBlockV3` (default); `v2` the removed `produceBlockV2` older VCs use (full blocks only). */
  readonly produceBlockApi?: 'v2' | 'v3';
  /**
   * Aggregate for its attester duties whose selection proof selects it (validator-flow.md step 5):
   * at 2/3 of the slot, fetch the aggregate of the data it attested, sign an AggregateAndProof,
   * publish it. With `syncCommittee` too, publish sync committee contributions likewise
   * (altair/validator.md#sync-committee-aggregations). Default false.
   */
  readonly aggregation?: boolean;
  /**
   * Distributed mode, as Lodestar's `--distributed` and Teku's DVT mode: its keys are shares, so it
   * never decides aggregation from its own selection proofs. At the start of each duty slot it
   * posts them (partial proofs) to `/eth/v1/validator/beacon_committee_selections` (and, with
   * `syncCommittee`, `/eth/v1/validator/sync_committee_selections`, one per subcommittee of its
   * seats) and decides with the combined proofs the DV middleware answers. A BN answers 501 there:
   * recorded as an error. Default false: a stock VC using its own proofs.
   */
  readonly distributed?: boolean;
  /**
   * Aggregation routes: `v2` (default) asks `/eth/v2/validator/aggregate_attestation` with the
   * committee index and publishes on v2 with `Eth-Consensus-Version`; `v1` uses the v1 routes,
   * before Electra only (from Electra v2 is used, as real VCs do).
   */
  readonly aggregateApi?: 'v1' | 'v2';
  /**
   * Register its validators with the builders once per epoch (`register_validator`, as
   * Lodestar does with `--builder`): this fee recipient and gas limit, a fresh timestamp,
   * signed with its key. Default: no registrations.
   */
  readonly builderRegistration?: { readonly feeRecipient: Hex; readonly gasLimit?: number };
  /**
   * Prepare the BN as a stock VC does: `prepare_beacon_proposer` with the fee recipient of
   * `builderRegistration` each epoch, and `beacon_committee_subscriptions` for its attester
   * duties once fetched. Default false.
   */
  readonly subscriptions?: boolean;
}

export interface SubmitError {
  readonly slot: number;
  /** HTTP status, or 0 when the BN could not be reached. */
  readonly status: number;
  readonly body: unknown;
}

export interface VcStats {
  /** Attester duties received for this VC's validators, each (epoch, validator) counted once. */
  dutiesFetched: number;
  /** Attestations the BN took (HTTP 200, or not named in a 400's failures). */
  attestationsSubmitted: number;
  /** Blocks the BN took. */
  proposalsSubmitted: number;
  /** Sync committee messages the BN took. */
  syncMessagesSubmitted: number;
  /** SignedAggregateAndProofs the BN took. */
  aggregatesSubmitted: number;
  /** SignedContributionAndProofs the BN took. */
  contributionsSubmitted: number;
  /** Combined selection proofs the selection routes answered (distributed mode), attestation and sync together. */
  selectionsCombined: number;
  /** Builder registrations the BN took. */
  registrationsSubmitted: number;
  readonly submitErrors: SubmitError[];
  readonly errors: string[];
}

export interface VcMock {
  readonly name: string;
  readonly pubkeys: readonly Hex[];
  readonly stats: Readonly<VcStats>;
  /** Resolves once genesis, spec and the validator indices are known; rejects if stopped first. */
  readonly ready: Promise<void>;
  /** Signs and submits the voluntary exit of one of its validators at `epoch`, as an operator's exit command does; rejects with the BN's error. */
  submitVoluntaryExit(pubkey: Hex, epoch: number): Promise<void>;
  stop(): Promise<void>;
}

interface AttesterDuty {
  readonly pubkey: Hex;
  readonly validatorIndex: number;
  readonly committeeIndex: number;
  readonly committeeLength: number;
  readonly committeesAtSlot: number;
  readonly validatorCommitteeIndex: number;
  readonly slot: number;
}

interface Chain {
  readonly genesisTimeMs: number;
  readonly slotMs: number;
  readonly slotsPerEpoch: number;
  readonly syncCommitteeSize: number;
  readonly signing: ChainSigningContext;
}

export class VcStoppedError extends Error {
  override readonly name = 'VcStoppedError';
}

/** A valid key no validator holds (fault injection). */
const WRONG_KEY = SecretKey.fromKeygen(new Uint8Array(32).fill(7));

/** Drops the entries of `slot` and earlier slots. */
function forgetUpTo(bySlot: Map<number, unknown>, slot: number): void {
  for (const key of bySlot.keys()) if (key <= slot) bySlot.delete(key);
}

/**
 * A stock-VC stand-in for attestations (validator-flow.md#attestation): it learns genesis and spec
 * from its BN, finds its validators by its own pubkeys, fetches attester duties for the current and
 * next epoch, and at 1/3 of each duty's slot fetches attestation data, signs it after a minimal
 * slashing-protection check, and submits it. Optionally it proposes, signs sync committee
 * messages, and aggregates (see aggregation-duties.ts), as a stock VC or one in distributed mode.
 * Every failure is recorded and the loop goes on.
 */
export async function startVcMock(opts: VcMockOptions): Promise<VcMock> {
  const name = opts.name ?? 'vc';
  const retryMs = opts.retryMs ?? 500;
  const poolApi = opts.poolApi ?? 'v1';
  const distributed = opts.distributed ?? false;
  const keys = new Map<Hex, SecretKey>(
    opts.secretKeys.map((bytes) => {
      const secretKey = SecretKey.fromBytes(bytes);
      return [toHex(secretKey.toPublicKey().toBytes()), secretKey];
    }),
  );
  const stats: VcStats = {
    dutiesFetched: 0,
    attestationsSubmitted: 0,
    proposalsSubmitted: 0,
    syncMessagesSubmitted: 0,
    aggregatesSubmitted: 0,
    contributionsSubmitted: 0,
    selectionsCombined: 0,
    registrationsSubmitted: 0,
    submitErrors: [],
    errors: [],
  };
  const log = (line: string) => opts.onLog?.(`[${name}] ${line}`);
  const recordError = (message: string) => {
    stats.errors.push(message);
    log(`error: ${message}`);
  };

  const abort = new AbortController();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const later = (delayMs: number, task: () => Promise<void>) => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      task().catch((error: unknown) => {
        if (!stopped) recordError(`unexpected: ${(error as Error).message}`);
      });
    }, Math.max(0, delayMs));
    timers.add(timer);
  };

  const request = beaconRequester(opts.beaconUrl, abort.signal);

  const indices = new Map<number, Hex>();
  const dutiesByEpoch = new Map<number, readonly AttesterDuty[]>();
  const scheduledSlots = new Set<number>();
  const lastSigned = new Map<Hex, LastSignedAttestation>();

  const bootstrap = async (): Promise<Chain> => {
    const genesis = (await request('GET', '/eth/v1/beacon/genesis'))?.data as { genesis_time: string; genesis_validators_root: Hex };
    const spec = (await request('GET', '/eth/v1/config/spec'))?.data as Record<string, string>;
    const pubkeys = [...keys.keys()];
    let found: { index: string; validator: { pubkey: string } }[];
    try {
      found = (await request('POST', '/eth/v1/beacon/states/head/validators', { ids: pubkeys }))?.data as typeof found;
    } catch (error) {
      // Older BNs only have the GET form (apis/beacon/states/validators.yaml).
      log(`POST validators failed (${(error as Error).message}); falling back to GET`);
      const query = pubkeys.map((pubkey) => `id=${pubkey}`).join('&');
      found = (await request('GET', `/eth/v1/beacon/states/head/validators?${query}`))?.data as typeof found;
    }
    for (const { index, validator } of found) {
      const pubkey = validator.pubkey.toLowerCase() as Hex;
      if (keys.has(pubkey)) indices.set(Number(index), pubkey);
      else recordError(`validator lookup returned foreign pubkey ${pubkey} at index ${index}`);
    }
    // A VC waits for its validators to appear (deposits not yet processed); so does this one.
    if (indices.size === 0) throw new Error('none of this VC\'s validators is known to the BN');
    const missing = pubkeys.filter((pubkey) => ![...indices.values()].includes(pubkey));
    if (missing.length > 0) recordError(`validators not found on the BN: ${missing.join(', ')}`);
    log(`genesis ${genesis.genesis_time}, ${indices.size} validator(s): ${[...indices.keys()].join(', ')}`);
    return {
      genesisTimeMs: Number(genesis.genesis_time) * 1000,
      slotMs: Number(spec['SECONDS_PER_SLOT']) * 1000,
      slotsPerEpoch: Number(spec['SLOTS_PER_EPOCH']),
      syncCommitteeSize: Number(spec['SYNC_COMMITTEE_SIZE']),
      signing: signingContextFromSpec(spec, genesis.genesis_validators_root),
    };
  };

  const slotStartMs = (c: Chain, slot: number) => c.genesisTimeMs + slot * c.slotMs;
  const currentSlot = (c: Chain) => Math.floor((Date.now() - c.genesisTimeMs) / c.slotMs);

  /** Takes the duties it can sign; a duty naming a key this VC does not hold is a gateway bug. */
  const acceptDuties = (epoch: number, raw: readonly Record<string, string>[]): AttesterDuty[] => {
    const duties: AttesterDuty[] = [];
    for (const d of raw) {
      const duty: AttesterDuty = {
        pubkey: d['pubkey']!.toLowerCase() as Hex,
        validatorIndex: Number(d['validator_index']),
        committeeIndex: Number(d['committee_index']),
        committeeLength: Number(d['committee_length']),
        committeesAtSlot: Number(d['committees_at_slot']),
        validatorCommitteeIndex: Number(d['validator_committee_index']),
        slot: Number(d['slot']),
      };
      if (!keys.has(duty.pubkey)) {
        recordError(`epoch ${epoch}: duty for validator ${duty.validatorIndex} carries foreign pubkey ${duty.pubkey}`);
      } else if (indices.get(duty.validatorIndex) !== duty.pubkey) {
        recordError(`epoch ${epoch}: duty pubkey ${duty.pubkey} does not belong to validator ${duty.validatorIndex}`);
      } else {
        duties.push(duty);
      }
    }
    return duties;
  };

  const fetchDuties = async (c: Chain, epoch: number) => {
    if (dutiesByEpoch.has(epoch) || indices.size === 0) return;
    try {
      const body = [...indices.keys()].map(String);
      const response = await request('POST', `/eth/v1/validator/duties/attester/${epoch}`, body);
      const duties = acceptDuties(epoch, (response?.data ?? []) as Record<string, string>[]);
      dutiesByEpoch.set(epoch, duties);
      stats.dutiesFetched += duties.length;
      log(`epoch ${epoch}: ${duties.length} attester duties`);
      for (const slot of new Set(duties.map((duty) => duty.slot))) scheduleSlot(c, slot);
    } catch (error) {
      if (!stopped) recordError(`epoch ${epoch}: attester duties: ${(error as Error).message}`);
      return;
    }
    const duties = dutiesByEpoch.get(epoch) ?? [];
    if (!opts.subscriptions || duties.length === 0) return;
    const subscriptions = duties.map((d) => ({
      validator_index: String(d.validatorIndex),
      committee_index: String(d.committeeIndex),
      committees_at_slot: String(d.committeesAtSlot),
      slot: String(d.slot),
      is_aggregator: false,
    }));
    await request('POST', '/eth/v1/validator/beacon_committee_subscriptions', subscriptions).catch((error: unknown) =>
      reportSubmitError(epoch * c.slotsPerEpoch, 'beacon committee subscriptions', error),
    );
  };

  // Selection proofs at the start of the slot, attest at 1/3 (phase0/validator.md#attesting;
  // validator-flow.md step 2), aggregate at 2/3 (phase0/validator.md#broadcast-aggregate).
  const scheduleSlot = (c: Chain, slot: number) => {
    if (scheduledSlots.has(slot) || slot < currentSlot(c)) return;
    scheduledSlots.add(slot);
    if (opts.aggregation || distributed) later(slotStartMs(c, slot) - Date.now(), async () => selectAttestationAggregators(c, slot));
    later(slotStartMs(c, slot) + c.slotMs / 3 - Date.now(), () => attest(c, slot));
    if (opts.aggregation) later(slotStartMs(c, slot) + (2 * c.slotMs) / 3 - Date.now(), () => aggregate(c, slot));
  };

  const aggregationContext = (c: Chain): AggregationContext => ({
    request,
    signing: c.signing,
    slotMs: c.slotMs,
    syncCommitteeSize: c.syncCommitteeSize,
    distributed,
    aggregateApi: opts.aggregateApi ?? 'v2',
    signerOf,
    stats,
    recordError,
    reportError: (what, error) => {
      if (!stopped) recordError(`${what}: ${(error as Error).message}`);
    },
    reportSubmitError,
  });

  // Aggregation: the proofs to decide with (asked at the slot's start) and what was attested (at
  // 1/3), both read at 2/3 of the slot and dropped then, with anything older (a duty learnt too
  // late to aggregate).
  const attesterSelections = new Map<number, Promise<ReadonlyMap<number, Hex>>>();
  const attestedBySlot = new Map<number, Attested[]>();

  const selectAttestationAggregators = (c: Chain, slot: number) => {
    const duties = (dutiesByEpoch.get(Math.floor(slot / c.slotsPerEpoch)) ?? []).filter((duty) => duty.slot === slot);
    if (duties.length === 0 || stopped) return;
    const proofs = attesterSelectionProofs(aggregationContext(c), slot, duties);
    // Without aggregation, distributed mode still asks (as a DV-aware VC does), but nobody reads the answer.
    if (opts.aggregation) attesterSelections.set(slot, proofs);
  };

  const aggregate = async (c: Chain, slot: number) => {
    const proofs = await (attesterSelections.get(slot) ?? new Map<number, Hex>());
    const attested = attestedBySlot.get(slot) ?? [];
    forgetUpTo(attesterSelections, slot);
    forgetUpTo(attestedBySlot, slot);
    if (attested.length === 0 || stopped) return;
    await publishAggregates(aggregationContext(c), slot, attested, proofs);
  };

  const signAttestation = (c: Chain, duty: AttesterDuty, data: AttestationDataJson, electra: boolean): unknown | undefined => {
    const signingRoot = attestationSigningRoot(c.signing, data);
    const next = { sourceEpoch: Number(data.source.epoch), targetEpoch: Number(data.target.epoch), signingRoot };
    const verdict = checkAttestation(lastSigned.get(duty.pubkey), next);
    if (!verdict.safe) {
      recordError(`slot ${duty.slot} validator ${duty.validatorIndex}: refused to sign: ${verdict.reason}`);
      return undefined;
    }
    lastSigned.set(duty.pubkey, next);
    const signature = signerOf(duty.pubkey).sign(fromHex(signingRoot)).toBytes();
    // From Electra a single vote names its committee and attester (EIP-7549).
    if (electra) {
      return ssz.electra.SingleAttestation.toJson({
        committeeIndex: duty.committeeIndex,
        attesterIndex: duty.validatorIndex,
        data: ssz.phase0.AttestationData.fromJson(data),
        signature,
      });
    }
    return ssz.phase0.Attestation.toJson({
      aggregationBits: BitArray.fromSingleBit(duty.committeeLength, duty.validatorCommitteeIndex),
      data: ssz.phase0.AttestationData.fromJson(data),
      signature,
    });
  };

  const signerOf = (pubkey: Hex): SecretKey => (opts.signWithWrongKey ? WRONG_KEY : keys.get(pubkey)!);

  const attest = async (c: Chain, slot: number) => {
    const epoch = Math.floor(slot / c.slotsPerEpoch);
    const electra = forkIsElectraOrLater(blockForkAtSlot(c.signing, slot));
    const duties = (dutiesByEpoch.get(epoch) ?? []).filter((duty) => duty.slot === slot);
    const attestations: unknown[] = [];
    // One attestation_data call per committee, as stock VCs do.
    for (const committeeIndex of new Set(duties.map((duty) => duty.committeeIndex))) {
      let data: AttestationDataJson;
      try {
        const response = await request('GET', `/eth/v1/validator/attestation_data?slot=${slot}&committee_index=${committeeIndex}`);
        data = response?.data as AttestationDataJson;
      } catch (error) {
        if (!stopped) recordError(`slot ${slot} committee ${committeeIndex}: attestation data: ${(error as Error).message}`);
        continue;
      }
      if (data.slot !== String(slot) || data.index !== String(electra ? 0 : committeeIndex)) {
        recordError(`slot ${slot} committee ${committeeIndex}: BN returned data for slot ${data.slot} index ${data.index}`);
        continue;
      }
      for (const duty of duties.filter((d) => d.committeeIndex === committeeIndex)) {
        const attestation = signAttestation(c, duty, data, electra);
        if (attestation === undefined) continue;
        attestations.push(attestation);
        if (opts.aggregation) attestedBySlot.set(slot, [...(attestedBySlot.get(slot) ?? []), { duty, data }]);
      }
    }
    if (attestations.length === 0 || stopped) return;
    const fork = forkAtEpoch(c.signing, epoch).name.toLowerCase();
    try {
      // From Electra only the v2 route exists for SingleAttestations, as real VCs do.
      const api = electra ? 'v2' : poolApi;
      await request('POST', `/eth/${api}/beacon/pool/attestations`, attestations, api === 'v2' ? { 'eth-consensus-version': fork } : undefined);
      stats.attestationsSubmitted += attestations.length;
      log(`slot ${slot}: submitted ${attestations.length} attestation(s)`);
    } catch (error) {
      if (stopped) return;
      const status = error instanceof BeaconHttpError ? error.status : 0;
      const body = error instanceof BeaconHttpError ? error.body : (error as Error).message;
      stats.attestationsSubmitted += acceptedDespite(error, attestations.length);
      stats.submitErrors.push({ slot, status, body });
      recordError(`slot ${slot}: submit: ${(error as Error).message}`);
    }
  };

  const reportSubmitError = (slot: number, what: string, error: unknown) => {
    if (stopped) return;
    const status = error instanceof BeaconHttpError ? error.status : 0;
    stats.submitErrors.push({ slot, status, body: error instanceof BeaconHttpError ? error.body : (error as Error).message });
    recordError(`slot ${slot}: ${what}: ${(error as Error).message}`);
  };

  // Proposals: duties per epoch, a block at the start of each duty's slot.
  const proposerEpochs = new Set<number>();
  const proposedSlots = new Map<number, Hex>();
  const fetchProposerDuties = async (c: Chain, epoch: number) => {
    if (!opts.proposals || proposerEpochs.has(epoch)) return;
    try {
      const response = await request('GET', `/eth/v1/validator/duties/proposer/${epoch}`);
      proposerEpochs.add(epoch);
      for (const d of (response?.data ?? []) as Record<string, string>[]) {
        const pubkey = d['pubkey']?.toLowerCase() as Hex;
        const slot = Number(d['slot']);
        if (!keys.has(pubkey) || slot < currentSlot(c)) continue;
        later(slotStartMs(c, slot) - Date.now(), () => propose(c, slot, pubkey, Number(d['validator_index'])));
      }
    } catch (error) {
      if (!stopped) recordError(`epoch ${epoch}: proposer duties: ${(error as Error).message}`);
    }
  };

  const propose = async (c: Chain, slot: number, pubkey: Hex, validatorIndex: number) => {
    const fork = blockForkAtSlot(c.signing, slot);
    const randaoReveal = toHex(signerOf(pubkey).sign(fromHex(randaoSigningRoot(c.signing, Math.floor(slot / c.slotsPerEpoch)))).toBytes());
    let produced: Awaited<ReturnType<typeof request>>;
    try {
      produced = await request('GET', `/eth/${opts.produceBlockApi ?? 'v3'}/validator/blocks/${slot}?randao_reveal=${randaoReveal}`, undefined, undefined, c.slotMs * 2);
    } catch (error) {
      if (!stopped) recordError(`slot ${slot}: produce block: ${(error as Error).message}`);
      return;
    }
    // produceBlockV2 as Lodestar <= 1.5 reads it: `block_value` parsed with BigInt
    if (opts.produceBlockApi === 'v2' && !/^[0-9]+$/.test(String(produced?.block_value))) {
      return recordError(`slot ${slot}: produceBlockV2 answer without a decimal block_value (${String(produced?.block_value)})`);
    }
    const blinded = produced?.execution_payload_blinded === true;
    const data = produced?.data as { block?: Record<string, unknown>; kzg_proofs?: unknown; blobs?: unknown } & Record<string, unknown>;
    const block = (!blinded && forkHasBlockContents(fork) ? data?.block : data) as Record<string, unknown> | undefined;
    if (produced?.version !== fork || !block || block['slot'] !== String(slot) || block['proposer_index'] !== String(validatorIndex)) {
      return recordError(`slot ${slot}: BN answered a block that is not ours (version ${produced?.version}, slot ${String(block?.['slot'])}, proposer ${String(block?.['proposer_index'])})`);
    }
    // No check that the block carries this VC's RANDAO reveal: behind a DV it carries the cluster's
    // combined reveal, and stock VCs do not compare it either.
    let signingRoot: Hex;
    try {
      signingRoot = blockSigningRoot(c.signing, fork, blinded, block as { slot: string });
    } catch (error) {
      return recordError(`slot ${slot}: not a ${fork} block: ${(error as Error).message}`);
    }
    // Minimal block protection: one signing root per slot, ever.
    const signedBefore = proposedSlots.get(slot);
    if (signedBefore !== undefined && signedBefore !== signingRoot) return recordError(`slot ${slot}: refused to sign a second, different block`);
    proposedSlots.set(slot, signingRoot);
    const signature = toHex(signerOf(pubkey).sign(fromHex(signingRoot)).toBytes());
    const signed = { message: block, signature };
    const payload = !blinded && forkHasBlockContents(fork) ? { signed_block: signed, kzg_proofs: data.kzg_proofs ?? [], blobs: data.blobs ?? [] } : signed;
    const api = opts.blockPublishApi ?? 'v2';
    try {
      await request('POST', `/eth/${api}/beacon/${blinded ? 'blinded_blocks' : 'blocks'}`, payload, api === 'v2' ? { 'eth-consensus-version': fork } : undefined);
      stats.proposalsSubmitted++;
      log(`slot ${slot}: published a ${blinded ? 'blinded ' : ''}${fork} block`);
    } catch (error) {
      reportSubmitError(slot, 'publish block', error);
    }
  };

  // Sync committee: members per epoch (from Altair); each slot, selection proofs at its start, a
  // message at 1/3 and contributions at 2/3 (altair/validator.md#sync-committee).
  const syncEpochs = new Map<number, readonly SyncMember[]>();
  const syncSlots = new Set<number>();
  const syncSelections = new Map<number, Promise<SyncSelectionProofs>>();
  const syncRoots = new Map<number, Hex>();
  const fetchSyncDuties = async (c: Chain, epoch: number) => {
    if (!opts.syncCommittee || syncEpochs.has(epoch) || indices.size === 0) return;
    if (forkAtEpoch(c.signing, epoch).name === 'PHASE0') return;
    try {
      const response = await request('POST', `/eth/v1/validator/duties/sync/${epoch}`, [...indices.keys()].map(String));
      const members: SyncMember[] = ((response?.data ?? []) as { pubkey?: string; validator_index?: string; validator_sync_committee_indices?: string[] }[])
        .map((d) => ({
          pubkey: d.pubkey?.toLowerCase() as Hex,
          validatorIndex: Number(d.validator_index),
          subcommittees: [...new Set((d.validator_sync_committee_indices ?? []).map((seat) => syncSubcommitteeOf(c.syncCommitteeSize, Number(seat))))].sort((a, b) => a - b),
        }))
        .filter((m) => keys.has(m.pubkey));
      syncEpochs.set(epoch, members);
      if (members.length === 0) return;
      for (let slot = epoch * c.slotsPerEpoch; slot < (epoch + 1) * c.slotsPerEpoch; slot++) {
        if (slot < currentSlot(c) || syncSlots.has(slot)) continue;
        syncSlots.add(slot);
        if (opts.aggregation || distributed) later(slotStartMs(c, slot) - Date.now(), async () => selectSyncAggregators(c, slot, members));
        later(slotStartMs(c, slot) + c.slotMs / 3 - Date.now(), () => signSyncMessages(c, slot, members));
        if (opts.aggregation) later(slotStartMs(c, slot) + (2 * c.slotMs) / 3 - Date.now(), () => contribute(c, slot, members));
      }
    } catch (error) {
      if (!stopped) recordError(`epoch ${epoch}: sync duties: ${(error as Error).message}`);
    }
  };

  const selectSyncAggregators = (c: Chain, slot: number, members: readonly SyncMember[]) => {
    if (stopped) return;
    const proofs = syncSelectionProofs(aggregationContext(c), slot, members);
    if (opts.aggregation) syncSelections.set(slot, proofs);
  };

  const contribute = async (c: Chain, slot: number, members: readonly SyncMember[]) => {
    const proofs = await (syncSelections.get(slot) ?? new Map<string, Hex>());
    const root = syncRoots.get(slot);
    forgetUpTo(syncSelections, slot);
    forgetUpTo(syncRoots, slot);
    if (root === undefined || stopped) return;
    await publishContributions(aggregationContext(c), slot, root, members, proofs);
  };

  const signSyncMessages = async (c: Chain, slot: number, members: readonly SyncMember[]) => {
    let root: Hex;
    try {
      root = ((await request('GET', '/eth/v1/beacon/blocks/head/root'))?.data as { root: Hex }).root;
    } catch (error) {
      if (!stopped) recordError(`slot ${slot}: head root: ${(error as Error).message}`);
      return;
    }
    const signingRoot = fromHex(syncCommitteeMessageSigningRoot(c.signing, slot, root));
    if (opts.aggregation) syncRoots.set(slot, root);
    const messages = members.map((m) => ({
      slot: String(slot),
      beacon_block_root: root,
      validator_index: String(m.validatorIndex),
      signature: toHex(signerOf(m.pubkey).sign(signingRoot).toBytes()),
    }));
    try {
      await request('POST', '/eth/v1/beacon/pool/sync_committees', messages);
      stats.syncMessagesSubmitted += messages.length;
    } catch (error) {
      reportSubmitError(slot, 'sync committee messages', error);
    }
  };

  const registeredEpochs = new Set<number>();
  const register = async (c: Chain, epoch: number) => {
    const wanted = opts.builderRegistration;
    if (!wanted || registeredEpochs.has(epoch)) return;
    registeredEpochs.add(epoch);
    if (opts.subscriptions) {
      const preparations = [...indices.keys()].map((index) => ({ validator_index: String(index), fee_recipient: wanted.feeRecipient }));
      await request('POST', '/eth/v1/validator/prepare_beacon_proposer', preparations).catch((error: unknown) =>
        reportSubmitError(epoch * c.slotsPerEpoch, 'proposer preparations', error),
      );
    }
    const timestamp = String(Math.floor(Date.now() / 1000));
    const registrations = [...indices.values()].map((pubkey) => {
      const message = { fee_recipient: wanted.feeRecipient, gas_limit: String(wanted.gasLimit ?? 30_000_000), timestamp, pubkey };
      return { message, signature: toHex(signerOf(pubkey).sign(fromHex(builderRegistrationSigningRoot(c.signing.genesisForkVersion, message))).toBytes()) };
    });
    try {
      await request('POST', '/eth/v1/validator/register_validator', registrations);
      stats.registrationsSubmitted += registrations.length;
    } catch (error) {
      reportSubmitError(epoch * c.slotsPerEpoch, 'builder registrations', error);
    }
  };

  // Each slot: make sure duties of this epoch and the next are known (validator-flow.md:
  // "ask for attester duties for epoch + 1"), then wake at the next slot.
  const onSlot = async (c: Chain) => {
    const slot = currentSlot(c);
    const epoch = Math.max(0, Math.floor(slot / c.slotsPerEpoch));
    await fetchDuties(c, epoch);
    await fetchDuties(c, epoch + 1);
    await fetchProposerDuties(c, epoch);
    await fetchProposerDuties(c, epoch + 1);
    await fetchSyncDuties(c, epoch);
    await fetchSyncDuties(c, epoch + 1);
    await register(c, epoch);
    later(slotStartMs(c, slot + 1) - Date.now(), () => onSlot(c));
  };

  let resolveChain: (c: Chain) => void = () => {};
  const chainReady = new Promise<Chain>((resolve) => (resolveChain = resolve));
  let markReady: () => void = () => {};
  let markStopped: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markStopped = reject;
  });
  ready.catch(() => {}); // a caller that never awaits `ready` must not see an unhandled rejection

  const start = async () => {
    let chain: Chain;
    try {
      chain = await bootstrap();
    } catch (error) {
      if (stopped) return;
      recordError(`start: ${(error as Error).message}; retrying in ${retryMs} ms`);
      later(retryMs, start);
      return;
    }
    markReady();
    resolveChain(chain);
    await onSlot(chain);
  };
  later(0, start);

  return {
    name,
    pubkeys: [...keys.keys()],
    stats,
    ready,
    submitVoluntaryExit: async (pubkey: Hex, epoch: number) => {
      const c = await chainReady;
      const index = [...indices.entries()].find(([, pk]) => pk === pubkey.toLowerCase())?.[0];
      if (index === undefined) throw new Error(`${pubkey} is not a validator of this VC`);
      const message = { epoch: String(epoch), validator_index: String(index) };
      const signature = toHex(signerOf(pubkey.toLowerCase() as Hex).sign(fromHex(voluntaryExitSigningRoot(c.signing, message))).toBytes());
      await request('POST', '/eth/v1/beacon/pool/voluntary_exits', { message, signature });
      log(`submitted the exit of validator ${index} at epoch ${epoch}`);
    },
    stop: async () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      abort.abort();
      markStopped(new VcStoppedError(`${name} stopped`));
    },
  };
}
