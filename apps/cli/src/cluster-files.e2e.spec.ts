import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSimnetCluster } from './cluster-files.js';
import { createClusterCommand } from './commands/cluster.js';
import { runSimnet } from './simnet.js';

/**
 * Issue 3's acceptance path: `cohort create cluster` writes the files (standard-cost pbkdf2
 * keystores, verified lock), then a 4-node simnet runs from them — locks verified, identity keys
 * and share keystores read from each operator's folder — and every attestation lands under the
 * group keys the lock names.
 */
const print = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

describe('a cluster from files: create cluster → simnet --cluster-dir', { timeout: 120_000 }, () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cohort-cluster-e2e-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('4 operators × 4 validators: every attestation of an epoch accepted under the lock’s group keys', async () => {
    const clusterDir = join(root, 'cluster');
    const code = await createClusterCommand(
      [
        '--nodes', '4',
        '--num-validators', '4',
        '--fork-version', '0x00000000',
        '--withdrawal-address', `0x${'ab'.repeat(20)}`,
        '--fee-recipient', `0x${'cd'.repeat(20)}`,
        '--cluster-dir', clusterDir,
        '--p2p-base-port', String(await freePortRun(4)),
      ],
      print,
    );
    expect(code).toBe(0);
    const cluster = await loadSimnetCluster(clusterDir);
    const result = await runSimnet({ nodes: 4, validators: 4, secondsPerSlot: 2, slots: 8, cluster, print });
    const groupKeys = cluster.cluster.validators.map((v) => v.groupPubkey);
    const accepted = result.beacon.accepted.filter((a) => a.slot < 8);
    expect(new Set(accepted.map((a) => a.pubkey))).toEqual(new Set(groupKeys));
    expect(accepted).toHaveLength(groupKeys.length);
    expect(result.beacon.rejected).toEqual([]);
    // every node ran under the lock hash as its cluster identity
    for (const events of result.events) expect(events.some((e) => e.type === 'DutyDecided')).toBe(true);
  });
});

/** The first of `count` consecutive loopback ports that are free now (ENRs carry fixed ports). */
async function freePortRun(count: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const results = await Promise.all(Array.from({ length: count }, (_, i) => free(base + i)));
    if (results.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
