import type { Hex } from '#lib/contracts';

/**
 * Bounded history. A validator keeps every record of its last HISTORY_WINDOW_EPOCHS epochs
 * below its own highest target (512: the figure Lighthouse's slashing database prunes to).
 * Older records are folded into ONE watermark record without a signing root:
 * source = the highest source among them, target = the highest target among them.
 *
 * Why the answers stay EIP-3076's complete strategy above the watermark. Let W = (S, T) be the
 * watermark, every pruned record (s', t') has s' <= S and t' <= T, one has s' = S, one t' = T,
 * and every kept record has a target above T. Take an attempt (s, t) with t > T:
 * - double vote: no pruned record has target t (t' <= T < t), W neither: only kept rows decide;
 * - it surrounds a pruned record ⇔ s < s' for some pruned s' (t > t' holds for all) ⇔ s < S
 *   ⇔ it surrounds W (t > T);
 * - a pruned record (or W) surrounds it only with t < t' <= T: impossible;
 * - lowest source: if s < S the attempt surrounds W and a pruned record, refused as a surround
 *   in both histories (a rule checked before the lowest rules); if s >= S it is at or above the
 *   lowest source of both (S is a source in both). Lowest target: at most T < t in both.
 * So every verdict (ok, and the reason) is the complete strategy's. An attempt with t <= T
 * cannot be judged completely (its own target may have been pruned): it is refused — the
 * EIP's minimal strategy ("target at or below the lowest") for that region; an exact repeat
 * that old is refused instead of approved again. Never an approval the complete strategy
 * would refuse.
 *
 * Blocks likewise, with a window in slots: HISTORY_WINDOW_EPOCHS epochs of 32 slots (the
 * mainnet preset). The domain does not know the network's slots per epoch; a preset with fewer
 * (minimal: 8) keeps more epochs of blocks, which only widens the exactly judged region.
 *
 * Pruning is a function of the records alone, never of how they were batched: the pruned
 * region is "target <= cutoff(highest target)", with the cutoff moving in steps of
 * PRUNE_STEP_EPOCHS. A fold from scratch and a fold from a snapshot reach identical rows. Each
 * step rewrites the validator's rows once (~600): amortised O(1) per record.
 */
export const HISTORY_WINDOW_EPOCHS = 512;
export const PRUNE_STEP_EPOCHS = 64;
/** The mainnet preset's SLOTS_PER_EPOCH: the block window in slots. */
const WINDOW_SLOTS_PER_EPOCH = 32;
export const HISTORY_WINDOW_SLOTS = HISTORY_WINDOW_EPOCHS * WINDOW_SLOTS_PER_EPOCH;
export const PRUNE_STEP_SLOTS = PRUNE_STEP_EPOCHS * WINDOW_SLOTS_PER_EPOCH;

/** Everything pruning depends on: a snapshot records it, and is used only with the same figures. */
export const HISTORY_PRUNING = {
  windowEpochs: HISTORY_WINDOW_EPOCHS,
  stepEpochs: PRUNE_STEP_EPOCHS,
  windowSlots: HISTORY_WINDOW_SLOTS,
  stepSlots: PRUNE_STEP_SLOTS,
} as const;

/** Highest epoch (slot) of the pruned region when the highest is `highest`; -1 = nothing pruned. */
function cutoff(highest: number, window: number, step: number): number {
  return highest < window ? -1 : Math.floor((highest - window) / step) * step;
}
const attestationCutoff = (maxTarget: number): number => cutoff(maxTarget, HISTORY_WINDOW_EPOCHS, PRUNE_STEP_EPOCHS);
const blockCutoff = (maxSlot: number): number => cutoff(maxSlot, HISTORY_WINDOW_SLOTS, PRUNE_STEP_SLOTS);

/** One signed (or imported) attestation. */
export interface AttestationRecord {
  readonly sourceEpoch: number;
  readonly targetEpoch: number;
  /** Absent when imported without one: then it matches no root (EIP-3076). */
  readonly signingRoot?: Hex;
}

/** One signed (or imported) block proposal. */
export interface BlockRecord {
  readonly slot: number;
  /** Absent when imported without one: then it matches no root (EIP-3076). */
  readonly signingRoot?: Hex;
}

/**
 * Columns shared between versions of one validator's history. They only grow: a version
 * sees its first `count` rows, so an older version stays valid after a newer one appended.
 * Appending to a version that is not the newest copies the columns first (copy on branch);
 * the guard and the stream fold always extend the newest, so appends cost O(1).
 */
/** One row number per key is the rule; a plain number saves an array per record (10M records at scale). */
function addRow(index: Map<number, number | number[]>, key: number, row: number): void {
  const rows = index.get(key);
  if (rows === undefined) index.set(key, row);
  else if (typeof rows === 'number') index.set(key, [rows, row]);
  else rows.push(row);
}

function rowsOf(index: Map<number, number | number[]>, key: number): readonly number[] {
  const rows = index.get(key);
  return rows === undefined ? [] : typeof rows === 'number' ? [rows] : rows;
}

class AttestationColumns {
  readonly sources: number[] = [];
  readonly targets: number[] = [];
  readonly roots: (Hex | undefined)[] = [];
  /** target epoch → row number, or row numbers when an imported file held several for one target. */
  readonly byTarget = new Map<number, number | number[]>();

  push(record: AttestationRecord): void {
    const row = this.targets.length;
    this.sources.push(record.sourceEpoch);
    this.targets.push(record.targetEpoch);
    this.roots.push(record.signingRoot);
    addRow(this.byTarget, record.targetEpoch, row);
  }

  prefix(count: number): AttestationColumns {
    const copy = new AttestationColumns();
    for (let i = 0; i < count; i++) copy.push(this.record(i));
    return copy;
  }

  /**
   * New columns: the first `count` rows and `added`, every one with a target at or below
   * `cutoff` folded into one watermark row (highest source, highest target, no root) first.
   */
  pruned(count: number, added: readonly AttestationRecord[], cutoff: number): AttestationColumns {
    let source = -Infinity;
    let target = -Infinity;
    const kept: AttestationRecord[] = [];
    const take = (record: AttestationRecord): void => {
      if (record.targetEpoch > cutoff) kept.push(record);
      else {
        source = Math.max(source, record.sourceEpoch);
        target = Math.max(target, record.targetEpoch);
      }
    };
    for (let i = 0; i < count; i++) take(this.record(i));
    for (const record of added) take(record);
    const copy = new AttestationColumns();
    if (target !== -Infinity) copy.push({ sourceEpoch: source, targetEpoch: target });
    for (const record of kept) copy.push(record);
    return copy;
  }

  record(row: number): AttestationRecord {
    const signingRoot = this.roots[row];
    const base = { sourceEpoch: this.sources[row] as number, targetEpoch: this.targets[row] as number };
    return signingRoot === undefined ? base : { ...base, signingRoot };
  }
}

class BlockColumns {
  readonly slots: number[] = [];
  readonly roots: (Hex | undefined)[] = [];
  readonly bySlot = new Map<number, number | number[]>();

  push(record: BlockRecord): void {
    const row = this.slots.length;
    this.slots.push(record.slot);
    this.roots.push(record.signingRoot);
    addRow(this.bySlot, record.slot, row);
  }

  prefix(count: number): BlockColumns {
    const copy = new BlockColumns();
    for (let i = 0; i < count; i++) copy.push(this.record(i));
    return copy;
  }

  /** As AttestationColumns.pruned: blocks at or below `cutoff` become one rootless row at the highest of their slots. */
  pruned(count: number, added: readonly BlockRecord[], cutoff: number): BlockColumns {
    let slot = -Infinity;
    const kept: BlockRecord[] = [];
    const take = (record: BlockRecord): void => {
      if (record.slot > cutoff) kept.push(record);
      else slot = Math.max(slot, record.slot);
    };
    for (let i = 0; i < count; i++) take(this.record(i));
    for (const record of added) take(record);
    const copy = new BlockColumns();
    if (slot !== -Infinity) copy.push({ slot });
    for (const record of kept) copy.push(record);
    return copy;
  }

  record(row: number): BlockRecord {
    const signingRoot = this.roots[row];
    return signingRoot === undefined ? { slot: this.slots[row] as number } : { slot: this.slots[row] as number, signingRoot };
  }
}

interface Bounds {
  readonly minSource: number;
  readonly maxSource: number;
  readonly minTarget: number;
  readonly maxTarget: number;
}

const NO_BOUNDS: Bounds = { minSource: Infinity, maxSource: -Infinity, minTarget: Infinity, maxTarget: -Infinity };

function attestationBounds(columns: AttestationColumns, from: number, bounds: Bounds): Bounds {
  let { minSource, maxSource, minTarget, maxTarget } = bounds;
  for (let row = from; row < columns.targets.length; row++) {
    const s = columns.sources[row] as number;
    const t = columns.targets[row] as number;
    minSource = Math.min(minSource, s);
    maxSource = Math.max(maxSource, s);
    minTarget = Math.min(minTarget, t);
    maxTarget = Math.max(maxTarget, t);
  }
  return { minSource, maxSource, minTarget, maxTarget };
}

const NONE: readonly (Hex | undefined)[] = [];

export type SurroundConflict = 'surrounds_previous' | 'surrounded_by_previous';

/**
 * What one validator signed (or imported) under one genesis validators root, bounded (see
 * HISTORY_WINDOW_EPOCHS), indexed for the EIP-3076 checks: rows per target epoch and per slot,
 * lowest/highest source and target, lowest slot — over the rows, the watermark included.
 * Observably immutable: `withAttestations`/`withBlocks` return a new version and leave this
 * one as it was.
 */
export class ValidatorHistory {
  static readonly empty = new ValidatorHistory(new AttestationColumns(), 0, NO_BOUNDS, -Infinity, new BlockColumns(), 0, Infinity, -Infinity, -Infinity);

  private constructor(
    private readonly atts: AttestationColumns,
    private readonly attCount: number,
    private readonly bounds: Bounds,
    /** Target of the watermark row (row 0); -Infinity when nothing was pruned. */
    readonly prunedTarget: number,
    private readonly blks: BlockColumns,
    private readonly blkCount: number,
    /** Lowest slot of any block row; Infinity when none. */
    readonly minSlot: number,
    /** Highest slot of any block row; -Infinity when none. */
    private readonly maxSlot: number,
    /** Slot of the watermark block row (row 0); -Infinity when nothing was pruned. */
    readonly prunedSlot: number,
  ) {}

  /** Rows, the watermark included. */
  get attestationCount(): number {
    return this.attCount;
  }
  get blockCount(): number {
    return this.blkCount;
  }
  /** Lowest source epoch of any attestation row; Infinity when none. */
  get minSource(): number {
    return this.bounds.minSource;
  }
  /** Lowest target epoch of any attestation row; Infinity when none. */
  get minTarget(): number {
    return this.bounds.minTarget;
  }

  withAttestations(records: readonly AttestationRecord[]): ValidatorHistory {
    if (records.length === 0) return this;
    let maxTarget = this.bounds.maxTarget;
    let lowestAdded = Infinity;
    for (const record of records) {
      maxTarget = Math.max(maxTarget, record.targetEpoch);
      lowestAdded = Math.min(lowestAdded, record.targetEpoch);
    }
    const cut = attestationCutoff(maxTarget);
    if (cut !== attestationCutoff(this.bounds.maxTarget) || lowestAdded <= cut) {
      // the cutoff moved, or a record falls below it: rewrite the rows once
      const columns = this.atts.pruned(this.attCount, records, cut);
      // kept rows are above the cutoff: a first row at or below it is the watermark
      const first = columns.targets[0] ?? Infinity;
      const bounds = attestationBounds(columns, 0, NO_BOUNDS);
      return new ValidatorHistory(columns, columns.targets.length, bounds, first <= cut ? first : -Infinity, this.blks, this.blkCount, this.minSlot, this.maxSlot, this.prunedSlot);
    }
    const columns = this.attCount === this.atts.targets.length ? this.atts : this.atts.prefix(this.attCount);
    const from = columns.targets.length;
    for (const record of records) columns.push(record);
    const bounds = attestationBounds(columns, from, this.bounds);
    return new ValidatorHistory(columns, columns.targets.length, bounds, this.prunedTarget, this.blks, this.blkCount, this.minSlot, this.maxSlot, this.prunedSlot);
  }

  withBlocks(records: readonly BlockRecord[]): ValidatorHistory {
    if (records.length === 0) return this;
    let maxSlot = this.maxSlot;
    let lowestAdded = Infinity;
    for (const record of records) {
      maxSlot = Math.max(maxSlot, record.slot);
      lowestAdded = Math.min(lowestAdded, record.slot);
    }
    const cut = blockCutoff(maxSlot);
    if (cut !== blockCutoff(this.maxSlot) || lowestAdded <= cut) {
      const columns = this.blks.pruned(this.blkCount, records, cut);
      const first = columns.slots[0] ?? Infinity;
      const minSlot = columns.slots.reduce((min, slot) => Math.min(min, slot), Infinity);
      return new ValidatorHistory(this.atts, this.attCount, this.bounds, this.prunedTarget, columns, columns.slots.length, minSlot, maxSlot, first <= cut ? first : -Infinity);
    }
    const columns = this.blkCount === this.blks.slots.length ? this.blks : this.blks.prefix(this.blkCount);
    let minSlot = this.minSlot;
    for (const record of records) {
      columns.push(record);
      minSlot = Math.min(minSlot, record.slot);
    }
    return new ValidatorHistory(this.atts, this.attCount, this.bounds, this.prunedTarget, columns, columns.slots.length, minSlot, maxSlot, this.prunedSlot);
  }

  /** Signing roots recorded for a target epoch (undefined = imported without a root, or the watermark). */
  rootsAtTarget(targetEpoch: number): readonly (Hex | undefined)[] {
    const rows = this.atts.byTarget.get(targetEpoch);
    if (rows === undefined) return NONE;
    if (typeof rows === 'number') return rows < this.attCount ? [this.atts.roots[rows]] : NONE;
    return rows.filter((row) => row < this.attCount).map((row) => this.atts.roots[row]);
  }

  /** Is exactly this attestation (source, target, root or its absence) a row? (A pruned record no longer is.) */
  hasAttestation(record: AttestationRecord): boolean {
    const rows = rowsOf(this.atts.byTarget, record.targetEpoch);
    return rows.some((row) => row < this.attCount && this.atts.sources[row] === record.sourceEpoch && this.atts.roots[row] === record.signingRoot);
  }

  hasBlock(record: BlockRecord): boolean {
    const rows = rowsOf(this.blks.bySlot, record.slot);
    return rows.some((row) => row < this.blkCount && this.blks.roots[row] === record.signingRoot);
  }

  rootsAtSlot(slot: number): (Hex | undefined)[] {
    const rows = rowsOf(this.blks.bySlot, slot);
    return rows.filter((row) => row < this.blkCount).map((row) => this.blks.roots[row]);
  }

  /**
   * Would (source, target) surround a recorded vote, or be surrounded by one? An attempt at
   * or above both the highest source and the highest target — every attestation of a
   * healthy chain — can do neither, answered in O(1); anything else scans the rows (at most
   * the window's, ~600).
   */
  surroundConflict(sourceEpoch: number, targetEpoch: number): SurroundConflict | undefined {
    if (targetEpoch >= this.bounds.maxTarget && sourceEpoch >= this.bounds.maxSource) return undefined;
    const { sources, targets } = this.atts;
    let surrounded = false;
    for (let row = 0; row < this.attCount; row++) {
      const s = sources[row] as number;
      const t = targets[row] as number;
      if (sourceEpoch < s && targetEpoch > t) return 'surrounds_previous';
      if (sourceEpoch > s && targetEpoch < t) surrounded = true;
    }
    // one reason per attempt, the same whatever the rows' order: "surrounds" before "surrounded"
    return surrounded ? 'surrounded_by_previous' : undefined;
  }

  /** The rows, watermark first: what export writes and what a snapshot keeps. */
  attestations(): AttestationRecord[] {
    return Array.from({ length: this.attCount }, (_, row) => this.atts.record(row));
  }

  blocks(): BlockRecord[] {
    return Array.from({ length: this.blkCount }, (_, row) => this.blks.record(row));
  }
}
