import { isHex, type Hex } from '#lib/contracts';
import type { ImportedAttestation, ImportedBlock, SlashingState } from './slashing.decider.js';

/**
 * EIP-3076 interchange format, version 5 (https://eips.ethereum.org/EIPS/eip-3076#json-schema).
 * Numbers are decimal strings (uint64), roots and pubkeys 0x hex. Pure: the JSON schema
 * check (ajv) is the app's; this file holds the semantic checks and the mapping both ways.
 */
export const INTERCHANGE_FORMAT_VERSION = '5';

export interface InterchangeBlock {
  readonly slot: string;
  readonly signing_root?: Hex;
}
export interface InterchangeAttestation {
  readonly source_epoch: string;
  readonly target_epoch: string;
  readonly signing_root?: Hex;
}
export interface InterchangeValidator {
  readonly pubkey: Hex;
  readonly signed_blocks: readonly InterchangeBlock[];
  readonly signed_attestations: readonly InterchangeAttestation[];
}
export interface Interchange {
  readonly metadata: { readonly interchange_format_version: string; readonly genesis_validators_root: Hex };
  readonly data: readonly InterchangeValidator[];
}

/** What an interchange file adds to a history, already in the domain's vocabulary. */
export interface InterchangeRecords {
  readonly genesisValidatorsRoot: Hex;
  readonly attestations: readonly ImportedAttestation[];
  readonly blocks: readonly ImportedBlock[];
}

/** Stop listing after this many problems: a wholly wrong file should not print a million lines. */
const MAX_PROBLEMS = 20;
const DECIMAL = /^[0-9]+$/;

/**
 * Semantic checks the schema cannot express (hex lengths, decimal uint64 strings that fit a
 * safe integer, the format version), on every entry. Returns the records, or every problem
 * found, each naming its JSON path.
 */
export function interchangeRecords(doc: unknown): { ok: true; records: InterchangeRecords } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const problem = (path: string, message: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(`${path}: ${message}`);
  };
  const root = isObject(doc) ? doc : (problem('$', 'expected a JSON object'), {});
  const metadata = isObject(root['metadata']) ? root['metadata'] : (problem('metadata', 'expected an object'), {});
  const version = metadata['interchange_format_version'];
  if (version !== INTERCHANGE_FORMAT_VERSION) problem('metadata.interchange_format_version', `expected "${INTERCHANGE_FORMAT_VERSION}", got ${show(version)}`);
  const gvr = hex(metadata['genesis_validators_root'], 32, 'metadata.genesis_validators_root', problem);

  const attestations: ImportedAttestation[] = [];
  const blocks: ImportedBlock[] = [];
  const data = Array.isArray(root['data']) ? (root['data'] as unknown[]) : (problem('data', 'expected an array'), []);
  data.forEach((entry, i) => {
    const at = `data[${i}]`;
    if (!isObject(entry)) return problem(at, 'expected an object');
    const pubkey = hex(entry['pubkey'], 48, `${at}.pubkey`, problem);
    const signedBlocks = Array.isArray(entry['signed_blocks']) ? (entry['signed_blocks'] as unknown[]) : (problem(`${at}.signed_blocks`, 'expected an array'), []);
    const signedAttestations = Array.isArray(entry['signed_attestations'])
      ? (entry['signed_attestations'] as unknown[])
      : (problem(`${at}.signed_attestations`, 'expected an array'), []);
    signedBlocks.forEach((b, j) => {
      const bt = `${at}.signed_blocks[${j}]`;
      if (!isObject(b)) return problem(bt, 'expected an object');
      const slot = uint(b['slot'], `${bt}.slot`, problem);
      const signingRoot = b['signing_root'] === undefined ? undefined : hex(b['signing_root'], 32, `${bt}.signing_root`, problem);
      if (pubkey !== undefined && slot !== undefined) blocks.push(signingRoot === undefined ? { pubkey, slot } : { pubkey, slot, signingRoot });
    });
    signedAttestations.forEach((a, j) => {
      const att = `${at}.signed_attestations[${j}]`;
      if (!isObject(a)) return problem(att, 'expected an object');
      const sourceEpoch = uint(a['source_epoch'], `${att}.source_epoch`, problem);
      const targetEpoch = uint(a['target_epoch'], `${att}.target_epoch`, problem);
      const signingRoot = a['signing_root'] === undefined ? undefined : hex(a['signing_root'], 32, `${att}.signing_root`, problem);
      if (pubkey !== undefined && sourceEpoch !== undefined && targetEpoch !== undefined) {
        attestations.push(signingRoot === undefined ? { pubkey, sourceEpoch, targetEpoch } : { pubkey, sourceEpoch, targetEpoch, signingRoot });
      }
    });
  });
  if (problems.length > 0 || gvr === undefined) return { ok: false, problems };
  return { ok: true, records: { genesisValidatorsRoot: gvr, attestations, blocks } };
}

/** The history of one network as an interchange document; `pubkeys` limits it to those validators. */
export function toInterchange(genesisValidatorsRoot: Hex, state: SlashingState, pubkeys?: readonly Hex[]): Interchange {
  const wanted = pubkeys ?? [...state.validators.keys()];
  const data = wanted.flatMap((pubkey): InterchangeValidator[] => {
    const history = state.validators.get(pubkey);
    if (history === undefined) return [];
    return [
      {
        pubkey,
        signed_blocks: history.blocks().map((b) => ({ slot: String(b.slot), ...(b.signingRoot === undefined ? {} : { signing_root: b.signingRoot }) })),
        signed_attestations: history.attestations().map((a) => ({
          source_epoch: String(a.sourceEpoch),
          target_epoch: String(a.targetEpoch),
          ...(a.signingRoot === undefined ? {} : { signing_root: a.signingRoot }),
        })),
      },
    ];
  });
  return { metadata: { interchange_format_version: INTERCHANGE_FORMAT_VERSION, genesis_validators_root: genesisValidatorsRoot }, data };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** 0x hex of the given length; upper-case digits are accepted and lower-cased (Hex is lower-case). */
function hex(value: unknown, bytes: number, path: string, problem: (path: string, message: string) => void): Hex | undefined {
  const lower = typeof value === 'string' ? value.toLowerCase() : value;
  if (isHex(lower, bytes)) return lower;
  problem(path, `expected 0x-prefixed hex of ${bytes} bytes, got ${show(value)}`);
  return undefined;
}

/** A uint64 as a decimal string; values beyond 2^53 - 1 are refused (no real slot or epoch is that large). */
function uint(value: unknown, path: string, problem: (path: string, message: string) => void): number | undefined {
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    problem(path, `expected a decimal string (uint64), got ${show(value)}`);
    return undefined;
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    problem(path, `${value} is beyond 2^53 - 1, which this guard does not store`);
    return undefined;
  }
  return n;
}
