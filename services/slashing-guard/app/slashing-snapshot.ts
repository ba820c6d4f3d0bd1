import { isHex, type Hex } from '#lib/contracts';
import { HISTORY_PRUNING, ValidatorHistory, type AttestationRecord, type BlockRecord } from '../domain/slashing.decider.js';

/**
 * A snapshot of one shard of one network's slashing history: every validator's bounded rows
 * (the watermark included) as of one shard entry of the stream. Loading it and folding the
 * shard's later entries gives the state a fold from the start gives: pruning depends on the
 * records only (domain/validator-history.ts), and a history rebuilt from its own rows is itself.
 *
 * Format version 1, JSON (UTF-8). Each distinct signing root is written once (`roots`):
 * validators attesting at one slot sign the same data since Electra (EIP-7549). Rows are flat
 * number arrays: attestations `[source, target, root, …]`, blocks `[slot, root, …]`, a root
 * being an index into `roots`, or -1 for none (a watermark, or imported without one).
 * A snapshot is a shortcut, never the authority: any doubt (format, root, shard, pruning
 * figures, the stream no longer holding the entry it covers) and the shard is folded from the
 * stream instead.
 */
export const SNAPSHOT_FORMAT_VERSION = 1;

export interface ShardSnapshot {
  readonly genesisValidatorsRoot: Hex;
  readonly shard: number;
  /** Stream sequence of the last shard entry folded in, and its msgId (to recognise it on the stream). */
  readonly coveredSeq: number;
  readonly coveredMsgId: string;
  readonly validators: readonly (readonly [Hex, ValidatorHistory])[];
}

interface EncodedV1 {
  readonly kind: 'SlashingShardSnapshot';
  readonly version: 1;
  readonly genesisValidatorsRoot: Hex;
  readonly shard: number;
  readonly pruning: typeof HISTORY_PRUNING;
  readonly coveredSeq: number;
  readonly coveredMsgId: string;
  readonly roots: readonly Hex[];
  readonly validators: readonly { readonly pubkey: Hex; readonly attestations: readonly number[]; readonly blocks: readonly number[] }[];
}

/** Where a snapshot object lives in the snapshot store. */
export const shardSnapshotName = (genesisValidatorsRoot: Hex, shard: number): string => `slashing.${genesisValidatorsRoot}.${shard}`;

export function encodeShardSnapshot(snapshot: ShardSnapshot): Uint8Array {
  return new TextEncoder().encode([...snapshotText(snapshot)].join(''));
}

/**
 * The same bytes, encoded a few validators at a time with a pause between (a shard of 60
 * validators with distinct roots is ~3 MB of JSON, ~100 ms of encoding): a background write
 * never holds the event loop long enough to delay an approval.
 */
export async function encodeShardSnapshotInSlices(snapshot: ShardSnapshot, pause: () => Promise<unknown>, validatorsPerSlice = 4): Promise<Uint8Array> {
  const parts: string[] = [];
  let n = 0;
  await pause();
  for (const part of snapshotText(snapshot)) {
    parts.push(part);
    if (++n % validatorsPerSlice === 0) await pause();
  }
  return new TextEncoder().encode(parts.join(''));
}

/** The JSON text in parts: the header, one part per validator, then the roots they use. */
function* snapshotText(snapshot: ShardSnapshot): Generator<string> {
  const header: Omit<EncodedV1, 'roots' | 'validators'> = {
    kind: 'SlashingShardSnapshot',
    version: SNAPSHOT_FORMAT_VERSION,
    genesisValidatorsRoot: snapshot.genesisValidatorsRoot,
    shard: snapshot.shard,
    pruning: HISTORY_PRUNING,
    coveredSeq: snapshot.coveredSeq,
    coveredMsgId: snapshot.coveredMsgId,
  };
  yield `${JSON.stringify(header).slice(0, -1)},"validators":[`;
  const roots: Hex[] = [];
  const rootIndex = new Map<Hex, number>();
  const indexOf = (root: Hex | undefined): number => {
    if (root === undefined) return -1;
    let i = rootIndex.get(root);
    if (i === undefined) {
      i = roots.length;
      roots.push(root);
      rootIndex.set(root, i);
    }
    return i;
  };
  for (const [i, [pubkey, history]] of snapshot.validators.entries()) {
    const attestations: number[] = [];
    for (const a of history.attestations()) attestations.push(a.sourceEpoch, a.targetEpoch, indexOf(a.signingRoot));
    const blocks: number[] = [];
    for (const b of history.blocks()) blocks.push(b.slot, indexOf(b.signingRoot));
    yield `${i === 0 ? '' : ','}${JSON.stringify({ pubkey, attestations, blocks })}`;
  }
  yield `],"roots":${JSON.stringify(roots)}}`;
}

/** Why a stored snapshot is not used; said in the warning (no record, root or key material in it). */
export type SnapshotProblem = string;

/**
 * The snapshot the bytes hold, if it is one this code writes, for this root and shard, with
 * today's pruning figures, every field well-formed; otherwise what is wrong with it.
 */
export function decodeShardSnapshot(
  bytes: Uint8Array,
  expected: { readonly genesisValidatorsRoot: Hex; readonly shard: number },
): { ok: true; snapshot: ShardSnapshot } | { ok: false; problem: SnapshotProblem } {
  let doc: Partial<EncodedV1>;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Partial<EncodedV1>;
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  if (typeof doc !== 'object' || doc === null || doc.kind !== 'SlashingShardSnapshot') return { ok: false, problem: 'not a slashing shard snapshot' };
  if (doc.version !== SNAPSHOT_FORMAT_VERSION) return { ok: false, problem: `format version ${String(doc.version)}, this code reads ${SNAPSHOT_FORMAT_VERSION}` };
  if (doc.genesisValidatorsRoot !== expected.genesisValidatorsRoot) return { ok: false, problem: 'another genesis validators root' };
  if (doc.shard !== expected.shard) return { ok: false, problem: `shard ${String(doc.shard)}, expected ${expected.shard}` };
  if (JSON.stringify(doc.pruning) !== JSON.stringify(HISTORY_PRUNING)) return { ok: false, problem: `pruning ${JSON.stringify(doc.pruning)}, this code prunes ${JSON.stringify(HISTORY_PRUNING)}` };
  const { coveredSeq, coveredMsgId, roots, validators } = doc;
  if (!isCount(coveredSeq) || coveredSeq < 1 || typeof coveredMsgId !== 'string') return { ok: false, problem: 'no covered stream sequence' };
  if (!Array.isArray(roots) || !roots.every((r) => isHex(r))) return { ok: false, problem: 'malformed roots' };
  if (!Array.isArray(validators)) return { ok: false, problem: 'malformed validators' };
  const rootAt = (i: unknown): Hex | undefined | null => (i === -1 ? undefined : Number.isInteger(i) && (i as number) >= 0 && (i as number) < roots.length ? (roots[i as number] as Hex) : null);
  const out: [Hex, ValidatorHistory][] = [];
  const seen = new Set<Hex>();
  for (const v of validators) {
    if (typeof v !== 'object' || v === null || !isHex(v.pubkey) || seen.has(v.pubkey)) return { ok: false, problem: 'malformed validator' };
    seen.add(v.pubkey);
    const { attestations: a, blocks: b } = v;
    if (!Array.isArray(a) || a.length % 3 !== 0 || !Array.isArray(b) || b.length % 2 !== 0) return { ok: false, problem: 'malformed rows' };
    const atts: AttestationRecord[] = [];
    for (let i = 0; i < a.length; i += 3) {
      const [sourceEpoch, targetEpoch, signingRoot] = [a[i], a[i + 1], rootAt(a[i + 2])];
      if (!isCount(sourceEpoch) || !isCount(targetEpoch) || signingRoot === null) return { ok: false, problem: 'malformed attestation row' };
      atts.push(signingRoot === undefined ? { sourceEpoch, targetEpoch } : { sourceEpoch, targetEpoch, signingRoot });
    }
    const blks: BlockRecord[] = [];
    for (let i = 0; i < b.length; i += 2) {
      const [slot, signingRoot] = [b[i], rootAt(b[i + 1])];
      if (!isCount(slot) || signingRoot === null) return { ok: false, problem: 'malformed block row' };
      blks.push(signingRoot === undefined ? { slot } : { slot, signingRoot });
    }
    // rebuilt from its rows, a history is the one they were taken from (the watermark stays the watermark)
    out.push([v.pubkey, ValidatorHistory.empty.withAttestations(atts).withBlocks(blks)]);
  }
  return { ok: true, snapshot: { genesisValidatorsRoot: expected.genesisValidatorsRoot, shard: expected.shard, coveredSeq, coveredMsgId, validators: out } };
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
