import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILURE_REASONS, REJECTION_REASONS, type AnyCohortEvent, type Duty, type Hex, type ServiceName } from '#lib/contracts';
import { EventLog, ensureCohortStreams, readEvents } from '#lib/event-log';
import { connectJetStreamEventStore, createMemoryEventStore, type EventStore } from '#lib/event-store';
import { startNatsServer, waitFor, type NatsServerHandle } from '#lib/test-support';
import { EventsUsageError, eventsCommand, eventsUsage, explainCommand, explainUsage, queryOf, rangeOf } from './events.js';

const clusterHash = `0x${'ab'.repeat(32)}` as Hex;
const validators = ['a1', 'b2', 'c3'].map((b) => `0x${b.repeat(48)}` as Hex);
const [va, vb, vc] = validators as [Hex, Hex, Hex];
const GENESIS_S = 1_735_689_600; // 2025-01-01T00:00:00Z
const slotStart = (slot: number) => new Date((GENESIS_S + slot * 12) * 1000);
const root = `0x${'77'.repeat(32)}` as Hex;
const sig = `0x${'99'.repeat(96)}` as Hex;

/** Records, through EventLog, slot 40 (every validator broadcast) and slot 41 (share 3 invalid → insufficient). */
async function recordDuties(store: EventStore): Promise<void> {
  let now = new Date(0);
  const logs = new Map<ServiceName, EventLog>();
  const log = (service: ServiceName) => logs.get(service) ?? (logs.set(service, new EventLog({ store, node: 'node0', service, clusterHash, now: () => now })).get(service) as EventLog);
  const at = (duty: Duty, ms: number) => (now = new Date(slotStart(duty.slot).getTime() + ms));
  const data = { slot: '0', index: '0', beacon_block_root: root, source: { epoch: '0', root }, target: { epoch: '1', root } };
  for (const slot of [40, 41]) {
    const duty: Duty = { slot, type: 'attester' };
    at(duty, 4000);
    await log('duty-scheduler').record('UnsignedDataFetched', duty, validators, { value: { type: 'attester', byCommittee: { '0': data } } });
    at(duty, 4100);
    await log('consensus').record('DutyDecided', duty, validators, { round: 1, valueHash: root, value: { type: 'attester', byCommittee: { '0': data } } });
    at(duty, 4300);
    await log('signer-gateway').record('PartialSignatureSubmitted', duty, validators, { partials: validators.map((pubkey) => ({ pubkey, shareIndex: 1, signingRoot: root, signature: sig })) });
    at(duty, 4320);
    await log('aggregator').record('PartialSignaturesRecorded', duty, validators, { shareIndex: 2, count: 3 }, { discriminator: 's2' });
    if (slot === 40) {
      at(duty, 4350);
      await log('aggregator').record('PartialSignaturesRecorded', duty, validators, { shareIndex: 3, count: 3 }, { discriminator: 's3' });
      at(duty, 4400);
      await log('aggregator').record('Broadcast', duty, validators, { count: 3 });
    } else {
      at(duty, 4350);
      await log('aggregator').record('PartialSignaturesRejected', duty, validators, { shareIndex: 3, rejections: validators.map((pubkey) => ({ pubkey, reason: 'invalid_signature' as const })) }, { discriminator: 's3' });
      at(duty, 24_000);
      await log('aggregator').record('DutyFailed', duty, validators, { reason: 'insufficient_partial_signatures', detail: '3 validator(s) not aggregated by the deadline' });
    }
  }
}

function capture(signal?: AbortSignal) {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (t: string) => void (out += t) }, stderr: { write: (t: string) => void (err += t) }, ...(signal && { signal }) },
    out: () => out,
    err: () => err,
  };
}

let dir: string;
let file: string;
let recorded: AnyCohortEvent[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cohort-events-cli-'));
  const store = createMemoryEventStore();
  await ensureCohortStreams(store);
  await recordDuties(store);
  recorded = await readEvents(store);
  file = join(dir, 'node0.ndjson');
  writeFileSync(file, recorded.map((e) => `${JSON.stringify(e)}\n`).join(''));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cohort events (from a file)', () => {
  it('prints a table: header, then one row per event with slot, duty, service, event, validators and detail', async () => {
    const c = capture();
    expect(await eventsCommand(['--file', file], c.io)).toBe(0);
    const lines = c.out().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+SLOT DUTY\s+NODE\s+SERVICE\s+EVENT\s+VALS DETAIL$/);
    expect(lines).toHaveLength(1 + recorded.length);
    const failed = lines.find((l) => l.includes('DutyFailed'));
    expect(failed).toMatch(/^2025-01-01T00:08:36\.000Z\s+41 attester\s+node0\s+aggregator\s+DutyFailed\s+3 insufficient_partial_signatures: 3 validator\(s\)/);
    // fixed columns: every row's EVENT column starts where the header's does
    const column = lines[0]?.indexOf('EVENT');
    for (const line of lines.slice(1)) expect(line.slice(column).split(' ')[0]).toMatch(/^[A-Z][A-Za-z]+$/);
  });

  it('filters by slot, service and type; NDJSON prints the stored envelopes', async () => {
    const c = capture();
    await eventsCommand(['--file', file, '--slot', '41', '--service', 'aggregator', '--format', 'ndjson'], c.io);
    const lines = c.out().trimEnd().split('\n').map((l) => JSON.parse(l) as AnyCohortEvent);
    expect(lines).toEqual(recorded.filter((e) => e.duty.slot === 41 && e.producer.service === 'aggregator'));

    const one = capture();
    await eventsCommand(['--file', file, '--type', 'Broadcast', '--validator', vb.toUpperCase().replace('0X', '0x'), '--format', 'ndjson'], one.io);
    expect(one.out().trimEnd().split('\n').map((l) => (JSON.parse(l) as AnyCohortEvent).duty.slot)).toEqual([40]);

    const epoch = capture();
    await eventsCommand(['--file', file, '--epoch', '5', '--slots-per-epoch', '8', '--format', 'ndjson'], epoch.io);
    expect(epoch.out().trimEnd().split('\n')).toHaveLength(recorded.filter((e) => e.duty.slot >= 40 && e.duty.slot <= 47).length);
    const none = capture();
    await eventsCommand(['--file', file, '--epoch', '1', '--format', 'ndjson'], none.io); // mainnet: slots 32..63
    expect(none.out().trimEnd().split('\n')).toHaveLength(recorded.length);
  });

  it('usage errors name the flag', async () => {
    const bad: [string[], RegExp][] = [
      [['--slot', '5..3'], /--slot: the range 5\.\.3 ends before it starts/],
      [['--slot', 'x'], /--slot: expected N or A\.\.B/],
      [['--slot', '1', '--epoch', '1'], /exclude each other/],
      [['--duty', 'voluntary_exit'], /--duty: one of attester/],
      [['--service', 'nope'], /--service: one of duty-scheduler/],
      [['--type', 'Nope'], /--type: one of DutyScheduled/],
      [['--validator', '0x1234'], /--validator: expected a 0x-prefixed 48-byte/],
      [['--format', 'csv'], /--format: table or ndjson/],
      [['--slots-per-epoch', '8'], /only applies to --epoch/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['--nats', 'nats://x:1', '--file', 'f'], /--nats and --file exclude each other/],
      [['--file', 'f', '--follow'], /--follow needs a live node/],
    ];
    for (const [args, message] of bad) {
      const run = eventsCommand(args.includes('--file') || args.includes('--nats') ? args : ['--file', file, ...args], capture().io);
      await expect(run, args.join(' ')).rejects.toThrow(message);
      await expect(eventsCommand(args.includes('--file') || args.includes('--nats') ? args : ['--file', file, ...args], capture().io)).rejects.toBeInstanceOf(EventsUsageError);
    }
    await expect(explainCommand(['--file', file], capture().io)).rejects.toThrow(/--slot N is required/);
    const merged = join(dir, 'merged.ndjson');
    const node1 = recorded.map((e) => ({ ...e, producer: { ...e.producer, node: 'node1' } }));
    writeFileSync(merged, [...recorded, ...node1].map((e) => `${JSON.stringify(e)}\n`).join(''));
    await expect(explainCommand(['--file', merged, '--slot', '41'], capture().io)).rejects.toThrow(/several nodes \(node0, node1\).*--node NAME/);
    const chosen = capture();
    await explainCommand(['--file', merged, '--slot', '41', '--node', 'node1'], chosen.io);
    expect(chosen.out()).toMatch(/^duty 41\/attester on node1: 3 validator\(s\)/);
    await expect(explainCommand(['--file', file, '--slot', '40', '--seconds-per-slot', '6'], capture().io)).rejects.toThrow(/--genesis-time/);
    expect(eventsUsage).toContain('cohort events export --out FILE');
    expect(explainUsage).toContain('cohort explain --slot N');
  });

  it('parses ranges and builds queries', () => {
    expect(rangeOf('slot', '7')).toEqual({ from: 7, to: 7 });
    expect(rangeOf('slot', '7..9')).toEqual({ from: 7, to: 9 });
    expect(queryOf({ epoch: '2..3', 'slots-per-epoch': '8', duty: 'attester', node: 'node0' })).toEqual({ slots: { from: 16, to: 31 }, dutyType: 'attester', node: 'node0' });
    // `none`: the events outside any duty (refused peer messages)
    expect(queryOf({ slot: '5', duty: 'none', type: 'PeerMessageRefused' })).toEqual({ slots: { from: 5, to: 5 }, dutyType: 'none', eventType: 'PeerMessageRefused' });
  });
});

describe('cohort events export', () => {
  it('writes gzip NDJSON of the filtered events, reports on stderr, refuses to overwrite', async () => {
    const out = join(dir, 'slot41.ndjson.gz');
    const c = capture();
    expect(await eventsCommand(['export', '--file', file, '--slot', '41', '--out', out], c.io)).toBe(0);
    const expected = recorded.filter((e) => e.duty.slot === 41);
    expect(gunzipSync(readFileSync(out)).toString('utf8')).toBe(expected.map((e) => `${JSON.stringify(e)}\n`).join(''));
    expect(c.err()).toBe(`exported ${expected.length} event(s) from ${file} to ${out}\n`);
    await expect(eventsCommand(['export', '--file', file, '--out', out], capture().io)).rejects.toThrow(/already exists/);
    await expect(eventsCommand(['export', '--file', file], capture().io)).rejects.toThrow(/--out FILE is required/);
    expect(existsSync(out)).toBe(true);
  });
});

describe('cohort explain (from a file)', () => {
  it('names the failure reason with its catalog text and the peer whose signatures were invalid', async () => {
    const c = capture();
    expect(await explainCommand(['--file', file, '--slot', '41', '--genesis-time', String(GENESIS_S), '--operators', '4'], c.io)).toBe(0);
    const text = c.out();
    expect(text).toContain(`failed: insufficient_partial_signatures — ${FAILURE_REASONS.insufficient_partial_signatures} (3 validator(s))`);
    expect(text).toContain(`share 3: none accepted; rejected: invalid_signature ×3 (${REJECTION_REASONS.invalid_signature})`);
    expect(text).toContain('share 4: nothing received');
    expect(text).toContain('recorded by aggregator DutyFailed at +24000 ms');
  });

  it('a succeeded duty for one validator, as JSON', async () => {
    const c = capture();
    await explainCommand(['--file', file, '--slot', '40', '--validator', vc, '--genesis-time', String(GENESIS_S), '--format', 'json'], c.io);
    const x = JSON.parse(c.out()) as { verdict: string; validator: string; broadcast: { firstAtMs: number } };
    expect(x).toMatchObject({ verdict: 'succeeded', validator: vc, broadcast: { firstAtMs: 4400 } });
    const text = capture();
    await explainCommand(['--file', file, '--slot', '40', '--validator', va, '--genesis-time', String(GENESIS_S)], text.io);
    expect(text.out()).toContain('succeeded: broadcast at +4400 ms\n');
  });
});

describe('after a network reset: one slot, two networks', () => {
  const before = `0x${'0b'.repeat(32)}` as Hex;
  const after = `0x${'0a'.repeat(32)}` as Hex;
  let twoNetworks: string;
  beforeAll(() => {
    // slot 40 succeeded on the old network; the new network's slot 40 failed (slot 41's events, renumbered)
    const old = recorded.filter((e) => e.duty.slot === 40).map((e) => ({ ...e, network: before }));
    const renumbered = recorded
      .filter((e) => e.duty.slot === 41)
      .map((e) => ({ ...e, duty: { ...e.duty, slot: 40 }, correlationId: e.correlationId.replace('41', '40'), network: after }));
    twoNetworks = join(dir, 'two-networks.ndjson');
    writeFileSync(twoNetworks, [...old, ...renumbered].map((e) => `${JSON.stringify(e)}\n`).join(''));
  });

  it('explain refuses to mix them and names both roots; --network picks one', async () => {
    await expect(explainCommand(['--file', twoNetworks, '--slot', '40'], capture().io)).rejects.toThrow(
      new EventsUsageError(`slot 40 holds duties of 2 networks (a network reset): ${before}, ${after}; choose one with --network ROOT`),
    );
    const old = capture();
    await explainCommand(['--file', twoNetworks, '--slot', '40', '--network', before.toUpperCase().replace('0X', '0x')], old.io);
    expect(old.out()).toContain('succeeded: broadcast');
    const current = capture();
    await explainCommand(['--file', twoNetworks, '--slot', '40', '--network', after], current.io);
    expect(current.out()).toContain('failed: insufficient_partial_signatures');
  });

  it('events --network lists one network\'s events; a malformed root is a usage error', async () => {
    const c = capture();
    await eventsCommand(['--file', twoNetworks, '--network', after, '--format', 'ndjson'], c.io);
    const listed = c.out().trimEnd().split('\n').map((l) => JSON.parse(l) as AnyCohortEvent);
    expect(listed.length).toBe(recorded.filter((e) => e.duty.slot === 41).length);
    expect(listed.every((e) => e.network === after)).toBe(true);
    expect(() => queryOf({ network: '0x1234' })).toThrow('--network: expected a 0x-prefixed 32-byte genesis validators root, got 0x1234');
  });
});

describe('cohort events --nats --follow', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('prints the history, then events as they are recorded, until stopped', async () => {
    const store = await connectJetStreamEventStore({ servers: server.url, name: 'events-cli-spec' });
    try {
      await ensureCohortStreams(store);
      const stop = new AbortController();
      const c = capture(stop.signal);
      const running = eventsCommand(['--nats', server.url, '--follow', '--type', 'DutyFailed', '--format', 'ndjson'], c.io);
      await recordDuties(store);
      await waitFor(() => c.out().split('\n').length > 1, 5000);
      stop.abort();
      expect(await running).toBe(0);
      const lines = c.out().trimEnd().split('\n').map((l) => JSON.parse(l) as AnyCohortEvent);
      expect(lines.map((e) => [e.duty.slot, e.type])).toEqual([[41, 'DutyFailed']]);
    } finally {
      await store.close();
    }
  });
});
