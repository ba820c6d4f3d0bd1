import { networksChainConfig, type NetworkName } from '@lodestar/config/networks';
import { ssz } from '@lodestar/types';
import { fromHex, isHex, toHex, type Hex } from '#lib/contracts';
import { secretKeyToPublicKey, sign, verify } from '#lib/bls';
import { depositMessageRoots } from '#lib/signing';
import { KeyMaterialError } from './errors.js';

/**
 * Deposit data for the deposit contract / launchpad, one `deposit_data-*.json` entry per
 * validator, as staking-deposit-cli (and Charon) write it: bare lower-case hex, amount in Gwei.
 *
 * The signature is over the DepositMessage with DOMAIN_DEPOSIT computed from the network's
 * GENESIS_FORK_VERSION and a zero genesis validators root, so a deposit is valid before
 * genesis and on every fork (consensus specs phase0/beacon-chain.md#deposits,
 * `compute_domain(DOMAIN_DEPOSIT)` with defaults).
 */

/** MIN_DEPOSIT_AMOUNT (phase0) and MAX_EFFECTIVE_BALANCE_ELECTRA, in Gwei. */
export const MIN_DEPOSIT_GWEI = 1_000_000_000;
export const MAX_DEPOSIT_GWEI = 2_048_000_000_000;
export const DEFAULT_DEPOSIT_GWEI = 32_000_000_000;
/** The staking-deposit-cli version the files claim to follow (the launchpad checks the field exists). */
export const DEPOSIT_CLI_VERSION = '2.7.0';


export interface DepositNetwork {
  readonly name: string;
  readonly genesisForkVersion: Hex;
}

/** A public network known to Lodestar (mainnet, hoodi, sepolia, gnosis, chiado, ephemery, …). */
export function depositNetwork(name: NetworkName): DepositNetwork {
  const config = networksChainConfig[name];
  if (config === undefined) throw new RangeError(`unknown network ${name}`);
  return { name, genesisForkVersion: toHex(config.GENESIS_FORK_VERSION) };
}

/**
 * Where withdrawals go: an execution address (0x01 credentials, or 0x02 — compounding,
 * EIP-7251 — with `compounding`), or 32 bytes of credentials verbatim.
 */
export type WithdrawalTarget =
  | { readonly address: Hex; readonly compounding?: boolean }
  | { readonly credentials: Hex };

export interface DepositOptions {
  readonly withdrawal: WithdrawalTarget;
  readonly network: NetworkName | DepositNetwork;
  /** Default 32 ETH. */
  readonly amountGwei?: number;
  readonly depositCliVersion?: string;
}

/** One entry of a deposit_data-*.json file (staking-deposit-cli layout). */
export interface DepositDataJson {
  readonly pubkey: string;
  readonly withdrawal_credentials: string;
  readonly amount: number;
  readonly signature: string;
  readonly deposit_message_root: string;
  readonly deposit_data_root: string;
  readonly fork_version: string;
  readonly network_name: string;
  readonly deposit_cli_version: string;
}

/** The 32-byte withdrawal credentials of a withdrawal target. */
export function withdrawalCredentials(target: WithdrawalTarget): Hex {
  if ('credentials' in target) {
    if (!isHex(target.credentials.toLowerCase(), 32)) throw invalid(`withdrawal credentials must be 32 bytes of 0x-hex, got ${target.credentials}`);
    return target.credentials.toLowerCase() as Hex;
  }
  if (!isHex(target.address.toLowerCase(), 20)) throw invalid(`withdrawal address must be 20 bytes of 0x-hex, got ${target.address}`);
  // phase0/validator.md#eth1_address_withdrawal_prefix, electra COMPOUNDING_WITHDRAWAL_PREFIX
  const prefix = target.compounding ? '02' : '01';
  return `0x${prefix}${'00'.repeat(11)}${target.address.slice(2).toLowerCase()}`;
}

interface PreparedDeposit {
  readonly network: DepositNetwork;
  readonly message: { pubkey: Uint8Array; withdrawalCredentials: Uint8Array; amount: number };
  readonly messageRoot: Uint8Array;
  readonly signingRoot: Hex;
}

function prepare(pubkey: Hex, opts: DepositOptions): PreparedDeposit {
  const network = typeof opts.network === 'string' ? depositNetwork(opts.network) : opts.network;
  if (!isHex(network.genesisForkVersion.toLowerCase(), 4)) throw invalid(`genesis fork version must be 4 bytes of 0x-hex, got ${network.genesisForkVersion}`);
  if (!isHex(pubkey.toLowerCase(), 48)) throw invalid(`pubkey must be 48 bytes of 0x-hex, got ${pubkey}`);
  const amount = opts.amountGwei ?? DEFAULT_DEPOSIT_GWEI;
  if (!Number.isSafeInteger(amount) || amount < MIN_DEPOSIT_GWEI || amount > MAX_DEPOSIT_GWEI) {
    throw invalid(`amount must be an integer number of Gwei in ${MIN_DEPOSIT_GWEI}..${MAX_DEPOSIT_GWEI}, got ${amount}`);
  }
  const message = {
    pubkey: fromHex(pubkey),
    withdrawalCredentials: fromHex(withdrawalCredentials(opts.withdrawal)),
    amount,
  };
  const { messageRoot, signingRoot } = depositMessageRoots(
    { pubkey, withdrawalCredentials: toHex(message.withdrawalCredentials), amountGwei: amount },
    network.genesisForkVersion,
  );
  return { network, message, messageRoot, signingRoot };
}

/** The root a deposit signature signs: for threshold signing (DKG), where no one holds the secret. */
export function depositSigningRoot(pubkey: Hex, opts: DepositOptions): Hex {
  return prepare(pubkey, opts).signingRoot;
}

/** The deposit data entry for a validator whose full secret this process holds (trusted dealer). */
export function depositData(secret: Uint8Array, opts: DepositOptions): DepositDataJson {
  const pubkey = toHex(secretKeyToPublicKey(secret));
  const prepared = prepare(pubkey, opts);
  return assemble(prepared, sign(secret, fromHex(prepared.signingRoot)), opts);
}

/**
 * The deposit data entry from a signature made elsewhere (e.g. combined partial signatures);
 * refuses a signature that does not verify under `pubkey`.
 */
export function depositDataFromSignature(pubkey: Hex, signature: Hex, opts: DepositOptions): DepositDataJson {
  const prepared = prepare(pubkey, opts);
  const sig = fromHex(signature);
  if (!verify(prepared.message.pubkey, fromHex(prepared.signingRoot), sig)) {
    throw invalid(`deposit signature does not verify under ${pubkey.toLowerCase()} for network ${prepared.network.name}`);
  }
  return assemble(prepared, sig, opts);
}

/**
 * Checks an entry the way the launchpad does: both roots recomputed from the fields, and the
 * signature verified under the pubkey with the deposit domain of `fork_version`.
 */
export function verifyDepositData(entry: DepositDataJson): void {
  const hex = (field: keyof DepositDataJson, bytes: number): Hex => {
    const value = `0x${String(entry[field]).toLowerCase()}`;
    if (!isHex(value, bytes)) throw invalid(`${field}: must be ${bytes} bytes of hex`);
    return value;
  };
  const prepared = prepare(hex('pubkey', 48), {
    withdrawal: { credentials: hex('withdrawal_credentials', 32) },
    network: { name: entry.network_name, genesisForkVersion: hex('fork_version', 4) },
    amountGwei: entry.amount,
  });
  const signature = fromHex(hex('signature', 96));
  if (toHex(prepared.messageRoot) !== hex('deposit_message_root', 32)) throw invalid('deposit_message_root: does not match the message fields');
  const dataRoot = ssz.phase0.DepositData.hashTreeRoot({ ...prepared.message, signature });
  if (toHex(dataRoot) !== hex('deposit_data_root', 32)) throw invalid('deposit_data_root: does not match the data fields');
  if (!verify(prepared.message.pubkey, fromHex(prepared.signingRoot), signature)) {
    throw invalid(`signature: does not verify under the pubkey with fork version 0x${entry.fork_version}`);
  }
}

function assemble(prepared: PreparedDeposit, signature: Uint8Array, opts: DepositOptions): DepositDataJson {
  const { message, messageRoot, network } = prepared;
  const dataRoot = ssz.phase0.DepositData.hashTreeRoot({ ...message, signature });
  const bare = (bytes: Uint8Array) => toHex(bytes).slice(2);
  return {
    pubkey: bare(message.pubkey),
    withdrawal_credentials: bare(message.withdrawalCredentials),
    amount: message.amount,
    signature: bare(signature),
    deposit_message_root: bare(messageRoot),
    deposit_data_root: bare(dataRoot),
    fork_version: network.genesisForkVersion.slice(2).toLowerCase(),
    network_name: network.name,
    deposit_cli_version: opts.depositCliVersion ?? DEPOSIT_CLI_VERSION,
  };
}

function invalid(message: string): KeyMaterialError {
  return new KeyMaterialError('invalid_deposit', message);
}
