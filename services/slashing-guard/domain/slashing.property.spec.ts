import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Hex } from '#lib/contracts';
import { decide, emptySlashingState, evolveAll, type SlashingCommand, type SlashingEvent, type SlashingState } from './slashing.decider.js';
import { oracleAttestationVerdict, oracleBlockVerdict, verdictText, type OracleAttestation, type OracleBlock } from './eip3076-oracle.fixture.js';

/**
 * Random sequences of attestation and block attempts (and imports) for a few validators over
 * a small range of epochs, slots and roots, so conflicts are frequent. Two properties:
 * 1. the values the guard approved for signing never contain a slashable pair (the consensus
 *    specs' is_slashable_attestation_data; two blocks of one slot with different roots);
 * 2. every verdict equals the one of a brute-force oracle written here from EIP-3076's text,
 *    which keeps plain lists and scans them.
 */
const PUBKEYS: Hex[] = ['0xa1', '0xb2', '0xc3'];
const root = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;

type Att = { pubkey: Hex; sourceEpoch: number; targetEpoch: number; signingRoot: Hex };
type Blk = { pubkey: Hex; slot: number; signingRoot: Hex };
type Imp = OracleAttestation;
type ImpBlk = OracleBlock;

const pubkey = fc.constantFrom(...PUBKEYS);
const epoch = fc.integer({ min: 0, max: 9 });
const someRoot = fc.integer({ min: 0, max: 2 }).map(root);
const att = fc.record({ pubkey, sourceEpoch: epoch, targetEpoch: epoch, signingRoot: someRoot });
const blk = fc.record({ pubkey, slot: fc.integer({ min: 0, max: 12 }), signingRoot: someRoot });
const imp = fc.record({ pubkey, sourceEpoch: epoch, targetEpoch: epoch, signingRoot: fc.option(someRoot, { nil: undefined }) });
const impBlk = fc.record({ pubkey, slot: fc.integer({ min: 0, max: 12 }), signingRoot: fc.option(someRoot, { nil: undefined }) });

const command: fc.Arbitrary<SlashingCommand> = fc.oneof(
  { weight: 5, arbitrary: fc.array(att, { minLength: 1, maxLength: 3 }).map((attempts) => ({ kind: 'RecordAttestations' as const, attempts })) },
  { weight: 3, arbitrary: fc.array(blk, { minLength: 1, maxLength: 3 }).map((attempts) => ({ kind: 'RecordBlocks' as const, attempts })) },
  { weight: 1, arbitrary: fc.array(att, { minLength: 1, maxLength: 2 }).map((attempts) => ({ kind: 'CheckAttestations' as const, attempts })) },
  { weight: 1, arbitrary: fc.array(blk, { minLength: 1, maxLength: 2 }).map((attempts) => ({ kind: 'CheckBlocks' as const, attempts })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ attestations: fc.array(imp, { maxLength: 3 }), blocks: fc.array(impBlk, { maxLength: 2 }) })
      .map((r) => ({ kind: 'ImportHistory' as const, ...r })),
  },
);

/** The oracle (eip3076-oracle.fixture.ts) over the plain lists of what it approved and what was imported. */
class Oracle {
  readonly atts: Imp[] = [];
  readonly blks: ImpBlk[] = [];

  attestation(a: Att): string {
    const verdict = oracleAttestationVerdict(this.atts, a);
    if (verdict === 'ok') this.atts.push(a);
    return verdict;
  }

  block(b: Blk): string {
    const verdict = oracleBlockVerdict(this.blks, b);
    if (verdict === 'ok') this.blks.push(b);
    return verdict;
  }
}

describe('slashing guard decider, property-based against a brute-force oracle', () => {
  it('agrees with the oracle on every verdict and never approves a slashable pair', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 40 }), (commands) => {
        let state: SlashingState = emptySlashingState;
        const oracle = new Oracle();
        const signedAtts: Att[] = [];
        const signedBlks: Blk[] = [];
        for (const cmd of commands) {
          const events = decide(cmd, state);
          switch (cmd.kind) {
            case 'RecordAttestations':
            case 'CheckAttestations': {
              const scratch = cmd.kind === 'CheckAttestations' ? Object.assign(new Oracle(), { atts: [...oracle.atts] }) : oracle;
              const expected = cmd.attempts.map((a) => scratch.attestation(a));
              const actual =
                cmd.kind === 'CheckAttestations'
                  ? (events[0] as Extract<SlashingEvent, { kind: 'AttestationsChecked' }>).verdicts.map(verdictText)
                  : recordVerdicts(cmd.attempts, events, 'AttestationsRecorded', 'AttestationsRefused', state);
              expect(actual).toEqual(expected);
              break;
            }
            case 'RecordBlocks':
            case 'CheckBlocks': {
              const scratch = cmd.kind === 'CheckBlocks' ? Object.assign(new Oracle(), { blks: [...oracle.blks] }) : oracle;
              const expected = cmd.attempts.map((b) => scratch.block(b));
              const actual =
                cmd.kind === 'CheckBlocks'
                  ? (events[0] as Extract<SlashingEvent, { kind: 'BlocksChecked' }>).verdicts.map(verdictText)
                  : recordVerdicts(cmd.attempts, events, 'BlocksRecorded', 'BlocksRefused', state);
              expect(actual).toEqual(expected);
              break;
            }
            case 'ImportHistory':
              oracle.atts.push(...cmd.attestations);
              oracle.blks.push(...cmd.blocks);
              break;
          }
          for (const e of events) {
            if (e.kind === 'AttestationsRecorded') signedAtts.push(...e.records);
            if (e.kind === 'BlocksRecorded') signedBlks.push(...e.records);
          }
          state = evolveAll(state, events);
        }
        expect(slashablePairs(signedAtts, signedBlks)).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * Verdicts of a Record command read back from its events: recorded → ok, refused → reason (in
 * order), otherwise a repeat. Checked against a Check of the same attempts on the same state.
 */
function recordVerdicts(
  attempts: readonly { pubkey: Hex }[],
  events: readonly SlashingEvent[],
  recordedKind: 'AttestationsRecorded' | 'BlocksRecorded',
  refusedKind: 'AttestationsRefused' | 'BlocksRefused',
  state: SlashingState,
): string[] {
  const recorded = events.flatMap((e) => (e.kind === recordedKind ? (e.records as readonly object[]) : []));
  const refusals = events.flatMap((e) => (e.kind === refusedKind ? (e.refusals as readonly { reason: string }[]) : []));
  // the Check of the same attempts on the same state gives each attempt's verdict
  const check = decide(
    recordedKind === 'AttestationsRecorded'
      ? { kind: 'CheckAttestations', attempts: attempts as Att[] }
      : { kind: 'CheckBlocks', attempts: attempts as Blk[] },
    state,
  )[0] as { verdicts: readonly { ok: boolean; repeat?: boolean; reason?: string }[] };
  const verdicts = check.verdicts.map(verdictText);
  // and the Record's events must say the same: its records are the 'ok' ones, its refusals the others
  expect(recorded).toEqual(attempts.filter((_, i) => verdicts[i] === 'ok'));
  expect(refusals.map((r) => r.reason)).toEqual(verdicts.filter((v) => v !== 'ok' && v !== 'repeat'));
  return verdicts;
}

function slashablePairs(atts: readonly Att[], blks: readonly Blk[]): string[] {
  const out: string[] = [];
  for (const a of atts) {
    for (const b of atts) {
      if (a === b || a.pubkey !== b.pubkey) continue;
      if (a.targetEpoch === b.targetEpoch && a.signingRoot !== b.signingRoot) out.push(`double vote ${JSON.stringify([a, b])}`);
      if (a.sourceEpoch < b.sourceEpoch && b.targetEpoch < a.targetEpoch) out.push(`surround ${JSON.stringify([a, b])}`);
    }
  }
  for (const a of blks) {
    for (const b of blks) if (a !== b && a.pubkey === b.pubkey && a.slot === b.slot && a.signingRoot !== b.signingRoot) out.push(`double proposal ${JSON.stringify([a, b])}`);
  }
  return out;
}
