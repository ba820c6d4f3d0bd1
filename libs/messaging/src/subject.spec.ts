import { describe, expect, it } from 'vitest';
import { isValidSubject, subjectMatches, subjectsOverlap } from './subject.js';

// Cases from the NATS subject rules: https://docs.nats.io/nats-concepts/subjects#wildcards
describe('subjectMatches', () => {
  it.each([
    ['duty.attester', 'duty.attester', true],
    ['duty.attester', 'duty.proposer', false],
    ['duty.*', 'duty.attester', true],
    ['duty.*', 'duty.attester.decided', false],
    ['duty.*', 'duty', false],
    ['duty.*.decided', 'duty.attester.decided', true],
    ['duty.>', 'duty.attester', true],
    ['duty.>', 'duty.attester.decided', true],
    ['duty.>', 'duty', false],
    ['>', 'anything.at.all', true],
    ['*.>', 'a', false],
    ['*.>', 'a.b', true],
    ['duty.attester', 'duty.attester.decided', false],
  ])('%s ~ %s → %s', (filter, subject, expected) => {
    expect(subjectMatches(filter, subject)).toBe(expected);
  });
});

describe('subjectsOverlap', () => {
  it.each([
    ['a.>', 'a.b.*', true],
    ['a.*', 'a.b.c', false],
    ['a.*', '*.b', true],
    ['a.>', 'b.>', false],
    ['a', 'a.>', false],
    ['>', 'x.y', true],
    ['a.b', 'a.b', true],
  ])('%s and %s → %s', (a, b, expected) => {
    expect(subjectsOverlap(a, b)).toBe(expected);
    expect(subjectsOverlap(b, a)).toBe(expected);
  });
});

describe('isValidSubject', () => {
  it('accepts wildcards only where allowed and only as whole tokens', () => {
    expect(isValidSubject('duty.attester', false)).toBe(true);
    expect(isValidSubject('duty.*', false)).toBe(false);
    expect(isValidSubject('duty.*', true)).toBe(true);
    expect(isValidSubject('duty.>.x', true)).toBe(false);
    expect(isValidSubject('duty.a*', true)).toBe(false);
    expect(isValidSubject('duty..x', true)).toBe(false);
    expect(isValidSubject('duty x', false)).toBe(false);
    expect(isValidSubject('', false)).toBe(false);
  });
});
