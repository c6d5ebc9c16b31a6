// /metrics, /healthz and /readyz on small HTTP servers (node:http works on Node and Deno).
// The speaker runs with hostNetwork, so an address without a host (":7472") is every NIC of the
// node, the LAN included, and /metrics names Service IPs, nodes and the MACs of conflicting hosts:
// callers default to loopback and say so when told to listen everywhere (listensEverywhere).
import { createServer, type Server } from 'node:http';
import type { Registry } from './metrics.ts';

export interface HealthChecks {
  /** Process is alive and its loops are turning; failing it makes the kubelet restart us. */
  healthy(): { ok: boolean; detail: string };
  /** Ready to serve: caches synced, sockets open. */
  ready(): { ok: boolean; detail: string };
}

/** Parses ":7472", "127.0.0.1:7472" or "[::1]:7472" into host and port. */
export function parseListenAddress(addr: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`bad listen address "${addr}": use HOST:PORT or :PORT, e.g. :7472`);
  const port = Number(m[3]);
  if (port < 0 || port > 65535) throw new Error(`bad listen address "${addr}": port out of range`);
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port };
}

/** True for ":7472", "0.0.0.0:7472", "[::]:7472": every interface of the host. */
export function listensEverywhere(addr: string): boolean {
  const { host } = parseListenAddress(addr);
  return host === undefined || host === '0.0.0.0' || host === '::';
}

/**
 * Serve /healthz, /readyz and, with a registry, /metrics on `addr`. Without one (the kubelet's
 * health listener) /metrics is not served there.
 */
export async function serveObservability(addr: string, registry: Registry | undefined, checks: HealthChecks): Promise<Server> {
  const { host, port } = parseListenAddress(addr);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && registry) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(registry.render());
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const r = path === '/healthz' ? checks.healthy() : checks.ready();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(`${r.ok ? 'ok' : 'not ok'}: ${r.detail}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(registry ? 'not found: try /metrics, /healthz or /readyz\n' : 'not found: try /healthz or /readyz (/metrics is on --metrics-addr)\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
