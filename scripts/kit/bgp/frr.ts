// FRR (Debian's frr) as a lab router in a network namespace: zebra (the FIB writer) and bgpd run
// by hand without systemd or watchfrr. Each instance keeps its config, pid files, zebra's API
// socket and the vty sockets in its own temp dir (--vty_socket, -z, -i), so several FRRs on one
// machine never meet in /var/run/frr; `vtysh --vty_socket <dir>` talks to exactly this one. The
// daemons drop to the frr user (the package's), so the dir belongs to frr.
import { chownSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Child, Netns } from '../netns.ts';
import { type Router, type RouterSpec, type SessionInfo, normalizeState, resolveSpec } from './router.ts';

/** Where Debian's frr package puts the daemons (not on PATH). */
export const FRR_DAEMON_DIR = '/usr/lib/frr';

/**
 * bgpd's config for spec. eBGP without policies accepts and sends everything (`no bgp
 * ebgp-requires-policy`, RFC 8212 is on by default); `maximum-paths` lets zebra install one ECMP
 * route with a next hop per peer announcing the prefix; `bgp bestpath as-path multipath-relax`
 * also when the peers' AS differ (asPerRack). Originated prefixes need no IGP route (`no bgp
 * network import-check`); only they are exported (a router echoing node routes to the other
 * nodes would confuse tests).
 */
export function frrConfig(spec: RouterSpec): string {
  const { families, hold, keepalive, retry } = resolveSpec(spec);
  const paths = (spec.multipath ?? true) ? 64 : 1;
  const out: string[] = [
    'frr defaults traditional',
    `hostname r-${spec.routerId}`,
    'log stdout informational',
    'ip prefix-list OWN seq 1 deny any',
    ...(spec.originate ?? []).filter((p) => !p.includes(':')).map((p, i) => `ip prefix-list OWN seq ${10 + i} permit ${p}`),
    'ipv6 prefix-list OWN6 seq 1 deny any',
    ...(spec.originate ?? []).filter((p) => p.includes(':')).map((p, i) => `ipv6 prefix-list OWN6 seq ${10 + i} permit ${p}`),
    'route-map OWN permit 10',
    ' match ip address prefix-list OWN',
    'route-map OWN6 permit 10',
    ' match ipv6 address prefix-list OWN6',
    `router bgp ${spec.as}`,
    ` bgp router-id ${spec.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' no bgp default ipv4-unicast',
    ' bgp bestpath as-path multipath-relax',
    ` timers bgp ${keepalive} ${hold}`,
  ];
  for (const p of spec.peers) {
    const n = ` neighbor ${p.address}`;
    out.push(`${n} remote-as ${p.as}`, `${n} description ${p.name}`);
    if (p.port) out.push(`${n} port ${p.port}`);
    if (p.password !== undefined) out.push(`${n} password ${p.password}`);
    if (p.passive) out.push(`${n} passive`);
    if (p.holdTime !== undefined || p.keepalive !== undefined) out.push(`${n} timers ${p.keepalive ?? keepalive} ${p.holdTime ?? hold}`);
    out.push(`${n} timers connect ${retry}`);
    if (spec.localAddress) out.push(`${n} update-source ${spec.localAddress}`);
    if (p.multihop !== undefined) out.push(`${n} ebgp-multihop ${p.multihop}`);
  }
  for (const f of families) {
    const v6 = f === 'ipv6';
    out.push(` address-family ${f} unicast`, `  maximum-paths ${paths}`, `  maximum-paths ibgp ${paths}`);
    for (const prefix of (spec.originate ?? []).filter((p) => p.includes(':') === v6)) out.push(`  network ${prefix}`);
    for (const p of spec.peers) {
      out.push(`  neighbor ${p.address} activate`, `  neighbor ${p.address} route-map ${v6 ? 'OWN6' : 'OWN'} out`);
    }
    out.push(' exit-address-family');
  }
  return out.join('\n') + '\n';
}

interface FrrNeighbor {
  bgpState?: string;
  lastResetDueTo?: string;
  lastNotificationReason?: string;
  connectionsDropped?: number;
  bgpTimerUpEstablishedEpoch?: number;
  messageStats?: { notificationsSent?: number; notificationsRecv?: number };
  addressFamilyInfo?: Record<string, { acceptedPrefixCounter?: number }>;
}

/** Sessions in `vtysh -c 'show bgp neighbors json'` (an object keyed by neighbor address). */
export function parseFrrNeighbors(json: string): SessionInfo[] {
  const all = JSON.parse(json) as Record<string, FrrNeighbor>;
  return Object.entries(all)
    .filter(([, n]) => typeof n === 'object' && n !== null && 'bgpState' in n)
    .map(([peer, n]) => {
      const accepted = Object.values(n.addressFamilyInfo ?? {}).reduce((s, a) => s + (a.acceptedPrefixCounter ?? 0), 0);
      const info: SessionInfo = {
        peer,
        state: normalizeState(n.bgpState ?? 'idle'),
        prefixesReceived: accepted,
        notificationsReceived: n.messageStats?.notificationsRecv,
        notificationsSent: n.messageStats?.notificationsSent,
        drops: n.connectionsDropped ?? 0,
      };
      if (n.bgpTimerUpEstablishedEpoch !== undefined) info.since = String(n.bgpTimerUpEstablishedEpoch);
      // lastResetDueTo says "Waiting for peer OPEN" on a session that never dropped: only a reset counts.
      const err = n.lastNotificationReason ?? ((n.connectionsDropped ?? 0) > 0 ? n.lastResetDueTo : undefined);
      if (err) info.lastError = err;
      return info;
    });
}

/** Next hops of every path in `show bgp <family> unicast <prefix> json`. */
export function parseFrrRoute(json: string): string[] {
  const r = JSON.parse(json) as { paths?: Array<{ nexthops?: Array<{ ip?: string }> }> };
  return (r.paths ?? []).flatMap((p) => (p.nexthops ?? []).map((h) => h.ip ?? '')).filter((ip) => ip !== '');
}

export class FrrRouter implements Router {
  readonly kind = 'frr' as const;
  private constructor(
    readonly spec: RouterSpec,
    readonly ns: Netns,
    readonly dir: string,
    private readonly zebra: Child,
    private readonly bgpd: Child,
  ) {}

  /** Starts zebra, then bgpd with frrConfig(spec) in ns; resolves once vtysh reaches bgpd. */
  static async start(ns: Netns, spec: RouterSpec): Promise<FrrRouter> {
    const dir = mkdtempSync(join(tmpdir(), 'oelb-frr-'));
    chmodSync(dir, 0o755);
    const { uid, gid } = frrIds();
    chownSync(dir, uid, gid);
    const conf = join(dir, 'bgpd.conf');
    writeFileSync(conf, frrConfig(spec));
    writeFileSync(join(dir, 'zebra.conf'), `hostname r-${spec.routerId}\n`);
    const common = ['--vty_socket', dir, '-z', join(dir, 'zserv.api'), '--log', 'stdout', '-P', '0'];
    const zebra = ns.spawn([join(FRR_DAEMON_DIR, 'zebra'), ...common, '-i', join(dir, 'zebra.pid'), '-f', join(dir, 'zebra.conf')]);
    await waitFor(ns, dir, 'zebra', zebra);
    const bgpd = ns.spawn([
      join(FRR_DAEMON_DIR, 'bgpd'), ...common, '-i', join(dir, 'bgpd.pid'), '-f', conf,
      // Not -l <address>: it implies -n (no kernel), and the FIB is what the tests read.
      '-p', String(spec.port ?? 179),
    ]);
    const r = new FrrRouter(spec, ns, dir, zebra, bgpd);
    await waitFor(ns, dir, 'bgpd', bgpd);
    return r;
  }

  /** One vtysh command against this instance; stdout. */
  async vtysh(command: string): Promise<string> {
    return this.ns.run(['vtysh', '--vty_socket', this.dir, '-c', command]);
  }

  async sessions(): Promise<SessionInfo[]> {
    return parseFrrNeighbors(await this.vtysh('show bgp neighbors json'));
  }

  async ribNextHops(prefix: string): Promise<string[]> {
    const family = prefix.includes(':') ? 'ipv6' : 'ipv4';
    return parseFrrRoute(await this.vtysh(`show bgp ${family} unicast ${prefix} json`));
  }

  log(): string {
    return `--- zebra\n${this.zebra.stdout}${this.zebra.stderr}\n--- bgpd\n${this.bgpd.stdout}${this.bgpd.stderr}`;
  }

  async stop(): Promise<void> {
    await this.bgpd.stop(3000);
    await this.zebra.stop(3000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function frrIds(): { uid: number; gid: number } {
  const line = execFileSync('getent', ['passwd', 'frr'], { encoding: 'utf8' }).trim();
  const [, , uid, gid] = line.split(':');
  if (uid === undefined || gid === undefined) throw new Error('FRR: no frr user (is the frr package installed?)');
  return { uid: Number(uid), gid: Number(gid) };
}

async function waitFor(ns: Netns, dir: string, daemon: 'zebra' | 'bgpd', child: Child): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.result) throw new Error(`FRR ${daemon} exited (${child.result.code ?? child.result.signal}):\n${child.stdout}${child.stderr}`);
    const r = await ns.exec(['vtysh', '--vty_socket', dir, '-d', daemon, '-c', 'show version']);
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`FRR ${daemon} did not answer vtysh within 10 s:\n${child.stdout}${child.stderr}\n${r.stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
