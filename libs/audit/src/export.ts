import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, link, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { EventSource } from './event-source.js';
import type { EventQuery } from './query.js';

export interface ExportOptions {
  /** Called with the number of events written so far, at most once per `progressIntervalMs`, and once at the end. */
  readonly onProgress?: (exported: number, done: boolean) => void;
  readonly progressIntervalMs?: number;
}

export interface ExportResult {
  readonly file: string;
  readonly events: number;
}

/** The file exists already: an export never overwrites. */
export class ExportTargetExistsError extends Error {
  override readonly name = 'ExportTargetExistsError';
  constructor(readonly file: string) {
    super(`${file} already exists; choose another name (an export never overwrites)`);
  }
}

/**
 * Writes the query's events as gzip-compressed NDJSON: one envelope per line, exactly as stored
 * (the JSON of the stored envelope; the store's own encoding is JSON.stringify, so the line is
 * the stored text). The file appears only when complete: written under a temporary name in the
 * same directory, then hard-linked to `file` — which fails if `file` exists, so even a file
 * created meanwhile is never overwritten — and the temporary name removed. On any error nothing
 * is left behind.
 */
export async function exportEvents(source: EventSource, query: EventQuery, file: string, options: ExportOptions = {}): Promise<ExportResult> {
  if (await exists(file)) throw new ExportTargetExistsError(file);
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
  const intervalMs = options.progressIntervalMs ?? 1000;
  let exported = 0;
  let lastReportMs = Date.now();
  async function* lines(): AsyncIterable<string> {
    for await (const event of source.read(query)) {
      yield `${JSON.stringify(event)}\n`;
      exported++;
      if (options.onProgress && Date.now() - lastReportMs >= intervalMs) {
        lastReportMs = Date.now();
        options.onProgress(exported, false);
      }
    }
  }
  try {
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
    await publish(temp, file);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  options.onProgress?.(exported, true);
  return { file, events: exported };
}

/** link() is atomic no-overwrite; on a filesystem without hard links, check then rename. */
async function publish(temp: string, file: string): Promise<void> {
  try {
    await link(temp, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ExportTargetExistsError(file);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    if (await exists(file)) throw new ExportTargetExistsError(file);
    await rename(temp, file);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
