import { createHash } from 'node:crypto';
import { generateSecretKey, initBls, sign, splitSecret } from '#lib/bls';
import {
  dutyId,
  fromHex,
  toHex,
  type AnyCohortEvent,
  type AttestationDataJson,
  type AttesterDuty,
  type Duty,
  type EventPayloads,
  type EventType,
  type Hex,
  type ServiceName,
} from '#lib/contracts';
import { valueHash } from '#lib/signing';
import { recordedEvent } from '#lib/test-support';

/**
 * Test and bench data: one node's recorded log of attester epochs, as node0 (share 1) of a
 * 4-operator cluster (t = 3) records it when every operator signs — built with the contract
 * types, real threshold keys and real BLS signatures. The expected aggregate of each validator
 * is signed with its whole secret key, not combined from shares: an oracle independent of the
 * code under test. Signing roots are stand-ins (sha256 of the committee's data): the
 * aggregation only compares roots and verifies signatures over them.
 */
export interface RecordedEpochOptions {
  readonly validators: number;
  readonly epochs?: readonly number[];
  readonly slotsPerEpoch?: number;
  readonly committeesPerSlot?: number;
  readonly node?: string;
}

export interface RecordedEpoch {
  readonly events: AnyCohortEvent[];
  readonly pubkeys: readonly Hex[];
  /** Validator pubkey → its group signature per slot (the oracle). */
  readonly expectedSignatures: ReadonlyMap<string, Hex>;
}

export const SELF_SHARE = 1;
const OPERATORS = 4;
const THRESHOLD = 3;
const GENESIS_MS = Date.UTC(2026, 0, 1);
const SECONDS_PER_SLOT = 12;

export async function recordedEpochs(opts: RecordedEpochOptions): Promise<RecordedEpoch> {
  await initBls();
  const slotsPerEpoch = opts.slotsPerEpoch ?? 32;
  const committees = opts.committeesPerSlot ?? 2;
  const node = opts.node ?? 'node0';
  const keys = Array.from({ length: opts.validators }, () => {
    const secret = generateSecretKey();
    const split = splitSecret(secret, { total: OPERATORS, threshold: THRESHOLD });
    return { secret, shares: split.shares, pubkey: toHex(split.groupPublicKey) };
  });
  const events: AnyCohortEvent[] = [];
  const expectedSignatures = new Map<string, Hex>();
  const seq = new Map<string, number>();
  const record = <T extends EventType>(type: T, service: ServiceName, duty: Duty, pubkeys: readonly Hex[], data: EventPayloads[T], atMs: number) => {
    const n = (seq.get(`${type}/${dutyId(duty)}`) ?? 0) + 1;
    seq.set(`${type}/${dutyId(duty)}`, n);
    const event = recordedEvent({
      type,
      service,
      node,
      duty,
      pubkeys,
      data,
      timeMs: GENESIS_MS + duty.slot * SECONDS_PER_SLOT * 1000 + atMs,
      discriminator: String(n),
    });
    events.push(event as unknown as AnyCohortEvent);
  };

  for (const epoch of opts.epochs ?? [1]) {
    const first = epoch * slotsPerEpoch;
    // validator v attests once per epoch, at slot v mod slotsPerEpoch, in committee v mod committees
    const dutiesOf = (slot: number): AttesterDuty[] =>
      keys.flatMap((k, v) => {
        if (v % slotsPerEpoch !== slot - first) return [];
        const committeeIndex = Math.floor(v / slotsPerEpoch) % committees;
        return [{ pubkey: k.pubkey, validatorIndex: v, committeeIndex, committeeLength: 64, committeesAtSlot: committees, validatorCommitteeIndex: Math.floor(v / slotsPerEpoch / committees) % 64, slot }];
      });
    // scheduled at the epoch start (the scheduler asks for the epoch's duties)
    const slots = Array.from({ length: slotsPerEpoch }, (_, i) => first + i);
    for (const slot of slots) {
      const duties = dutiesOf(slot);
      if (duties.length > 0) record('DutyScheduled', 'duty-scheduler', { slot, type: 'attester' }, duties.map((d) => d.pubkey), { duties }, -(slot - first) * SECONDS_PER_SLOT * 1000);
    }
    for (const slot of slots) {
      const duty: Duty = { slot, type: 'attester' };
      const duties = dutiesOf(slot);
      if (duties.length === 0) continue;
      const pubkeys = duties.map((d) => d.pubkey);
      const blockRoot = sha256Hex(`block ${slot}`);
      const byCommittee: Record<string, AttestationDataJson> = {};
      for (const d of duties) {
        byCommittee[String(d.committeeIndex)] ??= {
          slot: String(slot),
          index: String(d.committeeIndex),
          beacon_block_root: blockRoot,
          source: { epoch: String(Math.max(0, epoch - 1)), root: sha256Hex(`checkpoint ${epoch - 1}`) },
          target: { epoch: String(epoch), root: sha256Hex(`checkpoint ${epoch}`) },
        };
      }
      const value = { type: 'attester' as const, byCommittee };
      const hash = valueHash(value);
      const rootOf = (committee: number) => sha256Hex(JSON.stringify(byCommittee[String(committee)]));
      record('UnsignedDataFetched', 'duty-scheduler', duty, pubkeys, { value }, 4000);
      record('ConsensusStarted', 'consensus', duty, pubkeys, { round: 1, leader: (slot + 1) % OPERATORS }, 4001);
      record('DutyDecided', 'consensus', duty, pubkeys, { round: 1, valueHash: hash, value }, 4100);
      record('ProposalApproved', 'slashing-guard', duty, pubkeys, { valueHash: hash }, 4110);
      const roots = duties.map((d) => ({ pubkey: d.pubkey, signingRoot: rootOf(d.committeeIndex) }));
      record('SignaturesExpected', 'aggregator', duty, pubkeys, { threshold: THRESHOLD, totalShares: OPERATORS, selfShareIndex: SELF_SHARE, roots }, 4120);
      for (let c = 0; c < committees; c++) {
        const members = duties.filter((d) => d.committeeIndex === c);
        if (members.length === 0) continue;
        const signingRoot = rootOf(c);
        const partialsOf = (shareIndex: number) =>
          members.map((d) => {
            const key = keys[d.validatorIndex] as (typeof keys)[number];
            return { pubkey: d.pubkey, shareIndex, signingRoot, signature: toHex(sign(key.shares.get(shareIndex) as Uint8Array, fromHex(signingRoot))) };
          });
        const memberKeys = members.map((d) => d.pubkey);
        record('DecidedDataServed', 'signer-gateway', duty, memberKeys, { committeeIndex: c, valueHash: hash }, 4200 + c);
        record('PartialSignatureSubmitted', 'signer-gateway', duty, memberKeys, { partials: partialsOf(SELF_SHARE) }, 4300 + c);
        for (const shareIndex of [2, 3, 4]) {
          const partials = partialsOf(shareIndex).map(({ pubkey, signingRoot: root, signature }) => ({ pubkey, signingRoot: root, signature, valid: true }));
          record('PeerPartialsReceived', 'aggregator', duty, memberKeys, { shareIndex, partials }, 4400 + shareIndex * 10 + c);
          record('PartialSignaturesRecorded', 'aggregator', duty, memberKeys, { shareIndex, count: partials.length }, 4401 + shareIndex * 10 + c);
          if (shareIndex === THRESHOLD) {
            const signatures = members.map((d) => {
              const key = keys[d.validatorIndex] as (typeof keys)[number];
              const signature = toHex(sign(key.secret, fromHex(signingRoot)));
              expectedSignatures.set(`${slot}/${d.pubkey}`, signature);
              return { pubkey: d.pubkey, signature };
            });
            record('SignaturesAggregated', 'aggregator', duty, memberKeys, { signatures }, 4402 + shareIndex * 10 + c);
            record('Broadcast', 'aggregator', duty, memberKeys, { count: signatures.length }, 4500 + c);
          }
        }
      }
    }
  }
  return { events, pubkeys: keys.map((k) => k.pubkey), expectedSignatures };
}

function sha256Hex(text: string): Hex {
  return `0x${createHash('sha256').update(text).digest('hex')}`;
}
