import { sleep, waitFor } from '#lib/test-support';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConcurrencyConflictError,
  NoStreamForSubjectError,
  type EventStore,
  type EventStoreOptions,
  type StoredEvent,
  type StreamSpec,
} from './event-store.js';

export interface EventStoreUnderTest {
  readonly store: EventStore;
  teardown(): Promise<void>;
}

/**
 * One behaviour for every EventStore adapter (JetStream, memory, a future KurrentDB one).
 * Test-only (imports vitest), so it is not re-exported from the library index: an adapter's
 * spec imports it relatively. Each test works in its own fresh stream, so a factory may hand
 * out stores on one shared server.
 */
export function eventStoreConformance(label: string, factory: (opts?: EventStoreOptions) => Promise<EventStoreUnderTest>): void {
  describe(`EventStore conformance: ${label}`, () => {
    let store: EventStore;
    let teardown: () => Promise<void>;
    let handlerErrors: { message: string; seq: number }[];

    beforeEach(async () => {
      handlerErrors = [];
      ({ store, teardown } = await factory({
        onHandlerError: (error, event) => handlerErrors.push({ message: (error as Error).message, seq: event.seq }),
      }));
    });
    afterEach(async () => {
      await teardown();
    });

    /** A fresh stream capturing `<prefix>.>`, so tests never see each other's events. */
    async function freshStream(): Promise<{ spec: StreamSpec; subject: (...tokens: (string | number)[]) => string }> {
      const id = randomUUID().replaceAll('-', '').slice(0, 12);
      const spec: StreamSpec = { name: `CONF_${id}`, subjects: [`conf${id}.>`] };
      await store.ensureStream(spec);
      return { spec, subject: (...tokens) => [`conf${id}`, ...tokens].join('.') };
    }

    it('reads back what was appended, with stream, subject, sequence, msgId, time and data', async () => {
      const { spec, subject } = await freshStream();
      const before = Date.now();
      const data = { slot: 9_000_001, pubkeys: ['0x' + 'ab'.repeat(48)], approved: true, reason: null };
      const first = await store.append(subject('guard', 'shard-1'), data, { msgId: 'm-1' });
      const second = await store.append(subject('guard', 'shard-1'), { slot: 9_000_002 }, { msgId: 'm-2' });
      expect(first).toEqual({ seq: 1, duplicate: false });
      expect(second).toEqual({ seq: 2, duplicate: false });

      const events = await collect(store.read(subject('>')));
      expect(events.map(({ time: _time, ...rest }) => rest)).toEqual([
        { stream: spec.name, subject: subject('guard', 'shard-1'), seq: 1, msgId: 'm-1', data },
        { stream: spec.name, subject: subject('guard', 'shard-1'), seq: 2, msgId: 'm-2', data: { slot: 9_000_002 } },
      ]);
      for (const e of events) {
        expect(e.time).toBeInstanceOf(Date);
        expect(e.time.getTime()).toBeGreaterThanOrEqual(before - 1000);
        expect(e.time.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      }
    });

    it('numbers events with one sequence per stream and filters reads by wildcard', async () => {
      const { subject } = await freshStream();
      const appended = [
        [subject('duty', 'attester', 'decided'), 'a'],
        [subject('duty', 'proposer', 'decided'), 'b'],
        [subject('guard', 'shard-0'), 'c'],
        [subject('duty', 'attester', 'served'), 'd'],
        [subject('duty', 'attester', 'decided'), 'e'],
      ] as const;
      for (const [s, data] of appended) await store.append(s, data, { msgId: `id-${data}` });

      const view = async (filter: string): Promise<[number, unknown][]> =>
        (await collect(store.read(filter))).map((e) => [e.seq, e.data]);
      expect(await view(subject('>'))).toEqual([[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd'], [5, 'e']]);
      expect(await view(subject('duty', '*', 'decided'))).toEqual([[1, 'a'], [2, 'b'], [5, 'e']]);
      expect(await view(subject('duty', 'attester', '>'))).toEqual([[1, 'a'], [4, 'd'], [5, 'e']]);
      expect(await view(subject('duty', '>'))).toEqual([[1, 'a'], [2, 'b'], [4, 'd'], [5, 'e']]);
      expect(await view(subject('guard', 'shard-0'))).toEqual([[3, 'c']]);
      expect(await view(subject('guard', 'shard-9'))).toEqual([]);
    });

    it('reads a sequence range, inclusive at both ends', async () => {
      const { subject } = await freshStream();
      for (let i = 1; i <= 10; i++) await store.append(subject(i % 2 === 0 ? 'even' : 'odd'), i, { msgId: `n-${i}` });
      const seqs = async (filter: string, range: { fromSeq?: number; toSeq?: number }): Promise<number[]> =>
        (await collect(store.read<number>(filter, range))).map((e) => e.seq);
      expect(await seqs(subject('>'), { fromSeq: 4, toSeq: 7 })).toEqual([4, 5, 6, 7]);
      expect(await seqs(subject('>'), { fromSeq: 8 })).toEqual([8, 9, 10]);
      expect(await seqs(subject('>'), { toSeq: 2 })).toEqual([1, 2]);
      expect(await seqs(subject('even'), { fromSeq: 3, toSeq: 8 })).toEqual([4, 6, 8]);
      expect(await seqs(subject('odd'), { fromSeq: 4, toSeq: 4 })).toEqual([]);
      expect(await seqs(subject('>'), { fromSeq: 11 })).toEqual([]);
      expect(await seqs(subject('>'), { fromSeq: 6, toSeq: 5 })).toEqual([]);
    });

    it('ends a read of an empty stream instead of waiting', async () => {
      const { subject } = await freshStream();
      expect(await collect(store.read(subject('>')))).toEqual([]);
      await store.append(subject('x'), 1, { msgId: 'only' });
      expect(await collect(store.read(subject('y')))).toEqual([]);
    });

    it('stores a msgId once: a second append reports duplicate with the original sequence', async () => {
      const { subject } = await freshStream();
      await store.append(subject('a'), 'first', { msgId: 'same' });
      await store.append(subject('b'), 'other', { msgId: 'different' });
      const again = await store.append(subject('a'), 'second', { msgId: 'same' });
      expect(again).toEqual({ seq: 1, duplicate: true });
      const events = await collect(store.read(subject('>')));
      expect(events.map((e) => [e.seq, e.data])).toEqual([[1, 'first'], [2, 'other']]);
      expect(await store.lastSubjectSeq(subject('a'))).toBe(1);
    });

    it('appends when expectedLastSubjectSeq holds and throws ConcurrencyConflictError when it does not', async () => {
      const { subject } = await freshStream();
      const shard = subject('guard', 'shard-3');
      await store.append(subject('guard', 'shard-4'), 'noise', { msgId: 'noise-1' });
      const first = await store.append(shard, 'v1', { msgId: 'v1', expectedLastSubjectSeq: 0 });
      await store.append(subject('guard', 'shard-4'), 'noise', { msgId: 'noise-2' });
      expect(await store.lastSubjectSeq(shard)).toBe(first.seq);
      const second = await store.append(shard, 'v2', { msgId: 'v2', expectedLastSubjectSeq: first.seq });
      expect(second).toEqual({ seq: 4, duplicate: false });

      const stale = await store.append(shard, 'v3', { msgId: 'v3', expectedLastSubjectSeq: first.seq }).catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(ConcurrencyConflictError);
      expect((stale as ConcurrencyConflictError).subject).toBe(shard);
      expect((stale as ConcurrencyConflictError).expected).toBe(first.seq);
      expect((await collect(store.read(shard))).map((e) => e.data)).toEqual(['v1', 'v2']);
    });

    it('treats expectedLastSubjectSeq 0 as "the subject must be empty"', async () => {
      const { subject } = await freshStream();
      expect(await store.lastSubjectSeq(subject('s'))).toBe(0);
      await store.append(subject('other'), 'x', { msgId: 'x' });
      // the stream is not empty, the subject is: 0 holds
      expect(await store.append(subject('s'), 'y', { msgId: 'y', expectedLastSubjectSeq: 0 })).toEqual({ seq: 2, duplicate: false });
      await expect(store.append(subject('s'), 'z', { msgId: 'z', expectedLastSubjectSeq: 0 })).rejects.toBeInstanceOf(ConcurrencyConflictError);
    });

    it('answers a retried conditional append as a duplicate, not a conflict', async () => {
      const { subject } = await freshStream();
      const opts = { msgId: 'approve-slot-7', expectedLastSubjectSeq: 0 };
      const first = await store.append(subject('shard'), { slot: 7 }, opts);
      await expect(store.append(subject('shard'), { slot: 7 }, opts)).resolves.toEqual({ seq: first.seq, duplicate: true });
    });

    it('lets exactly one of N concurrent appends with the same expectation win', async () => {
      const { subject } = await freshStream();
      const shard = subject('guard', 'shard-0');
      const base = await store.append(shard, 'base', { msgId: 'base' });
      const writers = 12;
      const outcomes = await Promise.allSettled(
        Array.from({ length: writers }, (_, i) => store.append(shard, { writer: i }, { msgId: `w-${i}`, expectedLastSubjectSeq: base.seq })),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(writers - 1);
      for (const o of lost) expect(o.reason).toBeInstanceOf(ConcurrencyConflictError);
      expect(await collect(store.read(shard))).toHaveLength(2);
    });

    it("subscribes from 'new': only events appended after subscribe resolved", async () => {
      const { subject } = await freshStream();
      await store.append(subject('e'), 'old', { msgId: 'old' });
      const seen: StoredEvent[] = [];
      const sub = await store.subscribe(subject('>'), 'new', (e) => void seen.push(e));
      await store.append(subject('e'), 'fresh-1', { msgId: 'f1' });
      await store.append(subject('e'), 'fresh-2', { msgId: 'f2' });
      await waitFor(() => seen.length === 2);
      expect(seen.map((e) => [e.seq, e.data, e.msgId])).toEqual([[2, 'fresh-1', 'f1'], [3, 'fresh-2', 'f2']]);
      await sub.close();
    });

    it('subscribes from a sequence: replays from it, then continues live, honouring the filter', async () => {
      const { subject } = await freshStream();
      for (let i = 1; i <= 5; i++) await store.append(subject(i === 3 ? 'skip' : 'keep'), i, { msgId: `k-${i}` });
      const seen: number[] = [];
      const sub = await store.subscribe<number>(subject('keep'), { seq: 2 }, (e) => void seen.push(e.data));
      await waitFor(() => seen.length === 3);
      await store.append(subject('skip'), 6, { msgId: 'k-6' });
      await store.append(subject('keep'), 7, { msgId: 'k-7' });
      await waitFor(() => seen.length === 4);
      expect(seen).toEqual([2, 4, 5, 7]);
      await sub.close();
    });

    it("subscribes from 'start': everything, then live", async () => {
      const { subject } = await freshStream();
      await store.append(subject('a'), 1, { msgId: 's-1' });
      await store.append(subject('b'), 2, { msgId: 's-2' });
      const seen: number[] = [];
      const sub = await store.subscribe<number>(subject('>'), 'start', (e) => void seen.push(e.data));
      await store.append(subject('a'), 3, { msgId: 's-3' });
      await waitFor(() => seen.length === 3);
      expect(seen).toEqual([1, 2, 3]);
      await sub.close();
    });

    it('subscribes from a time: the first event stored at or after it, then live', async () => {
      const { subject } = await freshStream();
      await store.append(subject('a'), 1, { msgId: 't-1' });
      await sleep(30);
      const since = new Date();
      await sleep(5);
      await store.append(subject('a'), 2, { msgId: 't-2' });
      await store.append(subject('b'), 3, { msgId: 't-3' });
      const seen: number[] = [];
      const sub = await store.subscribe<number>(subject('>'), { time: since }, (e) => void seen.push(e.data));
      await store.append(subject('a'), 4, { msgId: 't-4' });
      await waitFor(() => seen.length === 3);
      expect(seen).toEqual([2, 3, 4]);
      await sub.close();
    });

    it('awaits the handler one event at a time and survives a throwing handler', async () => {
      const { subject } = await freshStream();
      const seen: number[] = [];
      let active = 0;
      let maxActive = 0;
      const sub = await store.subscribe<number>(subject('>'), 'start', async (e) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(e.data % 3);
        active--;
        if (e.data === 4) throw new Error('handler failed on 4');
        seen.push(e.data);
      });
      await Promise.all(Array.from({ length: 8 }, (_, i) => store.append(subject('n'), i + 1, { msgId: `p-${i + 1}` })));
      await waitFor(() => seen.length === 7);
      expect([...seen].sort((a, b) => a - b)).toEqual([1, 2, 3, 5, 6, 7, 8]);
      expect(maxActive).toBe(1);
      expect(handlerErrors).toHaveLength(1);
      expect(handlerErrors[0]?.message).toBe('handler failed on 4');
      await sub.close();
    });

    it('delivers a new event to a live subscriber within milliseconds', async () => {
      const { subject } = await freshStream();
      const latenciesMs: number[] = [];
      let sentAt = 0;
      const sub = await store.subscribe(subject('>'), 'new', () => void latenciesMs.push(performance.now() - sentAt));
      for (let i = 0; i < 20; i++) {
        sentAt = performance.now();
        await store.append(subject('tick'), i, { msgId: `t-${i}` });
        await waitFor(() => latenciesMs.length === i + 1);
      }
      await sub.close();
      const sorted = [...latenciesMs].sort((a, b) => a - b);
      const median = sorted[10] as number;
      console.info(`[${label}] append → subscriber latency: median ${median.toFixed(2)} ms, max ${(sorted.at(-1) as number).toFixed(2)} ms`);
      expect(median).toBeLessThan(50);
    });

    it('stops delivering after a subscription is closed', async () => {
      const { subject } = await freshStream();
      const seen: unknown[] = [];
      const sub = await store.subscribe(subject('>'), 'new', (e) => void seen.push(e.data));
      await store.append(subject('a'), 1, { msgId: 'c-1' });
      await waitFor(() => seen.length === 1);
      await sub.close();
      await store.append(subject('a'), 2, { msgId: 'c-2' });
      await sleep(50);
      expect(seen).toEqual([1]);
    });

    it('makes ensureStream idempotent and lets it widen the subjects', async () => {
      const { spec, subject } = await freshStream();
      await store.append(subject('kept'), 'x', { msgId: 'keep-me' });
      await store.ensureStream(spec);
      await store.ensureStream({ ...spec });
      expect((await collect(store.read(subject('>')))).map((e) => e.data)).toEqual(['x']);

      const extra = `${spec.name.toLowerCase()}extra.events`;
      await expect(store.append(extra, 'y', { msgId: 'extra-1' })).rejects.toBeInstanceOf(NoStreamForSubjectError);
      await store.ensureStream({ ...spec, subjects: [...spec.subjects, extra] });
      expect(await store.append(extra, 'y', { msgId: 'extra-1' })).toEqual({ seq: 2, duplicate: false });
      expect(await store.lastSubjectSeq(subject('kept'))).toBe(1);
    });

    it('refuses an append to a subject no stream captures', async () => {
      const stray = `nostream${randomUUID().replaceAll('-', '')}.event`;
      const outcome = await store.append(stray, 1, { msgId: 'stray' }).catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(NoStreamForSubjectError);
      expect((outcome as NoStreamForSubjectError).subject).toBe(stray);
    });
  });
}

export async function collect<T>(events: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of events) out.push(e);
  return out;
}

export { sleep, waitFor };
