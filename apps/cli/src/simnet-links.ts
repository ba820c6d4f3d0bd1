import { startLinkProxy, type LinkProxy } from '#lib/test-support';

/**
 * Link faults for the simnet without product hooks: node `from` reaches operator `to` through
 * its own loopback proxy P(from→to) (`#lib/test-support` startLinkProxy). Each node's config
 * lists its peers at their proxies' ports while it listens on its real port, and the cluster
 * hash is unchanged (nothing derives it from the operator addresses at runtime).
 *
 * A libp2p connection between i and j runs through whichever of P(i→j), P(j→i) its dialer
 * used, and carries both directions; so a fault on "the link between i and j" is applied to
 * both proxies.
 *
 *   const links = simnetLinks();
 *   await runSimnet({ ..., peerPort: links.peerPort, actions: [{ atSlot: 3, label: 'cut', run: () => links.partition([0, 1], [2, 3]) }] });
 *   await links.stop();
 */
export interface SimnetLinks {
  /** Pass as `SimnetOptions.peerPort`: starts P(from→to) (with the initial delay, if any) and answers its port. */
  readonly peerPort: (from: number, to: number, port: number) => Promise<number>;
  /** The proxy node `from` dials to reach `to`, once the simnet asked for it. */
  proxy(from: number, to: number): LinkProxy | undefined;
  /** Every link to and from `node`: each direction forwarded `ms` late (0 = back to normal). */
  delayNode(node: number, ms: number): void;
  /** Cuts every link between operators of different groups (links inside a group stay up). */
  partition(...groups: readonly (readonly number[])[]): void;
  /** Lets new connections through every cut link again. */
  healAll(): void;
  stop(): Promise<void>;
}

export function simnetLinks(initial: { readonly delayMs?: (from: number, to: number) => number } = {}): SimnetLinks {
  const proxies = new Map<string, { readonly from: number; readonly to: number; readonly proxy: LinkProxy }>();
  const key = (from: number, to: number) => `${from}->${to}`;
  const between = (a: number, b: number) => [proxies.get(key(a, b))?.proxy, proxies.get(key(b, a))?.proxy].filter((p): p is LinkProxy => p !== undefined);
  return {
    async peerPort(from, to, port) {
      const existing = proxies.get(key(from, to));
      if (existing) return existing.proxy.port;
      const proxy = await startLinkProxy({ target: { host: '127.0.0.1', port }, delayMs: initial.delayMs?.(from, to) ?? 0 });
      proxies.set(key(from, to), { from, to, proxy });
      return proxy.port;
    },
    proxy: (from, to) => proxies.get(key(from, to))?.proxy,
    delayNode(node, ms) {
      for (const { from, to, proxy } of proxies.values()) if (from === node || to === node) proxy.setDelayMs(ms);
    },
    partition(...groups) {
      const groupOf = new Map(groups.flatMap((members, g) => members.map((m) => [m, g] as const)));
      for (const { from, to } of proxies.values()) {
        const a = groupOf.get(from);
        const b = groupOf.get(to);
        if (a !== undefined && b !== undefined && a !== b) between(from, to).forEach((p) => p.cut());
      }
    },
    healAll() {
      for (const { proxy } of proxies.values()) proxy.heal();
    },
    async stop() {
      await Promise.all([...proxies.values()].map(({ proxy }) => proxy.stop()));
      proxies.clear();
    },
  };
}
