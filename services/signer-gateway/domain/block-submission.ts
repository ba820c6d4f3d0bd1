import type { Hex, ProposerUnsignedData, RejectionReason } from '#lib/contracts';

/**
 * A VC's signed block, as the publish routes carry it: `{message, signature}` (SignedBeaconBlock,
 * SignedBlindedBeaconBlock) or, for a full block from Deneb, SignedBlockContents
 * `{signed_block: {message, signature}, kzg_proofs, blobs}` (apis/beacon/blocks/blocks.v2.yaml).
 */
export type ParsedSignedBlock =
  | { readonly ok: true; readonly slot: number; readonly message: Readonly<Record<string, unknown>>; readonly signature: Hex }
  | { readonly ok: false; readonly reason: RejectionReason; readonly detail: string };

export function parseSignedBlock(body: unknown): ParsedSignedBlock {
  if (typeof body !== 'object' || body === null) return { ok: false, reason: 'malformed', detail: 'expected a signed block object' };
  const outer = body as { signed_block?: unknown; message?: unknown; signature?: unknown };
  const signed = (typeof outer.signed_block === 'object' && outer.signed_block !== null ? outer.signed_block : outer) as {
    message?: unknown;
    signature?: unknown;
  };
  const message = signed.message as Record<string, unknown> | undefined;
  if (typeof message !== 'object' || message === null || typeof signed.signature !== 'string' || !/^0x[0-9a-fA-F]{192}$/.test(signed.signature)) {
    return { ok: false, reason: 'malformed', detail: 'expected {message, signature} (or {signed_block, kzg_proofs, blobs}) with a 96-byte signature' };
  }
  const slot = Number(message['slot']);
  if (!Number.isSafeInteger(slot) || slot < 0) return { ok: false, reason: 'malformed', detail: 'the block has no valid slot' };
  return { ok: true, slot, message, signature: signed.signature.toLowerCase() as Hex };
}

/**
 * The Beacon API answer of `produceBlockV3` for a decided block (apis/validator/block.v3.yaml):
 * a full block from Deneb travels as BlockContents.
 */
export function produceBlockV3Response(value: ProposerUnsignedData, hasBlockContents: boolean): {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
} {
  const data = !value.blinded && hasBlockContents ? { block: value.block, kzg_proofs: value.kzgProofs ?? [], blobs: value.blobs ?? [] } : value.block;
  return {
    headers: {
      'eth-consensus-version': value.fork,
      'eth-execution-payload-blinded': String(value.blinded),
      'eth-execution-payload-value': value.executionPayloadValue,
      'eth-consensus-block-value': value.consensusBlockValue,
    },
    body: {
      version: value.fork,
      execution_payload_blinded: value.blinded,
      execution_payload_value: value.executionPayloadValue,
      consensus_block_value: value.consensusBlockValue,
      data,
    },
  };
}

/** A VC's sync committee message (apis/beacon/pool/sync_committees.yaml). */
export type ParsedSyncMessage =
  | { readonly ok: true; readonly slot: number; readonly validatorIndex: number; readonly beaconBlockRoot: Hex; readonly signature: Hex }
  | { readonly ok: false; readonly reason: RejectionReason; readonly detail: string };

export function parseSyncCommitteeMessage(item: unknown): ParsedSyncMessage {
  const m = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
  const slot = Number(m['slot']);
  const validatorIndex = Number(m['validator_index']);
  const root = m['beacon_block_root'];
  const signature = m['signature'];
  if (
    typeof m['slot'] !== 'string' || !Number.isSafeInteger(slot) || slot < 0 ||
    typeof m['validator_index'] !== 'string' || !Number.isSafeInteger(validatorIndex) ||
    typeof root !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(root) ||
    typeof signature !== 'string' || !/^0x[0-9a-fA-F]{192}$/.test(signature)
  ) {
    return { ok: false, reason: 'malformed', detail: 'expected {slot, beacon_block_root, validator_index, signature}' };
  }
  return { ok: true, slot, validatorIndex, beaconBlockRoot: root.toLowerCase() as Hex, signature: signature.toLowerCase() as Hex };
}

/** A VC's SignedVoluntaryExit (apis/beacon/pool/voluntary_exits.yaml). */
export type ParsedVoluntaryExit =
  | { readonly ok: true; readonly epoch: number; readonly validatorIndex: number; readonly signature: Hex }
  | { readonly ok: false; readonly detail: string };

export function parseSignedVoluntaryExit(body: unknown): ParsedVoluntaryExit {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { message?: Record<string, unknown>; signature?: unknown };
  const epoch = b.message?.['epoch'];
  const index = b.message?.['validator_index'];
  const uint = /^(0|[1-9][0-9]{0,15})$/;
  if (typeof epoch !== 'string' || !uint.test(epoch) || typeof index !== 'string' || !uint.test(index) || typeof b.signature !== 'string' || !/^0x[0-9a-fA-F]{192}$/.test(b.signature)) {
    return { ok: false, detail: 'expected {message: {epoch, validator_index}, signature} with decimal strings and a 96-byte signature' };
  }
  return { ok: true, epoch: Number(epoch), validatorIndex: Number(index), signature: b.signature.toLowerCase() as Hex };
}
