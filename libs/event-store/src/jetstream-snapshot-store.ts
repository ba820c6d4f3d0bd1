import { Objm, StorageType, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '#lib/messaging';
import type { SnapshotStore } from './snapshot-store.js';

export interface ObjectStoreSnapshotOptions {
  /** Object-store bucket (letters, digits, `-`, `_`); created on first use, file storage, one replica. */
  readonly bucket: string;
  /** A load taking longer fails (see LOAD_TIMEOUT_MS). */
  readonly loadTimeoutMs?: number;
}

/**
 * A load that outlives this is abandoned. The object store replaces an object by writing new
 * chunks, then the new metadata, then purging the old chunks: a reader that got the old
 * metadata just before would wait for purged chunks forever.
 */
const LOAD_TIMEOUT_MS = 30_000;

/** The object store's chunks are read within this; it then failed, or the object was replaced under it. */
export class SnapshotLoadTimeoutError extends Error {
  constructor(
    readonly snapshot: string,
    readonly timeoutMs: number,
  ) {
    super(`snapshot ${snapshot} not read within ${timeoutMs} ms`);
    this.name = 'SnapshotLoadTimeoutError';
  }
}

/**
 * Snapshots in a NATS object store (JetStream chunks of 128 KB, a SHA-256 digest checked on
 * read) on a connection the caller owns. The object store is the field library for blobs larger
 * than a message; the event store's stream keeps the events themselves.
 */
export function objectStoreSnapshotsOn(nc: NatsConnection, opts: ObjectStoreSnapshotOptions): SnapshotStore {
  const timeoutMs = opts.loadTimeoutMs ?? LOAD_TIMEOUT_MS;
  let bucket: Promise<ObjectStore> | undefined;
  const open = (): Promise<ObjectStore> => {
    bucket ??= new Objm(nc).create(opts.bucket, { storage: StorageType.File, replicas: 1 }).catch((error: unknown) => {
      bucket = undefined;
      throw error;
    });
    return bucket;
  };

  return {
    async load(name) {
      const result = await (await open()).get(name);
      if (result === null) return undefined;
      const reader = result.data.getReader();
      const chunks: Uint8Array[] = [];
      const reading = (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
        }
        // the digest check's verdict: a corrupt object ends the stream with an error
        const error = await result.error;
        if (error) throw error;
      })();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SnapshotLoadTimeoutError(name, timeoutMs)), timeoutMs);
      });
      try {
        await Promise.race([reading, timedOut]);
      } catch (error) {
        // whatever the abandoned read does next is of no interest
        reading.catch(() => undefined);
        await reader.cancel().catch(() => undefined);
        throw error;
      } finally {
        clearTimeout(timer);
      }
      const whole = Buffer.concat(chunks);
      // a plain Uint8Array over the same bytes, as the port promises (not a Buffer)
      return new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength);
    },

    async save(name, bytes) {
      await (await open()).putBlob({ name }, bytes);
    },
  };
}
