export * from './vc-mock.js';
export { checkAttestation, type LastSignedAttestation, type ProtectionVerdict } from './attestation-protection.js';
