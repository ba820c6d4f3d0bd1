import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

const capture = () => {
  const lines: string[] = [];
  return { lines, write: (line: string) => lines.push(line) };
};

describe('createLogger', () => {
  it('drops records below the configured level', () => {
    const out = capture();
    const log = createLogger({ scope: 'node0/consensus', level: 'warn', write: out.write });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(out.lines).toHaveLength(2);
    expect(out.lines[0]).toMatch(/ WARN  node0\/consensus w$/);
    expect(out.lines[1]).toMatch(/ ERROR node0\/consensus e$/);
  });

  it('writes every level at debug, starting with an ISO timestamp', () => {
    const out = capture();
    const log = createLogger({ scope: 's', level: 'debug', write: out.write });
    log.debug('a');
    log.info('b');
    expect(out.lines.map((l) => l.split(' ')[1])).toEqual(['DEBUG', 'INFO']);
    const time = out.lines[0]?.split(' ')[0] ?? '';
    expect(new Date(time).toISOString()).toBe(time);
  });

  it('renders fields as k=v, quoting values with spaces and leaving out undefined', () => {
    const out = capture();
    const log = createLogger({ scope: 's', level: 'info', write: out.write });
    log.info('duty failed', { duty: '1234/attester', slot: 1234, late: true, reason: 'bn timed out', missing: undefined, none: null });
    expect(out.lines[0]).toMatch(/ INFO  s duty failed duty=1234\/attester slot=1234 late=true reason="bn timed out" none=null$/);
    expect(out.lines[0]).not.toContain('missing');
  });

  it('child scopes append to the parent scope and keep its level', () => {
    const out = capture();
    const root = createLogger({ scope: 'node2', level: 'info', write: out.write });
    const child = root.child('slashing-guard').child('shard3');
    child.debug('hidden');
    child.info('checked', { pubkey: '0xabc' });
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatch(/ INFO  node2\/slashing-guard\/shard3 checked pubkey=0xabc$/);
  });
});
