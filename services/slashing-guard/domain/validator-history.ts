import type { Hex } from '#lib/contracts';

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

const NONE: readonly (Hex | undefined)[] = [];

export type SurroundConflict = 'surrounds_previous' | 'surrounded_by_previous';

/**
 * Everything one validator signed (or imported) under one genesis validators root, indexed
 * for the EIP-3076 checks: rows per target epoch and per slot, lowest/highest source and
 * target, lowest slot. Observably immutable: `withAttestations`/`withBlocks` return a new
 * version and leave this one as it was.
 */
export class ValidatorHistory {
  static readonly empty = new ValidatorHistory(new AttestationColumns(), 0, NO_BOUNDS, new BlockColumns(), 0, Infinity);

  private constructor(
    private readonly atts: AttestationColumns,
    private readonly attCount: number,
    private readonly bounds: Bounds,
    private readonly blks: BlockColumns,
    private readonly blkCount: number,
    /** Lowest slot of any block; Infinity when none. */
    readonly minSlot: number,
  ) {}

  get attestationCount(): number {
    return this.attCount;
  }
  get blockCount(): number {
    return this.blkCount;
  }
  /** Lowest source epoch of any attestation; Infinity when none. */
  get minSource(): number {
    return this.bounds.minSource;
  }
  /** Lowest target epoch of any attestation; Infinity when none. */
  get minTarget(): number {
    return this.bounds.minTarget;
  }

  withAttestations(records: readonly AttestationRecord[]): ValidatorHistory {
    if (records.length === 0) return this;
    const columns = this.attCount === this.atts.targets.length ? this.atts : this.atts.prefix(this.attCount);
    let { minSource, maxSource, minTarget, maxTarget } = this.bounds;
    for (const record of records) {
      columns.push(record);
      minSource = Math.min(minSource, record.sourceEpoch);
      maxSource = Math.max(maxSource, record.sourceEpoch);
      minTarget = Math.min(minTarget, record.targetEpoch);
      maxTarget = Math.max(maxTarget, record.targetEpoch);
    }
    return new ValidatorHistory(columns, columns.targets.length, { minSource, maxSource, minTarget, maxTarget }, this.blks, this.blkCount, this.minSlot);
  }

  withBlocks(records: readonly BlockRecord[]): ValidatorHistory {
    if (records.length === 0) return this;
    const columns = this.blkCount === this.blks.slots.length ? this.blks : this.blks.prefix(this.blkCount);
    let minSlot = this.minSlot;
    for (const record of records) {
      columns.push(record);
      minSlot = Math.min(minSlot, record.slot);
    }
    return new ValidatorHistory(this.atts, this.attCount, this.bounds, columns, columns.slots.length, minSlot);
  }

  /** Signing roots recorded for a target epoch (undefined = imported without a root). */
  rootsAtTarget(targetEpoch: number): readonly (Hex | undefined)[] {
    const rows = this.atts.byTarget.get(targetEpoch);
    if (rows === undefined) return NONE;
    if (typeof rows === 'number') return rows < this.attCount ? [this.atts.roots[rows]] : NONE;
    return rows.filter((row) => row < this.attCount).map((row) => this.atts.roots[row]);
  }

  /** Is exactly this attestation (source, target, root or its absence) already recorded? */
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
   * healthy chain — can do neither, answered in O(1); anything else scans the rows.
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

  attestations(): AttestationRecord[] {
    return Array.from({ length: this.attCount }, (_, row) => this.atts.record(row));
  }

  blocks(): BlockRecord[] {
    return Array.from({ length: this.blkCount }, (_, row) => this.blks.record(row));
  }
}
