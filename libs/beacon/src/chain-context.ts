import type { Hex, SlotTiming } from '#lib/contracts';
import { signingContextFromSpec, type ChainSigningContext } from '#lib/signing';
import { BeaconClient } from './beacon-client.js';

/** What every service needs to know about the network, read from its BN once at start. */
export interface ChainContext {
  readonly genesisValidatorsRoot: Hex;
  readonly timing: SlotTiming;
  readonly signing: ChainSigningContext;
  readonly spec: Readonly<Record<string, unknown>>;
}

/**
 * Reads genesis and spec from the BN, retrying until it answers or `signal` aborts: a node
 * started before its BN waits for it rather than crashing (`onRetry` says why it waits).
 */
export async function loadChainContext(
  bn: BeaconClient,
  opts: { signal?: AbortSignal; retryMs?: number; onRetry?: (error: unknown) => void } = {},
): Promise<ChainContext> {
  for (;;) {
    try {
      const [genesis, spec] = await Promise.all([bn.genesis(), bn.spec()]);
      const signing = signingContextFromSpec(spec, genesis.genesisValidatorsRoot);
      return {
        genesisValidatorsRoot: genesis.genesisValidatorsRoot,
        timing: {
          genesisTimeMs: genesis.genesisTime * 1000,
          secondsPerSlot: Number(spec['SECONDS_PER_SLOT']),
          slotsPerEpoch: signing.slotsPerEpoch,
        },
        signing,
        spec,
      };
    } catch (error) {
      if (opts.signal?.aborted) throw error;
      opts.onRetry?.(error);
      await new Promise((resolve) => setTimeout(resolve, opts.retryMs ?? 1000));
    }
  }
}
