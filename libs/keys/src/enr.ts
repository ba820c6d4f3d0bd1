import { isIPv4 } from 'node:net';
import { ENR, IDScheme, MAX_RECORD_SIZE, SignableENR, verify } from '@chainsafe/enr';
import { toHex, type Hex } from '#lib/contracts';
import { secp256k1PublicKey } from '#lib/p2p';
import { KeyMaterialError } from './errors.js';

/**
 * Operator records (EIP-778 ENR, identity scheme v4), as Charon puts them in cluster
 * definitions: the secp256k1 key, and optionally the IPv4 address and TCP/UDP ports where the
 * node listens. @chainsafe/enr encodes, signs and verifies.
 */

export interface EnrAddress {
  /** IPv4 address the node is reachable at. */
  readonly ip?: string;
  readonly tcp?: number;
  readonly udp?: number;
}

/** The `enr:…` text of a v4 record signed by `privateKey`, with the given address fields. */
export function enrOf(privateKey: Uint8Array, address: EnrAddress = {}): string {
  secp256k1PublicKey(privateKey); // refuses a malformed key with a clear TypeError
  if (address.ip !== undefined && !isIPv4(address.ip)) throw new RangeError(`ENR ip must be an IPv4 address, got ${address.ip}`);
  for (const [name, port] of [['tcp', address.tcp], ['udp', address.udp]] as const) {
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
      throw new RangeError(`ENR ${name} port must be an integer in 1..65535, got ${port}`);
    }
  }
  const enr = SignableENR.createV4(privateKey);
  if (address.ip !== undefined) enr.ip = address.ip;
  if (address.tcp !== undefined) enr.tcp = address.tcp;
  if (address.udp !== undefined) enr.udp = address.udp;
  return enr.encodeTxt();
}

export interface ParsedEnr {
  /** 33-byte compressed secp256k1 key, the form `secp256k1PublicKey` (#lib/p2p) returns. */
  readonly publicKey: Hex;
  readonly seq: bigint;
  readonly ip?: string;
  readonly tcp?: number;
  readonly udp?: number;
}

/**
 * Decodes an `enr:…` text and verifies its signature. `source` (e.g.
 * "cluster-definition.json: operators[2].enr") prefixes every error message.
 *
 * Why not `ENR.decodeTxt`: @chainsafe/enr 5.0.0 throws "Cannot convert 0x to a BigInt" on a
 * record with sequence number 0 (RLP empty string), and Charon writes its operators' ENRs with
 * seq 0 (every ENR in shared/vectors/obol-dv-specs/cluster_hashing.json). Fixed upstream in
 * ChainSafe/discv5#308, not in the release installed here. So the RLP framing is read here
 * (strictly), and the library still verifies the signature (`verify`, keccak256 + secp256k1)
 * and decodes the address fields (`ENR` getters).
 */
export function parseEnr(text: string, source = 'enr'): ParsedEnr {
  const fail = (detail: string, cause?: unknown): never => {
    throw new KeyMaterialError('invalid_enr', `${source}: ${detail}`, cause === undefined ? undefined : { cause });
  };
  const trimmed = text.trim();
  if (!trimmed.startsWith('enr:')) fail(`must start with "enr:", got "${trimmed.slice(0, 12)}…"`);
  const body = trimmed.slice(4);
  const bytes = Buffer.from(body, 'base64url');
  if (bytes.toString('base64url') !== body) fail('not base64url (RFC 4648 §5, unpadded)');
  if (bytes.length > MAX_RECORD_SIZE) fail(`record is ${bytes.length} bytes, above the ${MAX_RECORD_SIZE}-byte limit of EIP-778`);
  let record: RlpRecord;
  try {
    record = readRecord(bytes);
  } catch (cause) {
    return fail(`cannot decode: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
  const [signature, seqBytes, ...pairs] = record.items;
  if (signature === undefined || seqBytes === undefined) return fail('cannot decode: needs a signature and a sequence number');
  if (pairs.length % 2 !== 0) fail('cannot decode: a key without a value');
  if (seqBytes.length > 8 || seqBytes[0] === 0) fail('cannot decode: sequence number is not a canonical uint64');
  const kvs = new Map<string, Uint8Array>();
  let previous = '';
  for (let i = 0; i < pairs.length; i += 2) {
    const key = Buffer.from(pairs[i] ?? new Uint8Array()).toString('utf8');
    if (kvs.size > 0 && key <= previous) fail(`cannot decode: keys must be sorted and unique (EIP-778), "${key}" after "${previous}"`);
    kvs.set(key, pairs[i + 1] ?? new Uint8Array());
    previous = key;
  }
  const id = kvs.get('id');
  if (id === undefined || Buffer.from(id).toString('utf8') !== 'v4') fail(`identity scheme must be v4, got ${id === undefined ? 'none' : Buffer.from(id).toString('utf8')}`);
  const publicKey = kvs.get('secp256k1');
  if (publicKey === undefined || publicKey.length !== 33) return fail('has no 33-byte compressed secp256k1 key');
  let valid = false;
  try {
    valid = verify(IDScheme.v4, record.signedContent, publicKey, signature);
  } catch (cause) {
    fail(`secp256k1 key or signature is malformed: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
  if (!valid) fail('signature does not verify against its secp256k1 key');
  const seq = seqBytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(seqBytes).toString('hex')}`);
  const enr = new ENR(kvs, seq, signature);
  const field = <T>(name: string, read: () => T): T | undefined => {
    try {
      return read();
    } catch (cause) {
      return fail(`${name}: malformed`, cause);
    }
  };
  const ip = field('ip', () => enr.ip);
  const tcp = field('tcp', () => enr.tcp);
  const udp = field('udp', () => enr.udp);
  return {
    publicKey: toHex(publicKey),
    seq,
    ...(ip !== undefined && { ip }),
    ...(tcp !== undefined && { tcp }),
    ...(udp !== undefined && { udp }),
  };
}

interface RlpRecord {
  /** signature, seq, k1, v1, k2, v2, … */
  readonly items: readonly Uint8Array[];
  /** RLP([seq, k1, v1, …]): what the signature covers (EIP-778 "content"). */
  readonly signedContent: Uint8Array;
}

/**
 * An ENR's RLP: one list of byte strings, canonical encodings only (shortest length forms,
 * single bytes below 0x80 unwrapped), nothing after the list.
 */
function readRecord(bytes: Uint8Array): RlpRecord {
  const list = readHeader(bytes, 0);
  if (!list.isList) throw new Error('record is not an RLP list');
  if (list.end !== bytes.length) throw new Error('trailing bytes after the record');
  const items: Uint8Array[] = [];
  const starts: number[] = [];
  let at = list.start;
  while (at < list.end) {
    const item = readHeader(bytes, at);
    if (item.isList) throw new Error('nested list inside the record');
    if (item.end > list.end) throw new Error('item runs past the end of the record');
    starts.push(at);
    items.push(bytes.slice(item.start, item.end));
    at = item.end;
  }
  const contentStart = starts[1] ?? list.end;
  const rest = bytes.subarray(contentStart, list.end);
  const header = rest.length < 56 ? [0xc0 + rest.length] : [0xf7 + byteLength(rest.length), ...bigEndian(rest.length)];
  const signedContent = new Uint8Array(header.length + rest.length);
  signedContent.set(header, 0);
  signedContent.set(rest, header.length);
  return { items, signedContent };
}

function readHeader(bytes: Uint8Array, at: number): { isList: boolean; start: number; end: number } {
  const prefix = bytes[at];
  if (prefix === undefined) throw new Error('unexpected end of input');
  if (prefix < 0x80) return { isList: false, start: at, end: at + 1 };
  const isList = prefix >= 0xc0;
  const base = isList ? 0xc0 : 0x80;
  const short = prefix - base;
  if (short < 56) {
    const end = at + 1 + short;
    if (end > bytes.length) throw new Error('unexpected end of input');
    if (!isList && short === 1 && (bytes[at + 1] ?? 0) < 0x80) throw new Error('non-canonical single byte');
    return { isList, start: at + 1, end };
  }
  const lengthBytes = short - 55;
  const lengthField = bytes.subarray(at + 1, at + 1 + lengthBytes);
  if (lengthField.length !== lengthBytes) throw new Error('unexpected end of input');
  if (lengthField[0] === 0) throw new Error('non-canonical length (leading zero)');
  const length = lengthField.reduce((acc, b) => acc * 256 + b, 0);
  if (length < 56) throw new Error('non-canonical length (long form for a short item)');
  const start = at + 1 + lengthBytes;
  if (start + length > bytes.length) throw new Error('unexpected end of input');
  return { isList, start, end: start + length };
}

function byteLength(n: number): number {
  return bigEndian(n).length;
}

function bigEndian(n: number): number[] {
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return out;
}
