// BIRD 2 (Debian's bird2) as a lab router in a network namespace: its config as a pure function of
// the RouterSpec, a reader of `birdc show protocols all`, and start/stop (bird -f, no systemd: the
// config and the control socket live in a temp dir of the lab's).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Child, Netns } from '../netns.ts';
import { type Router, type RouterSpec, type SessionInfo, normalizeState, resolveSpec } from './router.ts';

/**
 * bird.conf for spec. Every peer is a `protocol bgp` with both families' channels importing all
 * and exporting only what this router originates (a router that re-advertised node routes to the
 * other nodes would make the test see its own echo). The kernel protocols export BGP routes into
 * the namespace's FIB; `merge paths on` turns equal routes from several nodes into one ECMP route
 * (what OpenELB's walkthrough configures).
 */
export function birdConfig(spec: RouterSpec): string {
  const { families, hold, keepalive, retry } = resolveSpec(spec);
  const merge = spec.multipath ?? true;
  const out: string[] = [
    `router id ${spec.routerId};`,
    'log stderr all;',
    // Interfaces (next-hop resolution needs them).
    'protocol device { scan time 5; }',
  ];
  for (const f of families) {
    out.push(
      `protocol kernel kernel_${f} {`,
      `  ${f} { import none; export where source = RTS_BGP; };`,
      `  merge paths ${merge ? 'on' : 'off'};`,
      '}',
    );
  }
  const originated = spec.originate ?? [];
  const own = (f: string) => originated.filter((p) => p.includes(':') === (f === 'ipv6'));
  for (const f of families) {
    if (own(f).length === 0) continue;
    out.push(`protocol static static_${f} {`, `  ${f};`, ...own(f).map((p) => `  route ${p} blackhole;`), '}');
  }
  for (const p of spec.peers) {
    out.push(
      `protocol bgp ${p.name} {`,
      `  local${spec.localAddress ? ` ${spec.localAddress}` : ''}${spec.port !== undefined ? ` port ${spec.port}` : ''} as ${spec.as};`,
      `  neighbor ${p.address}${p.port ? ` port ${p.port}` : ''} as ${p.as};`,
      `  hold time ${p.holdTime ?? hold};`,
      `  keepalive time ${p.keepalive ?? keepalive};`,
      `  connect retry time ${retry};`,
      // After an error, try again within a second or two (default 60-300 s): tests watch recovery.
      '  error wait time 1, 4;',
      ...(p.password !== undefined ? [`  password "${p.password}";`] : []),
      ...(p.passive ? ['  passive on;'] : []),
      ...(p.multihop !== undefined ? [`  multihop ${p.multihop};`] : []),
      ...families.map((f) => `  ${f} { import all; export where source = RTS_STATIC; };`),
      '}',
    );
  }
  return out.join('\n') + '\n';
}

/**
 * Sessions in `birdc show protocols all` output. A BGP protocol's block starts with its summary
 * line (`name BGP --- up 08:10:11 Established`) and carries `BGP state:`, `Neighbor address:`,
 * `Last error:` and, per channel, `Routes: N imported, ...`.
 */
export function parseBirdProtocols(text: string): SessionInfo[] {
  const out: SessionInfo[] = [];
  let cur: SessionInfo | undefined;
  let isBgp = false;
  let since = '';
  for (const line of text.split('\n')) {
    // name proto table state since info
    const head = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(line);
    if (head && head[1] !== 'Name' && !line.startsWith('BIRD')) {
      isBgp = head[2] === 'BGP';
      since = head[5]!;
      cur = undefined;
      continue;
    }
    if (!isBgp) continue;
    const state = /^\s+BGP state:\s+(\S+)/.exec(line);
    if (state) {
      cur = { peer: '', state: normalizeState(state[1]!), since };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const addr = /^\s+Neighbor address:\s+(\S+)/.exec(line);
    if (addr) cur.peer = addr[1]!.replace(/%.*$/, '');
    const err = /^\s+Last error:\s+(.+?)\s*$/.exec(line);
    if (err) cur.lastError = err[1]!;
    const routes = /^\s+Routes:\s+(\d+) imported/.exec(line);
    if (routes) cur.prefixesReceived = (cur.prefixesReceived ?? 0) + Number(routes[1]);
  }
  return out;
}

/** Next hops of every route `birdc show route for <prefix> all` lists (`via X on eth0`). */
export function parseBirdRoutes(text: string): string[] {
  return [...text.matchAll(/\bvia (\S+) on /g)].map((m) => m[1]!);
}

/** A running bird: its process and its control socket. */
export interface BirdDaemon {
  child: Child;
  socket: string;
  /** birdc against this daemon's control socket; stdout. */
  birdc(...args: string[]): Promise<string>;
}

/**
 * Starts `bird -f` in ns with `config` written to `<dir>/<name>.conf` (control socket and pid file
 * beside it); resolves once the control socket answers. The one way every BGP kit starts BIRD.
 */
export async function launchBird(ns: Netns, dir: string, config: string, name = 'bird'): Promise<BirdDaemon> {
  const conf = join(dir, `${name}.conf`);
  const socket = join(dir, `${name}.ctl`);
  writeFileSync(conf, config);
  const child = ns.spawn(['bird', '-f', '-c', conf, '-s', socket, '-P', join(dir, `${name}.pid`)]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.result) throw new Error(`bird exited (${child.result.code ?? child.result.signal}):\n${child.stderr}`);
    const s = await ns.exec(['birdc', '-s', socket, 'show', 'status']);
    if (s.code === 0 && /Daemon is up and running/.test(s.stdout)) break;
    if (Date.now() > deadline) {
      await child.stop(1000);
      throw new Error(`bird did not come up within 10 s:\n${child.stderr}\n${s.stdout}${s.stderr}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return { child, socket, birdc: (...args) => ns.run(['birdc', '-s', socket, ...args]) };
}

export class BirdRouter implements Router {
  readonly kind = 'bird' as const;
  private constructor(
    readonly spec: RouterSpec,
    readonly ns: Netns,
    readonly dir: string,
    private readonly child: Child,
  ) {}

  get socket(): string {
    return join(this.dir, 'bird.ctl');
  }

  /** Starts bird in ns with birdConfig(spec); resolves once its control socket answers. */
  static async start(ns: Netns, spec: RouterSpec): Promise<BirdRouter> {
    const dir = mkdtempSync(join(tmpdir(), 'oelb-bird-'));
    try {
      const { child } = await launchBird(ns, dir, birdConfig(spec));
      return new BirdRouter(spec, ns, dir, child);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** birdc command in the router's namespace; stdout. */
  async birdc(...args: string[]): Promise<string> {
    return this.ns.run(['birdc', '-s', this.socket, ...args]);
  }

  async sessions(): Promise<SessionInfo[]> {
    return parseBirdProtocols(await this.birdc('show', 'protocols', 'all'));
  }

  async ribNextHops(prefix: string): Promise<string[]> {
    return parseBirdRoutes(await this.birdc('show', 'route', 'for', prefix, 'all'));
  }

  /** Replaces the config (e.g. another password) and tells bird to apply it. */
  async reconfigure(spec: RouterSpec): Promise<void> {
    writeFileSync(join(this.dir, 'bird.conf'), birdConfig(spec));
    (this as { spec: RouterSpec }).spec = spec;
    const out = await this.birdc('configure');
    if (!/Reconfigur/i.test(out)) throw new Error(`birdc configure: ${out}`);
  }

  log(): string {
    return this.child.stderr;
  }

  async stop(): Promise<void> {
    await this.child.stop(3000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
