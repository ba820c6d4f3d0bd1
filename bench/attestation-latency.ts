import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { percentile, runSimnet } from '../apps/cli/src/simnet.js';

/**
 * Runs the simnet for N slots × V validators and prints the latency of the two halves of an
 * attestation duty, per node and duty:
 * - consensus: local attestation data fetched → DutyDecided (QBFT over libp2p + slashing check);
 * - aggregation: this node's VC share signature recorded → aggregate accepted by the BN
 *   (partial exchange, batch verify, combine, group verify, submit).
 * Baseline measured in the same run: the slot duration, against which both must stay small.
 */
const { values } = parseArgs({
  options: { slots: { type: 'string' }, validators: { type: 'string' }, nodes: { type: 'string' }, 'seconds-per-slot': { type: 'string' } },
});
const slots = Number(values.slots ?? 16);
const validators = Number(values.validators ?? 64);
const nodes = Number(values.nodes ?? 4);
const secondsPerSlot = Number(values['seconds-per-slot'] ?? 2);

const result = await runSimnet({ nodes, validators, secondsPerSlot, slots, print: () => undefined });
const decide = result.slots.flatMap((s) => s.decideMs);
const submit = result.slots.flatMap((s) => s.submitToBroadcastMs);
const duties = result.slots.reduce((sum, s) => sum + s.duties, 0);
const accepted = result.slots.reduce((sum, s) => sum + s.accepted, 0);
const row = (name: string, v: readonly number[]) =>
  `${name.padEnd(44)} n=${String(v.length).padStart(4)}  p50 ${percentile(v, 50).toFixed(1).padStart(7)} ms  p99 ${percentile(v, 99).toFixed(1).padStart(7)} ms  max ${Math.max(...v).toFixed(1).padStart(7)} ms`;
process.stdout.write(
  [
    `attestation latency: ${nodes} nodes, ${validators} validators, ${slots} slots of ${secondsPerSlot}s, in one process on loopback`,
    row('consensus: data fetched → decided', decide),
    row('aggregation: VC share submitted → BN accepted', submit),
    `baseline: slot duration ${secondsPerSlot * 1000} ms; decide p99 = ${((percentile(decide, 99) / (secondsPerSlot * 1000)) * 100).toFixed(1)}% of a slot`,
    `accepted by the BN under the group key: ${accepted}/${duties}`,
  ].join('\n') + '\n',
);
process.exit(accepted === duties ? 0 : 1);
