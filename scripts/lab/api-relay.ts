// Host side of a lab node's path to the API server: a unix socket (reachable from inside any network
// namespace, since the filesystem is shared) relayed to the kube-apiserver on host loopback. The
// node agent inside the namespace listens on 127.0.0.1:<api port> and relays to this socket.
// Fault injection per node:
//   cut()    destroys every open connection (watches and requests in flight die); new ones work.
//   pause()  cut(), then new connections are accepted but STALLED (no bytes either way) until
//            resume(): the API "hangs", the worst case for a client (no RST to react to).
//   resume() releases stalled connections and relays normally again.
import { rmSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';

export class ApiRelay {
  private readonly sockets = new Set<Socket>();
  private readonly stalled = new Set<Socket>();
  private paused = false;
  private server: Server | undefined;
  /** Connections accepted so far (tests: did the speaker reconnect?). */
  accepted = 0;

  constructor(
    readonly path: string,
    readonly apiHost: string,
    readonly apiPort: number,
  ) {}

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    this.server = createServer((c) => this.onConnection(c));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.path, () => resolve());
    });
  }

  private onConnection(c: Socket): void {
    this.accepted++;
    this.sockets.add(c);
    c.on('close', () => {
      this.sockets.delete(c);
      this.stalled.delete(c);
    });
    c.on('error', () => c.destroy());
    if (this.paused) {
      c.pause();
      this.stalled.add(c);
      return;
    }
    this.pipe(c);
  }

  private pipe(c: Socket): void {
    const up = connect({ host: this.apiHost, port: this.apiPort });
    this.sockets.add(up);
    c.pipe(up);
    up.pipe(c);
    c.resume();
    const kill = () => {
      c.destroy();
      up.destroy();
    };
    up.on('error', kill);
    c.on('error', kill);
    up.on('close', () => {
      this.sockets.delete(up);
      kill();
    });
    c.on('close', kill);
  }

  cut(): void {
    for (const s of [...this.sockets]) s.destroy();
  }

  pause(): void {
    this.paused = true;
    this.cut();
  }

  resume(): void {
    this.paused = false;
    // Stalled connections were half-open for the client all along; drop them so it reconnects
    // promptly instead of waiting for its own timeouts.
    for (const s of [...this.stalled]) s.destroy();
    this.stalled.clear();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  async close(): Promise<void> {
    this.cut();
    for (const s of this.stalled) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.path, { force: true });
  }
}
