import { freePort } from './wait.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A nats-server owned by one test file: its own port and its own JetStream store. */
export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** JetStream store directory (a fresh temporary directory). */
  readonly storeDir: string;
  /** SIGTERM, wait for exit, then delete storeDir. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), wait for exit; storeDir is kept so `restart()` recovers from it. */
  kill(): Promise<void>;
  /** Stop if running, then start again on the same port and storeDir. */
  restart(): Promise<void>;
}

export interface StartNatsServerOptions {
  /** Enable JetStream with file storage in storeDir (default true). */
  readonly jetstream?: boolean;
}

export class NatsServerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NatsServerUnavailableError';
  }
}

const DEBIAN_BINARY = '/usr/sbin/nats-server';
const READY_LINE = 'Server is ready';
const READY_TIMEOUT_MS = 10_000;
const LOG_TAIL_LINES = 40;

/** Every server started by this process, so a crashed test run does not leave servers behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = findNatsServerBinary();
  const jetstream = opts.jetstream ?? true;
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'cohort-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port), ...(jetstream ? ['-js', '-sd', storeDir] : [])];

  let child: ChildProcess | undefined = await launch(binary, args);

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const current = child;
    child = undefined;
    if (current !== undefined) await signalAndWait(current, signal);
  };

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      await terminate('SIGTERM');
      rmSync(storeDir, { recursive: true, force: true });
    },
    async kill() {
      await terminate('SIGKILL');
    },
    async restart() {
      await terminate('SIGTERM');
      child = await launch(binary, args);
    },
  };
}

/** The Debian package's binary, else `nats-server` on PATH; a clear error naming the fix otherwise. */
export function findNatsServerBinary(): string {
  const candidates = [DEBIAN_BINARY, ...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'nats-server'))];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new NatsServerUnavailableError(
    `nats-server not found (looked at ${DEBIAN_BINARY} and PATH); install it with \`apt-get install nats-server\``,
  );
}


/** Spawn and resolve once the server logs that it accepts clients; reject with the log tail if it exits first. */
function launch(binary: string, args: readonly string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));

    const tail: string[] = [];
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) resolve(child);
      else {
        child.kill('SIGKILL');
        reject(error);
      }
    };
    const onOutput = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        tail.push(line);
        if (tail.length > LOG_TAIL_LINES) tail.shift();
        if (line.includes(READY_LINE)) settle();
      }
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    child.once('error', (err) => settle(new NatsServerUnavailableError(`could not start ${binary}: ${err.message}`)));
    child.once('exit', (code, signal) =>
      settle(new Error(`nats-server exited before ready (code ${code}, signal ${signal}) with ${args.join(' ')}:\n${tail.join('\n')}`)),
    );
    const timer = setTimeout(
      () => settle(new Error(`nats-server not ready after ${READY_TIMEOUT_MS} ms:\n${tail.join('\n')}`)),
      READY_TIMEOUT_MS,
    );
  });
}

function signalAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
