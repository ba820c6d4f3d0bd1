import { createServer, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Exchange } from './check-exchange.js';

export interface RecordingProxy {
  /** Base URL to give a client instead of the target's. */
  readonly url: string;
  /** Completed exchanges, in the order their responses ended. */
  readonly exchanges: readonly Exchange[];
  stop(): Promise<void>;
}

/** Lower-case names, repeated values joined with `, ` (RFC 9110 §5.3). */
function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/**
 * A loopback HTTP proxy that forwards every request to `targetUrl` and records each exchange, to sit
 * between a VC and a Beacon API server and check what went over the wire afterwards (see
 * checkExchange). Bodies pass through as they stream (so an event stream still flows) and are
 * recorded once the response ends. Only the `Host` header is rewritten, to the target's.
 */
export async function startRecordingProxy(targetUrl: string): Promise<RecordingProxy> {
  const target = new URL(targetUrl);
  const basePath = target.pathname.replace(/\/$/, '');
  const exchanges: Exchange[] = [];

  const server = createServer((inbound, outbound) => {
    const requestChunks: Buffer[] = [];
    const headers: OutgoingHttpHeaders = { ...inbound.headers, host: target.host };
    const upstream = httpRequest(
      { protocol: target.protocol, hostname: target.hostname, port: target.port, method: inbound.method, path: basePath + (inbound.url ?? '/'), headers },
      (response) => {
        outbound.writeHead(response.statusCode ?? 502, response.headers);
        const responseChunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => {
          responseChunks.push(chunk);
          outbound.write(chunk);
        });
        response.on('end', () => {
          exchanges.push({
            method: inbound.method ?? 'GET',
            path: inbound.url ?? '/',
            requestHeaders: flatHeaders(inbound.headers),
            requestBody: requestChunks.length > 0 ? Buffer.concat(requestChunks).toString('utf8') : undefined,
            status: response.statusCode ?? 0,
            responseHeaders: flatHeaders(response.headers),
            responseBody: Buffer.concat(responseChunks).toString('utf8'),
          });
          outbound.end();
        });
        response.on('error', () => outbound.destroy());
      },
    );
    // The target unreachable: answer as a gateway would; nothing conformant to record.
    upstream.on('error', (error) => {
      if (!outbound.headersSent) outbound.writeHead(502, { 'content-type': 'text/plain' });
      outbound.end(`recording proxy: ${error.message}`);
    });
    inbound.on('data', (chunk: Buffer) => {
      requestChunks.push(chunk);
      upstream.write(chunk);
    });
    inbound.on('end', () => upstream.end());
    // A client that gives up (timeout, abort) takes its upstream request with it.
    outbound.on('close', () => {
      if (!outbound.writableFinished) upstream.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
