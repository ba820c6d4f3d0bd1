export { createPeerNetwork, PeerNetworkConfigError, PeerUnreachableError } from './peer-network.js';
export type { PeerNetwork, PeerNetworkOptions, PeerSpec, ReconnectPolicy, RetryPolicy } from './peer-network.js';
export type { RejectReason } from './envelope.js';
export { REJECT_REASONS, DEFAULT_MAX_PAYLOAD_BYTES } from './envelope.js';
export { generateIdentityKey, peerIdOf, secp256k1PublicKey } from './identity.js';
export type { PeerMetrics } from './metrics.js';
