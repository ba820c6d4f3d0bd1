import type { Hex } from '#lib/contracts';

/** One entry of the network's fork schedule, as the BN's `/eth/v1/config/spec` gives it. */
export interface ForkVersionAt {
  readonly name: string;
  readonly epoch: number;
  readonly version: Hex;
}

export interface ChainSigningContext {
  readonly genesisValidatorsRoot: Hex;
  readonly genesisForkVersion: Hex;
  /** Ascending by epoch; forks scheduled at FAR_FUTURE_EPOCH are left out. */
  readonly forks: readonly ForkVersionAt[];
  readonly slotsPerEpoch: number;
}

const FORK_NAMES = ['ALTAIR', 'BELLATRIX', 'CAPELLA', 'DENEB', 'ELECTRA', 'FULU', 'GLOAS'] as const;
const FAR_FUTURE = 2n ** 64n - 1n;

/**
 * Builds the signing context from the BN's spec (`GET /eth/v1/config/spec` data) and genesis.
 * Fork versions come from the BN, never from a compiled-in preset, so any network (mainnet,
 * minimal devnets, Ephemery) signs under the right domain.
 */
export function signingContextFromSpec(spec: Record<string, unknown>, genesisValidatorsRoot: Hex): ChainSigningContext {
  const str = (key: string): string => {
    const value = spec[key];
    if (typeof value !== 'string') throw new TypeError(`beacon spec: ${key} missing or not a string`);
    return value;
  };
  const forks: ForkVersionAt[] = [{ name: 'PHASE0', epoch: 0, version: str('GENESIS_FORK_VERSION') as Hex }];
  for (const name of FORK_NAMES) {
    if (spec[`${name}_FORK_EPOCH`] === undefined) continue;
    const epoch = BigInt(str(`${name}_FORK_EPOCH`));
    if (epoch >= FAR_FUTURE) continue;
    forks.push({ name, epoch: Number(epoch), version: str(`${name}_FORK_VERSION`) as Hex });
  }
  forks.sort((a, b) => a.epoch - b.epoch);
  return {
    genesisValidatorsRoot,
    genesisForkVersion: str('GENESIS_FORK_VERSION') as Hex,
    forks,
    slotsPerEpoch: Number(str('SLOTS_PER_EPOCH')),
  };
}

/** The fork in force at `epoch` (the last scheduled fork whose epoch is not after it). */
export function forkAtEpoch(ctx: ChainSigningContext, epoch: number): ForkVersionAt {
  let current = ctx.forks[0];
  if (!current) throw new Error('fork schedule is empty');
  for (const fork of ctx.forks) {
    if (fork.epoch <= epoch) current = fork;
  }
  return current;
}
