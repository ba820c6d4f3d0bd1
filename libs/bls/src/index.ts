export * from './errors.js';
export {
  PUBLIC_KEY_LENGTH,
  SECRET_KEY_LENGTH,
  SIGNATURE_LENGTH,
  aggregatePublicKeys,
  aggregateSignatures,
  aggregateVerify,
  fastAggregateVerify,
  generateSecretKey,
  isPublicKeyEncoding,
  isSignatureEncoding,
  secretKeyToPublicKey,
  sign,
  verify,
} from './signature.js';
export { findInvalid, verifyBatch, type SignatureSet } from './batch.js';
export {
  combinePartialSignatures,
  initBls,
  recoverSecret,
  splitSecret,
  type SecretSharing,
  type ThresholdParams,
} from './threshold.js';
