import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countRefusal, maxValues, wireSizeRefusal } from './qbft.limits.js';
import { maxJustifications } from './qbft.types.js';

/** shared/vectors/obol-dv-specs/qbft_msg_limits.json (Obol distributed-validator-specs, MIT). */
interface Suite {
  readonly suite: string;
  readonly counts: readonly {
    readonly name: string;
    readonly input: { readonly nodes: number; readonly justification_count: number; readonly value_count: number };
    readonly accepted: boolean;
    readonly reason: string | null;
    readonly max_justifications: number;
    readonly max_values: number;
  }[];
  readonly wire_size: readonly {
    readonly name: string;
    readonly input: { readonly wire_size_bytes: number };
    readonly accepted: boolean;
    readonly reason: string | null;
  }[];
}

const suite = JSON.parse(readFileSync(resolve(process.cwd(), '../shared/vectors/obol-dv-specs/qbft_msg_limits.json'), 'utf8')) as Suite;

describe('QBFT message limits (qbft_msg_limits.json)', () => {
  it('is the suite it claims, with both groups', () => {
    expect(suite.suite).toBe('qbft_msg_limits');
    expect(suite.counts.length).toBe(11);
    expect(suite.wire_size.length).toBe(4);
  });

  for (const c of suite.counts) {
    it(`counts: ${c.name}`, () => {
      expect(maxJustifications(c.input.nodes)).toBe(c.max_justifications);
      expect(maxValues(c.input.justification_count)).toBe(c.max_values);
      const reason = countRefusal(c.input.nodes, c.input.justification_count, c.input.value_count);
      expect(reason).toBe(c.reason);
      expect(reason === null).toBe(c.accepted);
    });
  }

  for (const c of suite.wire_size) {
    it(`wire size: ${c.name}`, () => {
      const reason = wireSizeRefusal(c.input.wire_size_bytes);
      expect(reason).toBe(c.reason);
      expect(reason === null).toBe(c.accepted);
    });
  }
});
