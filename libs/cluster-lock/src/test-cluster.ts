import { createHash } from 'node:crypto';
import { SignableENR } from '@chainsafe/enr';
import { generateSecretKey, splitSecret } from '#lib/bls';
import type { BuildOperator, BuildValidator } from './build.js';

/** Test support (not exported from the library): operators with known keys, dealt validators. */

/** A deterministic secp256k1 key for operator `i` of cluster `seed`. */
export function operatorKey(seed: string, i: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`${seed}/operator/${i}`).digest());
}

export function testOperators(n: number, seed = 'cohort'): (BuildOperator & { readonly secretKey: Uint8Array })[] {
  return Array.from({ length: n }, (_, i) => {
    const secretKey = operatorKey(seed, i);
    const enr = SignableENR.createV4(secretKey);
    enr.ip = '127.0.0.1';
    enr.tcp = 9000 + i;
    return { enr: enr.encodeTxt(), secretKey };
  });
}

export function testValidators(count: number, n: number, threshold: number): BuildValidator[] {
  return Array.from({ length: count }, (_, v) => {
    const groupSecretKey = generateSecretKey();
    const sharing = splitSecret(groupSecretKey, { total: n, threshold });
    return {
      groupSecretKey,
      secretShares: Array.from({ length: n }, (_, i) => sharing.shares.get(i + 1) as Uint8Array),
      feeRecipientAddress: `0x${'fe'.repeat(18)}${v.toString(16).padStart(4, '0')}`,
      withdrawalAddress: `0x${'de'.repeat(18)}${v.toString(16).padStart(4, '0')}`,
    };
  });
}
