import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyCohortEvent, CohortEvent, Hex } from '#lib/contracts';
import { UsageError } from '../command.js';
import { recordedEpochs, type RecordedEpoch } from '../replay/recorded-epoch.fixture.js';
import { replayCommand } from './replay.js';

const SPE = 8;
let dir: string;
let log: RecordedEpoch;
let clean: string;
let tampered: string;
let forgedPubkey: Hex;

const ndjson = (events: readonly AnyCohortEvent[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

function io(tty = false) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, stderrIsTty: tty } };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cohort-replay-'));
  log = await recordedEpochs({ validators: 16, epochs: [1, 2], slotsPerEpoch: SPE });
  clean = join(dir, 'clean.ndjson');
  await writeFile(clean, ndjson(log.events));
  const events = structuredClone(log.events) as AnyCohortEvent[];
  const aggregated = events.find((e) => e.type === 'SignaturesAggregated' && e.duty.slot === 2 * SPE + 6) as CohortEvent<'SignaturesAggregated'>;
  const first = aggregated.data.signatures[0] as { pubkey: Hex; signature: Hex };
  forgedPubkey = first.pubkey;
  (aggregated.data.signatures as { pubkey: Hex; signature: Hex }[])[0] = { pubkey: first.pubkey, signature: `0x${'cd'.repeat(96)}` };
  tampered = join(dir, 'tampered.ndjson');
  await writeFile(tampered, ndjson(events));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cohort replay', () => {
  it('exits 0 with no divergence, naming the node, the range and the totals', async () => {
    const t = io();
    expect(await replayCommand(['--file', clean, '--epoch', '1..2', '--slots-per-epoch', String(SPE)], t.io)).toBe(0);
    const text = t.out.join('');
    expect(text).toContain('replayed node0');
    expect(text).toContain(`slots ${SPE}..${3 * SPE - 1}: 16 duties`);
    expect(text).toContain('no divergence');
    expect(text).toContain('consensus not replayable');
  });

  it('exits 1 on a tampered event, printing the first divergence with both values', async () => {
    const t = io();
    expect(await replayCommand(['--file', tampered, '--slot', `${SPE}..${3 * SPE - 1}`], t.io)).toBe(1);
    const text = t.out.join('');
    expect(text).toContain('1 divergence(s); the first:');
    expect(text).toContain(`slot ${2 * SPE + 6} attester, stage aggregator, event SignaturesAggregated, validator ${forgedPubkey}`);
    expect(text).toContain(`recorded: signature 0x${'cd'.repeat(96)}`);
    expect(text).toContain(`replayed: signature ${log.expectedSignatures.get(`${2 * SPE + 6}/${forgedPubkey}`)}`);
  });

  it('reports progress on stderr: a line per 10% when not a terminal, a redrawn bar on one', async () => {
    const lines = io(false);
    await replayCommand(['--file', clean, '--slot', `${SPE}..${3 * SPE - 1}`], lines.io);
    const printed = lines.err.join('');
    expect(printed).toMatch(/replay: 0%/);
    expect(printed).toMatch(/replay: 100% \(slot 23, 16 duties\)/);
    const bar = io(true);
    await replayCommand(['--file', clean, '--slot', `${SPE}..${3 * SPE - 1}`], bar.io);
    expect(bar.err.join('')).toMatch(/\r\[#{30}\] 100% slot 23/);
  });

  it('refuses a bad command line with a usage error naming the flag', async () => {
    const t = io();
    await expect(replayCommand(['--file', clean], t.io)).rejects.toThrow(/--slot A\[\.\.B\] or --epoch/);
    await expect(replayCommand(['--file', clean, '--slot', '1', '--epoch', '1'], t.io)).rejects.toThrow(UsageError);
    await expect(replayCommand(['--file', clean, '--slot', '5..2'], t.io)).rejects.toThrow(/--slot/);
    await expect(replayCommand(['--file', clean, '--slot', '1', '--slots-per-epoch', '8'], t.io)).rejects.toThrow(/--slots-per-epoch/);
    await expect(replayCommand(['--file', clean, '--nats', 'nats://x', '--slot', '1'], t.io)).rejects.toThrow(/exclude/);
    await expect(replayCommand(['--bogus'], t.io)).rejects.toThrow(UsageError);
  });
});
