export * from './errors.js';
export * from './version.js';
export type * from './types.js';
export {
  definitionFromJson,
  definitionToJson,
  lockToJson,
  parseClusterDefinition,
  parseClusterLock,
  serialiseClusterDefinition,
  serialiseClusterLock,
} from './json.js';
export { computeConfigHash, computeDefinitionHash, computeLockHash, withDefinitionHashes } from './hashing.js';
export { verifyDefinition, verifyLock, withdrawalCredentials, type DefinitionVerification, type LockVerification, type VerifyOptions } from './verify.js';
export { decodeEnr, type DecodedEnr } from './enr.js';
export { CHAIN_ID_BY_FORK_VERSION, EIP712_TYPES, eip712Digest, ethereumAddress, recoverAddress, type Eip712Type } from './eip712.js';
export { recoverPublicKey } from './g1.js';
export { buildClusterLock, type BuildClusterLockInput, type BuildOperator, type BuildValidator } from './build.js';
export {
  clusterFromLock,
  loadClusterLock,
  type ClusterFromLock,
  type ClusterOperator,
  type ClusterValidator,
  type LoadedClusterLock,
} from './cluster.js';
