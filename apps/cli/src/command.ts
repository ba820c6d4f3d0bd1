/** What every `cohort` subcommand shares: its output streams and how it reports a bad command line. */

/** A bad command line: main prints the message (and where to find the usage) and exits 2. */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
}

/** Where a command writes: results on stdout, progress and warnings on stderr. Tests pass their own. */
export interface CommandIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

export const processIo: CommandIo = { stdout: process.stdout, stderr: process.stderr };
