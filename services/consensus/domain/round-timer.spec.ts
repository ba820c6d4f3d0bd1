import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dutyStartDelayNs,
  firstRoundDeadlineNs,
  roundDeadlineNs,
  roundTimeoutNs,
  type TimerDutyType,
} from './round-timer.js';

/**
 * shared/vectors/obol-dv-specs/timer_deadlines.json (Obol distributed-validator-specs,
 * MIT): first-expiry deadlines of the eager double linear timer, integer nanoseconds.
 * JSON numbers above 2^53 lose precision, so the integers are read from the raw text.
 */
interface TimerCase {
  readonly name: string;
  readonly input: {
    readonly genesis_time_nanos: bigint;
    readonly slot_duration_nanos: bigint;
    readonly slot: number;
    readonly duty_type_name: string;
    readonly round: number;
  };
  readonly duty_start_delay_nanos: bigint;
  readonly round_timeout_nanos: bigint;
  readonly deadline_nanos: bigint;
}

function loadCases(): readonly TimerCase[] {
  const text = readFileSync(resolve(process.cwd(), '../shared/vectors/obol-dv-specs/timer_deadlines.json'), 'utf8');
  // Quote every integer of 16+ digits so JSON.parse keeps it exact, then make it a bigint.
  const exact = JSON.parse(text.replace(/(:\s*)(\d{16,})/g, '$1"$2"'), (key, value: unknown) =>
    typeof value === 'string' && /^\d{16,}$/.test(value) ? BigInt(value) : key.endsWith('_nanos') && typeof value === 'number' ? BigInt(value) : value,
  ) as { suite: string; cases: TimerCase[] };
  expect(exact.suite).toBe('timer_deadlines');
  return exact.cases;
}

const DUTY_TYPES: Readonly<Record<string, TimerDutyType>> = {
  PROPOSER: 'proposer',
  ATTESTER: 'attester',
  AGGREGATOR: 'aggregator',
  SYNC_CONTRIBUTION: 'sync_contribution',
  SYNC_MESSAGE: 'sync_message',
  RANDAO: 'randao',
};

describe('eager double linear round timer (timer_deadlines.json)', () => {
  const cases = loadCases();

  it('covers every case of the suite', () => {
    expect(cases.length).toBe(216);
  });

  for (const c of cases) {
    it(c.name, () => {
      const dutyType = DUTY_TYPES[c.input.duty_type_name];
      if (dutyType === undefined) throw new Error(`unknown duty type ${c.input.duty_type_name} in ${c.name}`);
      const timing = { genesisTimeNs: c.input.genesis_time_nanos, slotDurationNs: c.input.slot_duration_nanos };
      expect(dutyStartDelayNs(dutyType, timing.slotDurationNs)).toBe(c.duty_start_delay_nanos);
      expect(roundTimeoutNs(dutyType, c.input.round)).toBe(c.round_timeout_nanos);
      expect(firstRoundDeadlineNs(timing, c.input.slot, dutyType, c.input.round)).toBe(c.deadline_nanos);
    });
  }

  it('a re-armed round (justified PRE-PREPARE) gets its timeout again on top of its first deadline', () => {
    const timing = { genesisTimeNs: 1_000_000_000_000n, slotDurationNs: 12_000_000_000n };
    const first = roundDeadlineNs(timing, 10, 'attester', 2, false);
    expect(first).toBe(1_000_000_000_000n + 120_000_000_000n + 4_000_000_000n + 2_000_000_000n);
    expect(roundDeadlineNs(timing, 10, 'attester', 2, true) - first).toBe(2_000_000_000n);
  });
});
