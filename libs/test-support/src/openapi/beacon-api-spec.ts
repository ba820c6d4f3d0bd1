import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * The Beacon API definition (github.com/ethereum/beacon-APIs, vendored in shared/vectors/beacon-apis)
 * loaded into one tree with every `$ref` replaced by what it points at, and its routes matchable
 * against concrete request paths.
 */

/** A node of the resolved definition: plain JSON-like data, shared where two `$ref`s name one target. */
export type SpecNode = { readonly [key: string]: unknown };

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required: boolean;
  readonly schema: SpecNode | undefined;
}

export interface Operation {
  readonly operationId: string;
  /** Upper case, as on the wire. */
  readonly method: string;
  /** The path template as the definition spells it, e.g. `/eth/v1/validator/duties/attester/{epoch}`. */
  readonly template: string;
  /** Path-item and operation parameters, the operation's winning on (name, in). */
  readonly parameters: readonly Parameter[];
  readonly requestBody: SpecNode | undefined;
  /** Keyed by status code, `4XX`-style ranges or `default`, as in the definition. */
  readonly responses: Readonly<Record<string, SpecNode>>;
}

export interface BeaconApiSpec {
  /** The definition's `openapi` version (decides the JSON Schema dialect). */
  readonly openapi: string;
  /** The directory it was loaded from. */
  readonly dir: string;
  readonly operations: readonly Operation[];
  /** The operation whose template matches `path` (query string ignored), or undefined. */
  findOperation(method: string, path: string): Operation | undefined;
  /**
   * Forks in order, from the definition's `ConsensusVersion` enum (phase0 … gloas): what
   * `Eth-Consensus-Version` and a response's `version` may say.
   */
  readonly forks: readonly string[];
  /**
   * The fork a resolved schema belongs to, when the definition reached it through a fork-named
   * component (`#/components/schemas/Electra.SingleAttestation` → `electra`).
   */
  forkOf(schema: unknown): string | undefined;
  /** The type a fork-named component is of, without its fork (`Fulu.BlockContents` → `BlockContents`). */
  kindOf(schema: unknown): string | undefined;
  /** Path parameter values of `path` under `operation`'s template, percent-decoded. */
  pathParams(operation: Operation, path: string): Readonly<Record<string, string>>;
}

/**
 * Where the vendored definition lives: `shared/vectors/beacon-apis`, a sibling of the repo root
 * (tests run with cwd = repo root).
 */
export function beaconApisDir(repoRoot: string = process.cwd()): string {
  return resolve(repoRoot, '../shared/vectors/beacon-apis');
}

const ROOT_FILE = 'beacon-node-oapi.yaml';

/**
 * Keys a `$ref` may carry beside it. In OpenAPI 3.1 a Reference Object may override `summary` and
 * `description`; the definition also repeats a parameter's `name`/`in`/`required` next to its `$ref`
 * and annotates schema refs with `example`/`title`. None of these changes what validates, so they
 * are merged over the target. Anything else would need real `allOf` semantics: refuse it rather than
 * validate against the wrong schema.
 */
const REF_SIBLINGS = new Set(['summary', 'description', 'example', 'title', 'name', 'in', 'required']);

class DefinitionLoader {
  private readonly files = new Map<string, unknown>();
  private readonly resolved = new Map<object, unknown>();
  private readonly inProgress = new Set<object>();
  /** Resolved schema → fork, for targets of `#/components/schemas/<Fork>.<Name>` refs. */
  readonly forkOfSchema = new WeakMap<object, string>();
  readonly kindOfSchema = new WeakMap<object, string>();

  constructor(private readonly dir: string) {}

  root(): SpecNode {
    const file = resolve(this.dir, ROOT_FILE);
    return this.resolveNode(this.document(file), file) as SpecNode;
  }

  private document(file: string): unknown {
    let doc = this.files.get(file);
    if (doc === undefined) {
      doc = parse(readFileSync(file, 'utf8'));
      this.files.set(file, doc);
    }
    return doc;
  }

  /** `./types/primitive.yaml#/Uint64` relative to `file` → the target node and the file it lives in. */
  private target(ref: string, file: string): { node: unknown; file: string } {
    const hash = ref.indexOf('#');
    const filePart = hash < 0 ? ref : ref.slice(0, hash);
    const pointer = hash < 0 ? '' : decodeURIComponent(ref.slice(hash + 1));
    const targetFile = filePart === '' ? file : resolve(dirname(file), filePart);
    let node = this.document(targetFile);
    // RFC 6901 JSON pointer.
    for (const token of pointer.split('/').slice(1)) {
      const key = token.replaceAll('~1', '/').replaceAll('~0', '~');
      if (node === null || typeof node !== 'object' || !(key in node)) {
        throw new Error(`unresolvable $ref ${ref} in ${file}`);
      }
      node = (node as Record<string, unknown>)[key];
    }
    return { node, file: targetFile };
  }

  private resolveNode(node: unknown, file: string): unknown {
    if (node === null || typeof node !== 'object') return node;
    const done = this.resolved.get(node);
    if (done !== undefined) return done;
    // The Beacon API has no recursive types; a cycle means a broken definition, not one to model.
    if (this.inProgress.has(node)) throw new Error(`$ref cycle through ${file}`);
    this.inProgress.add(node);
    let result: unknown;
    if (Array.isArray(node)) {
      result = node.map((item) => this.resolveNode(item, file));
    } else {
      const { $ref, ...rest } = node as Record<string, unknown>;
      if (typeof $ref === 'string') {
        // `required` beside a $ref is a parameter's boolean; a schema's `required: [...]` would validate.
        const extra = Object.keys(rest).filter((key) => !REF_SIBLINGS.has(key) || (key === 'required' && typeof rest[key] !== 'boolean'));
        if (extra.length > 0) throw new Error(`$ref ${$ref} in ${file} has sibling keys ${extra.join(', ')} this loader does not merge`);
        const target = this.target($ref, file);
        const resolvedTarget = this.resolveNode(target.node, target.file);
        const [, forkName, kind] = /#\/components\/schemas\/([A-Z][a-z0-9]+)\.([A-Za-z0-9]+)$/.exec($ref) ?? [];
        if (forkName && kind && resolvedTarget !== null && typeof resolvedTarget === 'object') {
          this.forkOfSchema.set(resolvedTarget, forkName.toLowerCase());
          this.kindOfSchema.set(resolvedTarget, kind);
        }
        result = Object.keys(rest).length === 0 ? resolvedTarget : { ...(resolvedTarget as object), ...this.resolveEntries(rest, file) };
      } else {
        result = this.resolveEntries(rest, file);
      }
    }
    this.inProgress.delete(node);
    this.resolved.set(node, result);
    return result;
  }

  private resolveEntries(entries: Record<string, unknown>, file: string): Record<string, unknown> {
    return Object.fromEntries(Object.entries(entries).map(([key, value]) => [key, this.resolveNode(value, file)]));
  }
}

function parametersOf(pathItem: SpecNode, operation: SpecNode): Parameter[] {
  const byKey = new Map<string, Parameter>();
  for (const raw of [...asArray(pathItem['parameters']), ...asArray(operation['parameters'])]) {
    const p = raw as SpecNode;
    const parameter: Parameter = {
      name: String(p['name']),
      in: p['in'] as Parameter['in'],
      // Path parameters are always required (OpenAPI 3.1 §4.8.12.1).
      required: p['in'] === 'path' || p['required'] === true,
      schema: p['schema'] as SpecNode | undefined,
    };
    byKey.set(`${parameter.in}:${parameter.in === 'header' ? parameter.name.toLowerCase() : parameter.name}`, parameter);
  }
  return [...byKey.values()];
}

const asArray = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);

interface Route {
  readonly operation: Operation;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly literalSegments: number;
}

function routeOf(operation: Operation): Route {
  const names: string[] = [];
  const source = operation.template
    .split('/')
    .map((segment) =>
      segment.replace(/\{([^}]+)\}|[^{]+/g, (part, name: string | undefined) => {
        if (name === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(name);
        return '([^/]+)';
      }),
    )
    .join('/');
  const literalSegments = operation.template.split('/').filter((segment) => segment.length > 0 && !segment.includes('{')).length;
  return { operation, pattern: new RegExp(`^${source}/?$`), names, literalSegments };
}

function buildSpec(dir: string): BeaconApiSpec {
  const loader = new DefinitionLoader(dir);
  const root = loader.root();
  const components = (root['components'] ?? {}) as { schemas?: Record<string, SpecNode> };
  const forks = ((components.schemas?.['ConsensusVersion']?.['enum'] ?? []) as unknown[]).map(String);
  const operations: Operation[] = [];
  for (const [template, pathItem] of Object.entries((root['paths'] ?? {}) as Record<string, SpecNode>)) {
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method] as SpecNode | undefined;
      if (!operation) continue;
      operations.push({
        operationId: String(operation['operationId'] ?? `${method.toUpperCase()} ${template}`),
        method: method.toUpperCase(),
        template,
        parameters: parametersOf(pathItem, operation),
        requestBody: operation['requestBody'] as SpecNode | undefined,
        responses: (operation['responses'] ?? {}) as Record<string, SpecNode>,
      });
    }
  }
  // A concrete path could match two templates only if one has a literal where the other has a
  // parameter; the literal one is the more specific (OpenAPI 3.1 §4.8.8.2, "Path Templating Matching").
  const routes = operations.map(routeOf).sort((a, b) => b.literalSegments - a.literalSegments);
  const routeOfOperation = new Map(routes.map((route) => [route.operation, route]));
  const pathOnly = (path: string) => path.split(/[?#]/, 1)[0]!;
  return {
    openapi: String(root['openapi']),
    dir,
    operations,
    forks,
    forkOf: (schema) => (schema !== null && typeof schema === 'object' ? loader.forkOfSchema.get(schema) : undefined),
    kindOf: (schema) => (schema !== null && typeof schema === 'object' ? loader.kindOfSchema.get(schema) : undefined),
    findOperation(method, path) {
      const upper = method.toUpperCase();
      const p = pathOnly(path);
      return routes.find((route) => route.operation.method === upper && route.pattern.test(p))?.operation;
    },
    pathParams(operation, path) {
      const route = routeOfOperation.get(operation);
      const match = route?.pattern.exec(pathOnly(path));
      if (!route || !match) return {};
      return Object.fromEntries(route.names.map((name, i) => [name, percentDecoded(match[i + 1]!)]));
    },
  };
}

function percentDecoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // malformed escapes: the raw text is what the server would have to read
  }
}

const cache = new Map<string, BeaconApiSpec>();

/**
 * Loads the definition under `dir` (default: {@link beaconApisDir}) with every `$ref` resolved.
 * Cached per directory for the process: many specs call it.
 */
export function loadBeaconApiSpec(dir: string = beaconApisDir()): BeaconApiSpec {
  const key = resolve(dir);
  let spec = cache.get(key);
  if (!spec) {
    spec = buildSpec(key);
    cache.set(key, spec);
  }
  return spec;
}
