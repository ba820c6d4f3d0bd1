import fc from 'fast-check';
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
  type SlashingCommand,
  type SlashingEvent,
  type SlashingState,
} from './slashing.decider.js';
import { oracleAttestationVerdict, oracleBlockVerdict, verdictText, type OracleAttestation, type OracleBlock } from './eip3076-oracle.fixture.js';

/**
 * The bounded history (validator-history.ts) against a brute-force oracle that keeps every
 * record. Random histories span several windows (epochs and slots advance in jumps), through
 * the decider's Record commands plus imports reaching anywhere, old region included. Then:
 * 1. every attempt with a target (slot) above the watermark gets exactly the oracle's verdict
 *    (ok, repeat, reason); at or below it, a refusal; never an approval the oracle refuses;
 * 2. the state depends on the records only: folded one event at a time, all at once, in random
 *    chunks, or rebuilt from its own rows (what a snapshot keeps), the rows are identical.
 */
const PUBKEYS: Hex[] = ['0xa1', '0xb2'];
const root = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const SLOTS_PER_EPOCH = 32;

type Imp = OracleAttestation;
type ImpBlk = OracleBlock;

/** One step of a validator's life: a jump forward and a vote there, sometimes a proposal, sometimes an import. */
const step = fc.record({
  pubkey: fc.constantFrom(...PUBKEYS),
  jump: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 120 }) }),
  lag: fc.integer({ min: 0, max: 4 }),
  root: fc.integer({ min: 0, max: 2 }),
  propose: fc.boolean(),
  slotInEpoch: fc.integer({ min: 0, max: SLOTS_PER_EPOCH - 1 }),
  /** An import of a few records anywhere at or below the current epoch (the old region too). */
  imported: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.array(
        fc.record({ back: fc.integer({ min: 0, max: 1500 }), span: fc.integer({ min: -1, max: 6 }), root: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }) }),
        { minLength: 1, maxLength: 3 },
      ),
    },
  ),
});

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

const APPROVED = new Set(['ok', 'repeat']);

/** The commands of a random life of both validators, and probes around everything they hold. */
function commandsOf(steps: readonly Step[]): SlashingCommand[] {
  const epoch = new Map<Hex, number>(PUBKEYS.map((pk) => [pk, 0]));
  const commands: SlashingCommand[] = [];
  for (const s of steps) {
    const e = (epoch.get(s.pubkey) ?? 0) + s.jump;
    epoch.set(s.pubkey, e);
    commands.push({ kind: 'RecordAttestations', attempts: [{ pubkey: s.pubkey, sourceEpoch: Math.max(0, e - 1 - s.lag), targetEpoch: e, signingRoot: root(e * 4 + s.root) }] });
    if (s.propose) commands.push({ kind: 'RecordBlocks', attempts: [{ pubkey: s.pubkey, slot: e * SLOTS_PER_EPOCH + s.slotInEpoch, signingRoot: root(e * 4 + s.root + 1) }] });
    if (s.imported) {
      const attestations = s.imported.map((i) => {
        const t = Math.max(0, e - i.back);
        const r = i.root === undefined ? {} : { signingRoot: root(t * 4 + i.root) };
        return { pubkey: s.pubkey, sourceEpoch: Math.max(0, t - Math.max(0, i.span)), targetEpoch: t, ...r };
      });
      const blocks = s.imported.map((i) => ({ pubkey: s.pubkey, slot: Math.max(0, e - i.back) * SLOTS_PER_EPOCH + i.span + 1 }));
      commands.push({ kind: 'ImportHistory', attestations, blocks });
    }
  }
  return commands;
}

/** Attempts near every record the oracle holds (repeats, other roots, shifted sources) and beyond the newest. */
function probesOf(atts: readonly Imp[], blks: readonly ImpBlk[], pick: (n: number) => number): { atts: AttestationAttempt[]; blks: BlockAttempt[] } {
  const outAtts: AttestationAttempt[] = [];
  const outBlks: BlockAttempt[] = [];
  for (let i = 0; i < 40 && atts.length > 0; i++) {
    const r = atts[pick(atts.length)] as Imp;
    const signingRoot = r.signingRoot ?? root(r.targetEpoch * 4);
    const other = root(r.targetEpoch * 4 + 3);
    const shift = pick(9) - 4;
    const far = r.targetEpoch + pick(700);
    outAtts.push(
      { pubkey: r.pubkey, sourceEpoch: r.sourceEpoch, targetEpoch: r.targetEpoch, signingRoot },
      { pubkey: r.pubkey, sourceEpoch: r.sourceEpoch, targetEpoch: r.targetEpoch, signingRoot: other },
      { pubkey: r.pubkey, sourceEpoch: Math.max(0, r.sourceEpoch + shift), targetEpoch: r.targetEpoch + 1, signingRoot: other },
      { pubkey: r.pubkey, sourceEpoch: Math.max(0, r.sourceEpoch + shift), targetEpoch: far, signingRoot: other },
      { pubkey: r.pubkey, sourceEpoch: Math.max(0, far - pick(3)), targetEpoch: far, signingRoot: other },
    );
  }
  for (let i = 0; i < 10 && blks.length > 0; i++) {
    const b = blks[pick(blks.length)] as ImpBlk;
    outBlks.push(
      { pubkey: b.pubkey, slot: b.slot, signingRoot: b.signingRoot ?? root(1) },
      { pubkey: b.pubkey, slot: b.slot + 1 + pick(30_000), signingRoot: root(2) },
    );
  }
  return { atts: outAtts, blks: outBlks };
}

/** Everything a history holds that decisions can depend on. */
function rowsOf(state: SlashingState): unknown {
  return [...state.validators].map(([pubkey, h]) => ({
    pubkey,
    attestations: h.attestations(),
    blocks: h.blocks(),
    prunedTarget: h.prunedTarget,
    prunedSlot: h.prunedSlot,
    minSource: h.minSource,
    minTarget: h.minTarget,
    minSlot: h.minSlot,
  }));
}

describe('bounded history, property-based against a complete brute-force oracle', () => {
  it('answers exactly as the complete strategy above the watermark, refuses at or below it, never approves what it refuses', () => {
    let pruned = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 150, maxLength: 300 }), fc.integer(), (steps, seed) => {
        let rng = seed >>> 0;
        const pick = (n: number): number => {
          rng = (Math.imul(rng, 1_103_515_245) + 12_345) >>> 0;
          return rng % n;
        };
        let state: SlashingState = emptySlashingState;
        const atts: Imp[] = [];
        const blks: ImpBlk[] = [];
        const judge = (s: SlashingState, probes: { atts: AttestationAttempt[]; blks: BlockAttempt[] }): void => {
          for (const a of probes.atts) {
            const [checked] = decide({ kind: 'CheckAttestations', attempts: [a] }, s) as [Extract<SlashingEvent, { kind: 'AttestationsChecked' }>];
            const actual = verdictText(checked.verdicts[0] as { ok: boolean });
            const expected = oracleAttestationVerdict(atts, a);
            const watermark = s.validators.get(a.pubkey)?.prunedTarget ?? -Infinity;
            if (a.targetEpoch > watermark) expect({ a, actual }).toEqual({ a, actual: expected });
            else expect({ a, refused: !APPROVED.has(actual) }).toEqual({ a, refused: true });
            if (!APPROVED.has(expected)) expect({ a, actual, approved: APPROVED.has(actual) }).toEqual({ a, actual, approved: false });
          }
          for (const b of probes.blks) {
            const [checked] = decide({ kind: 'CheckBlocks', attempts: [b] }, s) as [Extract<SlashingEvent, { kind: 'BlocksChecked' }>];
            const actual = verdictText(checked.verdicts[0] as { ok: boolean });
            const expected = oracleBlockVerdict(blks, b);
            const watermark = s.validators.get(b.pubkey)?.prunedSlot ?? -Infinity;
            if (b.slot > watermark) expect({ b, actual }).toEqual({ b, actual: expected });
            else expect({ b, refused: !APPROVED.has(actual) }).toEqual({ b, refused: true });
          }
        };
        for (const [i, cmd] of commandsOf(steps).entries()) {
          // the commands themselves are attempts too: judged as the probes are
          if (cmd.kind === 'RecordAttestations') judge(state, { atts: [...cmd.attempts], blks: [] });
          if (cmd.kind === 'RecordBlocks') judge(state, { atts: [], blks: [...cmd.attempts] });
          const events = decide(cmd, state);
          // the oracle holds what the guard recorded (all of it, never pruned)
          for (const e of events) {
            if (e.kind === 'AttestationsRecorded') atts.push(...e.records);
            if (e.kind === 'BlocksRecorded') blks.push(...e.records);
            if (e.kind === 'HistoryImported') atts.push(...e.attestations), blks.push(...e.blocks);
          }
          state = evolveAll(state, events);
          if (i % 50 === 49) judge(state, probesOf(atts, blks, pick));
        }
        judge(state, probesOf(atts, blks, pick));
        if ([...state.validators.values()].some((h) => h.prunedTarget !== -Infinity)) pruned++;
        // bounded: a validator's rows cover at most the window and one step of targets, plus the watermark
        for (const h of state.validators.values()) expect(new Set(h.attestations().map((r) => r.targetEpoch)).size).toBeLessThanOrEqual(HISTORY_WINDOW_EPOCHS + 64 + 1);
      }),
      { numRuns: 100 },
    );
    // the histories really spanned several windows
    expect(pruned).toBeGreaterThan(50);
  }, 60_000);

  it('prunes as a function of the records only: any batching, or a rebuild from its own rows, gives the same rows', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 100, maxLength: 300 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), (steps, cuts) => {
        let state: SlashingState = emptySlashingState;
        const all: SlashingEvent[] = [];
        for (const cmd of commandsOf(steps)) {
          const events = decide(cmd, state);
          all.push(...events);
          state = evolveAll(state, events);
        }
        const oneByOne = all.reduce(evolve, emptySlashingState);
        const atOnce = evolveAll(emptySlashingState, all);
        let chunked = emptySlashingState;
        for (let at = 0, c = 0; at < all.length; c++) {
          const size = cuts[c % cuts.length] as number;
          chunked = evolveAll(chunked, all.slice(at, at + size));
          at += size;
        }
        // what a snapshot keeps is the rows: rebuilt from them, the history is the same
        const rebuilt: SlashingState = {
          validators: new Map([...state.validators].map(([pk, h]) => [pk, ValidatorHistory.empty.withAttestations(h.attestations()).withBlocks(h.blocks())])),
        };
        expect(rowsOf(oneByOne)).toEqual(rowsOf(state));
        expect(rowsOf(atOnce)).toEqual(rowsOf(state));
        expect(rowsOf(chunked)).toEqual(rowsOf(state));
        expect(rowsOf(rebuilt)).toEqual(rowsOf(state));
      }),
      { numRuns: 100 },
    );
  });
});
