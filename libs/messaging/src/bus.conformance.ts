import { sleep, waitFor } from '#lib/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusTimeoutError, NoRespondersError, RemoteError, type Bus, type BusOptions } from './bus.js';

/**
 * One behaviour for every Bus adapter. Test-only (imports vitest), so it is not re-exported
 * from the library index; adapter specs import it relatively.
 */
export function busConformance(label: string, factory: (opts: BusOptions) => Promise<{ bus: Bus; teardown(): Promise<void> }>): void {
  describe(`Bus conformance: ${label}`, () => {
    let bus: Bus;
    let teardown: () => Promise<void>;
    let handlerErrors: { message: string; subject: string }[];

    beforeEach(async () => {
      handlerErrors = [];
      ({ bus, teardown } = await factory({
        onHandlerError: (error, subject) => handlerErrors.push({ message: (error as Error).message, subject }),
      }));
    });
    afterEach(async () => {
      await teardown();
    });

    it('delivers a published message as JSON, with its subject, to wildcard subscribers', async () => {
      const one: [unknown, string][] = [];
      const all: [unknown, string][] = [];
      const exact: unknown[] = [];
      bus.subscribe('duty.*.scheduled', (msg, subject) => void one.push([msg, subject]));
      bus.subscribe('duty.>', (msg, subject) => void all.push([msg, subject]));
      bus.subscribe('duty.attester.scheduled', (msg) => void exact.push(msg));
      const msg = { slot: 123, pubkeys: ['0xab', '0xcd'], nested: { deadlineMs: 4000 } };
      bus.publish('duty.attester.scheduled', msg);
      bus.publish('duty.attester.due.now', { slot: 124 });
      await waitFor(() => all.length === 2);
      expect(one).toEqual([[msg, 'duty.attester.scheduled']]);
      expect(all).toEqual([
        [msg, 'duty.attester.scheduled'],
        [{ slot: 124 }, 'duty.attester.due.now'],
      ]);
      expect(exact).toEqual([msg]);
    });

    it('handles messages one at a time, in order', async () => {
      const seen: number[] = [];
      let active = 0;
      let maxActive = 0;
      bus.subscribe<number>('seq.test', async (n) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(n % 3);
        seen.push(n);
        active--;
      });
      const sent = Array.from({ length: 20 }, (_, i) => i);
      for (const n of sent) bus.publish('seq.test', n);
      await waitFor(() => seen.length === sent.length);
      expect(seen).toEqual(sent);
      expect(maxActive).toBe(1);
    });

    it('keeps a subscription alive when its handler throws, and reports the subject', async () => {
      const seen: number[] = [];
      bus.subscribe<number>('fragile', (n) => {
        if (n === 2) throw new Error('boom on 2');
        seen.push(n);
      });
      for (const n of [1, 2, 3]) bus.publish('fragile', n);
      await waitFor(() => seen.length === 2);
      expect(seen).toEqual([1, 3]);
      expect(handlerErrors).toEqual([{ message: 'boom on 2', subject: 'fragile' }]);
    });

    it('gives each message to exactly one member of a queue group', async () => {
      const a: number[] = [];
      const b: number[] = [];
      const outside: number[] = [];
      bus.subscribe<number>('work', (n) => void a.push(n), { queue: 'workers' });
      bus.subscribe<number>('work', (n) => void b.push(n), { queue: 'workers' });
      bus.subscribe<number>('work', (n) => void outside.push(n));
      const sent = Array.from({ length: 40 }, (_, i) => i);
      for (const n of sent) bus.publish('work', n);
      await waitFor(() => a.length + b.length === sent.length && outside.length === sent.length);
      expect([...a, ...b].sort((x, y) => x - y)).toEqual(sent);
      expect(outside).toEqual(sent);
    });

    it('answers a request through reply', async () => {
      bus.reply<{ slot: number }, { approved: boolean; slot: number }>('guard.review', async ({ slot }) => ({ approved: slot % 2 === 0, slot }));
      await expect(bus.request('guard.review', { slot: 10 }, { timeoutMs: 2000 })).resolves.toEqual({ approved: true, slot: 10 });
      await expect(bus.request('guard.review', { slot: 11 }, { timeoutMs: 2000 })).resolves.toEqual({ approved: false, slot: 11 });
    });

    it('passes a reply that has an `error` field through as data', async () => {
      const body = { error: { message: 'not a failure, a business answer' } };
      bus.reply('shape', () => body);
      await expect(bus.request('shape', null, { timeoutMs: 2000 })).resolves.toEqual(body);
    });

    it('rejects with NoRespondersError when nobody listens', async () => {
      await expect(bus.request('nobody.home', {}, { timeoutMs: 2000 })).rejects.toBeInstanceOf(NoRespondersError);
    });

    it('rejects with BusTimeoutError when the reply is too late', async () => {
      bus.reply('slow', async () => {
        await sleep(150);
        return 'late';
      });
      const started = performance.now();
      const outcome = await bus.request('slow', {}, { timeoutMs: 50 }).catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(BusTimeoutError);
      expect((outcome as BusTimeoutError).subject).toBe('slow');
      expect(performance.now() - started).toBeLessThan(140);
    });

    it('turns a throwing reply handler into RemoteError and keeps replying', async () => {
      bus.reply<number, number>('half', (n) => {
        if (n % 2 !== 0) throw new Error(`odd: ${n}`);
        return n / 2;
      });
      const failure = await bus.request('half', 3, { timeoutMs: 2000 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(RemoteError);
      expect((failure as RemoteError).remoteMessage).toBe('odd: 3');
      await expect(bus.request('half', 8, { timeoutMs: 2000 })).resolves.toBe(4);
      expect(handlerErrors).toEqual([{ message: 'odd: 3', subject: 'half' }]);
    });

    it('stops delivering after a subscription is closed', async () => {
      const kept: number[] = [];
      const dropped: number[] = [];
      const sub = bus.subscribe<number>('closing', (n) => void dropped.push(n));
      bus.subscribe<number>('closing', (n) => void kept.push(n));
      bus.publish('closing', 1);
      await waitFor(() => dropped.length === 1 && kept.length === 1);
      sub.close();
      bus.publish('closing', 2);
      await waitFor(() => kept.length === 2);
      expect(dropped).toEqual([1]);
    });
  });
}

export { sleep, waitFor };
