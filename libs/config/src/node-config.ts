import { isHex, type Hex, type SignedValidatorRegistrationJson } from '#lib/contracts';

/**
 * A node's configuration, parsed once at the edge into an immutable value grouped by
 * concern (STYLE.md rule 7). Every problem is reported at once, each naming its field.
 */
export interface OperatorConfig {
  readonly index: number;
  /** secp256k1 compressed public key: the operator's identity (ENR key). */
  readonly publicKey: Hex;
  readonly p2pHost: string;
  readonly p2pPort: number;
}

export interface ValidatorConfig {
  readonly groupPubkey: Hex;
  /** Public key shares by share index: `publicShares[i - 1]` belongs to share index i. */
  readonly publicShares: readonly Hex[];
  /**
   * The validator's builder registration, signed with its whole key when the cluster was
   * created (the lock's `builder_registration`, Beacon API JSON); absent in older locks.
   */
  readonly builderRegistration?: SignedValidatorRegistrationJson;
}

export interface ClusterConfig {
  readonly name: string;
  readonly clusterHash: Hex;
  readonly threshold: number;
  readonly operators: readonly OperatorConfig[];
  readonly validators: readonly ValidatorConfig[];
}

export interface NodeConfig {
  readonly node: { readonly name: string; readonly index: number };
  /**
   * `genesisPollMs`: how often each service asks the BN whether it is still on the same network
   * (a changed genesis validators root is a reset; the service restarts on the new network).
   */
  readonly beacon: { readonly url: string; readonly timeoutMs: number; readonly genesisPollMs: number };
  readonly nats: { readonly url: string };
  readonly cluster: ClusterConfig;
  /** The operator's secp256k1 identity key. A secret: never logged, never in an event. */
  readonly p2p: { readonly privateKey: Hex };
  readonly gateway: { readonly host: string; readonly port: number };
  /**
   * `aggregation` (default true): run the aggregation duties, which need every operator's VC in
   * its distributed mode (it sends its selection proofs to the DV selection endpoints). With a
   * VC that has none, every aggregation fails as `vc_not_distributed`; `false` says so once,
   * at start, and schedules none.
   */
  readonly duties: { readonly aggregation: boolean };
  /**
   * Limits of the audit log (COHORT_EVENTS); absent fields take the event log's defaults
   * (30 days, 10 GiB). The slashing history is never limited.
   */
  readonly retention: { readonly eventsMaxAgeMs?: number; readonly eventsMaxBytes?: number };
  readonly observability: {
    /** Port of each service's `/metrics`: base + service offset; 0 = no metrics server. */
    readonly metricsHost: string;
    readonly metricsPortBase: number;
    /** OTLP/HTTP traces endpoint (e.g. http://127.0.0.1:4318/v1/traces); absent = tracing off. */
    readonly otlpEndpoint?: string;
    readonly logLevel: LogLevel;
  };
}

/**
 * How often a service asks its BN for the genesis, to notice a network reset (DESIGN.md rule 7):
 * an Ephemery reset is noticed within 12 s, long before the new chain's genesis (a new genesis is
 * published ahead of its time), at one small request per service.
 */
export const DEFAULT_GENESIS_POLL_MS = 12_000;

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Share index of this node: operators are 0-based, share indices 1-based (DESIGN.md "Keys"). */
export const shareIndexOf = (config: NodeConfig): number => config.node.index + 1;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates untrusted input (a JSON file, the environment) into a NodeConfig. */
export function parseNodeConfig(input: unknown): NodeConfig {
  const problems: string[] = [];
  const r = reader(input, '', problems);
  const operators = r.array('cluster.operators', (o) => ({
    index: o.int('index', 0),
    publicKey: o.hex('publicKey', 33),
    p2pHost: o.str('p2pHost'),
    p2pPort: o.int('p2pPort', 1, 65535),
  }));
  const validators = r.array('cluster.validators', (v) => {
    const groupPubkey = v.hex('groupPubkey', 48);
    const registered = v.present('builderRegistration')
      ? {
          builderRegistration: {
            message: {
              fee_recipient: v.hex('builderRegistration.message.fee_recipient', 20),
              gas_limit: v.uint64('builderRegistration.message.gas_limit'),
              timestamp: v.uint64('builderRegistration.message.timestamp'),
              pubkey: v.hex('builderRegistration.message.pubkey', 48),
            },
            signature: v.hex('builderRegistration.signature', 96),
          },
        }
      : {};
    if (registered.builderRegistration && registered.builderRegistration.message.pubkey !== groupPubkey) {
      problems.push(`cluster.validators: a builderRegistration names ${registered.builderRegistration.message.pubkey}, not its validator ${groupPubkey}`);
    }
    return { groupPubkey, publicShares: v.array('publicShares', (share) => share.hex('', 48)), ...registered };
  });
  const threshold = r.int('cluster.threshold', 1);
  const nodeIndex = r.int('node.index', 0);
  const level = r.optStr('observability.logLevel') ?? 'info';
  const config: NodeConfig = {
    node: { name: r.optStr('node.name') ?? `node${nodeIndex}`, index: nodeIndex },
    beacon: { url: r.url('beacon.url'), timeoutMs: r.optInt('beacon.timeoutMs', 1) ?? 4000, genesisPollMs: r.optInt('beacon.genesisPollMs', 100) ?? DEFAULT_GENESIS_POLL_MS },
    nats: { url: r.str('nats.url') },
    cluster: {
      name: r.optStr('cluster.name') ?? 'cohort',
      clusterHash: r.hex('cluster.clusterHash', 32),
      threshold,
      operators,
      validators,
    },
    p2p: { privateKey: r.hex('p2p.privateKey', 32) },
    gateway: { host: r.optStr('gateway.host') ?? '127.0.0.1', port: r.int('gateway.port', 0, 65535) },
    duties: { aggregation: r.optBool('duties.aggregation') ?? true },
    retention: optional({
      eventsMaxAgeMs: r.optInt('retention.eventsMaxAgeMs', 0),
      eventsMaxBytes: r.optInt('retention.eventsMaxBytes', 0),
    }),
    observability: {
      metricsHost: r.optStr('observability.metricsHost') ?? '127.0.0.1',
      metricsPortBase: r.optInt('observability.metricsPortBase', 0, 65535) ?? 0,
      ...(r.optStr('observability.otlpEndpoint') ? { otlpEndpoint: r.optStr('observability.otlpEndpoint') as string } : {}),
      logLevel: (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : 'info',
    },
  };
  if (!(LOG_LEVELS as readonly string[]).includes(level)) problems.push(`observability.logLevel: one of ${LOG_LEVELS.join(', ')}, got ${level}`);
  const n = operators.length;
  if (n > 0) {
    if (threshold > n) problems.push(`cluster.threshold: ${threshold} is more than the ${n} operators`);
    if (threshold < Math.ceil((2 * n) / 3)) problems.push(`cluster.threshold: ${threshold} is below ceil(2n/3) = ${Math.ceil((2 * n) / 3)}: unsafe`);
    if (nodeIndex >= n) problems.push(`node.index: ${nodeIndex} but the cluster has ${n} operators (0..${n - 1})`);
    operators.forEach((o, i) => o.index !== i && problems.push(`cluster.operators[${i}].index: expected ${i}, got ${o.index}`));
    validators.forEach((v, i) => {
      if (v.publicShares.length !== n) problems.push(`cluster.validators[${i}].publicShares: ${v.publicShares.length} shares for ${n} operators`);
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Drops the undefined fields (exactOptionalPropertyTypes). */
function optional<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

interface Reader {
  str(path: string): string;
  optStr(path: string): string | undefined;
  int(path: string, min?: number, max?: number): number;
  optInt(path: string, min?: number, max?: number): number | undefined;
  optBool(path: string): boolean | undefined;
  /** A uint64 as the Beacon API writes it: a decimal string. */
  uint64(path: string): string;
  present(path: string): boolean;
  hex(path: string, bytes: number): Hex;
  url(path: string): string;
  array<T>(path: string, item: (element: Reader) => T): T[];
}

/** Reads dotted paths of untrusted JSON; an empty path is the value itself. Problems accumulate. */
function reader(input: unknown, base: string, problems: string[]): Reader {
  const get = (path: string): unknown =>
    path === ''
      ? input
      : path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), input);
  const full = (path: string) => (base && path ? `${base}.${path}` : base || path);
  const fail = <T>(path: string, what: string, fallback: T): T => {
    problems.push(`${path}: ${what}`);
    return fallback;
  };
  const self: Reader = {
    str(path: string): string {
      const v = get(path);
      return typeof v === 'string' && v.length > 0 ? v : fail(full(path), 'required text', '');
    },
    optStr(path: string): string | undefined {
      const v = get(path);
      return v === undefined ? undefined : typeof v === 'string' ? v : fail(full(path), 'must be text', undefined);
    },
    int(path: string, min = -Infinity, max = Infinity): number {
      const v = get(path);
      return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max
        ? (v as number)
        : fail(full(path), `required integer in [${min}, ${max}], got ${JSON.stringify(v)}`, 0);
    },
    optInt(path: string, min = -Infinity, max = Infinity): number | undefined {
      return get(path) === undefined ? undefined : self.int(path, min, max);
    },
    uint64(path: string): string {
      const v = get(path);
      return typeof v === 'string' && /^(0|[1-9][0-9]{0,19})$/.test(v) && BigInt(v) < 2n ** 64n ? v : fail(full(path), `required uint64 as a decimal string, got ${JSON.stringify(v)}`, '0');
    },
    present(path: string): boolean {
      return get(path) !== undefined;
    },
    optBool(path: string): boolean | undefined {
      const v = get(path);
      return v === undefined || typeof v === 'boolean' ? v : fail(full(path), `must be true or false, got ${JSON.stringify(v)}`, undefined);
    },
    hex(path: string, bytes: number): Hex {
      const v = get(path);
      return isHex(typeof v === 'string' ? v.toLowerCase() : v, bytes)
        ? ((v as string).toLowerCase() as Hex)
        : fail(full(path), `required 0x-hex of ${bytes} bytes`, '0x' as Hex);
    },
    url(path: string): string {
      const v = self.str(path);
      try {
        return v ? new URL(v).toString().replace(/\/$/, '') : v;
      } catch {
        return fail(full(path), `not a URL: ${v}`, v);
      }
    },
    array<T>(path: string, item: (element: Reader) => T): T[] {
      const v = get(path);
      if (!Array.isArray(v)) return fail(full(path), 'required list', []);
      // Each element's reader is based at its own path, so its problems name it: `cluster.operators[1].publicKey`.
      return v.map((element, i) => item(reader(element, `${full(path)}[${i}]`, problems)));
    },
  };
  return self;
}
