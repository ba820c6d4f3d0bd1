/** A bad command line: main prints the message (and where to find the usage) and exits 2. */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
}
