import { Ajv } from 'ajv';
import { interchangeRecords, type InterchangeRecords } from '../domain/interchange.js';
import { INTERCHANGE_SCHEMA } from './interchange.schema.js';

/** A file that is not a valid EIP-3076 v5 interchange: every problem found, each with its JSON path. */
export class InterchangeError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source} is not a valid EIP-3076 interchange file (format 5):\n  ${problems.join('\n  ')}`);
    this.name = 'InterchangeError';
  }
}

// strictTuples off: the published schema uses draft-07 tuple `items`, which ajv's strict mode warns about
const validateSchema = new Ajv({ allErrors: true, strictTuples: false }).compile(INTERCHANGE_SCHEMA);

/**
 * Parses and checks an interchange document: JSON, the EIP's JSON schema, then the semantic
 * checks on every entry (hex lengths, decimal numbers, format version). Changes nothing;
 * throws InterchangeError naming `source` and what is wrong.
 */
export function parseInterchange(text: string, source: string): InterchangeRecords {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new InterchangeError(source, [`not JSON: ${(error as Error).message}`]);
  }
  // both checks always run, so one error lists everything wrong with the file
  const schemaProblems = validateSchema(doc)
    ? []
    : (validateSchema.errors ?? []).map((e) => `schema: ${e.instancePath === '' ? '$' : e.instancePath} ${e.message ?? 'is invalid'}`);
  const checked = interchangeRecords(doc);
  if (!checked.ok || schemaProblems.length > 0) throw new InterchangeError(source, [...schemaProblems, ...(checked.ok ? [] : checked.problems)]);
  return checked.records;
}
