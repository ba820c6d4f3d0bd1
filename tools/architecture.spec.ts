import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Architecture rules that keep the deciders replayable (DESIGN.md rule 4, STYLE.md rule 1):
 * `services/<name>/domain` is pure — no Nest, no NATS, no clock, no randomness, no I/O, no
 * async — and imports nothing but its own folder and the contracts library.
 */
const root = join(import.meta.dirname, '..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The deciding services. The peer-gateway only carries bytes between the bus and libp2p: no domain. */
const DECIDING = ['aggregator', 'consensus', 'duty-scheduler', 'signer-gateway', 'slashing-guard'] as const;
const services = readdirSync(join(root, 'services')).filter(
  (name) => statSync(join(root, 'services', name)).isDirectory() && (DECIDING as readonly string[]).includes(name),
);
const FORBIDDEN: readonly [RegExp, string][] = [
  [/\basync\b|\bawait\b/, 'async code'],
  [/\bDate\b|performance\.now|process\.hrtime/, 'a clock'],
  [/Math\.random|randomBytes|crypto\.getRandomValues/, 'randomness'],
  [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b/, 'timers'],
  [/\bprocess\./, 'the process environment'],
  [/\bfetch\(/, 'network I/O'],
];

function importsOf(source: string): string[] {
  return [...source.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? '',
  );
}

describe('domain purity', () => {
  it('every service has a domain folder', () => {
    expect(services.sort()).toEqual([...DECIDING]);
    for (const service of services) expect(filesUnder(join(root, 'services', service, 'domain')).length).toBeGreaterThan(0);
  });

  for (const service of services) {
    it(`services/${service}/domain imports only itself and #lib/contracts, and does no I/O, time, randomness or async`, () => {
      const violations: string[] = [];
      for (const file of filesUnder(join(root, 'services', service, 'domain'))) {
        const source = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
        const rel = relative(root, file);
        for (const spec of importsOf(source)) {
          if (!(spec.startsWith('./') || spec.startsWith('../') ? !spec.includes('/app/') : spec === '#lib/contracts')) {
            violations.push(`${rel} imports ${spec}`);
          }
          if ((spec.startsWith('../') && spec.split('/').filter((p) => p === '..').length > 1)) violations.push(`${rel} reaches outside its domain: ${spec}`);
        }
        for (const [pattern, what] of FORBIDDEN) if (pattern.test(source)) violations.push(`${rel} uses ${what}`);
      }
      expect(violations).toEqual([]);
    });
  }
});

describe('module boundaries', () => {
  it('libraries are imported only through their index (#lib/<name>), never by a path into another project', () => {
    const violations: string[] = [];
    for (const top of ['libs', 'services']) {
      for (const file of filesUnder(join(root, top))) {
        for (const spec of importsOf(readFileSync(file, 'utf8'))) {
          if (/(^|\/)(libs|services)\//.test(spec)) violations.push(`${relative(root, file)} imports ${spec}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });
});
