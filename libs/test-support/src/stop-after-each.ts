import { afterEach } from 'vitest';

/**
 * For specs: `track(handle)` registers a started server or client to be stopped after the
 * test, in reverse start order, pass or fail. (Not exported from the package index: it needs
 * vitest, which the CLI's simnet must not load.)
 */
export function stopAfterEach(): <T extends { stop(): Promise<void> }>(handle: T) => T {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return (handle) => {
    cleanups.push(() => handle.stop());
    return handle;
  };
}
