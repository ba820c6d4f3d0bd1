import { createHash } from 'node:crypto';
import type { Hex } from '#lib/contracts';

/** JSON with object keys sorted at every level: one byte string per value, on every node. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Identity of a consensus value: sha256 of its canonical JSON. */
export function valueHash(value: unknown): Hex {
  return `0x${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}
