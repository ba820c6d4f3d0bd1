import { describe, expect, it } from 'vitest';
import type { Hex } from '#lib/contracts';
import {
  decide,
  emptySlashingState,
  evolve,
  evolveAll,
  HISTORY_WINDOW_EPOCHS,
  ValidatorHistory,
  type AttestationAttempt,
  type BlockAttempt,
  type ImportedAttestation,
  type ImportedBlock,
  type SlashingCommand,
  type SlashingEvent,
  type SlashingState,
} from './slashing.decider.js';

const A: Hex = '0xaa';
const B: Hex = '0xbb';
const root = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const att = (pubkey: Hex, sourceEpoch: number, targetEpoch: number, r = targetEpoch): AttestationAttempt => ({
  pubkey,
  sourceEpoch,
  targetEpoch,
  signingRoot: root(r),
});

/** given(recorded attestations).when(command).then(events) */
function given(...recorded: AttestationAttempt[]) {
  const state: SlashingState = evolve(emptySlashingState, { kind: 'AttestationsRecorded', records: recorded });
  return {
    when: (command: SlashingCommand) => ({
      then: (expected: readonly SlashingEvent[]) => expect(decide(command, state)).toEqual(expected),
    }),
  };
}
const record = (...attempts: AttestationAttempt[]): SlashingCommand => ({ kind: 'RecordAttestations', attempts });

describe('slashing guard decider (attestations)', () => {
  it('records a first attestation', () => {
    given().when(record(att(A, 0, 1))).then([{ kind: 'AttestationsRecorded', records: [att(A, 0, 1)] }]);
  });

  it('treats the identical signing root as an idempotent repeat: no new record, no refusal', () => {
    given(att(A, 0, 1)).when(record(att(A, 0, 1))).then([]);
  });

  it('refuses a double vote: same target, different signing root', () => {
    given(att(A, 0, 1))
      .when(record(att(A, 0, 1, 99)))
      .then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'double_vote' }] }]);
  });

  it('refuses a surrounding vote', () => {
    given(att(A, 2, 3))
      .when(record(att(A, 1, 4)))
      .then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'surrounds_previous' }] }]);
  });

  it('refuses a surrounded vote', () => {
    given(att(A, 1, 5))
      .when(record(att(A, 2, 4)))
      .then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'surrounded_by_previous' }] }]);
  });

  it('refuses a target at or below the lowest recorded target', () => {
    given(att(A, 3, 5))
      .when(record(att(A, 3, 4)))
      .then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'target_at_or_below_lowest' }] }]);
  });

  it('refuses source after target', () => {
    given()
      .when(record(att(A, 5, 4)))
      .then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'source_after_target' }] }]);
  });

  it('judges validators independently within one duty set', () => {
    given(att(A, 0, 1))
      .when(record(att(A, 0, 1, 7), att(B, 0, 1)))
      .then([
        { kind: 'AttestationsRecorded', records: [att(B, 0, 1)] },
        { kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'double_vote' }] },
      ]);
  });

  it('refuses a conflict inside one command as if the first had been recorded', () => {
    given()
      .when(record(att(A, 0, 1), att(A, 0, 1, 8)))
      .then([
        { kind: 'AttestationsRecorded', records: [att(A, 0, 1)] },
        { kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'double_vote' }] },
      ]);
  });

  it('checks read-only: a check changes no state, so a later round may check another value', () => {
    const state = evolve(emptySlashingState, { kind: 'AttestationsRecorded', records: [att(A, 0, 1)] });
    const events = decide({ kind: 'CheckAttestations', attempts: [att(A, 1, 2)] }, state);
    expect(events).toEqual([{ kind: 'AttestationsChecked', verdicts: [{ pubkey: A, ok: true, repeat: false }] }]);
    const after = events.reduce(evolve, state);
    expect(after).toBe(state);
    expect(decide({ kind: 'CheckAttestations', attempts: [att(A, 1, 2, 5)] }, after)).toEqual([
      { kind: 'AttestationsChecked', verdicts: [{ pubkey: A, ok: true, repeat: false }] },
    ]);
  });
});

const blk = (pubkey: Hex, slot: number, r = slot): BlockAttempt => ({ pubkey, slot, signingRoot: root(r) });
const recordBlocks = (...attempts: BlockAttempt[]): SlashingCommand => ({ kind: 'RecordBlocks', attempts });

/** given(facts).when(command).then(events), for any mix of facts. */
function givenFacts(...facts: SlashingEvent[]) {
  const state = evolveAll(emptySlashingState, facts);
  return {
    when: (command: SlashingCommand) => ({
      then: (expected: readonly SlashingEvent[]) => expect(decide(command, state)).toEqual(expected),
    }),
  };
}
const imported = (attestations: ImportedAttestation[], blocks: ImportedBlock[] = []): SlashingEvent => ({ kind: 'HistoryImported', attestations, blocks });
const blocksRecorded = (...records: BlockAttempt[]): SlashingEvent => ({ kind: 'BlocksRecorded', records });

describe('slashing guard decider (blocks)', () => {
  it('records a first block', () => {
    givenFacts().when(recordBlocks(blk(A, 10))).then([{ kind: 'BlocksRecorded', records: [blk(A, 10)] }]);
  });

  it('re-approves the identical signing root idempotently', () => {
    givenFacts(blocksRecorded(blk(A, 10))).when(recordBlocks(blk(A, 10))).then([]);
    givenFacts(blocksRecorded(blk(A, 10))).when({ kind: 'CheckBlocks', attempts: [blk(A, 10)] }).then([
      { kind: 'BlocksChecked', verdicts: [{ pubkey: A, ok: true, repeat: true }] },
    ]);
  });

  it('refuses a double proposal: same slot, different signing root', () => {
    givenFacts(blocksRecorded(blk(A, 10)))
      .when(recordBlocks(blk(A, 10, 11)))
      .then([{ kind: 'BlocksRefused', refusals: [{ pubkey: A, reason: 'double_proposal' }] }]);
  });

  it('refuses a slot at or below the lowest slot, but not one between recorded slots (complete strategy)', () => {
    const history = blocksRecorded(blk(A, 10), blk(A, 20));
    givenFacts(history).when(recordBlocks(blk(A, 9))).then([{ kind: 'BlocksRefused', refusals: [{ pubkey: A, reason: 'slot_at_or_below_lowest' }] }]);
    givenFacts(history).when(recordBlocks(blk(A, 15))).then([{ kind: 'BlocksRecorded', records: [blk(A, 15)] }]);
  });

  it('never re-approves a block imported without a signing root, whatever the root', () => {
    givenFacts(imported([], [{ pubkey: A, slot: 10 }]))
      .when(recordBlocks(blk(A, 10)))
      .then([{ kind: 'BlocksRefused', refusals: [{ pubkey: A, reason: 'double_proposal' }] }]);
  });

  it('keeps blocks and attestations apart', () => {
    givenFacts(blocksRecorded(blk(A, 100))).when(record(att(A, 0, 1))).then([{ kind: 'AttestationsRecorded', records: [att(A, 0, 1)] }]);
  });

  it('refuses a conflict inside one command as if the first had been recorded', () => {
    givenFacts()
      .when(recordBlocks(blk(A, 5), blk(A, 5, 6), blk(A, 4)))
      .then([
        { kind: 'BlocksRecorded', records: [blk(A, 5)] },
        {
          kind: 'BlocksRefused',
          refusals: [
            { pubkey: A, reason: 'double_proposal' },
            { pubkey: A, reason: 'slot_at_or_below_lowest' },
          ],
        },
      ]);
  });
});

describe('slashing guard decider (imported history and watermarks)', () => {
  it('never re-approves an attestation imported without a signing root', () => {
    givenFacts(imported([{ pubkey: A, sourceEpoch: 1, targetEpoch: 2 }]))
      .when(record(att(A, 1, 2)))
      .then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'double_vote' }] }]);
  });

  it('takes the lowest source and target from imported data', () => {
    const history = imported([{ pubkey: A, sourceEpoch: 10, targetEpoch: 20 }]);
    givenFacts(history).when(record(att(A, 9, 30))).then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'surrounds_previous' }] }]);
    givenFacts(imported([{ pubkey: A, sourceEpoch: 10, targetEpoch: 11 }]))
      .when(record(att(A, 9, 30)))
      .then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'surrounds_previous' }] }]);
    givenFacts(imported([{ pubkey: A, sourceEpoch: 10, targetEpoch: 10 }]))
      .when(record(att(A, 9, 10)))
      .then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'double_vote' }] }]);
    givenFacts(history).when(record(att(A, 9, 15))).then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'source_below_lowest' }] }]);
    givenFacts(history).when(record(att(A, 10, 20))).then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'double_vote' }] }]);
    givenFacts(history).when(record(att(A, 12, 19))).then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'surrounded_by_previous' }] }]);
    givenFacts(history).when(record(att(A, 10, 19))).then([{ kind: 'AttestationsRefused', refusals: [{ pubkey: A, reason: 'target_at_or_below_lowest' }] }]);
    givenFacts(history).when(record(att(A, 10, 21))).then([{ kind: 'AttestationsRecorded', records: [att(A, 10, 21)] }]);
  });

  it('approves an exact repeat at the lowest target (the watermark exception)', () => {
    givenFacts(imported([{ pubkey: A, sourceEpoch: 10, targetEpoch: 20, signingRoot: root(20) }]))
      .when({ kind: 'CheckAttestations', attempts: [att(A, 10, 20)] })
      .then([{ kind: 'AttestationsChecked', verdicts: [{ pubkey: A, ok: true, repeat: true }] }]);
  });

  it('imports merge: exact duplicates already known (or repeated in the file) are dropped, new ones kept', () => {
    const known = imported([{ pubkey: A, sourceEpoch: 1, targetEpoch: 2 }], [{ pubkey: A, slot: 3, signingRoot: root(3) }]);
    givenFacts(known)
      .when({
        kind: 'ImportHistory',
        attestations: [
          { pubkey: A, sourceEpoch: 1, targetEpoch: 2 },
          { pubkey: A, sourceEpoch: 1, targetEpoch: 2, signingRoot: root(2) },
          { pubkey: B, sourceEpoch: 4, targetEpoch: 5 },
          { pubkey: B, sourceEpoch: 4, targetEpoch: 5 },
        ],
        blocks: [{ pubkey: A, slot: 3, signingRoot: root(3) }, { pubkey: A, slot: 4 }],
      })
      .then([
        {
          kind: 'HistoryImported',
          attestations: [
            { pubkey: A, sourceEpoch: 1, targetEpoch: 2, signingRoot: root(2) },
            { pubkey: B, sourceEpoch: 4, targetEpoch: 5 },
          ],
          blocks: [{ pubkey: A, slot: 4 }],
        },
      ]);
    givenFacts(known).when({ kind: 'ImportHistory', attestations: [{ pubkey: A, sourceEpoch: 1, targetEpoch: 2 }], blocks: [] }).then([]);
  });
});

describe('validator history index', () => {
  it('keeps an older version unchanged after a newer one appended, and branches by copying', () => {
    const v1 = ValidatorHistory.empty.withAttestations([{ sourceEpoch: 0, targetEpoch: 1, signingRoot: root(1) }]);
    const v2 = v1.withAttestations([{ sourceEpoch: 1, targetEpoch: 2, signingRoot: root(2) }]);
    const branch = v1.withAttestations([{ sourceEpoch: 1, targetEpoch: 2, signingRoot: root(9) }]);
    expect(v1.attestations()).toEqual([{ sourceEpoch: 0, targetEpoch: 1, signingRoot: root(1) }]);
    expect(v1.rootsAtTarget(2)).toEqual([]);
    expect(v2.rootsAtTarget(2)).toEqual([root(2)]);
    expect(branch.rootsAtTarget(2)).toEqual([root(9)]);
    expect(v2.attestationCount).toBe(2);
  });

  it('finds surrounds behind the fast path (attempts below the highest source or target)', () => {
    const h = ValidatorHistory.empty.withAttestations([
      { sourceEpoch: 5, targetEpoch: 6 },
      { sourceEpoch: 10, targetEpoch: 11 },
    ]);
    expect(h.surroundConflict(4, 7)).toBe('surrounds_previous');
    expect(h.surroundConflict(6, 7)).toBeUndefined();
    expect(h.surroundConflict(11, 12)).toBeUndefined();
    expect(h.surroundConflict(9, 12)).toBe('surrounds_previous');
    const wide = ValidatorHistory.empty.withAttestations([{ sourceEpoch: 1, targetEpoch: 20 }]);
    expect(wide.surroundConflict(2, 19)).toBe('surrounded_by_previous');
  });
});

describe('bounded history (HISTORY_WINDOW_EPOCHS)', () => {
  // 600 epochs of one vote each: the cutoff is floor((600 - 512) / 64) * 64 = 64
  const votes = Array.from({ length: 600 }, (_, i) => att(A, i, i + 1));
  const check = (...attempts: AttestationAttempt[]): SlashingCommand => ({ kind: 'CheckAttestations', attempts });

  it('folds the records older than the window into one rootless watermark, visible to export', () => {
    const history = evolve(emptySlashingState, { kind: 'AttestationsRecorded', records: votes }).validators.get(A);
    expect(history?.prunedTarget).toBe(64);
    expect(history?.attestations()[0]).toEqual({ sourceEpoch: 63, targetEpoch: 64 });
    expect(history?.attestations().slice(1)).toEqual(votes.slice(64).map(({ pubkey: _pk, ...r }) => r));
    expect(HISTORY_WINDOW_EPOCHS).toBe(512);
  });

  it('answers as the complete strategy above the watermark', () => {
    given(...votes)
      .when(check(att(A, 599, 600), att(A, 599, 600, 7), att(A, 600, 601), att(A, 62, 601), att(A, 63, 601), att(A, 64, 65), att(A, 63, 65, 7)))
      .then([
        {
          kind: 'AttestationsChecked',
          verdicts: [
            { pubkey: A, ok: true, repeat: true },
            { pubkey: A, ok: false, reason: 'double_vote' },
            { pubkey: A, ok: true, repeat: false },
            // surrounds the pruned (62, 63) and (63, 64): the watermark's source says so
            { pubkey: A, ok: false, reason: 'surrounds_previous' },
            { pubkey: A, ok: false, reason: 'surrounds_previous' },
            { pubkey: A, ok: true, repeat: true },
            { pubkey: A, ok: false, reason: 'double_vote' },
          ],
        },
      ]);
  });

  it('refuses everything at or below the watermark, an exact repeat that old included (minimal strategy there)', () => {
    given(...votes)
      .when(check(att(A, 63, 64), att(A, 30, 31), att(A, 0, 1), att(A, 63, 63, 7)))
      .then([
        {
          kind: 'AttestationsChecked',
          verdicts: [
            // the watermark has no root: nothing at its target matches it
            { pubkey: A, ok: false, reason: 'double_vote' },
            // the watermark is the lowest row now: the minimal strategy's rules
            { pubkey: A, ok: false, reason: 'source_below_lowest' },
            { pubkey: A, ok: false, reason: 'source_below_lowest' },
            { pubkey: A, ok: false, reason: 'target_at_or_below_lowest' },
          ],
        },
      ]);
  });

  it('keeps blocks of a window of slots; older ones become a rootless watermark slot', () => {
    const blocks = [blk(A, 10), blk(A, 20_000), blk(A, 21_000)];
    const history = evolve(emptySlashingState, { kind: 'BlocksRecorded', records: blocks }).validators.get(A);
    // cutoff floor((21000 - 16384) / 2048) * 2048 = 4096
    expect(history?.blocks()).toEqual([{ slot: 10 }, { slot: 20_000, signingRoot: root(20_000) }, { slot: 21_000, signingRoot: root(21_000) }]);
    expect(history?.prunedSlot).toBe(10);
    givenFacts(blocksRecorded(...blocks))
      .when({ kind: 'CheckBlocks', attempts: [blk(A, 10), blk(A, 11), blk(A, 20_000), blk(A, 20_500)] })
      .then([
        {
          kind: 'BlocksChecked',
          verdicts: [
            { pubkey: A, ok: false, reason: 'double_proposal' },
            { pubkey: A, ok: true, repeat: false },
            { pubkey: A, ok: true, repeat: true },
            { pubkey: A, ok: true, repeat: false },
          ],
        },
      ]);
  });
});
