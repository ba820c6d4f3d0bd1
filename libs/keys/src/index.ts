export { KeyFileError, KeyMaterialError, type KeyMaterialErrorCode } from './errors.js';
export {
  DEFAULT_KEYSTORE_PATH,
  STANDARD_KDF_COST,
  decryptKeystore,
  encryptKeystore,
  parseKeystoreText,
  type DecryptedKeystore,
  type Eip2335Keystore,
  type EncryptKeystoreOptions,
  type KdfName,
} from './keystore.js';
export {
  generateKeystorePassword,
  keystoreFileName,
  loadKeystoreDir,
  passwordFileName,
  readPasswordFile,
  writeKeystoreDir,
  writeKeystoreFile,
  type LoadedKeystore,
  type WriteKeystoreDirOptions,
  type WrittenKeystore,
} from './keystore-dir.js';
export { SECRET_DIR_MODE, SECRET_FILE_MODE, writeNewSecretDir, writeNewSecretFile } from './files.js';
export {
  IDENTITY_KEY_FILE,
  createIdentityKeyFile,
  loadIdentityKey,
  type IdentityKey,
  type LoadedIdentityKey,
} from './identity-key.js';
export { enrOf, parseEnr, type EnrAddress, type ParsedEnr } from './enr.js';
export {
  dealValidators,
  recoverGroupSecret,
  sharesForOperator,
  splitExistingKeys,
  type DealtValidator,
  type SecretShare,
} from './dealer.js';
export {
  DEFAULT_DEPOSIT_GWEI,
  DEPOSIT_CLI_VERSION,
  MAX_DEPOSIT_GWEI,
  MIN_DEPOSIT_GWEI,
  depositData,
  depositDataFromSignature,
  depositNetwork,
  depositSigningRoot,
  verifyDepositData,
  withdrawalCredentials,
  type DepositDataJson,
  type DepositNetwork,
  type DepositOptions,
  type WithdrawalTarget,
} from './deposit-data.js';
