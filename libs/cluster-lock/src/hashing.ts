import {
  BooleanType,
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  UintBigintType,
  UintNumberType,
  type Type,
} from '@chainsafe/ssz';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import { ClusterFileError } from './errors.js';
import type { BuilderRegistration, ClusterDefinition, ClusterLock, DepositData, DistributedValidator } from './types.js';
import { featuresOf, minorOf, type ClusterVersion } from './version.js';

/**
 * config_hash, definition_hash and lock_hash: SSZ hash tree roots of the layouts Charon's
 * `cluster/ssz.go` walks per version (`hashDefinitionV1x3or4`, `…V1x5to7`, `…V1x8`,
 * `…V1x9orLater` plus v1.10's `target_gas_limit`/`compounding`, `hashLockV1x3orLater`,
 * `hashValidatorV1x3Or4`/`V1x5to7`/`V1x8OrLater`, `hashDepositDataV1x6`/`V1x7OrLater`,
 * `hashBuilderRegistration`), written as @chainsafe/ssz container types.
 *
 * - The config hash leaves out operator ENRs, every signature and the config hash itself, so
 *   collecting signatures never moves it; the definition hash covers them all.
 * - Charon's `putBytesN` left-pads a short value to N bytes: an absent signature hashes as 65
 *   zero bytes, an absent address as 20.
 * - v1.3/v1.4 put addresses, signatures and the validator's dropped fee recipient through
 *   fastssz's bare `PutBytes`, which appends nothing for an empty value: the field vanishes
 *   from its container. Those containers are therefore typed per shape (which fields are
 *   present), and the operator list is hashed as a list of the operators' roots, which a
 *   list of composites is by definition.
 * - v1.6 forgot to merkleize the deposit data, so its four fields sit inline in the validator.
 * - A builder registration's timestamp is Go's `uint64(time.Unix())`: Go's zero time wraps.
 */

const encoder = new TextEncoder();

const MAX_UUID = 64;
const MAX_NAME = 256;
const MAX_VERSION = 16;
const MAX_TIMESTAMP = 32;
const MAX_DKG_ALGORITHM = 32;
const MAX_ENR = 1024;
const MAX_OPERATORS = 256;
const MAX_VALIDATORS = 65536;
const MAX_DEPOSIT_AMOUNTS = 256;

const Bytes4 = new ByteVectorType(4);
const Bytes20 = new ByteVectorType(20);
const Bytes32 = new ByteVectorType(32);
const Bytes48 = new ByteVectorType(48);
const Bytes65 = new ByteVectorType(65);
const Bytes96 = new ByteVectorType(96);
const Uint64 = new UintNumberType(8);
const Uint64Big = new UintBigintType(8);
const Bool = new BooleanType();
const byteList = (limit: number) => new ByteListType(limit);

// --- value conversion, each naming its field when the value cannot be hashed ---------------

function utf8(text: string, limit: number, field: string): Uint8Array {
  const bytes = encoder.encode(text);
  if (bytes.length > limit) throw new ClusterFileError(field, `is ${bytes.length} bytes, longer than the ${limit} Charon hashes`);
  return bytes;
}

/** Charon's `putBytesN`: at most n bytes, left-padded with zeros. */
function bytesN(hex: Hex, n: number, field: string): Uint8Array {
  const bytes = fromHex(hex);
  if (bytes.length > n) throw new ClusterFileError(field, `is ${bytes.length} bytes, longer than ${n}`);
  const out = new Uint8Array(n);
  out.set(bytes, n - bytes.length);
  return out;
}

/** Charon's `putHexBytes20` / `from0xHex(addr, 20)`: an address, or 20 zero bytes when empty. */
function address(text: string, field: string): Uint8Array {
  if (text === '') return new Uint8Array(20);
  const bytes = /^0x[0-9a-fA-F]{40}$/.test(text) ? fromHex(text.toLowerCase()) : undefined;
  if (!bytes) throw new ClusterFileError(field, 'is not a 20-byte hex address');
  return bytes;
}

// --- types, built once per (version family, config-only) ------------------------------------

type Fields = Record<string, Type<unknown>>;

function container(fields: Fields): ContainerType<Fields> {
  return new ContainerType(fields);
}

const typeCache = new Map<string, ContainerType<Fields>>();

function cached(key: string, make: () => ContainerType<Fields>): ContainerType<Fields> {
  let type = typeCache.get(key);
  if (!type) {
    type = make();
    typeCache.set(key, type);
  }
  return type;
}

function operatorType(configOnly: boolean): ContainerType<Fields> {
  if (configOnly) return cached('operator:config', () => container({ address: Bytes20 }));
  return cached('operator:full', () =>
    container({ address: Bytes20, enr: byteList(MAX_ENR), config_signature: Bytes65, enr_signature: Bytes65 }),
  );
}

function creatorType(configOnly: boolean): ContainerType<Fields> {
  if (configOnly) return cached('creator:config', () => container({ address: Bytes20 }));
  return cached('creator:full', () => container({ address: Bytes20, config_signature: Bytes65 }));
}

const validatorAddressesType = container({ fee_recipient_address: Bytes20, withdrawal_address: Bytes20 });

/** v1.5+ (v1.3/v1.4 are walked by `legacyDefinitionRoot`). */
function definitionType(version: ClusterVersion, configOnly: boolean): ContainerType<Fields> {
  const minor = minorOf(version);
  const f = featuresOf(version);
  return cached(`definition:${minor}:${configOnly}`, () => {
    const fields: Fields = {
      uuid: byteList(MAX_UUID),
      name: byteList(MAX_NAME),
      version: byteList(MAX_VERSION),
      timestamp: byteList(MAX_TIMESTAMP),
      num_validators: Uint64,
      threshold: Uint64,
    };
    fields['dkg_algorithm'] = byteList(MAX_DKG_ALGORITHM);
    fields['fork_version'] = Bytes4;
    fields['operators'] = new ListCompositeType(operatorType(configOnly), MAX_OPERATORS);
    fields['creator'] = creatorType(configOnly);
    fields['validators'] = new ListCompositeType(validatorAddressesType, MAX_VALIDATORS);
    if (f.partialDeposits) fields['deposit_amounts'] = new ListBasicType(Uint64Big, MAX_DEPOSIT_AMOUNTS);
    if (f.consensusProtocol) fields['consensus_protocol'] = byteList(MAX_NAME);
    if (f.gasLimitAndCompounding) {
      fields['target_gas_limit'] = Uint64;
      fields['compounding'] = Bool;
    }
    if (!configOnly) fields['config_hash'] = Bytes32;
    return container(fields);
  });
}

const depositDataType = container({ pubkey: Bytes48, withdrawal_credentials: Bytes32, amount: Uint64Big, signature: Bytes96 });
const builderRegistrationType = container({
  message: container({ fee_recipient: Bytes20, gas_limit: Uint64, timestamp: Uint64Big, pubkey: Bytes48 }),
  signature: Bytes96,
});

function distributedValidatorType(version: ClusterVersion): ContainerType<Fields> {
  const minor = minorOf(version);
  return cached(`validator:${minor}`, () => {
    const fields: Fields = { pubkey: Bytes48, public_shares: new ListCompositeType(Bytes48, MAX_OPERATORS) };
    if (minor === 6) {
      fields['deposit_pubkey'] = Bytes48;
      fields['deposit_withdrawal_credentials'] = Bytes32;
      fields['deposit_amount'] = Uint64Big;
      fields['deposit_signature'] = Bytes96;
    }
    if (minor === 7) fields['deposit_data'] = depositDataType;
    if (minor >= 8) fields['partial_deposit_data'] = new ListCompositeType(depositDataType, MAX_DEPOSIT_AMOUNTS);
    if (minor >= 7) fields['builder_registration'] = builderRegistrationType;
    return container(fields);
  });
}

function lockType(version: ClusterVersion): ContainerType<Fields> {
  return cached(`lock:${minorOf(version)}`, () =>
    container({
      // v1.3/v1.4: the definition's root, precomputed (a Bytes32 hashes to itself).
      definition: minorOf(version) <= 4 ? Bytes32 : definitionType(version, false),
      validators: new ListCompositeType(distributedValidatorType(version), MAX_VALIDATORS),
    }),
  );
}

// --- values ---------------------------------------------------------------------------------

/** Field paths inside a definition that sits at `path` (`$` alone, `cluster_definition` in a lock). */
function fieldPath(path: string): (key: string) => string {
  return (key) => (path === '$' ? key : `${path}.${key}`);
}

function checkCounts(d: ClusterDefinition, at: (key: string) => string): void {
  if (d.operators.length > MAX_OPERATORS) throw new ClusterFileError(at('operators'), `has more than ${MAX_OPERATORS} operators`);
  if (d.validators.length > MAX_VALIDATORS) throw new ClusterFileError(at('validators'), `has more than ${MAX_VALIDATORS} entries`);
  if (d.depositAmounts.length > MAX_DEPOSIT_AMOUNTS) throw new ClusterFileError(at('deposit_amounts'), `has more than ${MAX_DEPOSIT_AMOUNTS} entries`);
}

/** The value for `definitionType` (v1.5+). */
function definitionValue(d: ClusterDefinition, configOnly: boolean, path: string): Record<string, unknown> {
  const f = featuresOf(d.version);
  const at = fieldPath(path);
  checkCounts(d, at);
  const value: Record<string, unknown> = {
    uuid: utf8(d.uuid, MAX_UUID, at('uuid')),
    name: utf8(d.name, MAX_NAME, at('name')),
    version: utf8(d.version, MAX_VERSION, at('version')),
    timestamp: utf8(d.timestamp, MAX_TIMESTAMP, at('timestamp')),
    num_validators: d.numValidators,
    threshold: d.threshold,
    dkg_algorithm: utf8(d.dkgAlgorithm, MAX_DKG_ALGORITHM, at('dkg_algorithm')),
    fork_version: bytesN(d.forkVersion, 4, at('fork_version')),
    operators: d.operators.map((op, i) => {
      const opPath = at(`operators[${i}]`);
      const addr = address(op.address, `${opPath}.address`);
      if (configOnly) return { address: addr };
      return {
        address: addr,
        enr: utf8(op.enr, MAX_ENR, `${opPath}.enr`),
        config_signature: bytesN(op.configSignature, 65, `${opPath}.config_signature`),
        enr_signature: bytesN(op.enrSignature, 65, `${opPath}.enr_signature`),
      };
    }),
    creator: configOnly
      ? { address: address(d.creator.address, at('creator.address')) }
      : {
          address: address(d.creator.address, at('creator.address')),
          config_signature: bytesN(d.creator.configSignature, 65, at('creator.config_signature')),
        },
    validators: d.validators.map((v, i) => ({
      fee_recipient_address: address(v.feeRecipientAddress, at(`validators[${i}].fee_recipient_address`)),
      withdrawal_address: address(v.withdrawalAddress, at(`validators[${i}].withdrawal_address`)),
    })),
  };
  if (f.partialDeposits) value['deposit_amounts'] = [...d.depositAmounts];
  if (f.consensusProtocol) value['consensus_protocol'] = utf8(d.consensusProtocol, MAX_NAME, at('consensus_protocol'));
  if (f.gasLimitAndCompounding) {
    value['target_gas_limit'] = d.targetGasLimit;
    value['compounding'] = d.compounding;
  }
  if (!configOnly) value['config_hash'] = bytesN(d.configHash, 32, at('config_hash'));
  return value;
}

/** One container field: name, type, value; `undefined` = the field vanished (empty `PutBytes`). */
type LegacyField = readonly [string, Type<unknown>, unknown] | undefined;

/** fastssz `PutBytes` of a value that is empty or exactly `n` bytes: absent when empty. */
function putBytes(name: string, bytes: Uint8Array, type: ByteVectorType): LegacyField {
  return bytes.length === 0 ? undefined : [name, type, bytes];
}

/** Root of a container whose shape depends on which fields are present (v1.3/v1.4). */
function legacyContainerRoot(kind: string, fields: readonly LegacyField[]): Uint8Array {
  const present = fields.filter((field): field is readonly [string, Type<unknown>, unknown] => field !== undefined);
  const type = cached(`${kind}:${present.map(([name]) => name).join(',')}`, () =>
    container(Object.fromEntries(present.map(([name, t]) => [name, t]))),
  );
  return type.hashTreeRoot(Object.fromEntries(present.map(([name, , value]) => [name, value])));
}

/** `from0xHex(addr, 20)`: empty for an empty address (so the field vanishes), else 20 bytes. */
function legacyAddress(text: string, field: string): Uint8Array {
  return text === '' ? new Uint8Array(0) : address(text, field);
}

function legacySignature(hex: Hex, field: string): Uint8Array {
  const bytes = fromHex(hex);
  if (bytes.length !== 0 && bytes.length !== 65) throw new ClusterFileError(field, 'must be 65 bytes or empty');
  return bytes;
}

const operatorRoots = new ListCompositeType(Bytes32, MAX_OPERATORS);

/** Charon's `hashDefinitionV1x3or4`. */
function legacyDefinitionRoot(d: ClusterDefinition, configOnly: boolean, path: string): Uint8Array {
  const minor = minorOf(d.version);
  const at = fieldPath(path);
  checkCounts(d, at);
  // LegacyValidatorAddresses: one pair for every validator.
  const first = d.validators[0] ?? { feeRecipientAddress: '', withdrawalAddress: '' };
  d.validators.forEach((v, i) => {
    if (
      v.feeRecipientAddress.toLowerCase() !== first.feeRecipientAddress.toLowerCase() ||
      v.withdrawalAddress.toLowerCase() !== first.withdrawalAddress.toLowerCase()
    ) {
      throw new ClusterFileError(at(`validators[${i}]`), `${d.version} holds one fee recipient and withdrawal address for all validators`);
    }
  });

  const operators = d.operators.map((op, i) => {
    const opPath = at(`operators[${i}]`);
    const addr = putBytes('address', legacyAddress(op.address, `${opPath}.address`), Bytes20);
    if (configOnly) return legacyContainerRoot('legacy-operator', [addr]);
    return legacyContainerRoot('legacy-operator', [
      addr,
      ['enr', byteList(MAX_ENR), utf8(op.enr, MAX_ENR, `${opPath}.enr`)],
      putBytes('config_signature', legacySignature(op.configSignature, `${opPath}.config_signature`), Bytes65),
      putBytes('enr_signature', legacySignature(op.enrSignature, `${opPath}.enr_signature`), Bytes65),
    ]);
  });

  const fields: LegacyField[] = [
    ['uuid', byteList(MAX_UUID), utf8(d.uuid, MAX_UUID, at('uuid'))],
    ['name', byteList(MAX_NAME), utf8(d.name, MAX_NAME, at('name'))],
    ['version', byteList(MAX_VERSION), utf8(d.version, MAX_VERSION, at('version'))],
    ['timestamp', byteList(MAX_TIMESTAMP), utf8(d.timestamp, MAX_TIMESTAMP, at('timestamp'))],
    ['num_validators', Uint64, d.numValidators],
    ['threshold', Uint64, d.threshold],
    putBytes('fee_recipient_address', legacyAddress(first.feeRecipientAddress, at('fee_recipient_address')), Bytes20),
    putBytes('withdrawal_address', legacyAddress(first.withdrawalAddress, at('withdrawal_address')), Bytes20),
    ['dkg_algorithm', byteList(MAX_DKG_ALGORITHM), utf8(d.dkgAlgorithm, MAX_DKG_ALGORITHM, at('dkg_algorithm'))],
    putBytes('fork_version', bytesN(d.forkVersion, 4, at('fork_version')), Bytes4),
    ['operators', operatorRoots, operators],
  ];
  if (minor === 4) {
    const creatorAddress = putBytes('address', legacyAddress(d.creator.address, at('creator.address')), Bytes20);
    const creator = configOnly
      ? legacyContainerRoot('legacy-creator', [creatorAddress])
      : legacyContainerRoot('legacy-creator', [
          creatorAddress,
          putBytes('config_signature', legacySignature(d.creator.configSignature, at('creator.config_signature')), Bytes65),
        ]);
    fields.push(['creator', Bytes32, creator]);
  }
  if (!configOnly) fields.push(putBytes('config_hash', bytesN(d.configHash, 32, at('config_hash')), Bytes32));
  return legacyContainerRoot(`legacy-definition:${configOnly}`, fields);
}

function definitionRoot(d: ClusterDefinition, configOnly: boolean, path: string): Uint8Array {
  if (minorOf(d.version) <= 4) return legacyDefinitionRoot(d, configOnly, path);
  return definitionType(d.version, configOnly).hashTreeRoot(definitionValue(d, configOnly, path));
}

function depositValue(d: DepositData | undefined, path: string): Record<string, unknown> {
  return {
    pubkey: bytesN(d?.pubkey ?? '0x', 48, `${path}.pubkey`),
    withdrawal_credentials: bytesN(d?.withdrawalCredentials ?? '0x', 32, `${path}.withdrawal_credentials`),
    amount: d?.amount ?? 0n,
    signature: bytesN(d?.signature ?? '0x', 96, `${path}.signature`),
  };
}

function registrationValue(r: BuilderRegistration | undefined, path: string): Record<string, unknown> {
  return {
    message: {
      fee_recipient: bytesN(r?.message.feeRecipient ?? '0x', 20, `${path}.message.fee_recipient`),
      gas_limit: r?.message.gasLimit ?? 0,
      // Go: uint64(time.Unix()); a negative (zero time) wraps around.
      timestamp: BigInt.asUintN(64, BigInt(r?.message.timestamp ?? 0)),
      pubkey: bytesN(r?.message.pubkey ?? '0x', 48, `${path}.message.pubkey`),
    },
    signature: bytesN(r?.signature ?? '0x', 96, `${path}.signature`),
  };
}

function validatorValue(v: DistributedValidator, version: ClusterVersion, path: string): Record<string, unknown> {
  const minor = minorOf(version);
  if (v.publicShares.length > MAX_OPERATORS) throw new ClusterFileError(`${path}.public_shares`, `has more than ${MAX_OPERATORS} entries`);
  const value: Record<string, unknown> = {
    pubkey: bytesN(v.distributedPublicKey, 48, `${path}.distributed_public_key`),
    public_shares: v.publicShares.map((s, i) => bytesN(s, 48, `${path}.public_shares[${i}]`)),
  };
  if (minor === 6) {
    const d = depositValue(v.depositData[0], `${path}.deposit_data`);
    value['deposit_pubkey'] = d['pubkey'];
    value['deposit_withdrawal_credentials'] = d['withdrawal_credentials'];
    value['deposit_amount'] = d['amount'];
    value['deposit_signature'] = d['signature'];
  }
  if (minor === 7) value['deposit_data'] = depositValue(v.depositData[0], `${path}.deposit_data`);
  if (minor >= 8) {
    if (v.depositData.length > MAX_DEPOSIT_AMOUNTS) throw new ClusterFileError(`${path}.partial_deposit_data`, `has more than ${MAX_DEPOSIT_AMOUNTS} entries`);
    value['partial_deposit_data'] = v.depositData.map((d, i) => depositValue(d, `${path}.partial_deposit_data[${i}]`));
  }
  if (minor >= 7) value['builder_registration'] = registrationValue(v.builderRegistration, `${path}.builder_registration`);
  return value;
}

// --- the three hashes -----------------------------------------------------------------------

/** config_hash: the definition without ENRs, signatures and hashes. */
export function computeConfigHash(definition: ClusterDefinition, path = '$'): Hex {
  return toHex(definitionRoot(definition, true, path));
}

/** definition_hash: every definition field, including the stored config_hash. */
export function computeDefinitionHash(definition: ClusterDefinition, path = '$'): Hex {
  return toHex(definitionRoot(definition, false, path));
}

/** lock_hash: the definition (as for definition_hash) and the distributed validators. */
export function computeLockHash(lock: ClusterLock): Hex {
  const version = lock.definition.version;
  if (lock.distributedValidators.length > MAX_VALIDATORS) {
    throw new ClusterFileError('distributed_validators', `has more than ${MAX_VALIDATORS} entries`);
  }
  return toHex(
    lockType(version).hashTreeRoot({
      definition:
        minorOf(version) <= 4
          ? definitionRoot(lock.definition, false, 'cluster_definition')
          : definitionValue(lock.definition, false, 'cluster_definition'),
      validators: lock.distributedValidators.map((v, i) => validatorValue(v, version, `distributed_validators[${i}]`)),
    }),
  );
}

/** The definition with both hashes (re)computed, as Charon's `SetDefinitionHashes`. */
export function withDefinitionHashes(definition: ClusterDefinition): ClusterDefinition {
  const configHash = computeConfigHash(definition);
  const withConfig = { ...definition, configHash };
  return { ...withConfig, definitionHash: computeDefinitionHash(withConfig) };
}
