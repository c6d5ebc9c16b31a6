// GoBGP (github.com/osrg/gobgp/v3, built from Go modules by scripts/gobgp/build.sh) as the lab's
// third router: gobgpd with a TOML config rendered by a pure function, its gRPC API on a unix
// socket in the instance's temp dir (so several instances never share a port), and the gobgp CLI
// against that socket. GoBGP has no FIB: it is checked through its RIB.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import process from 'node:process';
import { join } from 'node:path';
import { REPO_ROOT, type Child, type Netns } from '../netns.ts';
import { type Router, type RouterSpec, type SessionInfo, normalizeState, resolveSpec } from './router.ts';

/** TOML string literal (the spec's values are checked: no quotes or newlines in names/passwords). */
const q = (s: string) => JSON.stringify(s);

/** gobgpd.toml for spec: accept everything, send only what this router originates (gobgp global rib add). */
export function gobgpConfig(spec: RouterSpec): string {
  const { families, hold, keepalive, retry } = resolveSpec(spec);
  const out: string[] = [
    '[global.config]',
    `  as = ${spec.as}`,
    `  router-id = ${q(spec.routerId)}`,
    `  port = ${spec.port ?? 179}`,
    ...(spec.localAddress ? [`  local-address-list = [${q(spec.localAddress)}]`] : []),
    '[global.apply-policy.config]',
    '  default-import-policy = "accept-route"',
    '  default-export-policy = "accept-route"',
  ];
  for (const p of spec.peers) {
    out.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = ${q(p.address)}`,
      `    peer-as = ${p.as}`,
      `    description = ${q(p.name)}`,
      ...(p.password !== undefined ? [`    auth-password = ${q(p.password)}`] : []),
      '  [neighbors.timers.config]',
      `    hold-time = ${p.holdTime ?? hold}`,
      `    keepalive-interval = ${p.keepalive ?? keepalive}`,
      `    connect-retry = ${retry}`,
      // After a reset (a NOTIFICATION) wait 1 s, not 30, before connecting again: tests watch recovery.
      '    idle-hold-time-after-reset = 1',
      '  [neighbors.transport.config]',
      ...(p.port ? [`    remote-port = ${p.port}`] : []),
      ...(p.passive ? ['    passive-mode = true'] : []),
      ...(spec.localAddress ? [`    local-address = ${q(spec.localAddress)}`] : []),
      ...(p.multihop !== undefined ? ['  [neighbors.ebgp-multihop.config]', '    enabled = true', `    multihop-ttl = ${p.multihop}`] : []),
      ...families.flatMap((f) => ['  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = ${q(`${f}-unicast`)}`]),
    );
  }
  return out.join('\n') + '\n';
}

// gobgp -j neighbor: the API's Peer message as JSON (field names of gobgp's api package).
interface GobgpPeer {
  conf?: { neighbor_address?: string };
  state?: {
    neighbor_address?: string;
    session_state?: number | string;
    messages?: { received?: { notification?: number }; sent?: { notification?: number } };
    flops?: number;
  };
  timers?: { state?: { uptime?: { seconds?: number } } };
  afi_safis?: Array<{ state?: { received?: number; accepted?: number } }>;
}

/** gobgp's api.PeerState_SessionState numbers. */
const GOBGP_STATES = ['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'];

/** Sessions in `gobgp -j neighbor`. */
export function parseGobgpNeighbors(json: string): SessionInfo[] {
  const peers = JSON.parse(json || '[]') as GobgpPeer[] | null;
  return (peers ?? []).map((p) => {
    const s = p.state?.session_state;
    const word = typeof s === 'number' ? (GOBGP_STATES[s] ?? 'idle') : String(s ?? 'idle');
    const accepted = (p.afi_safis ?? []).reduce((n, a) => n + (a.state?.accepted ?? 0), 0);
    return {
      peer: p.state?.neighbor_address || p.conf?.neighbor_address || '',
      state: normalizeState(word),
      prefixesReceived: accepted,
      notificationsReceived: p.state?.messages?.received?.notification ?? 0,
      notificationsSent: p.state?.messages?.sent?.notification ?? 0,
      drops: p.state?.flops ?? 0,
      ...(p.timers?.state?.uptime?.seconds !== undefined ? { since: String(p.timers.state.uptime.seconds) } : {}),
    };
  });
}

/** Next hops of every path `gobgp -j global rib -a <family> <prefix>` lists. */
export function parseGobgpRib(json: string): string[] {
  const rib = JSON.parse(json || '{}') as Record<string, Array<{ attrs?: Array<{ type?: number; nexthop?: string; value?: { next_hop?: string }; nexthops?: string[] }> }>> | null;
  const out: string[] = [];
  for (const paths of Object.values(rib ?? {})) {
    for (const path of paths) {
      for (const a of path.attrs ?? []) {
        if (a.type === 3 && a.nexthop) out.push(a.nexthop); // NEXT_HOP
        if (a.type === 14) out.push(...(a.nexthops ?? (a.value?.next_hop ? [a.value.next_hop] : []))); // MP_REACH_NLRI
      }
    }
  }
  return out;
}

/** The directory holding gobgpd and gobgp: builds them from Go modules on first use (cached). */
export function ensureGobgp(): string {
  // scripts/test.sh built it before the tiers started.
  const given = process.env.OELB_GOBGP_DIR;
  if (given && existsSync(join(given, 'gobgpd'))) return given;
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/gobgp/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`scripts/gobgp/build.sh failed (exit ${r.status ?? r.signal}); it needs go (README prerequisites)`);
  const dir = r.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(join(dir, 'gobgpd'))) throw new Error(`scripts/gobgp/build.sh printed no binary dir: ${r.stdout}`);
  return dir;
}

export class GobgpRouter implements Router {
  readonly kind = 'gobgp' as const;
  private constructor(
    readonly spec: RouterSpec,
    readonly ns: Netns,
    readonly dir: string,
    readonly bin: string,
    private readonly child: Child,
  ) {}

  get target(): string {
    return `unix://${join(this.dir, 'api.sock')}`;
  }

  /** Starts gobgpd in ns with gobgpConfig(spec) (then adds spec.originate); resolves once the CLI reaches it. */
  static async start(ns: Netns, spec: RouterSpec, bin: string = ensureGobgp()): Promise<GobgpRouter> {
    const dir = mkdtempSync(join(tmpdir(), 'oelb-gobgp-'));
    const conf = join(dir, 'gobgpd.toml');
    writeFileSync(conf, gobgpConfig(spec));
    const child = ns.spawn([
      join(bin, 'gobgpd'), '-f', conf, '-t', 'toml', '--api-hosts', `unix://${join(dir, 'api.sock')}`,
      '--pprof-disable', '--metrics-path', '', '-p', '--config-strict',
    ]);
    const r = new GobgpRouter(spec, ns, dir, bin, child);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.result) throw new Error(`gobgpd exited (${child.result.code ?? child.result.signal}):\n${child.stdout}${child.stderr}`);
      const g = await ns.exec([join(bin, 'gobgp'), '--target', r.target, 'global']);
      if (g.code === 0 && /AS:/.test(g.stdout)) break;
      if (Date.now() > deadline) throw new Error(`gobgpd did not answer within 10 s:\n${child.stdout}${child.stderr}\n${g.stderr}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    for (const p of spec.originate ?? []) await r.gobgp('global', 'rib', 'add', p, '-a', p.includes(':') ? 'ipv6' : 'ipv4');
    return r;
  }

  /** One gobgp CLI command against this instance; stdout. */
  async gobgp(...args: string[]): Promise<string> {
    return this.ns.run([join(this.bin, 'gobgp'), '--target', this.target, ...args]);
  }

  async sessions(): Promise<SessionInfo[]> {
    return parseGobgpNeighbors(await this.gobgp('-j', 'neighbor'));
  }

  async ribNextHops(prefix: string): Promise<string[]> {
    const out = await this.ns.exec([join(this.bin, 'gobgp'), '--target', this.target, '-j', 'global', 'rib', '-a', prefix.includes(':') ? 'ipv6' : 'ipv4', prefix]);
    // "Network not in table" is an empty answer, not a failure.
    if (out.code !== 0) return [];
    return parseGobgpRib(out.stdout);
  }

  log(): string {
    return this.child.stdout + this.child.stderr;
  }

  async stop(): Promise<void> {
    await this.child.stop(3000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
