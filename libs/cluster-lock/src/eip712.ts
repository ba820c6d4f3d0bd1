import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { toHex } from '#lib/contracts';
import { recoverK1 } from '#lib/p2p';

/**
 * The operator and creator signatures of a cluster definition: EIP-712 typed data as Charon's
 * `cluster/eip712sigs.go` and `eth2util/eip712` build it, signed by the operator's Ethereum
 * account (usually a wallet), checked by recovering the signer's address (Charon's `verifySig`).
 * Node signatures and the 65-byte R || S || V form itself come from #lib/p2p (`signK1`,
 * `verifyK1`, `recoverK1`), which Charon's k1util defines for QBFT too.
 */

const encoder = new TextEncoder();

/** Ethereum address (lower-case 0x hex) of a secp256k1 public key, compressed or not. */
export function ethereumAddress(publicKey: Uint8Array): string {
  const uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false);
  return toHex(keccak_256(uncompressed.subarray(1)).subarray(12));
}

/**
 * The address that produced a 65-byte R || S || V signature of `digest`, or undefined. Wallets
 * write V as 27/28, Charon's k1util as 0/1; both are read.
 */
export function recoverAddress(digest: Uint8Array, signature: Uint8Array): string | undefined {
  if (signature.length !== 65) return undefined;
  const v = signature[64] ?? 255;
  const normalised = new Uint8Array(signature);
  normalised[64] = v >= 27 ? v - 27 : v;
  const publicKey = recoverK1(digest, normalised);
  return publicKey === undefined ? undefined : ethereumAddress(publicKey);
}

function keccakText(text: string): Uint8Array {
  return keccak_256(encoder.encode(text));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function uint256(value: number): Uint8Array {
  const out = new Uint8Array(32);
  let n = BigInt(value);
  for (let i = 31; i >= 0 && n > 0n; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** The EIP-712 message types Charon signs (cluster/eip712sigs.go); each has one string field. */
export const EIP712_TYPES = {
  /** Creator's signature of the config hash (v1.4+). */
  creatorConfigHash: { primaryType: 'CreatorConfigHash', field: 'creator_config_hash' },
  /** Operator's signature of the config hash (v1.4+). */
  operatorConfigHash: { primaryType: 'OperatorConfigHash', field: 'operator_config_hash' },
  /** Operator's signature of the config hash (v1.3). */
  configHashV1x3: { primaryType: 'ConfigHash', field: 'config_hash' },
  /** Operator's signature of its ENR. */
  enr: { primaryType: 'ENR', field: 'enr' },
} as const;

export type Eip712Type = (typeof EIP712_TYPES)[keyof typeof EIP712_TYPES];

/**
 * EIP-712 digest: keccak256(0x1901 || hashStruct(EIP712Domain{name: "Obol", version: "1",
 * chainId}) || hashStruct(message)), the message being `{ [type.field]: value }` (a string:
 * the 0x hex config hash, or the ENR text).
 */
export function eip712Digest(type: Eip712Type, value: string, chainId: number): Uint8Array {
  const domainTypeHash = keccakText('EIP712Domain(string name,string version,uint256 chainId)');
  const domainSeparator = keccak_256(concat(domainTypeHash, keccakText('Obol'), keccakText('1'), uint256(chainId)));
  const messageTypeHash = keccakText(`${type.primaryType}(string ${type.field})`);
  const messageHash = keccak_256(concat(messageTypeHash, keccakText(value)));
  return keccak_256(concat(Uint8Array.of(0x19, 0x01), domainSeparator, messageHash));
}

/**
 * Chain ids of the networks Charon knows (eth2util/network.go), by genesis fork version: the
 * EIP-712 domain of operator signatures needs one.
 */
export const CHAIN_ID_BY_FORK_VERSION: Readonly<Record<string, number>> = {
  '0x00000000': 1, // mainnet
  '0x00001020': 5, // goerli
  '0x00000064': 100, // gnosis
  '0x0000006f': 10200, // chiado
  '0x90000069': 11155111, // sepolia
  '0x01017000': 17000, // holesky
  '0x10000910': 560048, // hoodi
};
