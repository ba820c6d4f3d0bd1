import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { senderBindingRefusal, shareIndexMap } from './share-index-binding.js';

/** shared/vectors/obol-dv-specs/parsigex_sender_binding.json (Obol distributed-validator-specs, MIT; cases from Charon's dkg tests). */
interface Suite {
  readonly suite: string;
  readonly cases: readonly {
    name: string;
    input: { share_idx_by_peer: Record<string, number>; sender: string; share_idx: number };
    accepted: boolean;
    reason: string | null;
  }[];
  readonly peer_map: readonly {
    name: string;
    input: { peers: string[]; share_idx_by_peer: Record<string, number>; peer_idx: number };
    accepted: boolean;
    reason: string | null;
  }[];
}

const suite = JSON.parse(readFileSync(resolve(process.cwd(), '../shared/vectors/obol-dv-specs/parsigex_sender_binding.json'), 'utf8')) as Suite;

describe('partial signature sender binding (parsigex_sender_binding.json)', () => {
  it('is the suite it claims', () => {
    expect(suite.suite).toBe('parsigex_sender_binding');
    expect([suite.cases.length, suite.peer_map.length]).toEqual([6, 3]);
  });

  for (const c of suite.cases) {
    it(`sender: ${c.name}`, () => {
      const built = shareIndexMap(Object.keys(c.input.share_idx_by_peer), new Map(Object.entries(c.input.share_idx_by_peer)));
      if (!built.ok) throw new Error(`the vector's own peer map was refused: ${built.peers.join(', ')}`);
      const reason = senderBindingRefusal(built.map, c.input.sender, c.input.share_idx);
      expect(reason).toBe(c.reason);
      expect(reason === null).toBe(c.accepted);
    });
  }

  for (const c of suite.peer_map) {
    it(`peer map: ${c.name}`, () => {
      const built = shareIndexMap(c.input.peers, new Map(Object.entries(c.input.share_idx_by_peer)));
      expect(built.ok).toBe(c.accepted);
      expect(built.ok ? null : built.reason).toBe(c.reason);
    });
  }

  it('works on operator indices with gaps (an operator removed): a survivor keeps its own slot', () => {
    const built = shareIndexMap([0, 1, 3], new Map([[0, 1], [1, 2], [3, 4]]));
    if (!built.ok) throw new Error('refused');
    expect(senderBindingRefusal(built.map, 3, 4)).toBeNull();
    expect(senderBindingRefusal(built.map, 3, 3)).toBe('share_idx_mismatch'); // position + 1 would say 3
    expect(senderBindingRefusal(built.map, 2, 3)).toBe('unknown_peer');
  });
});
