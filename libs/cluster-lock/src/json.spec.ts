import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ClusterFileError,
  parseClusterDefinition,
  parseClusterLock,
  serialiseClusterDefinition,
  serialiseClusterLock,
} from './index.js';

/** shared/vectors/obol-dv-specs/cluster_hashing.json: inputs are verbatim Charon v1.10 files. */
const suite = JSON.parse(
  readFileSync(new URL('../../../../shared/vectors/obol-dv-specs/cluster_hashing.json', import.meta.url), 'utf8'),
) as { definition: { name: string; input: Record<string, unknown> }[]; lock: { name: string; input: Record<string, unknown> }[] };

const realLock = suite.lock.find((c) => c.name === 'real_keys_3_of_4')?.input as Record<string, unknown>;

function mutated(mutate: (lock: any) => void): unknown {
  const copy = structuredClone(realLock);
  mutate(copy);
  return copy;
}

function fieldOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ClusterFileError) return error.field;
    throw error;
  }
  throw new Error('no error thrown');
}

describe('writing Charon v1.10 JSON', () => {
  // Charon writes its files with json.MarshalIndent(v, "", " "): one space per level.
  it.each(suite.lock.map((c) => [c.name, c.input] as const))('lock %s re-serialises byte for byte', (_, input) => {
    expect(serialiseClusterLock(parseClusterLock(input))).toBe(JSON.stringify(input, null, 1));
  });

  it.each(suite.definition.map((c) => [c.name, c.input] as const))('definition %s re-serialises byte for byte', (_, input) => {
    expect(serialiseClusterDefinition(parseClusterDefinition(input))).toBe(JSON.stringify(input, null, 1));
  });

  it('reads back what it wrote', () => {
    const lock = parseClusterLock(realLock);
    expect(parseClusterLock(serialiseClusterLock(lock))).toEqual(lock);
  });

  it("escapes <, > and & as Go's encoder does", () => {
    const definition = { ...parseClusterDefinition(suite.definition[0]?.input), name: 'a <b> & c' };
    expect(serialiseClusterDefinition(definition)).toContain('"name": "a \\u003cb\\u003e \\u0026 c"');
    expect(parseClusterDefinition(serialiseClusterDefinition(definition)).name).toBe('a <b> & c');
  });

  it('writes only v1.10, naming the version field otherwise', () => {
    const old = parseClusterLock(readFileSync(new URL('../testdata/charon/cluster_lock_v1_8_0.json', import.meta.url), 'utf8'));
    expect(() => serialiseClusterLock(old)).toThrow(/^cluster_definition\.version: only v1\.10\.0 is written, this is v1\.8\.0/);
  });
});

describe('reading bad input names the field', () => {
  it('malformed JSON', () => {
    expect(fieldOf(() => parseClusterLock('{"cluster_definition": '))).toBe('$');
    expect(() => parseClusterLock('{')).toThrow(/^\$: is not valid JSON/);
  });

  it('not an object', () => {
    expect(fieldOf(() => parseClusterLock('[]'))).toBe('$');
    expect(fieldOf(() => parseClusterLock(mutated((l) => (l.distributed_validators = [7]))))).toBe('distributed_validators[0]');
  });

  it.each([
    ['cluster_definition', (l: any) => delete l.cluster_definition],
    ['cluster_definition.uuid', (l: any) => delete l.cluster_definition.uuid],
    ['cluster_definition.threshold', (l: any) => delete l.cluster_definition.threshold],
    ['cluster_definition.operators[2].enr', (l: any) => delete l.cluster_definition.operators[2].enr],
    ['cluster_definition.creator', (l: any) => delete l.cluster_definition.creator],
    ['cluster_definition.compounding', (l: any) => delete l.cluster_definition.compounding],
    ['distributed_validators[0].distributed_public_key', (l: any) => delete l.distributed_validators[0].distributed_public_key],
    ['distributed_validators[0].builder_registration', (l: any) => delete l.distributed_validators[0].builder_registration],
    ['distributed_validators[0].partial_deposit_data[0].amount', (l: any) => delete l.distributed_validators[0].partial_deposit_data[0].amount],
    ['lock_hash', (l: any) => delete l.lock_hash],
  ])('missing %s', (field, mutate) => {
    expect(fieldOf(() => parseClusterLock(mutated(mutate)))).toBe(field);
    expect(() => parseClusterLock(mutated(mutate))).toThrow(`${field}: is missing`);
  });

  it.each([
    ['distributed_validators[0].public_shares[1]', (l: any) => (l.distributed_validators[0].public_shares[1] += 'ab'), 'must be 48 bytes, got 49 bytes'],
    ['distributed_validators[0].distributed_public_key', (l: any) => (l.distributed_validators[0].distributed_public_key = '0x1234'), 'must be 48 bytes, got 2 bytes'],
    ['lock_hash', (l: any) => (l.lock_hash = l.lock_hash.slice(0, -2)), 'must be 32 bytes, got 31 bytes'],
    ['cluster_definition.fork_version', (l: any) => (l.cluster_definition.fork_version = '0x0000000001'), 'must be 4 bytes, got 5 bytes'],
    ['cluster_definition.operators[1].config_signature', (l: any) => (l.cluster_definition.operators[1].config_signature = '0xabcd'), 'must be empty or 65 bytes, got 2 bytes'],
    ['cluster_definition.operators[0].address', (l: any) => (l.cluster_definition.operators[0].address = '0x1234'), 'must be a 0x-prefixed 20-byte hex address or empty'],
    ['node_signatures[2]', (l: any) => (l.node_signatures[2] = '0xzz'), 'is not a hex byte string'],
    ['cluster_definition.deposit_amounts[0]', (l: any) => (l.cluster_definition.deposit_amounts[0] = '32 ETH'), 'must be a decimal Gwei amount'],
    ['cluster_definition.num_validators', (l: any) => (l.cluster_definition.num_validators = -1), 'must be a non-negative integer'],
    ['cluster_definition.validators', (l: any) => (l.cluster_definition.num_validators = 2), 'lists 1 validators but num_validators is 2'],
    ['cluster_definition.target_gas_limit', (l: any) => (l.cluster_definition.target_gas_limit = '30000000'), 'must be a non-negative integer'],
  ])('wrong %s', (field, mutate, problem) => {
    expect(() => parseClusterLock(mutated(mutate))).toThrow(`${field}: ${problem}`);
  });

  it.each(['v1.2.0', 'v1.11.0', 'v2.0.0', ''])('unknown version %j', (version) => {
    expect(() => parseClusterLock(mutated((l) => (l.cluster_definition.version = version)))).toThrow(
      /^cluster_definition\.version: unsupported cluster file version .*; readable: v1\.3\.0, .*v1\.10\.0$/,
    );
  });

  it('a definition file on its own names fields from its root', () => {
    const definition = structuredClone(suite.definition[0]?.input) as Record<string, any>;
    definition['operators'][0]['enr_signature'] = 7;
    expect(() => parseClusterDefinition(definition)).toThrow(/^operators\[0\]\.enr_signature: must be a string, got a number$/);
  });
});

describe('reading older versions', () => {
  it.each(['1_4_0', '1_5_0', '1_6_0', '1_7_0', '1_8_0', '1_9_0'])('v%s reads into the same model', (version) => {
    const lock = parseClusterLock(readFileSync(new URL(`../testdata/charon/cluster_lock_v${version}.json`, import.meta.url), 'utf8'));
    expect(lock.definition.validators).toHaveLength(lock.definition.numValidators);
    expect(lock.distributedValidators).toHaveLength(2);
  });

  it('v1.4 repeats the cluster-wide addresses per validator', () => {
    const lock = parseClusterLock(readFileSync(new URL('../testdata/charon/cluster_lock_v1_4_0.json', import.meta.url), 'utf8'));
    expect(lock.definition.validators).toEqual([
      { feeRecipientAddress: '0x52fdfc072182654f163f5f0f9a621d729566c74d', withdrawalAddress: '0x81855ad8681d0d86d1e91e00167939cb6694d2c4' },
      { feeRecipientAddress: '0x52fdfc072182654f163f5f0f9a621d729566c74d', withdrawalAddress: '0x81855ad8681d0d86d1e91e00167939cb6694d2c4' },
    ]);
  });

  it('v1.7 reads an RFC 3339 registration timestamp as unix seconds', () => {
    const lock = parseClusterLock(readFileSync(new URL('../testdata/charon/cluster_lock_v1_7_0.json', import.meta.url), 'utf8'));
    expect(lock.distributedValidators[0]?.builderRegistration?.message.timestamp).toBe(Date.UTC(2022, 5, 20, 14) / 1000);
  });
});
