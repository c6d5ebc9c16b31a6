// A loopback TCP proxy in front of the API server, for fault injection: a client configured with
// `viaProxy(kc, proxy)` reaches the API server only through it. TLS passes through untouched
// (127.0.0.1 is in the serving certificate either way).
//   cut()    destroys every open connection (the watch stream and any request in flight die);
//            new connections are accepted again at once.
//   pause()  cut() and then reset every new connection until resume(): the API "is down".
import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private paused = false;
  private accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let self: TcpProxy | undefined; // eslint-disable-line prefer-const -- assigned once the server exists; read by its callback
    const server = createServer((client) => {
      const p = self;
      if (!p || p.paused) {
        client.resetAndDestroy();
        return;
      }
      p.accepted++;
      const upstream = createConnection({ host: targetHost, port: targetPort });
      p.track(client);
      p.track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      // Either side failing takes the other down, like a real broken path would.
      const kill = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', kill);
      upstream.on('error', kill);
      client.on('close', kill);
      upstream.on('close', kill);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('proxy has no port');
    self = new TcpProxy(server, addr.port);
    return self;
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
  }

  /** Open connections (both directions count). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Connections accepted so far (a reconnect shows up here). */
  get acceptedConnections(): number {
    return this.accepted;
  }

  cut(): void {
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  pause(): void {
    this.paused = true;
    this.cut();
  }

  resume(): void {
    this.paused = false;
  }

  async close(): Promise<void> {
    this.paused = true;
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A copy of `kc` whose current cluster is reached through the proxy. */
export function viaProxy(kc: KubeConfig, proxy: TcpProxy): KubeConfig {
  const cfg = JSON.parse(kc.exportConfig()) as { clusters: Array<{ name: string; cluster: { server: string } }> };
  const current = kc.getCurrentCluster();
  for (const c of cfg.clusters) {
    if (c.name === current?.name) {
      const u = new URL(c.cluster.server);
      u.hostname = '127.0.0.1';
      u.port = String(proxy.port);
      c.cluster.server = u.origin;
    }
  }
  const out = new KubeConfig();
  out.loadFromString(JSON.stringify(cfg));
  return out;
}

/** host and port of a KubeConfig's current server. */
export function serverAddress(kc: KubeConfig): { host: string; port: number } {
  const u = new URL(kc.getCurrentCluster()?.server ?? '');
  return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
}
