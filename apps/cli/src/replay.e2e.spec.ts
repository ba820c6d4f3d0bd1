import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { arrayEventSource } from '#lib/audit';
import type { AnyCohortEvent, CohortEvent, Hex } from '#lib/contracts';
import { replayCommand } from './commands/replay.js';
import { replay } from './replay/index.js';
import { runSimnet } from './simnet.js';

/**
 * Issue 6, item 7: a recorded 2-epoch simnet run replays with zero divergence on every node,
 * and one tampered recorded event is reported as the first divergence, named.
 * Minimal preset: 8 slots per epoch, 2-second slots.
 */
const SLOTS_PER_EPOCH = 8;
const SLOTS = 2 * SLOTS_PER_EPOCH;
const RANGE = { from: 0, to: SLOTS - 1 };
const print = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

describe('cohort replay of a recorded simnet run (n = 4, t = 3)', { timeout: 150_000 }, () => {
  it.skipIf(process.env['COHORT_SIMNET_LONG'] !== '1')('[long] replays every node with zero divergence; a tampered approval or aggregate is named as the first divergence', async () => {
    const result = await runSimnet({ nodes: 4, validators: 8, secondsPerSlot: 2, slots: SLOTS, print });

    for (const [index, events] of result.events.entries()) {
      const report = await replay(arrayEventSource(events), { slots: RANGE });
      expect(report.firstDivergence, `node ${index}`).toBeUndefined();
      expect(report.divergences).toBe(0);
      expect(report.duties, `node ${index}`).toBe(SLOTS);
      // what the aggregation replays from: every peer message, as applied
      expect(events.filter((e) => e.type === 'PeerPartialsReceived' && e.duty.slot < SLOTS).length).toBeGreaterThanOrEqual(3 * SLOTS);
      expect(report.eventsCompared).toBeGreaterThan(4 * SLOTS);
      expect(report.skippedAggregations).toBe(0);
    }

    // the CLI on an exported file of node 0: exit 0
    const dir = await mkdtemp(join(tmpdir(), 'cohort-replay-e2e-'));
    try {
      const ndjson = (events: readonly AnyCohortEvent[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';
      const file = join(dir, 'node0.ndjson');
      await writeFile(file, ndjson(result.events[0] ?? []));
      const out: string[] = [];
      const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: () => true }, stderrIsTty: false };
      expect(await replayCommand(['--file', file, '--epoch', '0..1', '--slots-per-epoch', String(SLOTS_PER_EPOCH)], io)).toBe(0);
      expect(out.join('')).toContain('no divergence');

      // tamper 1: a validator flipped out of node 1's ProposalApproved of slot 5
      const node1 = structuredClone(result.events[1] ?? []) as AnyCohortEvent[];
      const approved = node1.find((e) => e.type === 'ProposalApproved' && e.duty.slot === 5) as CohortEvent<'ProposalApproved'>;
      const [flipped, ...rest] = approved.pubkeys;
      (approved as { pubkeys: readonly Hex[] }).pubkeys = rest;
      const flippedReport = await replay(arrayEventSource(node1), { slots: RANGE });
      expect(flippedReport.firstDivergence).toMatchObject({
        duty: { slot: 5, type: 'attester' },
        stage: 'slashing-guard',
        eventType: 'ProposalApproved',
        pubkey: flipped,
        replayed: `approved value ${approved.data.valueHash}`,
      });
      expect(flippedReport.firstDivergence?.recorded).toBeUndefined();

      // tamper 2: one signature of node 2's SignaturesAggregated of slot 11, through the CLI: exit 1
      const node2 = structuredClone(result.events[2] ?? []) as AnyCohortEvent[];
      const aggregated = node2.find((e) => e.type === 'SignaturesAggregated' && e.duty.slot === 11) as CohortEvent<'SignaturesAggregated'>;
      const original = aggregated.data.signatures[0] as { pubkey: Hex; signature: Hex };
      const forged = `0x${'ee'.repeat(96)}` as Hex;
      (aggregated.data.signatures as { pubkey: Hex; signature: Hex }[])[0] = { pubkey: original.pubkey, signature: forged };
      const tampered = join(dir, 'node2-tampered.ndjson');
      await writeFile(tampered, ndjson(node2));
      const out2: string[] = [];
      const io2 = { ...io, stdout: { write: (t: string) => out2.push(t) } };
      expect(await replayCommand(['--file', tampered, '--slot', `0..${SLOTS - 1}`], io2)).toBe(1);
      const text = out2.join('');
      expect(text).toContain('1 divergence(s); the first:');
      expect(text).toContain(`slot 11 attester, stage aggregator, event SignaturesAggregated, validator ${original.pubkey}`);
      expect(text).toContain(`recorded: signature ${forged}`);
      expect(text).toContain(`replayed: signature ${original.signature}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
