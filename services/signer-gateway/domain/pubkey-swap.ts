import type { Hex } from '#lib/contracts';

/**
 * The VC holds a key share and believes it is a whole validator; the BN knows only group
 * pubkeys (DESIGN.md rule 1). These pure maps translate between the two views, for this
 * node's share index.
 */
export interface PubkeySwap {
  readonly groupOf: ReadonlyMap<Hex, Hex>;
  readonly shareOf: ReadonlyMap<Hex, Hex>;
}

export function pubkeySwap(validators: readonly { readonly groupPubkey: Hex; readonly sharePubkey: Hex }[]): PubkeySwap {
  const groupOf = new Map<Hex, Hex>();
  const shareOf = new Map<Hex, Hex>();
  for (const { groupPubkey, sharePubkey } of validators) {
    groupOf.set(norm(sharePubkey), norm(groupPubkey));
    shareOf.set(norm(groupPubkey), norm(sharePubkey));
  }
  return { groupOf, shareOf };
}

const norm = (pubkey: string): Hex => pubkey.toLowerCase() as Hex;
const isPubkey = (id: string): boolean => /^0x[0-9a-fA-F]{96}$/.test(id);

/** A VC's validator id (index or share pubkey) as the BN must see it. Other pubkeys pass unchanged. */
export function idToGroup(swap: PubkeySwap, id: string): string {
  return isPubkey(id) ? (swap.groupOf.get(norm(id)) ?? id) : id;
}

/** A group pubkey as the VC must see it: its share pubkey. Non-cluster pubkeys pass unchanged. */
export function pubkeyToShare(swap: PubkeySwap, pubkey: string): string {
  return swap.shareOf.get(norm(pubkey)) ?? pubkey;
}

/**
 * Rewrites every `pubkey` field of a BN response (duties, validators) to the share view.
 * Walks plain JSON; touches nothing else.
 */
export function responseToShareView(swap: PubkeySwap, body: unknown): unknown {
  if (Array.isArray(body)) return body.map((item) => responseToShareView(swap, item));
  if (body === null || typeof body !== 'object') return body;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    out[key] = key === 'pubkey' && typeof value === 'string' ? pubkeyToShare(swap, value) : responseToShareView(swap, value);
  }
  return out;
}
