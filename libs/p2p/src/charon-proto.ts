import { createHash } from 'node:crypto';

/**
 * Charon's deterministic protobuf encodings (proto3, `proto.MarshalOptions{Deterministic:
 * true}`) of the objects a distributed validator hashes, and Charon's `hashProto`: the SSZ
 * hash root of the encoded bytes. Written from the .proto definitions in Charon's
 * core/corepb/v1 (consensus.proto, core.proto) and pinned by
 * shared/vectors/obol-dv-specs/qbft_hashing.json; only what Cohort signs or hashes.
 *
 * proto3 rules used: a scalar field equal to its default (0, empty bytes) is omitted; a
 * message-typed field is emitted when set, even if empty; map entries are emitted with both
 * key and value, in key order (deterministic marshalling); fields in field-number order.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const UTF8 = new TextEncoder();

class ProtoWriter {
  private readonly parts: Uint8Array[] = [];

  varintField(field: number, value: bigint | number): this {
    const v = BigInt(value);
    if (v === 0n) return this;
    this.tag(field, WIRE_VARINT);
    this.parts.push(varint(v < 0n ? v + (1n << 64n) : v)); // int64 negatives: two's complement, 10 bytes
    return this;
  }

  /** bytes / string / message: `always` emits even an empty value (message presence, map entries, oneof). */
  bytesField(field: number, value: Uint8Array, always = false): this {
    if (value.byteLength === 0 && !always) return this;
    this.tag(field, WIRE_LEN);
    this.parts.push(varint(BigInt(value.byteLength)), value);
    return this;
  }

  finish(): Uint8Array {
    return Buffer.concat(this.parts);
  }

  private tag(field: number, wireType: number): void {
    this.parts.push(varint(BigInt((field << 3) | wireType)));
  }
}

function varint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = value;
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v === 0n ? byte : byte | 0x80);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

/** core.corepb.v1.Duty { uint64 slot = 1; int32 type = 2; } — `type` is Charon's core.DutyType. */
export function encodeCharonDuty(duty: { readonly slot: bigint | number; readonly type: number }): Uint8Array {
  return new ProtoWriter().varintField(1, duty.slot).varintField(2, duty.type).finish();
}

/** The fields of core.corepb.v1.QBFTMsg that its signing root covers (the signature is cleared before hashing). */
export interface CharonQbftMsgFields {
  /** Charon qbft.MsgType: PRE-PREPARE 1, PREPARE 2, COMMIT 3, ROUND-CHANGE 4, DECIDED 5. */
  readonly type: number;
  readonly duty: { readonly slot: bigint | number; readonly type: number };
  /** The author's 0-based process index. */
  readonly peerIdx: number;
  readonly round: number;
  readonly preparedRound: number;
  /** 32 bytes; all zero when there is none (always emitted). */
  readonly valueHash: Uint8Array;
  readonly preparedValueHash: Uint8Array;
}

/**
 * QBFTMsg { int64 type = 1; Duty duty = 2; int64 peer_idx = 3; int64 round = 4;
 * int64 prepared_round = 6; bytes signature = 8; bytes value_hash = 11;
 * bytes prepared_value_hash = 12; } with the signature cleared: the bytes whose hash root
 * is the message's signing root.
 */
export function encodeCharonQbftMsg(msg: CharonQbftMsgFields): Uint8Array {
  return new ProtoWriter()
    .varintField(1, msg.type)
    .bytesField(2, encodeCharonDuty(msg.duty), true)
    .varintField(3, msg.peerIdx)
    .varintField(4, msg.round)
    .varintField(6, msg.preparedRound)
    .bytesField(11, msg.valueHash)
    .bytesField(12, msg.preparedValueHash)
    .finish();
}

/** core.corepb.v1.UnsignedDataSet { map<string, bytes> set = 1; }: entries in key order, key and value always present. */
export function encodeCharonUnsignedDataSet(set: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const writer = new ProtoWriter();
  const keys = [...set.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  for (const key of keys) {
    const entry = new ProtoWriter().bytesField(1, UTF8.encode(key), true).bytesField(2, set.get(key)!, true).finish();
    writer.bytesField(1, entry, true);
  }
  return writer.finish();
}

/** google.protobuf.Any wrapping google.protobuf.Value{string_value}, as Charon's priority protocol sends strings. */
export function encodeCharonAnyString(value: string): Uint8Array {
  const inner = new ProtoWriter().bytesField(3, UTF8.encode(value), true).finish(); // Value.string_value (oneof: always)
  return new ProtoWriter()
    .bytesField(1, UTF8.encode('type.googleapis.com/google.protobuf.Value'))
    .bytesField(2, inner, true)
    .finish();
}

/**
 * Charon's hashProto: fastssz `PutBytes(encoding)` then `Merkleize`. An encoding of at most
 * 32 bytes is its own root, zero-padded; a longer one is split into 32-byte chunks (the last
 * zero-padded), padded with zero chunks to a power of two and merkleized with sha256 — no
 * length mix-in.
 */
export function charonHashRoot(encoding: Uint8Array): Uint8Array {
  const chunkCount = Math.max(1, Math.ceil(encoding.byteLength / 32));
  let layer: Uint8Array[] = [];
  for (let i = 0; i < chunkCount; i += 1) {
    const chunk = new Uint8Array(32);
    chunk.set(encoding.subarray(i * 32, Math.min(encoding.byteLength, (i + 1) * 32)));
    layer.push(chunk);
  }
  let width = 1;
  while (width < layer.length) width *= 2;
  while (layer.length < width) layer.push(new Uint8Array(32));
  while (layer.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2) {
      next.push(new Uint8Array(createHash('sha256').update(layer[i]!).update(layer[i + 1]!).digest()));
    }
    layer = next;
  }
  return layer[0]!;
}
