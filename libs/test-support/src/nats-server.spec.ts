import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startNatsServer } from './nats-server.js';

/** The NATS protocol greets every client with `INFO {json}`; read it to prove the server answers on the port. */
function readServerInfo(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\r\n');
      if (end < 0) return;
      socket.destroy();
      const line = buffered.slice(0, end);
      if (!line.startsWith('INFO ')) reject(new Error(`unexpected greeting: ${line}`));
      else resolve(JSON.parse(line.slice('INFO '.length)) as Record<string, unknown>);
    });
    socket.on('error', reject);
  });
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('startNatsServer', () => {
  it('starts a JetStream server on a free loopback port and removes its store on stop', async () => {
    const server = await startNatsServer();
    try {
      expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
      expect(server.port).not.toBe(4222);
      const info = await readServerInfo(server.port);
      expect(info['port']).toBe(server.port);
      expect(info['jetstream']).toBe(true);
      expect(existsSync(server.storeDir)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(existsSync(server.storeDir)).toBe(false);
    expect(await refusesConnections(server.port)).toBe(true);
  });

  it('starts without JetStream when asked', async () => {
    const server = await startNatsServer({ jetstream: false });
    try {
      const info = await readServerInfo(server.port);
      expect(info['jetstream']).toBeUndefined();
    } finally {
      await server.stop();
    }
  });

  it('kill keeps the store; restart comes back on the same port and store', async () => {
    const server = await startNatsServer();
    try {
      const firstId = (await readServerInfo(server.port))['server_id'];
      await server.kill();
      expect(await refusesConnections(server.port)).toBe(true);
      expect(existsSync(server.storeDir)).toBe(true);
      await server.restart();
      const info = await readServerInfo(server.port);
      expect(info['port']).toBe(server.port);
      expect(info['server_id']).not.toBe(firstId);
      await server.restart();
      expect((await readServerInfo(server.port))['port']).toBe(server.port);
    } finally {
      await server.stop();
    }
  });

  it('gives each server its own port and store', async () => {
    const [a, b] = await Promise.all([startNatsServer(), startNatsServer()]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(a.storeDir).not.toBe(b.storeDir);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
