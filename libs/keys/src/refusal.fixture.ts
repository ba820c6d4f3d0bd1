import { expect } from 'vitest';
import { KeyFileError } from './errors.js';

/** Test-only: awaits a refusal and hands back the KeyFileError for assertions on its file, field and message. */
export async function refusal(promise: Promise<unknown>): Promise<KeyFileError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeyFileError);
  return error as KeyFileError;
}
