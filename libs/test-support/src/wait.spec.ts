import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from './wait.js';

describe('freePort', () => {
  it('never hands out one port twice in a process, even before any is bound', async () => {
    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('hands out a port a server can then bind on loopback', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
