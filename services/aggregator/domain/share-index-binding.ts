/**
 * Sender binding for partial signatures: a peer may contribute a share signature only under
 * the share index the cluster assigned to it, resolved through a peer map (operator → share
 * index), never from the peer's position in a list or from what the message claims. After an
 * operator is removed, survivors keep their share indices, so indices have gaps and a
 * position-derived rule would put a share into another operator's slot (Lagrange would then
 * combine it at the wrong x and the aggregate would fail — or worse, one operator would fill
 * two slots). Charon dkg/exchanger `verifyPeerShareIdx` and `newExchanger`, pinned by
 * shared/vectors/obol-dv-specs/parsigex_sender_binding.json.
 */

export const SENDER_BINDING_REASONS = {
  share_idx_mismatch: 'the claimed share index is not the one the cluster assigned to the sender',
  unknown_peer: 'the sender has no share index in this cluster',
} as const;

export type SenderBindingReason = keyof typeof SENDER_BINDING_REASONS;

/** Share index (1-based) of each participant, by its authenticated identity. */
export type ShareIndexMap<P> = ReadonlyMap<P, number>;

export type ShareIndexMapResult<P> =
  | { readonly ok: true; readonly map: ShareIndexMap<P> }
  | { readonly ok: false; readonly reason: 'missing_share_idx'; readonly peers: readonly P[] };

/**
 * Builds the peer map, refusing it unless every participant has a positive share index:
 * otherwise that participant's signatures would be dropped as unknown and the exchange
 * would silently time out instead of failing at start.
 */
export function shareIndexMap<P>(peers: readonly P[], shareIndexByPeer: ReadonlyMap<P, number>): ShareIndexMapResult<P> {
  const missing = peers.filter((peer) => {
    const index = shareIndexByPeer.get(peer);
    return index === undefined || !Number.isInteger(index) || index < 1;
  });
  if (missing.length > 0) return { ok: false, reason: 'missing_share_idx', peers: missing };
  return { ok: true, map: new Map(peers.map((peer) => [peer, shareIndexByPeer.get(peer)!])) };
}

/** null when `sender` may contribute under `shareIndex`; otherwise why not. */
export function senderBindingRefusal<P>(map: ShareIndexMap<P>, sender: P, shareIndex: number): SenderBindingReason | null {
  const assigned = map.get(sender);
  if (assigned === undefined) return 'unknown_peer';
  return shareIndex === assigned ? null : 'share_idx_mismatch';
}
