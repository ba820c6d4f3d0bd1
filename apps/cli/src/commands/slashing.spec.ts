import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectJetStreamEventStore, type EventStore } from '#lib/event-store';
import { startNatsServer, type NatsServerHandle } from '#lib/test-support';
import { slashingCommand, slashingUsage } from './slashing.js';

let server: NatsServerHandle;
let dir: string;
beforeAll(async () => {
  server = await startNatsServer();
  dir = mkdtempSync(join(tmpdir(), 'cohort-slashing-cli-'));
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: { write: (t: string) => void out.push(t) }, stderr: { write: (t: string) => void err.push(t) } }, out, err };
}

async function streamState(): Promise<{ count: number; lastSeq: number; data: string[] }> {
  const store: EventStore = await connectJetStreamEventStore({ servers: server.url, name: 'cli-spec-reader' });
  try {
    const data: string[] = [];
    let lastSeq = 0;
    for await (const e of store.read('cohort.slashing.>')) {
      data.push(JSON.stringify(e.data));
      lastSeq = e.seq;
    }
    return { count: data.length, lastSeq, data };
  } finally {
    await store.close();
  }
}

// a case of the EIP-3076 interchange tests (shared/vectors/eip3076, v5.3.0) as the file to import
const vector = JSON.parse(
  readFileSync(resolve(process.cwd(), '../shared/vectors/eip3076/tests/generated/multiple_validators_multiple_blocks_and_attestations.json'), 'utf8'),
) as { steps: { interchange: { metadata: { genesis_validators_root: string }; data: { pubkey: string }[] } }[] };
const interchange = vector.steps[0]?.interchange as { metadata: { genesis_validators_root: string }; data: { pubkey: string }[] };
const gvr = interchange.metadata.genesis_validators_root;

describe('cohort slashing import / export', () => {
  it('imports a file, exports it back (whole and per validator), and lists roots when none is named', async () => {
    const file = join(dir, 'in.json');
    writeFileSync(file, JSON.stringify(interchange));
    const imp = io();
    expect(await slashingCommand(['import', file, '--nats', server.url], imp.io)).toBe(0);
    expect(imp.err.join('')).toMatch(/imported: \d+ attestations and \d+ blocks added/);

    const out = join(dir, 'out.json');
    expect(await slashingCommand(['export', '--nats', server.url, '--genesis-validators-root', gvr, '--out', out], io().io)).toBe(0);
    const exported = JSON.parse(readFileSync(out, 'utf8')) as typeof interchange;
    expect(exported.metadata).toEqual({ interchange_format_version: '5', genesis_validators_root: gvr });
    expect(new Set(exported.data.map((d) => d.pubkey))).toEqual(new Set(interchange.data.map((d) => d.pubkey)));

    // the export imported again adds nothing: it round-trips
    const before = await streamState();
    expect(await slashingCommand(['import', out, '--nats', server.url], io().io)).toBe(0);
    expect(await streamState()).toEqual(before);

    const one = interchange.data[0]?.pubkey as string;
    const single = io();
    expect(await slashingCommand(['export', '--nats', server.url, '--genesis-validators-root', gvr, '--validator', one], single.io)).toBe(0);
    expect((JSON.parse(single.out.join('')) as typeof interchange).data).toEqual(exported.data.filter((d) => d.pubkey === one));

    await expect(slashingCommand(['export', '--nats', server.url], io().io)).rejects.toThrow(new RegExp(`--genesis-validators-root is required[\\s\\S]*${gvr}`));
  });

  it('leaves the history unchanged and names the problem when the file is broken', async () => {
    const before = await streamState();
    const broken = join(dir, 'broken.json');
    const bad = structuredClone(interchange) as unknown as { data: { signed_attestations: { target_epoch: string }[] }[] };
    (bad.data[1]?.signed_attestations[0] as { target_epoch: string }).target_epoch = 'twelve';
    writeFileSync(broken, JSON.stringify(bad));
    await expect(slashingCommand(['import', broken, '--nats', server.url], io().io)).rejects.toThrow(
      /broken\.json[\s\S]*data\[1\]\.signed_attestations\[0\]\.target_epoch: expected a decimal string/,
    );
    const after = await streamState();
    expect(after.count).toBe(before.count);
    expect(after.lastSeq).toBe(before.lastSeq);
    expect(after).toEqual(before);
  });

  it('throws clear usage errors', async () => {
    await expect(slashingCommand(['import'], io().io)).rejects.toThrow(/expected one FILE/);
    await expect(slashingCommand(['import', join(dir, 'missing.json')], io().io)).rejects.toThrow(/cannot read .*missing\.json/);
    await expect(slashingCommand(['export', '--genesis-validators-root', '0x12'], io().io)).rejects.toThrow(/32 bytes/);
    await expect(slashingCommand(['export', '--validator', '0x12', '--genesis-validators-root', gvr], io().io)).rejects.toThrow(/48-byte pubkey/);
    await expect(slashingCommand(['frobnicate'], io().io)).rejects.toThrow(/unknown subcommand frobnicate/);
    await expect(slashingCommand(['export', '--bogus'], io().io)).rejects.toThrow(/Unknown option '--bogus'/);
    const file = join(dir, 'in2.json');
    writeFileSync(file, JSON.stringify(interchange));
    await expect(slashingCommand(['import', file, '--genesis-validators-root', `0x${'ff'.repeat(32)}`, '--nats', server.url], io().io)).rejects.toThrow(
      /nothing imported/,
    );
    const help = io();
    expect(await slashingCommand([], help.io)).toBe(0);
    expect(help.out.join('')).toBe(slashingUsage);
  });
});
