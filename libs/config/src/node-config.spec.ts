import { describe, expect, it } from 'vitest';
import { ConfigError, parseNodeConfig, shareIndexOf } from './node-config.js';

/** Deterministic hex of `bytes` bytes, upper-case when asked (to test normalisation). */
const hexOf = (bytes: number, seed: number, upper = false): string => {
  const body = Array.from({ length: bytes }, (_, i) => ((seed * 31 + i * 7) % 256).toString(16).padStart(2, '0')).join('');
  return `0x${upper ? body.toUpperCase() : body}`;
};

const PRIVATE_KEY = hexOf(32, 99);

function validInput(n = 4): Record<string, unknown> {
  return {
    node: { index: 1 },
    beacon: { url: 'http://127.0.0.1:5052/' },
    nats: { url: 'nats://127.0.0.1:4222' },
    cluster: {
      clusterHash: hexOf(32, 1, true),
      threshold: Math.ceil((2 * n) / 3),
      operators: Array.from({ length: n }, (_, i) => ({
        index: i,
        publicKey: hexOf(33, 10 + i, true),
        p2pHost: '127.0.0.1',
        p2pPort: 9000 + i,
      })),
      validators: [
        { groupPubkey: hexOf(48, 50, true), publicShares: Array.from({ length: n }, (_, i) => hexOf(48, 60 + i, true)) },
      ],
    },
    p2p: { privateKey: PRIVATE_KEY },
    gateway: { port: 3600 },
  };
}

function problemsOf(input: unknown): readonly string[] {
  try {
    parseNodeConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('parseNodeConfig', () => {
  it('parses a valid config into the typed value, with defaults applied', () => {
    const input = validInput();
    const config = parseNodeConfig(input);

    expect(config.node).toEqual({ name: 'node1', index: 1 });
    expect(shareIndexOf(config)).toBe(2);
    expect(config.beacon).toEqual({ url: 'http://127.0.0.1:5052', timeoutMs: 4000, genesisPollMs: 12_000 });
    expect(config.nats.url).toBe('nats://127.0.0.1:4222');
    expect(config.gateway).toEqual({ host: '127.0.0.1', port: 3600 });
    expect(config.retention).toEqual({});
    expect(config.duties).toEqual({ aggregation: true });
    expect(config.observability).toEqual({ metricsHost: '127.0.0.1', metricsPortBase: 0, logLevel: 'info' });
    expect(config.cluster.name).toBe('cohort');
    expect(config.cluster.threshold).toBe(3);
    expect(config.cluster.operators).toHaveLength(4);
    expect(config.cluster.operators[2]).toMatchObject({ index: 2, p2pHost: '127.0.0.1', p2pPort: 9002 });
    expect(config.cluster.validators[0]?.publicShares).toHaveLength(4);
  });

  it('keeps explicit values over defaults', () => {
    const input = validInput();
    const config = parseNodeConfig({
      ...input,
      node: { index: 0, name: 'alice' },
      beacon: { url: 'http://bn:5052', timeoutMs: 1500, genesisPollMs: 3000 },
      gateway: { host: '0.0.0.0', port: 0 },
      observability: { logLevel: 'debug', metricsPortBase: 9100, otlpEndpoint: 'http://127.0.0.1:4318/v1/traces' },
      retention: { eventsMaxAgeMs: 7 * 24 * 3600 * 1000, eventsMaxBytes: 0 },
    });
    expect(config.retention).toEqual({ eventsMaxAgeMs: 7 * 24 * 3600 * 1000, eventsMaxBytes: 0 });
    expect(config.node).toEqual({ name: 'alice', index: 0 });
    expect(config.beacon).toMatchObject({ timeoutMs: 1500, genesisPollMs: 3000 });
    expect(config.gateway.host).toBe('0.0.0.0');
    expect(config.observability).toMatchObject({ logLevel: 'debug', metricsPortBase: 9100, otlpEndpoint: 'http://127.0.0.1:4318/v1/traces' });
  });

  it('turns the aggregation duties off only for a boolean false, and names anything else', () => {
    expect(parseNodeConfig({ ...validInput(), duties: { aggregation: false } }).duties).toEqual({ aggregation: false });
    expect(problemsOf({ ...validInput(), beacon: { url: 'http://bn:5052', genesisPollMs: 10 } })).toEqual([expect.stringContaining('beacon.genesisPollMs')]);
    expect(problemsOf({ ...validInput(), duties: { aggregation: 'no' } })).toEqual(['duties.aggregation: must be true or false, got "no"']);
  });

  it('reads a validator\'s builder registration from the lock, and refuses one that names another validator or is malformed', () => {
    const input = validInput();
    const validators = (input['cluster'] as { validators: Record<string, unknown>[] }).validators;
    const groupPubkey = String(validators[0]?.['groupPubkey']).toLowerCase() as `0x${string}`;
    const registration = { message: { fee_recipient: `0x${'aa'.repeat(20)}`, gas_limit: '30000000', timestamp: '1700000000', pubkey: groupPubkey }, signature: `0x${'bb'.repeat(96)}` };
    (validators[0] as Record<string, unknown>)['builderRegistration'] = registration;
    expect(parseNodeConfig(input).cluster.validators[0]?.builderRegistration).toEqual(registration);
    (validators[0] as Record<string, unknown>)['builderRegistration'] = { ...registration, message: { ...registration.message, pubkey: `0x${'cc'.repeat(48)}`, gas_limit: 30000000 } };
    const problems = problemsOf(input);
    expect(problems).toContainEqual('cluster.validators[0].builderRegistration.message.gas_limit: required uint64 as a decimal string, got 30000000');
    expect(problems.some((p) => p.includes('names 0xcccc'))).toBe(true);
  });

  it('normalises hex to lower case', () => {
    const input = validInput();
    const config = parseNodeConfig(input);
    const cluster = input['cluster'] as { clusterHash: string; operators: { publicKey: string }[]; validators: { groupPubkey: string; publicShares: string[] }[] };

    expect(config.cluster.clusterHash).toBe(cluster.clusterHash.toLowerCase());
    expect(config.cluster.clusterHash).not.toBe(cluster.clusterHash);
    expect(config.cluster.operators.map((o) => o.publicKey)).toEqual(cluster.operators.map((o) => o.publicKey.toLowerCase()));
    expect(config.cluster.validators[0]?.groupPubkey).toBe(cluster.validators[0]?.groupPubkey.toLowerCase());
    expect(config.cluster.validators[0]?.publicShares).toEqual(cluster.validators[0]?.publicShares.map((s) => s.toLowerCase()));
    for (const hex of [config.cluster.clusterHash, ...config.cluster.operators.map((o) => o.publicKey), ...(config.cluster.validators[0]?.publicShares ?? [])]) {
      expect(hex).toMatch(/^0x[0-9a-f]+$/);
    }
  });

  it('reports every problem at once, each naming its field path', () => {
    const input = validInput();
    const cluster = input['cluster'] as { threshold: number; operators: Record<string, unknown>[]; validators: { publicShares: string[] }[] };
    cluster.threshold = 2; // below ceil(2*4/3) = 3
    (cluster.operators[1] as Record<string, unknown>)['publicKey'] = '0x1234'; // too short
    cluster.validators[0]?.publicShares.pop(); // 3 shares for 4 operators
    input['beacon'] = { url: 'not a url' };
    input['node'] = { index: 7 };

    const problems = problemsOf(input);
    const fields = problems.map((p) => p.split(':')[0]);

    expect(fields).toEqual(
      expect.arrayContaining(['cluster.operators[1].publicKey', 'cluster.validators[0].publicShares', 'beacon.url', 'cluster.threshold', 'node.index']),
    );
    expect(problems.find((p) => p.startsWith('cluster.threshold'))).toContain('ceil(2n/3) = 3');
    expect(problems.find((p) => p.startsWith('node.index'))).toContain('4 operators');
    expect(problems.find((p) => p.startsWith('cluster.validators[0].publicShares'))).toContain('3 shares for 4 operators');
    // one problem per broken field: nothing else was reported
    expect(problems).toHaveLength(5);
  });

  it('names the index of a broken element inside a nested list', () => {
    const input = validInput();
    const cluster = input['cluster'] as { validators: { publicShares: string[] }[] };
    (cluster.validators[0] as { publicShares: string[] }).publicShares[2] = '0xnothex';
    expect(problemsOf(input).map((p) => p.split(':')[0])).toEqual(['cluster.validators[0].publicShares[2]']);
  });

  it('reports missing required fields of an empty input, all at once', () => {
    const fields = problemsOf({}).map((p) => p.split(':')[0]);
    expect(fields).toEqual(
      expect.arrayContaining([
        'cluster.operators',
        'cluster.validators',
        'cluster.threshold',
        'node.index',
        'beacon.url',
        'nats.url',
        'cluster.clusterHash',
        'p2p.privateKey',
        'gateway.port',
      ]),
    );
  });

  it('rejects a threshold above the operator count and a mis-numbered operator', () => {
    const input = validInput();
    const cluster = input['cluster'] as { threshold: number; operators: Record<string, unknown>[] };
    cluster.threshold = 5;
    (cluster.operators[3] as Record<string, unknown>)['index'] = 2;
    const fields = problemsOf(input).map((p) => p.split(':')[0]);
    expect(fields).toEqual(['cluster.threshold', 'cluster.operators[3].index']);
  });

  it('never puts the p2p private key value in the error message', () => {
    const input = validInput();
    // a private key of the wrong length is still a secret: it must not leak via the message
    const leakyKey = `${PRIVATE_KEY}ab`;
    input['p2p'] = { privateKey: leakyKey };
    input['beacon'] = { url: 'nope' };
    let message = '';
    try {
      parseNodeConfig(input);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = `${(error as Error).message}\n${(error as ConfigError).problems.join('\n')}`;
    }
    expect(message).toContain('p2p.privateKey');
    expect(message).not.toContain(leakyKey.slice(2));
    expect(message).not.toContain(PRIVATE_KEY.slice(2));
  });
});
