import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { isDutyType, type AnyCohortEvent } from '#lib/contracts';
import type { EventSource } from './event-source.js';
import { matchesQuery } from './query.js';

/** The first two bytes of every gzip member (RFC 1952 §2.3.1). */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** A line of an event file that is not an event envelope: names the file, the line and the field. */
export class EventFileError extends Error {
  override readonly name = 'EventFileError';
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${file}:${line}: ${message}`, options);
  }
}

export async function isGzipFile(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    await handle.close();
  }
}

/**
 * An NDJSON file of event envelopes (one per line, as `exportEvents` writes them), plain or
 * gzip-compressed — told apart by the magic bytes, not the name. Read lazily, line by line, so
 * an export of any size is filtered in constant memory. Blank lines are skipped; any other line
 * that is not an envelope stops the read with an EventFileError.
 */
export function fileEventSource(file: string): EventSource {
  return {
    label: file,
    read(query) {
      return (async function* () {
        const gzip = await isGzipFile(file);
        const raw: Readable = createReadStream(file);
        const input = gzip ? raw.pipe(createGunzip()) : raw;
        raw.on('error', (error) => input.destroy(error));
        const lines = createInterface({ input, crlfDelay: Infinity });
        let lineNo = 0;
        try {
          for await (const line of lines) {
            lineNo++;
            if (line.trim() === '') continue;
            const event = parseEnvelope(file, lineNo, line);
            if (matchesQuery(event, query)) yield event;
          }
        } catch (error) {
          if (error instanceof EventFileError) throw error;
          // a truncated or corrupt gzip stream, or a read error: say which file and where
          throw new EventFileError(file, lineNo + 1, `cannot read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        } finally {
          lines.close();
          input.destroy();
          raw.destroy();
        }
      })();
    },
    async close() {},
  };
}

/**
 * Checks the envelope fields the audit reads (not each payload: a file from a newer node may
 * carry event types or versions this build does not know; they are shown, not interpreted).
 */
export function parseEnvelope(file: string, line: number, text: string): AnyCohortEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EventFileError(file, line, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const fail = (field: string, expected: string): never => {
    throw new EventFileError(file, line, `${field}: expected ${expected}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('event', 'an object (an event envelope)');
  const e = value as Record<string, unknown>;
  if (typeof e['id'] !== 'string') fail('id', 'a string');
  if (typeof e['type'] !== 'string' || e['type'] === '') fail('type', 'an event type name');
  if (!Number.isSafeInteger(e['version'])) fail('version', 'an integer');
  const duty = e['duty'] as Record<string, unknown> | null | undefined;
  if (typeof duty !== 'object' || duty === null) fail('duty', 'an object {slot, type}');
  if (!Number.isSafeInteger(duty?.['slot']) || (duty?.['slot'] as number) < 0) fail('duty.slot', 'a non-negative integer');
  if (!isDutyType(duty?.['type'])) fail('duty.type', 'a duty type');
  if (!Array.isArray(e['pubkeys']) || !e['pubkeys'].every((p) => typeof p === 'string')) fail('pubkeys', 'an array of hex strings');
  const producer = e['producer'] as Record<string, unknown> | null | undefined;
  if (typeof producer !== 'object' || producer === null) fail('producer', 'an object {node, service}');
  if (typeof producer?.['node'] !== 'string') fail('producer.node', 'a string');
  if (typeof producer?.['service'] !== 'string') fail('producer.service', 'a service name');
  if (typeof e['time'] !== 'string' || Number.isNaN(Date.parse(e['time']))) fail('time', 'an ISO 8601 time');
  if (typeof e['data'] !== 'object' || e['data'] === null) fail('data', 'an object');
  return value as AnyCohortEvent;
}
