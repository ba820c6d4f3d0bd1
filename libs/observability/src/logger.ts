import type { LogLevel } from '#lib/config';

/**
 * One line per record, `time level node/service message key=value…`, so that at 3 a.m. an
 * operator can grep a duty id across every service. Callers pass ids and reasons, never
 * secrets (no keys, no passwords: nothing in this codebase hands a secret to a logger).
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(scope: string): Logger;
}

export type LogFields = Readonly<Record<string, string | number | boolean | undefined | null>>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  readonly scope: string;
  readonly level: LogLevel;
  readonly write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (RANK[level] < RANK[opts.level]) return;
    const rendered = Object.entries(fields ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${opts.scope} ${message}${rendered ? ` ${rendered}` : ''}`);
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (scope) => createLogger({ ...opts, scope: `${opts.scope}/${scope}` }),
  };
}
