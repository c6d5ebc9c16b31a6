// What a Kubernetes node provides besides the speaker, for one lab node namespace. Runs INSIDE the
// node's network namespace (the lab starts it with `ip netns exec`):
//   - API path: a TCP listener on 127.0.0.1:<api port> relaying each connection over a unix socket
//     to the lab process on the host, which relays to the real kube-apiserver (and can cut or stall
//     it per node). The speaker's kubeconfig (https://127.0.0.1:<port>) works unchanged.
//   - Pods: HTTP backends answering "You've hit <pod name>" on their pod IP (the lab puts the IP on lo).
//   - kube-proxy stand-in: listeners on each Service port that accept connections to a VIP (the lab
//     puts VIPs on the NOARP kube-ipvs0 NIC) and forward them round robin to the Service's backends
//     (all of them for Cluster; only this node's for Local, as kube-proxy does).
// Control: one JSON command per stdin line, each acknowledged on stdout with `ok <seq>` or
// `err <seq> <message>`. Prints `ready` once the API listener is up.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type Server, type Socket, connect, createServer } from 'node:net';
import process from 'node:process';
import { createInterface } from 'node:readline';

interface Backend {
  ip: string;
  port: number;
}

type Command =
  | { seq: number; op: 'pod'; name: string; ip: string; port: number }
  | { seq: number; op: 'unpod'; name: string }
  | { seq: number; op: 'svc'; vip: string; port: number; backends: Backend[] }
  | { seq: number; op: 'unsvc'; vip: string; port: number };

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new Error(`node-agent: --${name} is required`);
  return v;
}

const apiPort = Number(arg('api-port'));
const apiSocket = arg('api-socket');
const nodeName = arg('node');

// --- API relay -----------------------------------------------------------------------------

/** Pipes two sockets together; either end closing or failing tears down both. */
function splice(c: Socket, up: Socket): void {
  c.pipe(up);
  up.pipe(c);
  const kill = () => {
    c.destroy();
    up.destroy();
  };
  for (const s of [c, up]) {
    s.on('error', kill);
    s.on('close', kill);
  }
}

const relay = createServer((c: Socket) => splice(c, connect(apiSocket)));

// --- pods ----------------------------------------------------------------------------------

const pods = new Map<string, HttpServer>();

function startPod(name: string, ip: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createHttpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`You've hit ${name}\n`);
      req.resume();
    });
    srv.once('error', reject);
    srv.listen(port, ip, () => {
      pods.set(name, srv);
      resolve();
    });
  });
}

// --- kube-proxy stand-in -------------------------------------------------------------------

const services = new Map<string, { backends: Backend[]; next: number }>(); // "vip|port"
const listeners = new Map<number, Server[]>(); // port -> v4 + v6 listeners

const canon = (a: string | undefined): string => (a ?? '').replace(/^::ffff:/, '');

function onProxyConnection(port: number, c: Socket): void {
  const svc = services.get(`${canon(c.localAddress)}|${port}`);
  if (!svc || svc.backends.length === 0) {
    c.destroy();
    return;
  }
  const b = svc.backends[svc.next % svc.backends.length]!;
  svc.next++;
  splice(c, connect({ host: b.ip, port: b.port }));
}

async function ensureListeners(port: number): Promise<void> {
  if (listeners.has(port)) return;
  const made: Server[] = [];
  for (const host of ['0.0.0.0', '::']) {
    const srv = createServer((c) => onProxyConnection(port, c));
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ port, host, ipv6Only: host === '::' }, () => resolve());
    });
    made.push(srv);
  }
  listeners.set(port, made);
}

// --- control -------------------------------------------------------------------------------

async function handle(cmd: Command): Promise<void> {
  switch (cmd.op) {
    case 'pod':
      await startPod(cmd.name, cmd.ip, cmd.port);
      return;
    case 'unpod': {
      const srv = pods.get(cmd.name);
      pods.delete(cmd.name);
      srv?.closeAllConnections();
      srv?.close();
      return;
    }
    case 'svc':
      await ensureListeners(cmd.port);
      services.set(`${canon(cmd.vip)}|${cmd.port}`, { backends: cmd.backends, next: services.get(`${cmd.vip}|${cmd.port}`)?.next ?? 0 });
      return;
    case 'unsvc':
      services.delete(`${canon(cmd.vip)}|${cmd.port}`);
      return;
  }
}

relay.listen(apiPort, '127.0.0.1', () => {
  process.stdout.write(`ready ${nodeName}\n`);
});
relay.on('error', (err) => {
  process.stderr.write(`node-agent ${nodeName}: API relay: ${String(err)}\n`);
  process.exit(1);
});

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let cmd: Command;
  try {
    cmd = JSON.parse(line) as Command;
  } catch {
    process.stdout.write(`err 0 bad JSON\n`);
    return;
  }
  handle(cmd).then(
    () => process.stdout.write(`ok ${cmd.seq}\n`),
    (err) => process.stdout.write(`err ${cmd.seq} ${String((err as Error)?.message ?? err).replace(/\n/g, ' ')}\n`),
  );
});
// The lab closing our stdin (or dying) ends us.
rl.on('close', () => process.exit(0));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
