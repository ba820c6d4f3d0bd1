import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeConfigHash,
  computeDefinitionHash,
  computeLockHash,
  parseClusterDefinition,
  parseClusterLock,
} from './index.js';

/**
 * shared/vectors/obol-dv-specs/cluster_hashing.json: config, definition and lock hashes produced
 * by Charon's own `SetDefinitionHashes`/`SetLockHash` (v1.10.0); inputs are verbatim Charon files.
 */
interface DefinitionCase {
  readonly name: string;
  readonly input: unknown;
  readonly config_hash: string;
  readonly definition_hash: string;
}
interface LockCase {
  readonly name: string;
  readonly input: unknown;
  readonly lock_hash: string;
}

const suite = JSON.parse(
  readFileSync(new URL('../../../../shared/vectors/obol-dv-specs/cluster_hashing.json', import.meta.url), 'utf8'),
) as { definition: DefinitionCase[]; lock: LockCase[] };

describe('cluster_hashing.json (Charon v1.10.0)', () => {
  it('has definition and lock cases', () => {
    expect(suite.definition.length).toBeGreaterThan(0);
    expect(suite.lock.length).toBeGreaterThan(0);
  });

  it.each(suite.definition.map((c) => [c.name, c] as const))('definition %s', (_, c) => {
    const definition = parseClusterDefinition(c.input);
    expect(computeConfigHash(definition)).toBe(`0x${c.config_hash}`);
    expect(computeDefinitionHash(definition)).toBe(`0x${c.definition_hash}`);
    // The file's own fields agree with the expectations too.
    expect(definition.configHash).toBe(`0x${c.config_hash}`);
    expect(definition.definitionHash).toBe(`0x${c.definition_hash}`);
  });

  it('adding signatures leaves the config hash alone and moves the definition hash', () => {
    const unsigned = suite.definition.find((c) => c.name === 'unsigned_single_operator');
    const signed = suite.definition.find((c) => c.name === 'signed_single_operator');
    expect(unsigned && signed).toBeTruthy();
    expect(unsigned?.config_hash).toBe(signed?.config_hash);
    expect(computeDefinitionHash(parseClusterDefinition(unsigned?.input))).not.toBe(
      computeDefinitionHash(parseClusterDefinition(signed?.input)),
    );
  });

  it.each(suite.lock.map((c) => [c.name, c] as const))('lock %s', (_, c) => {
    const lock = parseClusterLock(c.input);
    expect(computeLockHash(lock)).toBe(`0x${c.lock_hash}`);
    expect(lock.lockHash).toBe(`0x${c.lock_hash}`);
    // The embedded definition's hashes hold as well.
    expect(computeConfigHash(lock.definition)).toBe(lock.definition.configHash);
    expect(computeDefinitionHash(lock.definition)).toBe(lock.definition.definitionHash);
  });
});

/**
 * Older versions: Charon's own regression fixtures (testdata/charon/README.md), whose stored
 * hashes Charon's TestEncode asserts. Each version changes the hashed layout somewhere.
 */
describe('Charon testdata fixtures (v1.4–v1.9)', () => {
  const versions = ['1_4_0', '1_5_0', '1_6_0', '1_8_0', '1_9_0'];

  it.each(versions)('cluster_lock_v%s.json hashes as Charon says', (version) => {
    const text = readFileSync(new URL(`../testdata/charon/cluster_lock_v${version}.json`, import.meta.url), 'utf8');
    const lock = parseClusterLock(text);
    expect(lock.definition.version).toBe(`v${version.replaceAll('_', '.')}`);
    expect(computeConfigHash(lock.definition)).toBe(lock.definition.configHash);
    expect(computeDefinitionHash(lock.definition)).toBe(lock.definition.definitionHash);
    expect(computeLockHash(lock)).toBe(lock.lockHash);
  });
});

describe('Charon testdata fixture v1.7', () => {
  // Only the definition hashes reproduce: the stored copy of Charon's v1.7 fixture predates the
  // v1.7 walk Charon settled on (its lock hash disagrees). The real v1.7 lock below pins it.
  it('cluster_lock_v1_7_0.json definition hashes as Charon says', () => {
    const text = readFileSync(new URL('../testdata/charon/cluster_lock_v1_7_0.json', import.meta.url), 'utf8');
    const lock = parseClusterLock(text);
    expect(computeConfigHash(lock.definition)).toBe(lock.definition.configHash);
    expect(computeDefinitionHash(lock.definition)).toBe(lock.definition.definitionHash);
  });
});

/** Real locks from DKG ceremonies (testdata/obol-sdk/README.md): the hashes their nodes agreed on. */
describe('real locks (v1.6, v1.7, v1.8, v1.10)', () => {
  it.each(['cluster_lock_v1_6_0_goerli', 'cluster_lock_v1_7_0_goerli', 'cluster_lock_v1_8_0_mainnet_unsigned', 'cluster_lock_v1_10_0_hoodi_solo'])(
    '%s',
    (name) => {
      const lock = parseClusterLock(readFileSync(new URL(`../testdata/obol-sdk/${name}.json`, import.meta.url), 'utf8'));
      expect(computeConfigHash(lock.definition)).toBe(lock.definition.configHash);
      expect(computeDefinitionHash(lock.definition)).toBe(lock.definition.definitionHash);
      expect(computeLockHash(lock)).toBe(lock.lockHash);
    },
  );
});
