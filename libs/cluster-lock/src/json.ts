import type { Hex } from '#lib/contracts';
import { ClusterFileError } from './errors.js';
import type {
  BuilderRegistration,
  ClusterDefinition,
  ClusterLock,
  Creator,
  DepositData,
  DistributedValidator,
  Operator,
  ValidatorAddresses,
} from './types.js';
import { CLUSTER_VERSIONS, featuresOf, isClusterVersion, LATEST_CLUSTER_VERSION, type ClusterVersion } from './version.js';

/**
 * JSON codec for Charon's cluster-definition.json and cluster-lock.json.
 *
 * Reading follows Charon's per-version JSON layouts (`definitionJSONv1x…`, `lockJSONv1x…`,
 * `distValidatorJSONv1x…`): hex is `0x`-prefixed (Charon also accepts it bare), empty byte
 * strings are `""`, Gwei amounts are decimal strings, and Go writes an empty list as `null`.
 * Every refusal names the JSON path of the field. Unknown keys are ignored, as Charon does.
 *
 * Writing produces v1.10.0 only, key for key in Charon's order, indented with one space and
 * with Go's HTML-safe string escaping, so a file Charon wrote re-serialises byte for byte.
 */

type JsonObject = Record<string, unknown>;

const HEX_BODY = /^(?:[0-9a-fA-F]{2})*$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const UINT64_MAX = (1n << 64n) - 1n;

function objectAt(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ClusterFileError(path, `must be an object, got ${describe(value)}`);
  }
  return value as JsonObject;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value)}`;
  return `a ${typeof value}`;
}

function join(path: string, key: string): string {
  return path === '$' ? key : `${path}.${key}`;
}

function required(o: JsonObject, key: string, path: string): unknown {
  if (!(key in o) || o[key] === undefined) throw new ClusterFileError(join(path, key), 'is missing');
  return o[key];
}

function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ClusterFileError(path, `must be a string, got ${describe(value)}`);
  return value;
}

function requiredString(o: JsonObject, key: string, path: string): string {
  return stringAt(required(o, key, path), join(path, key));
}

/** Charon tags these `omitempty`: absent means empty. */
function optionalString(o: JsonObject, key: string, path: string): string {
  return o[key] === undefined ? '' : stringAt(o[key], join(path, key));
}

function safeUint(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ClusterFileError(path, `must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

/** Go `int` fields written as JSON numbers (may be negative for Go's zero time). */
function safeInt(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new ClusterFileError(path, `must be an integer, got ${describe(value)}`);
  }
  return value;
}

function booleanAt(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new ClusterFileError(path, `must be true or false, got ${describe(value)}`);
  return value;
}

/** A list Go may have written as `null` (a nil slice). */
function listAt(value: unknown, path: string): unknown[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new ClusterFileError(path, `must be a list, got ${describe(value)}`);
  return value;
}

/**
 * Hex bytes, `0x`-prefixed or bare, as Charon's `ethHex`. `lengths` lists the accepted byte
 * lengths (0 = empty allowed); omitted = any length.
 */
function hexAt(value: unknown, path: string, lengths?: readonly number[]): Hex {
  const text = stringAt(value, path);
  const body = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (!HEX_BODY.test(body)) throw new ClusterFileError(path, `is not a hex byte string: ${describe(text)}`);
  const bytes = body.length / 2;
  if (lengths && !lengths.includes(bytes)) {
    const expected = lengths.map((n) => (n === 0 ? 'empty' : `${n} bytes`)).join(' or ');
    throw new ClusterFileError(path, `must be ${expected}, got ${bytes} bytes`);
  }
  return `0x${body.toLowerCase()}`;
}

function addressAt(value: unknown, path: string): string {
  const text = stringAt(value, path);
  if (text !== '' && !ADDRESS.test(text)) {
    throw new ClusterFileError(path, `must be a 0x-prefixed 20-byte hex address or empty, got ${describe(text)}`);
  }
  return text;
}

/** Gwei: Go writes `eth2p0.Gwei` and `amount,string` as decimal strings. */
function gweiAt(value: unknown, path: string): bigint {
  let amount: bigint;
  if (typeof value === 'string' && DECIMAL.test(value)) amount = BigInt(value);
  else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) amount = BigInt(value);
  else throw new ClusterFileError(path, `must be a decimal Gwei amount, got ${describe(value)}`);
  if (amount > UINT64_MAX) throw new ClusterFileError(path, 'does not fit in a uint64');
  return amount;
}

/** Registration timestamps: unix seconds, or an RFC 3339 string in files that wrote one. */
function unixSecondsAt(value: unknown, path: string): number {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw new ClusterFileError(path, `is not a unix time or RFC 3339 time: ${describe(value)}`);
    return Math.floor(ms / 1000);
  }
  return safeInt(value, path);
}

function parseJsonText(input: string | unknown, what: string): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input) as unknown;
  } catch (cause) {
    throw new ClusterFileError('$', `is not valid JSON (${what}): ${(cause as Error).message}`, { cause });
  }
}

function versionAt(o: JsonObject, path: string): ClusterVersion {
  const version = requiredString(o, 'version', path);
  if (!isClusterVersion(version)) {
    throw new ClusterFileError(
      join(path, 'version'),
      `unsupported cluster file version ${JSON.stringify(version)}; readable: ${CLUSTER_VERSIONS.join(', ')}`,
    );
  }
  return version;
}

function parseOperator(value: unknown, path: string): Operator {
  const o = objectAt(value, path);
  return {
    address: addressAt(required(o, 'address', path), join(path, 'address')),
    enr: requiredString(o, 'enr', path),
    configSignature: hexAt(required(o, 'config_signature', path), join(path, 'config_signature'), [0, 65]),
    enrSignature: hexAt(required(o, 'enr_signature', path), join(path, 'enr_signature'), [0, 65]),
  };
}

function parseCreator(value: unknown, path: string): Creator {
  const o = objectAt(value, path);
  return {
    address: addressAt(required(o, 'address', path), join(path, 'address')),
    configSignature: hexAt(required(o, 'config_signature', path), join(path, 'config_signature'), [0, 65]),
  };
}

function parseValidatorAddresses(value: unknown, path: string): ValidatorAddresses {
  const o = objectAt(value, path);
  return {
    feeRecipientAddress: addressAt(required(o, 'fee_recipient_address', path), join(path, 'fee_recipient_address')),
    withdrawalAddress: addressAt(required(o, 'withdrawal_address', path), join(path, 'withdrawal_address')),
  };
}

/** Reads a definition object; `path` is where it sits (`$` alone, `cluster_definition` in a lock). */
export function definitionFromJson(value: unknown, path = '$'): ClusterDefinition {
  const o = objectAt(value, path);
  const version = versionAt(o, path);
  const features = featuresOf(version);
  const numValidators = safeUint(required(o, 'num_validators', path), join(path, 'num_validators'));

  let validators: ValidatorAddresses[];
  if (features.legacyValidatorAddresses) {
    // v1.3/v1.4: one pair for the cluster (omitempty); Charon repeats it per validator.
    const pair: ValidatorAddresses = {
      feeRecipientAddress: addressAt(optionalString(o, 'fee_recipient_address', path), join(path, 'fee_recipient_address')),
      withdrawalAddress: addressAt(optionalString(o, 'withdrawal_address', path), join(path, 'withdrawal_address')),
    };
    validators = Array.from({ length: numValidators }, () => pair);
  } else {
    validators = listAt(required(o, 'validators', path), join(path, 'validators')).map((v, i) =>
      parseValidatorAddresses(v, `${join(path, 'validators')}[${i}]`),
    );
    if (validators.length !== numValidators) {
      throw new ClusterFileError(
        join(path, 'validators'),
        `lists ${validators.length} validators but num_validators is ${numValidators}`,
      );
    }
  }

  return {
    name: optionalString(o, 'name', path),
    uuid: requiredString(o, 'uuid', path),
    version,
    timestamp: optionalString(o, 'timestamp', path),
    numValidators,
    threshold: safeUint(required(o, 'threshold', path), join(path, 'threshold')),
    dkgAlgorithm: requiredString(o, 'dkg_algorithm', path),
    forkVersion: hexAt(required(o, 'fork_version', path), join(path, 'fork_version'), [4]),
    operators: listAt(required(o, 'operators', path), join(path, 'operators')).map((op, i) =>
      parseOperator(op, `${join(path, 'operators')}[${i}]`),
    ),
    creator: features.creator
      ? parseCreator(required(o, 'creator', path), join(path, 'creator'))
      : { address: '', configSignature: '0x' },
    validators,
    depositAmounts: features.partialDeposits
      ? listAt(required(o, 'deposit_amounts', path), join(path, 'deposit_amounts')).map((a, i) =>
          gweiAt(a, `${join(path, 'deposit_amounts')}[${i}]`),
        )
      : [],
    consensusProtocol: features.consensusProtocol ? requiredString(o, 'consensus_protocol', path) : '',
    targetGasLimit: features.gasLimitAndCompounding
      ? safeUint(required(o, 'target_gas_limit', path), join(path, 'target_gas_limit'))
      : 0,
    compounding: features.gasLimitAndCompounding
      ? booleanAt(required(o, 'compounding', path), join(path, 'compounding'))
      : false,
    configHash: hexAt(required(o, 'config_hash', path), join(path, 'config_hash'), [32]),
    definitionHash: hexAt(required(o, 'definition_hash', path), join(path, 'definition_hash'), [32]),
  };
}

function parseDepositData(value: unknown, path: string): DepositData {
  const o = objectAt(value, path);
  return {
    pubkey: hexAt(required(o, 'pubkey', path), join(path, 'pubkey'), [0, 48]),
    withdrawalCredentials: hexAt(required(o, 'withdrawal_credentials', path), join(path, 'withdrawal_credentials'), [0, 32]),
    amount: gweiAt(required(o, 'amount', path), join(path, 'amount')),
    signature: hexAt(required(o, 'signature', path), join(path, 'signature'), [0, 96]),
  };
}

function isZeroDeposit(d: DepositData): boolean {
  return d.pubkey === '0x' && d.withdrawalCredentials === '0x' && d.amount === 0n && d.signature === '0x';
}

function parseBuilderRegistration(value: unknown, path: string): BuilderRegistration {
  const o = objectAt(value, path);
  const messagePath = join(path, 'message');
  const m = objectAt(required(o, 'message', path), messagePath);
  return {
    message: {
      feeRecipient: hexAt(required(m, 'fee_recipient', messagePath), join(messagePath, 'fee_recipient'), [0, 20]),
      gasLimit: safeUint(required(m, 'gas_limit', messagePath), join(messagePath, 'gas_limit')),
      timestamp: unixSecondsAt(required(m, 'timestamp', messagePath), join(messagePath, 'timestamp')),
      pubkey: hexAt(required(m, 'pubkey', messagePath), join(messagePath, 'pubkey'), [0, 48]),
    },
    signature: hexAt(required(o, 'signature', path), join(path, 'signature'), [0, 96]),
  };
}

function parseDistributedValidator(value: unknown, path: string, version: ClusterVersion): DistributedValidator {
  const o = objectAt(value, path);
  const features = featuresOf(version);
  const sharesPath = join(path, 'public_shares');
  const publicShares = listAt(o['public_shares'], sharesPath).map((s, i) => hexAt(s, `${sharesPath}[${i}]`, [48]));

  if (!features.singleDepositData && !features.partialDeposits && o['fee_recipient_address'] !== undefined) {
    // Charon refuses these too: a per-validator fee recipient was dropped in v1.2.
    const fee = hexAt(o['fee_recipient_address'], join(path, 'fee_recipient_address'));
    if (fee !== '0x') throw new ClusterFileError(join(path, 'fee_recipient_address'), 'per-validator fee recipient is not supported');
  }

  let depositData: DepositData[] = [];
  if (features.singleDepositData) {
    const single = parseDepositData(required(o, 'deposit_data', path), join(path, 'deposit_data'));
    depositData = isZeroDeposit(single) ? [] : [single];
  } else if (features.partialDeposits) {
    depositData = listAt(o['partial_deposit_data'], join(path, 'partial_deposit_data')).map((d, i) =>
      parseDepositData(d, `${join(path, 'partial_deposit_data')}[${i}]`),
    );
  }

  return {
    distributedPublicKey: hexAt(required(o, 'distributed_public_key', path), join(path, 'distributed_public_key'), [48]),
    publicShares,
    depositData,
    ...(features.builderRegistration
      ? { builderRegistration: parseBuilderRegistration(required(o, 'builder_registration', path), join(path, 'builder_registration')) }
      : {}),
  };
}

/**
 * Reads a cluster-definition.json (text or parsed JSON). Checks shape and encodings only; the
 * hashes and signatures are checked by `verifyDefinition`.
 */
export function parseClusterDefinition(input: string | unknown): ClusterDefinition {
  return definitionFromJson(parseJsonText(input, 'cluster definition'));
}

/**
 * Reads a cluster-lock.json (text or parsed JSON). Checks shape and encodings only; hashes,
 * shares and signatures are checked by `verifyLock`.
 */
export function parseClusterLock(input: string | unknown): ClusterLock {
  const o = objectAt(parseJsonText(input, 'cluster lock'), '$');
  const definition = definitionFromJson(required(o, 'cluster_definition', '$'), 'cluster_definition');
  const features = featuresOf(definition.version);
  return {
    definition,
    distributedValidators: listAt(required(o, 'distributed_validators', '$'), 'distributed_validators').map((v, i) =>
      parseDistributedValidator(v, `distributed_validators[${i}]`, definition.version),
    ),
    // Not covered by the lock hash, so any length reads; verifyLock insists on 96 bytes.
    signatureAggregate: hexAt(required(o, 'signature_aggregate', '$'), 'signature_aggregate'),
    lockHash: hexAt(required(o, 'lock_hash', '$'), 'lock_hash', [32]),
    nodeSignatures: features.builderRegistration
      ? listAt(o['node_signatures'], 'node_signatures').map((s, i) => hexAt(s, `node_signatures[${i}]`))
      : [],
  };
}

// ---------------------------------------------------------------------------------------------
// Writing (v1.10.0)

/** Charon's `to0xHex`: empty bytes are written as `""`. */
function hexOut(hex: Hex): string {
  return hex === '0x' ? '' : hex;
}

function requireLatest(version: ClusterVersion, path: string): void {
  if (version !== LATEST_CLUSTER_VERSION) {
    throw new ClusterFileError(join(path, 'version'), `only ${LATEST_CLUSTER_VERSION} is written, this is ${version}`);
  }
}

/** The definition as Charon's v1.10 JSON object (key order included). */
export function definitionToJson(d: ClusterDefinition, path = '$'): JsonObject {
  requireLatest(d.version, path);
  return {
    ...(d.name === '' ? {} : { name: d.name }),
    creator: { address: d.creator.address, config_signature: hexOut(d.creator.configSignature) },
    operators:
      d.operators.length === 0
        ? null
        : d.operators.map((op) => ({
            address: op.address,
            enr: op.enr,
            config_signature: hexOut(op.configSignature),
            enr_signature: hexOut(op.enrSignature),
          })),
    uuid: d.uuid,
    version: d.version,
    ...(d.timestamp === '' ? {} : { timestamp: d.timestamp }),
    num_validators: d.numValidators,
    threshold: d.threshold,
    validators:
      d.validators.length === 0
        ? null
        : d.validators.map((v) => ({ fee_recipient_address: v.feeRecipientAddress, withdrawal_address: v.withdrawalAddress })),
    dkg_algorithm: d.dkgAlgorithm,
    fork_version: hexOut(d.forkVersion),
    deposit_amounts: d.depositAmounts.length === 0 ? null : d.depositAmounts.map((a) => a.toString()),
    consensus_protocol: d.consensusProtocol,
    target_gas_limit: d.targetGasLimit,
    compounding: d.compounding,
    config_hash: hexOut(d.configHash),
    definition_hash: hexOut(d.definitionHash),
  };
}

function distributedValidatorToJson(v: DistributedValidator, path: string): JsonObject {
  if (!v.builderRegistration) throw new ClusterFileError(join(path, 'builder_registration'), 'is missing (required by v1.10)');
  const r = v.builderRegistration;
  return {
    distributed_public_key: hexOut(v.distributedPublicKey),
    ...(v.publicShares.length === 0 ? {} : { public_shares: v.publicShares.map(hexOut) }),
    builder_registration: {
      message: {
        fee_recipient: hexOut(r.message.feeRecipient),
        gas_limit: r.message.gasLimit,
        timestamp: r.message.timestamp,
        pubkey: hexOut(r.message.pubkey),
      },
      signature: hexOut(r.signature),
    },
    ...(v.depositData.length === 0
      ? {}
      : {
          partial_deposit_data: v.depositData.map((d) => ({
            pubkey: hexOut(d.pubkey),
            withdrawal_credentials: hexOut(d.withdrawalCredentials),
            amount: d.amount.toString(),
            signature: hexOut(d.signature),
          })),
        }),
  };
}

/** The lock as Charon's v1.10 JSON object (key order included). */
export function lockToJson(lock: ClusterLock): JsonObject {
  return {
    cluster_definition: definitionToJson(lock.definition, 'cluster_definition'),
    distributed_validators: lock.distributedValidators.map((v, i) => distributedValidatorToJson(v, `distributed_validators[${i}]`)),
    signature_aggregate: hexOut(lock.signatureAggregate),
    lock_hash: hexOut(lock.lockHash),
    node_signatures: lock.nodeSignatures.map(hexOut),
  };
}

/**
 * Go's encoding/json escapes <, >, & and the two JavaScript line terminators inside strings;
 * JSON.stringify does not. They can only occur inside strings, so a plain replace is exact.
 */
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** cluster-definition.json text, as `charon create dkg` writes it (one-space indent). */
export function serialiseClusterDefinition(definition: ClusterDefinition): string {
  return goEscape(JSON.stringify(definitionToJson(definition), null, 1));
}

/** cluster-lock.json text, as `charon create cluster` writes it (one-space indent). */
export function serialiseClusterLock(lock: ClusterLock): string {
  return goEscape(JSON.stringify(lockToJson(lock), null, 1));
}
