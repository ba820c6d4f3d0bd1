import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLinkProxy, type LinkProxy } from './link-proxy.js';
import { waitFor } from './wait.js';

/** An echo server on loopback: what goes in comes back. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes `text` and resolves with the time until `text.length` bytes came back. */
function roundTrip(socket: Socket, text: string): Promise<{ ms: number; echoed: string }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let echoed = '';
    const onData = (chunk: Buffer) => {
      echoed += chunk.toString();
      if (echoed.length >= text.length) {
        socket.off('data', onData);
        resolve({ ms: performance.now() - t0, echoed });
      }
    };
    socket.on('data', onData);
    socket.write(text);
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(delayMs = 0): Promise<{ proxy: LinkProxy }> {
  const echo = await echoServer();
  cleanups.push(() => new Promise<void>((resolve) => echo.server.close(() => resolve())));
  const proxy = await startLinkProxy({ target: { host: '127.0.0.1', port: echo.port }, delayMs });
  cleanups.push(() => proxy.stop());
  return { proxy };
}

describe('link proxy: one loopback link whose delay and cuts a test controls', () => {
  it('forwards both ways unchanged, with no delay by default', async () => {
    const { proxy } = await setup();
    const socket = await connect(proxy.port);
    cleanups.push(() => void socket.destroy());
    const { ms, echoed } = await roundTrip(socket, 'hello');
    expect(echoed).toBe('hello');
    expect(ms).toBeLessThan(100);
    expect(proxy.stats()).toMatchObject({ accepted: 1, open: 1 });
  });

  it('delays each direction by the configured time, and keeps byte order when the delay shrinks', async () => {
    const { proxy } = await setup(100);
    const socket = await connect(proxy.port);
    cleanups.push(() => void socket.destroy());
    const slow = await roundTrip(socket, 'slow');
    // 100 ms out and 100 ms back.
    expect(slow.ms).toBeGreaterThanOrEqual(195);
    expect(slow.ms).toBeLessThan(600);

    let echoed = '';
    socket.on('data', (chunk: Buffer) => void (echoed += chunk.toString()));
    socket.write('abc');
    proxy.setDelayMs(0);
    socket.write('def');
    await waitFor(() => echoed.length === 6, 2000);
    expect(echoed).toBe('abcdef');
    expect(() => proxy.setDelayMs(-1)).toThrow(RangeError);
  });

  it('cut resets open connections and refuses new ones until healed', async () => {
    const { proxy } = await setup();
    const socket = await connect(proxy.port);
    const closed = new Promise<boolean>((resolve) => socket.once('close', (hadError) => resolve(hadError)));
    socket.on('error', () => undefined);
    proxy.cut();
    expect(proxy.isCut).toBe(true);
    expect(await closed).toBe(true);

    // Accepted by the kernel, then reset by the proxy: the dialer sees the connection die at once.
    const refused = createConnection({ host: '127.0.0.1', port: proxy.port });
    refused.on('error', () => undefined);
    expect(await new Promise<boolean>((resolve) => refused.once('close', (hadError) => resolve(hadError)))).toBe(true);
    expect(proxy.stats().refused).toBe(1);

    proxy.heal();
    const again = await connect(proxy.port);
    cleanups.push(() => void again.destroy());
    expect((await roundTrip(again, 'back')).echoed).toBe('back');
    expect(proxy.stats()).toMatchObject({ accepted: 2, refused: 1, open: 1 });
  });
});
