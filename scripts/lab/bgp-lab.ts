// The seed lab (lab.ts) with routers in front of the nodes, for OpenELB's BGP mode (issue 15):
//
//              far client (10.200.0.100) ── wan bridge ──┬── BIRD  (10.200.0.11 | 192.168.0.11)
//                                                        └── FRR   (10.200.0.12 | 192.168.0.12)
//   nodes 192.168.0.2-4 ── sw bridge (the seed's LAN) ──┬── BIRD, FRR (their LAN legs)
//                                                       ├── GoBGP (192.168.0.13; no FIB, RIB only)
//                                                       └── the seed's client (192.168.0.5: Layer 2 view)
//
// Every router peers with every node (eBGP, node AS 50000 as in OpenELB's walkthrough, each
// router its own AS) and installs ECMP routes into its namespace's kernel FIB (BIRD `merge paths`,
// FRR `maximum-paths`). The far client has no route to the LAN or the VIP pools except through the
// gateway router (BIRD unless useGateway('frr')), and the nodes send the far client's replies back
// through the same router: a VIP answers the far client only if the gateway's FIB routes it to a node.
//
//   const lab = await BgpLab.create({ t, routers: ['bird', 'frr', 'gobgp'], seed: { ... } });
//   lab.seed                                  // the SeedLab: nodes, Services, speakers, the LAN client
//   lab.router('bird').router.sessions()      // scripts/kit/bgp Router
//   await lab.waitForFib('bird', vip, ['master1', 'worker-p001'])   // next hops = those nodes' IPs
//   await lab.curlFar(vip)                    // "You've hit ..." through the gateway router
//   await lab.useGateway('frr')
//   await lab.teardown()                      // routers, then the seed lab (also on t.after)
//
// birdOnClient (the demo): BIRD runs in the seed's client namespace (i-f3fozos0, 192.168.0.5), the
// walkthrough's "BIRD machine", which is also where it curls from; no far client then.
import { type Child, type Netns, tsxArgv } from '../kit/netns.ts';
import { BirdRouter } from '../kit/bgp/bird.ts';
import { FrrRouter } from '../kit/bgp/frr.ts';
import { GobgpRouter, ensureGobgp } from '../kit/bgp/gobgp.ts';
import { fibNextHops, waitForFib } from '../kit/bgp/fib.ts';
import type { PeerSpec, Router, RouterKind, RouterSpec, SessionInfo } from '../kit/bgp/router.ts';
import { requireRouterTools } from '../kit/bgp/tools.ts';
import { LAB_LABEL, SEED, SeedLab, type SeedLabOptions } from './lab.ts';
import { mergePatchOptions } from '../kit/typed-client.ts';
import { EIP_GROUP, EIP_VERSION } from '../../src/kube/client.ts';

/** The cluster's AS (BgpConf spec.as in OpenELB's walkthrough). */
export const NODE_AS = 50000;
/** The speakers' BGP port (BgpConf spec.listenPort in the walkthrough). */
export const NODE_BGP_PORT = 17900;
/** The walkthrough's BGP Eip. */
export const BGP_POOL = { name: 'bgp-eip', address: '172.22.0.2-172.22.0.10', cidr: '172.22.0.0/24' } as const;

const WAN = { prefix: 24, client: '10.200.0.100', net: '10.200.0.0/24' } as const;

export interface RouterPlace {
  kind: RouterKind;
  /** Address on the nodes' LAN: the speakers' BgpPeer neighborAddress. */
  lanIp: string;
  /** Address toward the far client (BIRD, FRR). */
  wanIp?: string;
  as: number;
}

/** Where each router sits (the walkthrough's BIRD AS 50001; FRR and GoBGP next to it). */
export const ROUTERS: Record<RouterKind, RouterPlace> = {
  bird: { kind: 'bird', lanIp: '192.168.0.11', wanIp: '10.200.0.11', as: 50001 },
  frr: { kind: 'frr', lanIp: '192.168.0.12', wanIp: '10.200.0.12', as: 50002 },
  gobgp: { kind: 'gobgp', lanIp: '192.168.0.13', as: 50003 },
};

/** The scripted peer of the fault tests (bgp-rogue-peer.ts) on the LAN. */
export const ROGUE = { lanIp: '192.168.0.14', as: 50004 } as const;

export interface BgpLabOptions {
  t?: { after(fn: () => unknown): void };
  /** Routers to start (default all three). */
  routers?: RouterKind[];
  /** The seed lab's options (speakers, IPAM, node count, ...). */
  seed?: Omit<SeedLabOptions, 't'>;
  /** Router timers (seconds); default hold 9, keepalive 3 (scripts/kit/bgp/router.ts). */
  timers?: { holdTime?: number; keepalive?: number };
  /** Per-router MD5 password for every node session. */
  passwords?: Partial<Record<RouterKind, string>>;
  /** BIRD in the seed's client namespace at 192.168.0.5 (the walkthrough's BIRD machine). */
  birdOnClient?: boolean;
  /** Next hops self-announced by routers' peers on this port (default NODE_BGP_PORT). */
  nodePort?: number;
  /** Start the scripted rogue peer (ROGUE) in its own namespace, listening on 179. */
  rogue?: boolean;
  /** Routers that never connect to the nodes, only accept (their neighbors passive). */
  passiveRouters?: RouterKind[];
}

/** A BgpPeer's spec as the lab writes it (upstream's field names). */
export interface LabBgpPeer {
  name: string;
  router: RouterKind | { neighborAddress: string; peerAs: number };
  holdTime?: number;
  keepaliveInterval?: number;
  connectRetry?: number;
  authPassword?: string;
  /** Only these nodes peer (spec.nodeSelector matchLabels kubernetes.io/hostname, one node). */
  node?: string;
}

/** One node's entry of BgpPeer status.nodesPeerStatus (bgp-kube's shape, upstream's names). */
export interface PeerStatusEntry {
  peerState: { sessionState: string; neighborAddress?: string; peerAs?: number; localAs?: number; messages?: { received: Record<string, string>; sent: Record<string, string> } };
  timersState?: Record<string, string>;
  lastError?: string;
}

const BGP_API = { group: EIP_GROUP, version: EIP_VERSION } as const;

export interface LabRouter {
  place: RouterPlace;
  ns: Netns;
  router: Router;
}

export class BgpLab {
  readonly routers = new Map<RouterKind, LabRouter>();
  /** The client behind the routers (undefined with birdOnClient). */
  far: Netns | undefined;
  /** The rogue peer process (option rogue). */
  rogue: Child | undefined;
  private wan: Netns | undefined;
  private gateway: RouterKind | undefined;
  private tornDown = false;

  private constructor(
    readonly seed: SeedLab,
    readonly opts: BgpLabOptions,
  ) {}

  static async create(opts: BgpLabOptions = {}): Promise<BgpLab> {
    requireRouterTools('the BGP lab');
    const gobgpBin = (opts.routers ?? ['bird', 'frr', 'gobgp']).includes('gobgp') ? ensureGobgp() : '';
    const seed = await SeedLab.create({ ...(opts.seed ?? {}) });
    const lab = new BgpLab(seed, opts);
    opts.t?.after(() => lab.teardown());
    try {
      await lab.build(gobgpBin);
    } catch (err) {
      await lab.teardown();
      throw err;
    }
    return lab;
  }

  /** The nodes as one router's BGP neighbors. */
  nodePeers(kind: RouterKind): PeerSpec[] {
    const password = this.opts.passwords?.[kind];
    return this.seed.nodes.map((n, i) => ({
      name: `node${i + 1}`,
      address: n.spec.ip4,
      as: NODE_AS,
      port: this.opts.nodePort ?? NODE_BGP_PORT,
      ...(password !== undefined ? { password } : {}),
      ...(this.opts.passiveRouters?.includes(kind) ? { passive: true } : {}),
    }));
  }

  routerSpec(kind: RouterKind, lanIp: string = ROUTERS[kind].lanIp): RouterSpec {
    return {
      routerId: lanIp,
      as: ROUTERS[kind].as,
      localAddress: lanIp,
      peers: this.nodePeers(kind),
      ...(this.opts.timers ?? {}),
    };
  }

  private async build(gobgpBin: string): Promise<void> {
    // Nodes as a kubelet reports them: the InternalIP is the router id when BgpConf has none.
    for (const n of this.seed.nodes) {
      await this.seed.admin.core.patchNodeStatus(
        { name: n.name, body: { status: { addresses: [{ type: 'InternalIP', address: n.spec.ip4 }, { type: 'Hostname', address: n.name }] } } },
        mergePatchOptions(),
      );
    }
    const kinds = this.opts.routers ?? ['bird', 'frr', 'gobgp'];
    const net = this.seed.net;
    if (!this.opts.birdOnClient) {
      this.wan = await net.bridge('wan');
      this.far = await net.namespace('far');
      await net.attach(this.wan, this.far, 'eth0', { addr: `${WAN.client}/${WAN.prefix}` });
    }
    const starts: Promise<void>[] = [];
    for (const kind of kinds) {
      const place = { ...ROUTERS[kind] };
      let ns: Netns;
      if (kind === 'bird' && this.opts.birdOnClient) {
        ns = this.seed.client;
        place.lanIp = SEED.client.ip4;
        delete place.wanIp;
      } else {
        ns = await net.namespace(`r${kind}`);
        await net.attach(this.seed.bridge, ns, 'eth0', { addr: `${place.lanIp}/${SEED.prefix4}` });
        if (place.wanIp && this.wan) {
          await net.attach(this.wan, ns, 'eth1', { addr: `${place.wanIp}/${WAN.prefix}` });
          await ns.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
        }
      }
      const spec = this.routerSpec(kind, place.lanIp);
      starts.push(
        (async () => {
          const router =
            kind === 'bird' ? await BirdRouter.start(ns, spec) : kind === 'frr' ? await FrrRouter.start(ns, spec) : await GobgpRouter.start(ns, spec, gobgpBin);
          this.routers.set(kind, { place, ns, router });
        })(),
      );
    }
    // allSettled: a router that started while another failed is in `routers`, so teardown stops it.
    const failed = (await Promise.allSettled(starts)).find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    if (this.opts.rogue) {
      const ns = await net.namespace('rrogue');
      await net.attach(this.seed.bridge, ns, 'eth0', { addr: `${ROGUE.lanIp}/${SEED.prefix4}` });
      this.rogue = ns.spawn(tsxArgv('scripts/lab/bgp-rogue-peer.ts', '--as', String(ROGUE.as), '--id', ROGUE.lanIp));
      await this.rogue.waitForLine(/^listening/, 30_000);
    }
    const first = kinds.find((k) => ROUTERS[k].wanIp);
    if (this.far && first) await this.useGateway(first);
  }

  router(kind: RouterKind): LabRouter {
    const r = this.routers.get(kind);
    if (!r) throw new Error(`BGP lab has no ${kind} router (started: ${[...this.routers.keys()].join(', ')})`);
    return r;
  }

  /**
   * Routes the far client's traffic for the BGP pool through this router, and the nodes' replies to
   * the far client back through it.
   */
  async useGateway(kind: RouterKind): Promise<void> {
    const r = this.router(kind);
    if (!this.far || !r.place.wanIp) throw new Error(`${kind} cannot be the far client's gateway (no WAN leg)`);
    await this.far.ip('route', 'replace', BGP_POOL.cidr, 'via', r.place.wanIp);
    for (const n of this.seed.nodes) await n.netns.ip('route', 'replace', WAN.net, 'via', r.place.lanIp);
    this.gateway = kind;
  }

  /** IPv4 addresses of the named nodes (sorted): the next hops a router should hold. */
  nodeIps(names: readonly string[]): string[] {
    return names.map((n) => this.seed.node(n).spec.ip4).sort();
  }

  /** The next hops kind's kernel FIB has for ip (/32 or /128). */
  fib(kind: RouterKind, ip: string): Promise<string[]> {
    return fibNextHops(this.router(kind).ns, hostPrefix(ip));
  }

  /** Waits until kind's FIB routes ip to exactly these nodes ([] = no route); ms it took. */
  waitForFib(kind: RouterKind, ip: string, nodes: readonly string[], timeoutMs = 15_000): Promise<number> {
    return waitForFib(this.router(kind).ns, hostPrefix(ip), this.nodeIps(nodes), timeoutMs).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.seed.logs(20)}\n--- ${kind}\n${this.router(kind).router.log().slice(-3000)}`);
    });
  }

  /** Every router's sessions. */
  async sessions(): Promise<Map<RouterKind, SessionInfo[]>> {
    const out = new Map<RouterKind, SessionInfo[]>();
    for (const [k, r] of this.routers) out.set(k, await r.router.sessions());
    return out;
  }

  /** Waits until kind has an established session with each named node; throws with the sessions seen. */
  async waitEstablished(kind: RouterKind, nodes: readonly string[] = this.seed.nodes.map((n) => n.name), timeoutMs = 30_000): Promise<SessionInfo[]> {
    const want = this.nodeIps(nodes);
    const deadline = Date.now() + timeoutMs;
    let last: SessionInfo[] = [];
    while (Date.now() < deadline) {
      last = await this.router(kind).router.sessions();
      if (want.every((ip) => last.find((s) => s.peer === ip)?.state === 'established')) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${kind}: sessions with ${nodes.join(', ')} not established within ${timeoutMs} ms: ${JSON.stringify(last)}\n${this.seed.logs(20)}\n--- ${kind}\n${this.router(kind).router.log().slice(-3000)}`);
  }

  /** HTTP GET from the far client (through the gateway router); the body, or throws. */
  async curlFar(ip: string, port = 80, timeoutS = 3): Promise<string> {
    if (!this.far) throw new Error('BGP lab without a far client (birdOnClient)');
    return (await this.far.run(['curl', '-s', '--max-time', String(timeoutS), `http://${ip}:${port}/`], { timeoutMs: timeoutS * 1000 + 2000 })).trim();
  }

  /** Lines the rogue peer printed that match re. */
  rogueLines(re: RegExp): string[] {
    return (this.rogue?.stdout ?? '').split('\n').filter((l) => re.test(l));
  }

  /** Waits until the rogue peer has printed `n` lines matching re; returns the n-th. */
  async waitRogue(re: RegExp, n = 1, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = this.rogueLines(re);
      if (hits.length >= n) return hits[n - 1]!;
      if (Date.now() > deadline) throw new Error(`rogue peer: no ${n}. line ${re} within ${timeoutMs} ms\nstdout: ${(this.rogue?.stdout ?? '').slice(-2000)}\n${this.seed.logs(20)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get gatewayKind(): RouterKind | undefined {
    return this.gateway;
  }

  // --- BGP API objects (cluster-scoped: labelled with the lab id and deleted at teardown) ---------

  /** BgpConf default: the walkthrough's AS and listen port (router id: each node's InternalIP). */
  async applyBgpConf(spec: Record<string, unknown> = {}): Promise<void> {
    await this.replace('bgpconfs', 'BgpConf', 'default', { as: NODE_AS, listenPort: NODE_BGP_PORT, ...spec });
  }

  /** A BgpPeer for a lab router (or any neighbor). */
  async applyBgpPeer(p: LabBgpPeer): Promise<void> {
    const target = typeof p.router === 'string' ? { neighborAddress: this.router(p.router).place.lanIp, peerAs: ROUTERS[p.router].as } : p.router;
    // Upstream's schema has the timers as strings (gobgp's float seconds).
    const timers = {
      ...(p.holdTime !== undefined ? { holdTime: String(p.holdTime) } : {}),
      ...(p.keepaliveInterval !== undefined ? { keepaliveInterval: String(p.keepaliveInterval) } : {}),
      ...(p.connectRetry !== undefined ? { connectRetry: String(p.connectRetry) } : {}),
    };
    await this.replace('bgppeers', 'BgpPeer', p.name, {
      conf: { ...target, ...(p.authPassword !== undefined ? { authPassword: p.authPassword } : {}) },
      ...(Object.keys(timers).length ? { timers: { config: timers } } : {}),
      ...(p.node ? { nodeSelector: { matchLabels: { 'kubernetes.io/hostname': p.node } } } : {}),
    });
  }

  /** Merge-patches a BgpPeer's spec (e.g. another authPassword). */
  async patchBgpPeer(name: string, spec: Record<string, unknown>): Promise<void> {
    await this.seed.admin.custom.patchClusterCustomObject({ ...BGP_API, plural: 'bgppeers', name, body: { spec } }, mergePatchOptions());
  }

  /** The bgp Eip of the walkthrough (or another range). */
  async createBgpEip(address: string = BGP_POOL.address, name: string = BGP_POOL.name): Promise<string> {
    return this.seed.createEip({ name, address, protocol: 'bgp' });
  }

  /** This node's status entry of BgpPeer `name`, or undefined. */
  async peerStatus(name: string, node: string): Promise<PeerStatusEntry | undefined> {
    const o = (await this.seed.admin.custom.getClusterCustomObject({ ...BGP_API, plural: 'bgppeers', name })) as { status?: { nodesPeerStatus?: Record<string, PeerStatusEntry> } };
    return o.status?.nodesPeerStatus?.[node];
  }

  /** Polls BgpPeer `name`'s status entry of `node` until ok(entry); returns it, or throws with the last one. */
  async waitPeerStatus(name: string, node: string, ok: (e: PeerStatusEntry | undefined) => boolean, what: string, timeoutMs = 20_000): Promise<PeerStatusEntry | undefined> {
    const deadline = Date.now() + timeoutMs;
    let last: PeerStatusEntry | undefined;
    while (Date.now() < deadline) {
      last = await this.peerStatus(name, node);
      if (ok(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`BgpPeer ${name} status of ${node}: ${what} not reached in ${timeoutMs} ms: ${JSON.stringify(last)}\n${this.seed.logs(20)}`);
  }

  private async replace(plural: 'bgpconfs' | 'bgppeers', kind: string, name: string, spec: Record<string, unknown>): Promise<void> {
    const api = this.seed.admin.custom;
    await api.deleteClusterCustomObject({ ...BGP_API, plural, name }).catch(() => undefined);
    const body = { apiVersion: `${EIP_GROUP}/${EIP_VERSION}`, kind, metadata: { name, labels: { [LAB_LABEL]: this.seed.id } }, spec };
    for (let i = 0; ; i++) {
      try {
        await api.createClusterCustomObject({ ...BGP_API, plural, body });
        this.created.add(`${plural}/${name}`);
        return;
      } catch (err) {
        // 409 while the deletion above is still finishing.
        if ((err as { code?: number }).code !== 409 || i > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private readonly created = new Set<string>();

  /** Deletes this BgpConf/BgpPeer at teardown (objects applied with kubectl, e.g. by the demo). */
  track(plural: 'bgpconfs' | 'bgppeers', name: string): void {
    this.created.add(`${plural}/${name}`);
  }

  /** Stops the routers (their temp dirs), deletes the lab's BGP objects, then tears the seed lab down. Idempotent. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    await Promise.all([...this.routers.values()].map((r) => r.router.stop().catch(() => undefined)));
    for (const key of this.created) {
      const [plural, name] = key.split('/') as ['bgpconfs' | 'bgppeers', string];
      await this.seed.admin?.custom.deleteClusterCustomObject({ ...BGP_API, plural, name }).catch(() => undefined);
    }
    await this.seed.teardown();
  }
}

function hostPrefix(ip: string): string {
  return ip.includes('/') ? ip : `${ip}/${ip.includes(':') ? 128 : 32}`;
}
