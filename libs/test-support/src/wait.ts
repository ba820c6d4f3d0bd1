import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every millisecond or two until it holds; throws after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(1);
  }
}

/**
 * A free loopback port for a test server, from below the kernel's ephemeral range: a port the
 * kernel hands out (bind 0) can be taken, between our check and the server's bind, by any
 * outgoing connection of the machine (seen in CI: a libp2p listen failing EADDRINUSE); a port
 * below the range only by another explicit binder, and the pick is random over thousands.
 */
export async function freePort(): Promise<number> {
  const [low, high] = explicitPortRange();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    // A port handed out before may not be bound yet (a cluster asks for a dozen, then starts
    // them): checking it again would find it free and hand it out twice (seen in CI: EADDRINUSE).
    // Reserved before the check, so two calls at once cannot both take it.
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
    handedOut.delete(port);
  }
  return kernelPort();
}

/** Every port `freePort` returned in this process. */
const handedOut = new Set<number>();

/** [from, to) below the ephemeral range (`ip_local_port_range`; Linux's default starts at 32768). */
function explicitPortRange(): [number, number] {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: keep the default
  }
  const high = Math.max(2048, ephemeralLow - 1);
  return [Math.max(1024, high - 12_000), high];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Bind port 0 on loopback and hand back what the kernel chose. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not obtain a free port'))));
    });
  });
}
