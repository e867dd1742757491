// The operator's HTTP endpoints: /metrics on one port, /healthz and /readyz on another.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HttpEndpoints {
  close(): Promise<void>;
  metricsPort: number;
  healthPort: number;
}

export function parseAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i) : '0.0.0.0';
  return { host: host.replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

/** Listens on `host:port` (`:port` is every interface; port 0 picks one) and resolves with the port. */
export function listen(server: Server, addr: string): Promise<number> {
  const { host, port } = parseAddr(addr);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

export async function startHttpEndpoints(opts: {
  metricsAddr: string;
  healthAddr: string;
  registry: Registry;
  /** Live: the process works (event loop turns). Ready: caches synced and able to reconcile. */
  ready: () => boolean;
}): Promise<HttpEndpoints> {
  const metrics = createServer((req, res) => {
    if (req.url === '/metrics') {
      opts.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'Content-Type': opts.registry.contentType });
          res.end(text);
        })
        .catch((err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  const health = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200);
      res.end('ok');
    } else if (req.url === '/readyz') {
      const ok = opts.ready();
      res.writeHead(ok ? 200 : 503);
      res.end(ok ? 'ok' : 'not ready');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  const metricsPort = await listen(metrics, opts.metricsAddr);
  const healthPort = await listen(health, opts.healthAddr);
  return {
    metricsPort,
    healthPort,
    close: async () => {
      await Promise.all([metrics, health].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
