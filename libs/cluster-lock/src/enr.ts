import type { Hex } from '#lib/contracts';
import { parseEnr } from '#lib/keys';
import { ClusterFileError } from './errors.js';

/** What a lock needs of an operator's ENR (EIP-778): its identity key and, if any, its address. */
export interface DecodedEnr {
  /** Compressed secp256k1 public key, 33 bytes. */
  readonly publicKey: Hex;
  readonly ip?: string;
  readonly tcp?: number;
}

/**
 * Decodes and authenticates an `enr:` text record with #lib/keys (which also reads Charon's
 * sequence-0 records that @chainsafe/enr 5.0.0 cannot); `field` names it in errors.
 */
export function decodeEnr(text: string, field: string): DecodedEnr {
  let parsed: ReturnType<typeof parseEnr>;
  try {
    parsed = parseEnr(text, 'enr');
  } catch (cause) {
    throw new ClusterFileError(field, `is not a valid signed ENR: ${(cause as Error).message.replace(/^enr: /, '')}`, { cause });
  }
  return {
    publicKey: parsed.publicKey,
    ...(parsed.ip === undefined ? {} : { ip: parsed.ip }),
    ...(parsed.tcp === undefined ? {} : { tcp: parsed.tcp }),
  };
}
