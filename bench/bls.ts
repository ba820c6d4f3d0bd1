/**
 * BLS cost on this machine: what the aggregator's choices (batch verify with blst, combine
 * with herumi) rest on. Run from the repo root:
 *
 *   npm exec -- node bench/bls.ts
 *
 * Node 24 strips the types; the resolve hook below lets it follow the libraries' `.js`
 * import specifiers to their `.ts` sources and `#lib/*` to `source`, so nothing is compiled.
 */
import { registerHooks } from 'node:module';
import { performance } from 'node:perf_hooks';

registerHooks({
  resolve(specifier, context, nextResolve) {
    const withSource = { ...context, conditions: [...context.conditions, 'source'] };
    try {
      return nextResolve(specifier, withSource);
    } catch (error) {
      if (!specifier.startsWith('.') || !specifier.endsWith('.js')) throw error;
      return nextResolve(`${specifier.slice(0, -3)}.ts`, withSource);
    }
  },
});

const bls = await import('#lib/bls');
const blst = await import('@chainsafe/blst');
const { default: herumi } = await import('bls-eth-wasm');

interface Figure {
  readonly name: string;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly minMs: number;
  readonly samples: number;
}

/** Times `fn` one call at a time for about `budgetMs` (after a short warm-up). */
function measure(name: string, fn: () => unknown, budgetMs = 2_000): Figure {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) fn();
  const durations: number[] = [];
  const start = performance.now();
  while (performance.now() - start < budgetMs || durations.length < 20) {
    const t0 = performance.now();
    fn();
    durations.push(performance.now() - t0);
  }
  const total = durations.reduce((a, b) => a + b, 0);
  durations.sort((a, b) => a - b);
  const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? NaN;
  return { name, opsPerSecond: (durations.length / total) * 1000, p50Ms: at(0.5), p99Ms: at(0.99), minMs: durations[0] ?? NaN, samples: durations.length };
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench setup is wrong: ${what}`);
}

await bls.initBls();
const herumiEth = herumi as typeof herumi & { setETHmode(mode: number): void; ETH_MODE_DRAFT_07: number };
herumiEth.setETHmode(herumiEth.ETH_MODE_DRAFT_07);

const message = new Uint8Array(32).fill(0x42);
const sk = bls.generateSecretKey();
const pubkey = bls.secretKeyToPublicKey(sk);
const signature = bls.sign(sk, message);

const herumiPk = new herumi.PublicKey();
herumiPk.deserialize(pubkey);
const herumiSig = new herumi.Signature();
herumiSig.deserialize(signature);
check(herumiPk.verify(herumiSig, message), 'herumi verifies a blst signature');

function signatureSets(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const key = bls.generateSecretKey();
    const msg = new Uint8Array(32).fill(i);
    return { pubkey: bls.secretKeyToPublicKey(key), message: msg, signature: bls.sign(key, msg) };
  });
}
const sets32 = signatureSets(32);
const sets128 = signatureSets(128);
check(bls.verifyBatch(sets32) && bls.verifyBatch(sets128), 'batches verify');
const sets128OneBad = sets128.map((s, i) => (i === 77 ? { ...s, message: new Uint8Array(32) } : s));
check(bls.findInvalid(sets128OneBad).join() === '77', 'findInvalid finds the bad set');
// Decoded once, as a cache of cluster public keys would hold them.
const decoded128 = sets128.map((s) => ({
  msg: s.message,
  pk: blst.PublicKey.fromBytes(s.pubkey, true),
  sig: blst.Signature.fromBytes(s.signature, true),
}));

const { shares, groupPublicKey } = bls.splitSecret(sk, { total: 4, threshold: 3 });
const partials = new Map([...shares].map(([i, share]) => [i, bls.sign(share, message)]));
const quorum = new Map([1, 2, 3].map((i) => [i, partials.get(i)!]));
check(bls.verify(groupPublicKey, message, bls.combinePartialSignatures(quorum)), 'combine 3-of-4 verifies');
const herumiPartials = [1, 2, 3].map((i) => {
  const s = new herumi.Signature();
  s.deserialize(partials.get(i)!);
  return s;
});
const herumiIds = [1, 2, 3].map((i) => {
  const id = new herumi.Id();
  id.setInt(i);
  return id;
});
const big = bls.splitSecret(sk, { total: 10, threshold: 7 });
const quorum7 = new Map([...big.shares].slice(0, 7).map(([i, share]) => [i, bls.sign(share, message)]));
check(bls.verify(groupPublicKey, message, bls.combinePartialSignatures(quorum7)), 'combine 7-of-10 verifies');

const figures: Figure[] = [
  measure('blst sign', () => bls.sign(sk, message)),
  measure('blst verify (bytes in, decode + subgroup checks)', () => bls.verify(pubkey, message, signature)),
  measure('herumi verify (pre-decoded)', () => herumiPk.verify(herumiSig, message)),
  measure('blst batch verify, 32 sets (bytes in)', () => bls.verifyBatch(sets32)),
  measure('blst batch verify, 128 sets (bytes in)', () => bls.verifyBatch(sets128)),
  measure('blst batch verify, 128 sets (pre-decoded)', () => blst.verifyMultipleAggregateSignatures(decoded128)),
  measure('findInvalid, 128 sets, 1 bad', () => bls.findInvalid(sets128OneBad)),
  measure('herumi recover 3-of-4 (pre-decoded)', () => new herumi.Signature().recover(herumiPartials, herumiIds)),
  measure('combinePartialSignatures 3-of-4 (bytes in/out)', () => bls.combinePartialSignatures(quorum)),
  measure('combinePartialSignatures 7-of-10 (bytes in/out)', () => bls.combinePartialSignatures(quorum7)),
];

// The machine is shared: print the load so a noisy run can be told from a slow library.
const { loadavg, cpus } = await import('node:os');
console.log(`node ${process.version}, ${process.arch}, ${cpus().length} cpus, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.table(
  figures.map((f) => ({
    operation: f.name,
    'ops/s': Number(f.opsPerSecond.toFixed(1)),
    'p50 ms': Number(f.p50Ms.toFixed(3)),
    'p99 ms': Number(f.p99Ms.toFixed(3)),
    'min ms': Number(f.minMs.toFixed(3)),
    samples: f.samples,
  })),
);
for (const [name, count] of [['32', 32], ['128', 128]] as const) {
  const figure = figures.find((f) => f.name === `blst batch verify, ${name} sets (bytes in)`)!;
  console.log(`batch of ${name}: ${(figure.p50Ms / count).toFixed(3)} ms per signature (p50)`);
}
