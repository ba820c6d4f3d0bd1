/**
 * The snapshot-store port: named blobs a service may keep to rebuild its state faster than by
 * folding its whole stream. A snapshot is only ever a shortcut: the stream stays the authority,
 * so a reader checks what it loads and falls back to the stream when in doubt.
 * Adapters: the NATS object store (production) and memory (tests); both pass
 * snapshot-store.conformance.ts.
 */
export interface SnapshotStore {
  /** The bytes last saved under `name`; undefined when none were. Throws when they cannot be read whole. */
  load(name: string): Promise<Uint8Array | undefined>;
  /** Replaces what `name` held; a load sees the old bytes or the new ones, never a mix. */
  save(name: string, bytes: Uint8Array): Promise<void>;
}

/** Snapshots in one process (tests): copies in and out, so a caller's buffer is never shared. */
export function createMemorySnapshotStore(): SnapshotStore & { readonly names: () => string[] } {
  const blobs = new Map<string, Uint8Array>();
  return {
    async load(name) {
      const bytes = blobs.get(name);
      return bytes === undefined ? undefined : bytes.slice();
    },
    async save(name, bytes) {
      blobs.set(name, bytes.slice());
    },
    names: () => [...blobs.keys()],
  };
}
