import { randomBytes } from 'node:crypto';
import { freePort } from '#lib/test-support';
import { toHex, type Hex } from '#lib/contracts';
import { generateIdentityKey, secp256k1PublicKey } from './identity.js';
import type { PeerSpec } from './peer-network.js';

/** Test and benchmark support: n operator identities on loopback with free ports. Not exported from the index. */
export interface TestCluster {
  readonly keys: readonly Uint8Array[];
  readonly peers: readonly PeerSpec[];
  readonly clusterHash: Hex;
  readonly genesisValidatorsRoot: Hex;
}


export async function testCluster(n: number): Promise<TestCluster> {
  const keys = Array.from({ length: n }, () => generateIdentityKey());
  const peers: PeerSpec[] = [];
  for (const [index, key] of keys.entries()) {
    peers.push({ index, publicKey: secp256k1PublicKey(key), host: '127.0.0.1', port: await freePort() });
  }
  return { keys, peers, clusterHash: toHex(randomBytes(32)), genesisValidatorsRoot: toHex(randomBytes(32)) };
}
