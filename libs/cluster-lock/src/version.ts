/**
 * Cluster file versions Cohort reads, and what each one changed (Charon `cluster/version.go`,
 * `cluster/ssz.go`, `cluster/definition.go`, `cluster/lock.go`, `cluster/distvalidator.go`).
 *
 * v1.0–v1.2 are not read: their hashes put raw strings through fastssz's `PutBytes` (a
 * non-SSZ walk), their JSON differs again (base64 public shares in v1.0/v1.1), and Charon
 * itself stopped writing them in 2022. A file with one of them is refused as an unknown version.
 */
export const CLUSTER_VERSIONS = [
  'v1.3.0',
  'v1.4.0',
  'v1.5.0',
  'v1.6.0',
  'v1.7.0',
  'v1.8.0',
  'v1.9.0',
  'v1.10.0',
] as const;

export type ClusterVersion = (typeof CLUSTER_VERSIONS)[number];

/** The version `buildClusterLock` and the serialisers write. */
export const LATEST_CLUSTER_VERSION: ClusterVersion = 'v1.10.0';

export function isClusterVersion(value: unknown): value is ClusterVersion {
  return typeof value === 'string' && (CLUSTER_VERSIONS as readonly string[]).includes(value);
}

/** Minor version number: 'v1.8.0' → 8. */
export function minorOf(version: ClusterVersion): number {
  return Number(version.split('.')[1]);
}

/** What a version's files carry; each row is where Charon introduced it. */
export interface VersionFeatures {
  /** v1.3–v1.4: one fee recipient and withdrawal address for the whole cluster. */
  readonly legacyValidatorAddresses: boolean;
  /** v1.4+: a `creator` with its own EIP-712 signature. */
  readonly creator: boolean;
  /** v1.6–v1.7: one `deposit_data` per validator. */
  readonly singleDepositData: boolean;
  /** v1.8+: `partial_deposit_data` list and the definition's `deposit_amounts`. */
  readonly partialDeposits: boolean;
  /** v1.7+: pre-generated builder registration per validator, and `node_signatures`. */
  readonly builderRegistration: boolean;
  /** v1.9+: `consensus_protocol`. */
  readonly consensusProtocol: boolean;
  /** v1.10+: `target_gas_limit`, `compounding`. */
  readonly gasLimitAndCompounding: boolean;
}

export function featuresOf(version: ClusterVersion): VersionFeatures {
  const minor = minorOf(version);
  return {
    legacyValidatorAddresses: minor <= 4,
    creator: minor >= 4,
    singleDepositData: minor === 6 || minor === 7,
    partialDeposits: minor >= 8,
    builderRegistration: minor >= 7,
    consensusProtocol: minor >= 9,
    gasLimitAndCompounding: minor >= 10,
  };
}
