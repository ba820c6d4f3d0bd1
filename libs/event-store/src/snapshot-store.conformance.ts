import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SnapshotStore } from './snapshot-store.js';

/**
 * One behaviour for every SnapshotStore adapter (object store, memory). Test-only (imports
 * vitest): an adapter's spec imports it relatively. Each test uses names of its own, so a
 * factory may hand out stores on one shared server and bucket.
 */
export function snapshotStoreConformance(label: string, factory: () => Promise<SnapshotStore>): void {
  describe(`SnapshotStore conformance: ${label}`, () => {
    const fresh = (what: string): string => `${what}.${randomUUID()}`;
    const bytes = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

    it('loads nothing under a name never saved', async () => {
      const store = await factory();
      expect(await store.load(fresh('never'))).toBeUndefined();
    });

    it('loads what was saved, and the last of several saves', async () => {
      const store = await factory();
      const name = fresh('slashing/0x0a0a/3');
      await store.save(name, bytes(100, 1));
      expect(await store.load(name)).toEqual(bytes(100, 1));
      await store.save(name, bytes(50, 2));
      expect(await store.load(name)).toEqual(bytes(50, 2));
      // names are independent
      expect(await store.load(`${name}x`)).toBeUndefined();
    });

    it('keeps a copy: changing the buffer after save or after load changes nothing stored', async () => {
      const store = await factory();
      const name = fresh('copy');
      const saved = bytes(10, 3);
      await store.save(name, saved);
      saved[0] = 99;
      const loaded = (await store.load(name)) as Uint8Array;
      expect(loaded[0]).toBe(3);
      loaded[1] = 99;
      expect(await store.load(name)).toEqual(bytes(10, 3));
    });

    it('round-trips an empty blob and one larger than a NATS message (several chunks)', async () => {
      const store = await factory();
      const empty = fresh('empty');
      await store.save(empty, new Uint8Array(0));
      expect(await store.load(empty)).toEqual(new Uint8Array(0));
      const large = fresh('large');
      const blob = bytes(3 * 1024 * 1024 + 17, 4);
      await store.save(large, blob);
      const loaded = (await store.load(large)) as Uint8Array;
      // Buffer.equals: a deep equality over 3 million elements takes the test runner seconds
      expect(loaded.length).toBe(blob.length);
      expect(Buffer.from(loaded.buffer, loaded.byteOffset, loaded.length).equals(blob)).toBe(true);
    });
  });
}
