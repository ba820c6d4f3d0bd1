import { Ajv2020 } from 'ajv/dist/2020.js';
import { Ajv, type ErrorObject, type Format, type Options, type ValidateFunction } from 'ajv';
import type { BeaconApiSpec, Operation, SpecNode } from './beacon-api-spec.js';

/** One HTTP request and its response, as a recording proxy saw them. */
export interface Exchange {
  readonly method: string;
  /** Path with query string, as on the request line. */
  readonly path: string;
  /** Lower-case names; repeated headers joined with `, `. */
  readonly requestHeaders: Readonly<Record<string, string>>;
  /** Undefined when the request carried no body. */
  readonly requestBody: string | undefined;
  readonly status: number;
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly responseBody: string;
}

/**
 * Formats the definition checks. Ajv ships none (they live in ajv-formats, which is not ours to
 * depend on). `hex` is the definition's own; every use also carries a `pattern` with the length.
 */
const VALIDATED_FORMATS: Readonly<Record<string, RegExp>> = { hex: /^0x[0-9a-fA-F]*$/ };

/**
 * OpenAPI keywords that are not JSON Schema 2020-12: annotations only, they never decide validity.
 * (`nullable`, OpenAPI 3.0's, Ajv implements itself: with `type`, it admits `null`.)
 */
const ANNOTATION_KEYWORDS = ['example', 'xml', 'externalDocs', 'discriminator'];

interface Validators {
  /** Compiled once per schema object (the resolved tree shares objects, so per component too). */
  compile(schema: SpecNode): ValidateFunction;
  /** Formats found in the definition that are accepted without a check. */
  readonly unvalidatedFormats: readonly string[];
}

const validatorsBySpec = new WeakMap<BeaconApiSpec, Validators>();

function formatsIn(operations: readonly Operation[]): Set<string> {
  const formats = new Set<string>();
  const seen = new Set<object>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    if (!Array.isArray(node) && typeof (node as SpecNode)['format'] === 'string') formats.add((node as SpecNode)['format'] as string);
    for (const value of Object.values(node)) visit(value);
  };
  for (const operation of operations) visit([operation.parameters, operation.requestBody, operation.responses]);
  return formats;
}

function validatorsFor(spec: BeaconApiSpec): Validators {
  let validators = validatorsBySpec.get(spec);
  if (validators) return validators;
  const unvalidatedFormats = [...formatsIn(spec.operations)].filter((format) => !(format in VALIDATED_FORMATS)).sort();
  const options: Options = {
    allErrors: true,
    // Unknown keywords throw at compile time: a new one in the definition must be handled here,
    // not silently skipped. Type/tuple/required strictness is off: those are style lints.
    strictSchema: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    keywords: ANNOTATION_KEYWORDS,
    formats: { ...VALIDATED_FORMATS, ...Object.fromEntries(unvalidatedFormats.map((format): [string, Format] => [format, true])) },
  };
  // OpenAPI 3.1 schemas are JSON Schema 2020-12 (OpenAPI 3.1 §4.8.24); 3.0 used a draft-04/07 subset.
  const ajv = spec.openapi.startsWith('3.0') ? new Ajv(options) : new Ajv2020(options);
  const compiled = new Map<SpecNode, ValidateFunction>();
  validators = {
    compile(schema) {
      let validate = compiled.get(schema);
      if (!validate) {
        validate = ajv.compile(schema as object);
        compiled.set(schema, validate);
      }
      return validate;
    },
    unvalidatedFormats,
  };
  validatorsBySpec.set(spec, validators);
  return validators;
}

/**
 * Compiles the schema of every parameter, request body and response in the definition, so a
 * keyword the checker does not handle fails here rather than in the middle of some later test.
 * Returns how many distinct schemas there were.
 */
export function compileAllSchemas(spec: BeaconApiSpec): number {
  const validators = validatorsFor(spec);
  const schemas = new Set<SpecNode>();
  const contentSchemas = (content: unknown) =>
    Object.values((content ?? {}) as Record<string, SpecNode>).forEach((media) => media['schema'] && schemas.add(media['schema'] as SpecNode));
  for (const operation of spec.operations) {
    for (const parameter of operation.parameters) if (parameter.schema) schemas.add(parameter.schema);
    contentSchemas(operation.requestBody?.['content']);
    for (const response of Object.values(operation.responses)) {
      contentSchemas(response['content']);
      for (const header of Object.values((response['headers'] ?? {}) as Record<string, SpecNode>)) {
        if (header['schema']) schemas.add(header['schema'] as SpecNode);
      }
    }
  }
  for (const schema of schemas) validators.compile(schema);
  return schemas.size;
}

/** Formats found in the definition that the checker accepts without checking. */
export function unvalidatedFormats(spec: BeaconApiSpec): readonly string[] {
  return validatorsFor(spec).unvalidatedFormats;
}

/** `/data/0/aggregation_bits` → `$.data[0].aggregation_bits`. */
export function jsonPath(instancePath: string): string {
  return (
    '$' +
    instancePath
      .split('/')
      .slice(1)
      .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
      .map((key) => (/^\d+$/.test(key) ? `[${key}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`))
      .join('')
  );
}

const MAX_ERRORS_PER_VALUE = 12;

function describeError(error: ErrorObject): string {
  const branches = [...error.schemaPath.matchAll(/(anyOf|oneOf)\/(\d+)/g)].map(([, keyword, index]) => `${keyword}[${index}]`);
  const via = branches.length > 0 ? ` (via ${branches.join(' > ')})` : '';
  const detail =
    error.keyword === 'enum'
      ? `: ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
      : error.keyword === 'additionalProperties'
        ? `: ${JSON.stringify((error.params as { additionalProperty: string }).additionalProperty)}`
        : '';
  return `${jsonPath(error.instancePath)}: ${error.message ?? error.keyword}${detail}${via}`;
}

/** Problems of `value` against `schema`, each prefixed with `where`. */
function schemaProblems(validators: Validators, schema: SpecNode, value: unknown, where: string): string[] {
  const validate = validators.compile(schema);
  if (validate(value)) return [];
  const lines = [...new Set((validate.errors ?? []).map(describeError))];
  const shown = lines.slice(0, MAX_ERRORS_PER_VALUE).map((line) => `${where} ${line}`);
  if (lines.length > shown.length) shown.push(`${where}: … and ${lines.length - shown.length} more schema errors`);
  return shown;
}

/** `application/json; charset=utf-8` → `application/json`. */
const mediaTypeOf = (contentType: string | undefined): string | undefined =>
  contentType?.split(';', 1)[0]!.trim().toLowerCase() || undefined;

const isJson = (mediaType: string): boolean => mediaType === 'application/json' || mediaType.endsWith('+json');

/** The declared media type entry for `mediaType` (exact, then `type/*`, then `*\/*`). */
function mediaEntry(content: Readonly<Record<string, SpecNode>>, mediaType: string): SpecNode | undefined {
  return content[mediaType] ?? content[`${mediaType.split('/')[0]}/*`] ?? content['*/*'];
}

/**
 * Parameters arrive as text; the schema speaks of the value. Query arrays may repeat the key
 * (`id=1&id=2`, OpenAPI's default `form`/`explode`) or list values with commas (`id=1,2`): the
 * Beacon API accepts both (apis/beacon/states/validators.yaml).
 */
function parameterValue(schema: SpecNode | undefined, raw: readonly string[]): unknown {
  const scalar = (s: SpecNode | undefined, text: string): unknown => {
    const type = s?.['type'];
    if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
    return text;
  };
  if (schema?.['type'] === 'array') {
    const items = schema['items'] as SpecNode | undefined;
    return raw.flatMap((text) => text.split(',')).map((text) => scalar(items, text));
  }
  return scalar(schema, raw[0] ?? '');
}

const headerValue = (headers: Readonly<Record<string, string>>, name: string): string | undefined => {
  const lower = name.toLowerCase();
  const key = Object.keys(headers).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : headers[key];
};

function parameterProblems(validators: Validators, spec: BeaconApiSpec, operation: Operation, exchange: Exchange, label: string): string[] {
  const problems: string[] = [];
  const pathValues = spec.pathParams(operation, exchange.path);
  const query = new URLSearchParams(exchange.path.includes('?') ? exchange.path.slice(exchange.path.indexOf('?') + 1) : '');
  for (const parameter of operation.parameters) {
    let raw: string[];
    if (parameter.in === 'path') raw = parameter.name in pathValues ? [pathValues[parameter.name]!] : [];
    else if (parameter.in === 'query') raw = query.getAll(parameter.name);
    else if (parameter.in === 'header') raw = [headerValue(exchange.requestHeaders, parameter.name)].filter((v) => v !== undefined);
    else continue; // cookies: the Beacon API has none
    const where = `${label}: ${parameter.in} parameter ${JSON.stringify(parameter.name)}`;
    if (raw.length === 0) {
      if (parameter.required) problems.push(`${where}: required but missing`);
      continue;
    }
    if (parameter.schema) problems.push(...schemaProblems(validators, parameter.schema, parameterValue(parameter.schema, raw), where));
  }
  return problems;
}

/** Checks a body against a `content` map; `where` leads every message. */
function bodyProblems(
  validators: Validators,
  content: Readonly<Record<string, SpecNode>>,
  contentType: string | undefined,
  body: string,
  where: string,
): string[] {
  const declared = Object.keys(content);
  // A body without Content-Type is read as JSON, the Beacon API's default (beacon-node-oapi.yaml, info).
  const mediaType = mediaTypeOf(contentType) ?? 'application/json';
  const entry = mediaEntry(content, mediaType);
  if (!entry) return [`${where}: content type ${mediaType} not declared (declared: ${declared.join(', ')})`];
  const schema = entry['schema'] as SpecNode | undefined;
  if (!isJson(mediaType) || !schema) return []; // SSZ and other binary bodies: nothing to read here
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return [`${where}: not JSON (${(error as Error).message})`];
  }
  return schemaProblems(validators, schema, value, where);
}

/**
 * A body's shape must be the one of the fork it claims. The definition admits every fork's shape
 * (`oneOf`/`anyOf` over fork-named components), so schema validity alone would take, say, a phase0
 * `Attestation` sent as `electra`. The branch for version V is the one of the latest fork ≤ V
 * (a branch holds until the next branch's fork). Only flagged when the value fails that branch
 * but passes another: an Electra `Attestation` also passes the open phase0 schema, so the reverse
 * cannot be told apart here.
 */
function forkProblems(validators: Validators, spec: BeaconApiSpec, schema: SpecNode | undefined, value: unknown, version: string | undefined, where: string): string[] {
  const branches = (schema?.['oneOf'] ?? schema?.['anyOf']) as SpecNode[] | undefined;
  if (!branches || version === undefined || !spec.forks.includes(version)) return [];
  const forkOfBranch = (branch: SpecNode) => spec.forkOf(branch) ?? spec.forkOf(branch['items']);
  const forked = branches.map((branch) => ({ branch, fork: forkOfBranch(branch) }));
  if (forked.some(({ fork }) => fork === undefined || !spec.forks.includes(fork))) return [];
  const rank = (fork: string) => spec.forks.indexOf(fork);
  // Blinded blocks are a lineage of their own beside full ones (BeaconBlock → BlockContents,
  // Attestation → SingleAttestation): the due branch is the latest fork ≤ V of each lineage, so a
  // fork that brings no new blinded block (Fulu) keeps the previous fork's.
  const kindOf = (branch: SpecNode) => ((spec.kindOf(branch) ?? spec.kindOf(branch['items']) ?? '').startsWith('Blinded') ? 'blinded' : 'plain');
  const latestOfKind = new Map<string, { branch: SpecNode; fork: string | undefined }>();
  for (const entry of forked) {
    if (rank(entry.fork!) > rank(version)) continue;
    const kind = kindOf(entry.branch);
    const held = latestOfKind.get(kind);
    if (!held || rank(entry.fork!) > rank(held.fork!)) latestOfKind.set(kind, entry);
  }
  const due = [...latestOfKind.values()];
  if (due.length === 0 || due.some(({ branch }) => validators.compile(branch)(value))) return [];
  const passing = forked.filter(({ branch }) => validators.compile(branch)(value)).map(({ fork }) => fork);
  if (passing.length === 0) return [];
  return [`${where}: has the ${passing.join('/')} shape but the version is ${version}, which takes the ${due[0]?.fork} shape`];
}

function requestProblems(validators: Validators, spec: BeaconApiSpec, operation: Operation, exchange: Exchange, label: string): string[] {
  const hasBody = exchange.requestBody !== undefined && exchange.requestBody.length > 0;
  const requestBody = operation.requestBody;
  if (!requestBody) return hasBody ? [`${label}: request has a body but the operation declares none`] : [];
  if (!hasBody) return requestBody['required'] === true ? [`${label}: request body required but missing`] : [];
  const content = (requestBody['content'] ?? {}) as Record<string, SpecNode>;
  const where = `${label}: request body`;
  const contentType = headerValue(exchange.requestHeaders, 'content-type');
  const problems = bodyProblems(validators, content, contentType, exchange.requestBody!, where);
  if (problems.length > 0) return problems;
  const schema = jsonSchemaOf(content, contentType);
  if (!schema) return [];
  // The request's fork is its Eth-Consensus-Version header (e.g. apis/beacon/pool/attestations.v2.yaml).
  return forkProblems(validators, spec, schema, JSON.parse(exchange.requestBody!), headerValue(exchange.requestHeaders, 'eth-consensus-version'), where);
}

/** The JSON schema declared for a body of `contentType` (JSON by default), if any. */
function jsonSchemaOf(content: Readonly<Record<string, SpecNode>>, contentType: string | undefined): SpecNode | undefined {
  const mediaType = mediaTypeOf(contentType) ?? 'application/json';
  return isJson(mediaType) ? (mediaEntry(content, mediaType)?.['schema'] as SpecNode | undefined) : undefined;
}

/** The response object for `status`: exact code, then `2XX`-style range, then `default` (OpenAPI 3.1 §4.8.16). */
function responseFor(operation: Operation, status: number): SpecNode | undefined {
  const code = String(status);
  return operation.responses[code] ?? operation.responses[`${code[0]}XX`] ?? operation.responses['default'];
}

function responseProblems(validators: Validators, spec: BeaconApiSpec, operation: Operation, exchange: Exchange, label: string): string[] {
  const response = responseFor(operation, exchange.status);
  if (!response) {
    return [`${label}: status ${exchange.status} not declared (declared: ${Object.keys(operation.responses).join(', ')})`];
  }
  const where = `${label}: response ${exchange.status}`;
  const problems: string[] = [];
  for (const [name, header] of Object.entries((response['headers'] ?? {}) as Record<string, SpecNode>)) {
    const value = headerValue(exchange.responseHeaders, name);
    if (value === undefined) {
      if (header['required'] === true) problems.push(`${where}: required header ${name} missing`);
      continue;
    }
    const schema = header['schema'] as SpecNode | undefined;
    if (schema) problems.push(...schemaProblems(validators, schema, parameterValue(schema, [value]), `${where}: header ${name}`));
  }
  const content = response['content'] as Record<string, SpecNode> | undefined;
  const hasBody = exchange.responseBody.length > 0;
  if (!content) {
    if (hasBody) problems.push(`${where}: has a body but the definition declares no content for this status`);
    return problems;
  }
  if (!hasBody) {
    problems.push(`${where}: body empty but the definition declares content (${Object.keys(content).join(', ')})`);
    return problems;
  }
  const contentType = headerValue(exchange.responseHeaders, 'content-type');
  const bodyIssues = bodyProblems(validators, content, contentType, exchange.responseBody, `${where} body`);
  problems.push(...bodyIssues);
  const schema = jsonSchemaOf(content, contentType);
  if (bodyIssues.length === 0 && schema) {
    // A response's fork is its `version` field, else its Eth-Consensus-Version header; the shape is `data`'s.
    const body = JSON.parse(exchange.responseBody) as { version?: unknown; data?: unknown };
    const version = typeof body.version === 'string' ? body.version : headerValue(exchange.responseHeaders, 'eth-consensus-version');
    const dataSchema = (schema['properties'] as Record<string, SpecNode> | undefined)?.['data'];
    problems.push(...forkProblems(validators, spec, dataSchema, body?.data, version, `${where} body $.data`));
  }
  return problems;
}

export interface CheckOptions {
  /**
   * Which side to hold to the definition: `response` to judge a server on requests made bad on
   * purpose, `request` to judge a client. Default `both`. An unknown route is reported either way.
   */
  readonly side?: 'both' | 'request' | 'response';
}

/**
 * Every way `exchange` departs from the Beacon API definition, as readable lines naming the
 * operation and the JSON path; empty when it conforms.
 */
export function checkExchange(spec: BeaconApiSpec, exchange: Exchange, options: CheckOptions = {}): string[] {
  const side = options.side ?? 'both';
  const method = exchange.method.toUpperCase();
  const operation = spec.findOperation(method, exchange.path);
  if (!operation) return [`${method} ${exchange.path}: no such route in the Beacon API definition`];
  const label = `${operation.operationId} (${method} ${operation.template})`;
  const validators = validatorsFor(spec);
  return [
    ...(side === 'response' ? [] : parameterProblems(validators, spec, operation, exchange, label)),
    ...(side === 'response' ? [] : requestProblems(validators, spec, operation, exchange, label)),
    ...(side === 'request' ? [] : responseProblems(validators, spec, operation, exchange, label)),
  ];
}
