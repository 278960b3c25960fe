/**
 * The endpoint that Prometheus scrapes: `GET /metrics` on a `host:port`, the text read anew at
 * every scrape. dacd serves its host's metrics on it (dacd/metrics.ts), `dacctl metrics
 * --listen` the whole system's (cli/admin/metrics.ts).
 */
import type { Server } from 'node:http';

/** A `host:port` to listen on (a bracketed IPv6 host too), as the metrics settings take it. */
export function splitAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(address);
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new Error(`"${address}" is not host:port`);
  }
  return { host: match[1] ?? match[2]!, port };
}

/** One scrape's answer: Prometheus's text and its content type. */
export interface Scrape {
  contentType: string;
  text: string;
}

export interface EndpointOptions {
  /** The status of a scrape whose `read` failed (the reason is its body). */
  failureStatus: number;
  /** Told of a failed `read`. */
  onError?: (error: unknown) => void;
}

/**
 * Serve `read()` at `GET /metrics` on `address` (checked by splitAddress); any other request
 * is 404. Resolves with the server once it listens; rejects with the error of `listen`.
 */
export async function serveMetrics(
  address: string,
  read: () => Promise<Scrape>,
  options: EndpointOptions,
): Promise<Server> {
  const { createServer } = await import('node:http');
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    read().then(
      (scrape) => response.writeHead(200, { 'content-type': scrape.contentType }).end(scrape.text),
      (error: unknown) => {
        options.onError?.(error);
        response
          .writeHead(options.failureStatus, { 'content-type': 'text/plain' })
          .end(`${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  });
  const { host, port } = splitAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
