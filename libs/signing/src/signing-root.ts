import { ssz } from '@lodestar/types';
import { fromHex, toHex, type AttestationDataJson, type Hex } from '#lib/contracts';
import { forkAtEpoch, type ChainSigningContext } from './fork-schedule.js';

/** Domain types, consensus specs `phase0/beacon-chain.md#domain-types` and later forks. */
export const DomainType = {
  BEACON_PROPOSER: '0x00000000',
  BEACON_ATTESTER: '0x01000000',
  RANDAO: '0x02000000',
  DEPOSIT: '0x03000000',
  VOLUNTARY_EXIT: '0x04000000',
  SELECTION_PROOF: '0x05000000',
  AGGREGATE_AND_PROOF: '0x06000000',
  SYNC_COMMITTEE: '0x07000000',
  SYNC_COMMITTEE_SELECTION_PROOF: '0x08000000',
  CONTRIBUTION_AND_PROOF: '0x09000000',
  APPLICATION_BUILDER: '0x00000001',
} as const satisfies Record<string, Hex>;

/** `compute_domain` (phase0/beacon-chain.md#compute_domain). */
export function computeDomain(domainType: Hex, forkVersion: Hex, genesisValidatorsRoot: Hex): Hex {
  const forkDataRoot = ssz.phase0.ForkData.hashTreeRoot({
    currentVersion: fromHex(forkVersion),
    genesisValidatorsRoot: fromHex(genesisValidatorsRoot),
  });
  const domain = new Uint8Array(32);
  domain.set(fromHex(domainType), 0);
  domain.set(forkDataRoot.subarray(0, 28), 4);
  return toHex(domain);
}

/** The domain for a message of `epoch`: fork version in force at that epoch. */
export function domainAtEpoch(ctx: ChainSigningContext, domainType: Hex, epoch: number): Hex {
  return computeDomain(domainType, forkAtEpoch(ctx, epoch).version, ctx.genesisValidatorsRoot);
}

/** `compute_signing_root` (phase0/beacon-chain.md#compute_signing_root). */
export function computeSigningRoot(objectRoot: Uint8Array, domain: Hex): Hex {
  return toHex(ssz.phase0.SigningData.hashTreeRoot({ objectRoot, domain: fromHex(domain) }));
}

/** Signing root of an attestation: DOMAIN_BEACON_ATTESTER at the target epoch's fork. */
export function attestationSigningRoot(ctx: ChainSigningContext, data: AttestationDataJson): Hex {
  const value = ssz.phase0.AttestationData.fromJson(data);
  const domain = domainAtEpoch(ctx, DomainType.BEACON_ATTESTER, value.target.epoch);
  return computeSigningRoot(ssz.phase0.AttestationData.hashTreeRoot(value), domain);
}

/** Canonical root of attestation data (hash_tree_root), hex. */
export function attestationDataRoot(data: AttestationDataJson): Hex {
  return toHex(ssz.phase0.AttestationData.hashTreeRoot(ssz.phase0.AttestationData.fromJson(data)));
}

const ZERO_ROOT = `0x${'00'.repeat(32)}` as Hex;

/**
 * The domain of messages signed outside the chain's history — deposits, builder registrations:
 * the genesis fork version and a zero genesis validators root (consensus specs,
 * `compute_domain` with its defaults).
 */
export function genesisDomain(domainType: Hex, genesisForkVersion: Hex): Hex {
  return computeDomain(domainType, genesisForkVersion.toLowerCase() as Hex, ZERO_ROOT);
}

/** A DepositMessage's root and the root its signature signs (DOMAIN_DEPOSIT, phase0 `process_deposit`). */
export function depositMessageRoots(
  message: { readonly pubkey: Hex; readonly withdrawalCredentials: Hex; readonly amountGwei: number },
  genesisForkVersion: Hex,
): { readonly messageRoot: Uint8Array; readonly signingRoot: Hex } {
  const messageRoot = ssz.phase0.DepositMessage.hashTreeRoot({
    pubkey: fromHex(message.pubkey),
    withdrawalCredentials: fromHex(message.withdrawalCredentials),
    amount: message.amountGwei,
  });
  return { messageRoot, signingRoot: computeSigningRoot(messageRoot, genesisDomain(DomainType.DEPOSIT, genesisForkVersion)) };
}
