import { ContainerType, UintBigintType, UintNumberType, type Type } from '@chainsafe/ssz';
import { ssz } from '@lodestar/types';
import { toHex, type Hex } from '#lib/contracts';

/**
 * Lodestar's schemas decode 64-bit integers to JS numbers and refuse JSON values above 2^53.
 * A signer must hash exactly what it is sent (a gas limit or timestamp can be any uint64 on
 * the wire), so these copies of the schemas read every uint as bigint. Field
 * names, order and JSON casing stay Lodestar's: the hash_tree_root is unchanged.
 */
function withBigintUints(type: Type<unknown>): Type<unknown> {
  if (type instanceof UintNumberType) return new UintBigintType(type.byteLength as 8);
  if (type instanceof ContainerType) {
    const fields = Object.fromEntries(
      Object.entries(type.fields as Record<string, Type<unknown>>).map(([name, field]) => [name, withBigintUints(field)]),
    );
    return new ContainerType(fields, type.opts);
  }
  return type;
}

/**
 * The objects a validator signs, by their consensus-spec name (the `ssz_type` of a
 * Web3Signer-style signing request), each with the SSZ schema its object root is
 * hash_tree_root of. Aggregate-and-proof and blocks are left out until a duty needs them.
 */
export const signingObjectTypes = {
  BeaconBlockHeader: withBigintUints(ssz.phase0.BeaconBlockHeader),
  AttestationData: withBigintUints(ssz.phase0.AttestationData),
  /** RANDAO reveal: the epoch (phase0 `get_epoch_signature`). */
  Epoch: withBigintUints(ssz.Epoch),
  /** Aggregation selection proof: the slot (phase0 validator.md#aggregation-selection). */
  Slot: withBigintUints(ssz.Slot),
  VoluntaryExit: withBigintUints(ssz.phase0.VoluntaryExit),
  DepositMessage: withBigintUints(ssz.phase0.DepositMessage),
  /** Builder API registration, signed under DOMAIN_APPLICATION_BUILDER. */
  ValidatorRegistrationV1: withBigintUints(ssz.bellatrix.ValidatorRegistrationV1),
  /** Sync committee message: the block root (altair validator.md#sync-committee-messages). */
  Root: ssz.Root,
  SyncAggregatorSelectionData: withBigintUints(ssz.altair.SyncAggregatorSelectionData),
} as const satisfies Record<string, Type<unknown>>;

export type SigningObjectType = keyof typeof signingObjectTypes;

export function isSigningObjectType(name: string): name is SigningObjectType {
  return Object.hasOwn(signingObjectTypes, name);
}

/** hash_tree_root of a signing object given in its Beacon API JSON form (snake_case, decimal strings). */
export function signingObjectRoot(type: SigningObjectType, json: unknown): Uint8Array {
  const schema: Type<unknown> = signingObjectTypes[type];
  return schema.hashTreeRoot(schema.fromJson(json));
}

/** Same as `signingObjectRoot`, as `0x` hex. */
export function signingObjectRootHex(type: SigningObjectType, json: unknown): Hex {
  return toHex(signingObjectRoot(type, json));
}
