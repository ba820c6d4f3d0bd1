import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Subjects, type AnyCohortEvent } from '#lib/contracts';
import { ensureCohortStreams } from '#lib/event-log';
import { createMemoryEventStore, type EventStore } from '#lib/event-store';
import { waitFor } from '#lib/test-support';
import { DUTY, VALIDATORS, event, insufficientPartialsRun, mixedRun, successRun } from './duty-events.fixture.js';
import { arrayEventSource, collectEvents } from './event-source.js';
import { ExportTargetExistsError, exportEvents } from './export.js';
import { EventFileError, fileEventSource } from './file-source.js';
import { storeEventSource } from './jetstream-source.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cohort-audit-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ndjson = (events: readonly AnyCohortEvent[]) => events.map((e) => `${JSON.stringify(e)}\n`).join('');
const nextSlot = (events: readonly AnyCohortEvent[]) => events.map((e) => ({ ...e, duty: { ...e.duty, slot: e.duty.slot + 1 }, id: `${e.id}+1` })) as AnyCohortEvent[];

async function appendAll(store: EventStore, events: readonly AnyCohortEvent[]): Promise<void> {
  for (const e of events) await store.append(Subjects.event(e.duty, e.producer.service, e.type), e, { msgId: e.id });
}

describe('fileEventSource', () => {
  it('reads plain and gzip NDJSON alike (told apart by magic bytes, not the name) and filters', async () => {
    const events = [...successRun(), ...nextSlot(mixedRun())];
    writeFileSync(join(dir, 'plain.gz'), ndjson(events)); // misleading name on purpose
    writeFileSync(join(dir, 'packed.ndjson'), gzipSync(ndjson(events)));
    for (const name of ['plain.gz', 'packed.ndjson']) {
      const source = fileEventSource(join(dir, name));
      expect(await collectEvents(source)).toEqual(events);
      const failed = await collectEvents(source, { slots: { from: DUTY.slot + 1, to: DUTY.slot + 1 }, eventType: 'DutyFailed' });
      expect(failed.map((e) => [e.duty.slot, e.type])).toEqual([[DUTY.slot + 1, 'DutyFailed']]);
    }
  });

  it('skips blank lines; a broken line names the file, the line and the field', async () => {
    const [a, b] = successRun() as [AnyCohortEvent, AnyCohortEvent];
    const file = join(dir, 'bad.ndjson');
    writeFileSync(file, `${JSON.stringify(a)}\n\n${JSON.stringify({ ...b, duty: { slot: -1, type: 'attester' } })}\n`);
    await expect(collectEvents(fileEventSource(file))).rejects.toThrow(new EventFileError(file, 3, 'duty.slot: expected a non-negative integer'));
    writeFileSync(file, `${JSON.stringify(a)}\n{not json\n`);
    await expect(collectEvents(fileEventSource(file))).rejects.toThrow(/bad\.ndjson:2: not JSON/);
    const noProducer: Record<string, unknown> = { ...a };
    delete noProducer['producer'];
    writeFileSync(file, `${JSON.stringify(noProducer)}\n`);
    await expect(collectEvents(fileEventSource(file))).rejects.toThrow(/bad\.ndjson:1: producer: expected an object/);
    await expect(collectEvents(fileEventSource(join(dir, 'missing.ndjson')))).rejects.toThrow(/ENOENT/);
    // a gzip file cut short (a copy interrupted): an error naming the file, not a hang or a silent end
    const packed = gzipSync(ndjson(successRun()));
    writeFileSync(file, packed.subarray(0, Math.floor(packed.length / 2)));
    await expect(collectEvents(fileEventSource(file))).rejects.toThrow(/bad\.ndjson:\d+: cannot read: unexpected end of file/);
  });
});

describe('exportEvents', () => {
  it('writes the matching envelopes as gzip NDJSON, exactly as given, and reads back the same', async () => {
    const events = [...successRun(), ...nextSlot(insufficientPartialsRun())];
    const file = join(dir, 'export.ndjson.gz');
    const progress: [number, boolean][] = [];
    const result = await exportEvents(arrayEventSource(events), { validator: VALIDATORS[1] }, file, { onProgress: (n, done) => progress.push([n, done]) });
    const expected = events.filter((e) => e.pubkeys.includes(VALIDATORS[1] as `0x${string}`));
    expect(result).toEqual({ file, events: expected.length });
    expect(progress.at(-1)).toEqual([expected.length, true]);
    const raw = readFileSync(file);
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
    expect(gunzipSync(raw).toString('utf8')).toBe(ndjson(expected));
    expect(await collectEvents(fileEventSource(file))).toEqual(expected);
    expect(readdirSync(dir)).toEqual(['export.ndjson.gz']);
  });

  it('refuses to overwrite, and leaves nothing behind when the source fails', async () => {
    const file = join(dir, 'taken.gz');
    writeFileSync(file, 'keep me');
    await expect(exportEvents(arrayEventSource(successRun()), {}, file)).rejects.toThrow(ExportTargetExistsError);
    expect(readFileSync(file, 'utf8')).toBe('keep me');

    const broken = join(dir, 'broken.ndjson');
    writeFileSync(broken, `${JSON.stringify(successRun()[0])}\nnot json\n`);
    await expect(exportEvents(fileEventSource(broken), {}, join(dir, 'out.gz'))).rejects.toThrow(EventFileError);
    expect(readdirSync(dir).sort()).toEqual(['broken.ndjson', 'taken.gz']);
  });
});

describe('storeEventSource (memory store: the same port as JetStream)', () => {
  async function store(events: readonly AnyCohortEvent[]): Promise<EventStore> {
    const s = createMemoryEventStore();
    await ensureCohortStreams(s);
    await appendAll(s, events);
    return s;
  }

  it('reads in record order, whether one wildcard subject or one subject per slot', async () => {
    // slot 101's events recorded between slot 100's: a per-slot read must merge them back
    const [first, ...rest] = successRun();
    const events = [first as AnyCohortEvent, ...nextSlot(successRun()), ...rest];
    const source = storeEventSource(await store(events));
    expect(await collectEvents(source)).toEqual(events);
    expect(await collectEvents(source, { slots: { from: DUTY.slot, to: DUTY.slot + 1 } })).toEqual(events);
    expect((await collectEvents(source, { slots: { from: DUTY.slot + 1, to: DUTY.slot + 1 }, service: 'aggregator' })).map((e) => e.type)).toEqual([
      'PartialSignaturesRecorded',
      'PartialSignaturesRecorded',
      'SignaturesAggregated',
      'Broadcast',
    ]);
    expect(await collectEvents(source, { node: 'node9' })).toEqual([]);
  });

  it('follow: the history, then new events, none twice and none lost across the switch', async () => {
    const s = await store(successRun());
    const source = storeEventSource(s);
    const seen: string[] = [];
    const stop = new AbortController();
    const later = nextSlot(mixedRun());
    const following = source.follow?.({ slots: { from: DUTY.slot, to: DUTY.slot + 1 } }, (e) => void seen.push(e.id), stop.signal);
    await appendAll(s, later.slice(0, 3)); // may land during the history read
    await waitFor(() => seen.length >= successRun().length + 3);
    await appendAll(s, later.slice(3));
    await appendAll(s, [event('Broadcast', 'aggregator', 0, [], { count: 0 }, { duty: { slot: DUTY.slot + 9, type: 'attester' } })]); // outside the range
    await waitFor(() => seen.length >= successRun().length + later.length);
    stop.abort();
    await following;
    expect(seen).toEqual([...successRun(), ...later].map((e) => e.id));
  });
});
