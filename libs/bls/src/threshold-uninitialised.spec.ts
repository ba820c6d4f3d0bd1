import { describe, expect, it } from 'vitest';
import { BlsError, combinePartialSignatures, generateSecretKey, sign } from './index.js';

// A file of its own: vitest isolates files, so here initBls() has never been awaited.
describe('before initBls()', () => {
  it('combinePartialSignatures throws a not_initialised BlsError', () => {
    const partials = new Map([[1, sign(generateSecretKey(), new Uint8Array(32))]]);
    let thrown: unknown;
    try {
      combinePartialSignatures(partials);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BlsError);
    expect((thrown as BlsError).code).toBe('not_initialised');
  });
});
