import { describe, expect, it } from 'vitest';
import type { Hex } from '#lib/contracts';
import {
  decide,
  emptySlashingState,
  evolve,
  type AttestationAttempt,
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
