// The BGP controller: informer caches -> bgpPlan (pure) -> the node's BgpSpeaker, and the
// speaker's sessions -> this node's keys of BgpPeer/BgpConf status.
//
// Cost for clusters that use only Layer 2: none of the BGP machinery runs there. At start the
// controller asks the API once whether the BgpConf CRD is served (absent: it asks again every
// 5 minutes and does nothing else). With the CRDs installed it keeps two watches, on BgpConfs and
// BgpPeers, whose caches are empty for such users, and reads the Eip cache the IPAM controller
// keeps anyway. Only when a BgpConf or BgpPeer exists, or an Eip is bgp (or has no protocol,
// OpenELB's default), does it become active: it then watches what routes need (Services, Nodes,
// EndpointSlices; shared with Layer 2) and creates the speaker, whose module is loaded only then
// (the CLI passes a factory that imports it), so neither its code nor its sockets, timers or API
// writes exist on a Layer 2-only node.
//
// Writes: each node merge-patches only its own key of status.nodesPeerStatus / nodesConfStatus
// (bgp-status.ts decides when: state changes at once but at most once a second per object, message
// counters at most once a minute). The object-level Ready condition and its Event (one per change,
// as for Eips) are written by one process only, the IPAM leader (`conditionWriter`), not by every
// node; problems that depend on a node (no IPv4 address for the router id, a duplicate neighbour
// there) are that node's Event and its status entry.
//
// SIGTERM: stop() closes the speaker with withdraw (UPDATEs withdrawing every route, then a Cease
// NOTIFICATION), so routers move traffic to the other nodes before the process exits.
import { EIP_GROUP, EIP_VERSION } from '../kube/client.ts';
import { describeError, isConflict, isNotFound } from '../kube/errors.ts';
import { targetOf } from '../kube/events.ts';
import type { Informer } from '../kube/informer.ts';
import { type Condition, setCondition } from '../kube/objects.ts';
import type { BgpCachedObject } from '../kube/slim.ts';
import { log } from '../log.ts';
import { parseIP } from '../net/ip.ts';
import { type BgpFinding, type BgpNode, DEFAULT_BGPCONF } from './bgp-config.ts';
import { type BgpPlan, bgpPlan, bgpWanted } from './bgp-plan.ts';
import type { BgpSpeakerLike, ListenConfig, PeerStatus } from './bgp-speaker-api.ts';
import {
  DEFAULT_WRITE_LIMITS,
  type Json,
  type JsonObject,
  mergePatchDiff,
  notConfiguredEntry,
  peerStatusEntry,
  readyCondition,
  rearmTimer,
  type WriteLimits,
  writeDue,
} from './bgp-status.ts';
import type { Controller, SpeakerContext } from './context.ts';
import { readyNodesByService, servicesWithIps } from './layer2-inputs.ts';

export interface SpeakerFactoryOptions {
  listen: ListenConfig;
  /** Next hop for routes of `family` on a session whose local address is `localAddress`. */
  nextHop: (family: 4 | 6, localAddress: string) => string | undefined;
}

export interface BgpControllerOptions {
  /** Creates the node's speaker (the CLI: imports src/bgp/speaker.ts on first use). */
  makeSpeaker: (o: SpeakerFactoryOptions) => BgpSpeakerLike | Promise<BgpSpeakerLike>;
  /** Whether this process writes the Ready conditions and their Events (the IPAM leader). */
  conditionWriter?: () => boolean;
  limits?: Partial<WriteLimits>;
  /** How often to ask again whether the BGP CRDs are served, when they are not. Default 5 min. */
  crdProbeMs?: number;
  now?: () => number;
}

const BGPCONF = { kind: 'BgpConf', apiVersion: `${EIP_GROUP}/${EIP_VERSION}` };
const BGPPEER = { kind: 'BgpPeer', apiVersion: `${EIP_GROUP}/${EIP_VERSION}` };
const CONF_MAP = 'nodesConfStatus';
/** OpenELB's finalizer on BgpConf/BgpPeer (its Services' finalizer, reused). */
export const UPSTREAM_FINALIZER = 'finalizer.lb.kubesphere.io/v1alpha1';
const PEER_MAP = 'nodesPeerStatus';

interface Written {
  at: number;
  value: Json | undefined;
  /** The cached object's resourceVersion when we wrote: until the cache moves past it, `value` is what is stored. */
  rv: string | undefined;
}

export class BgpController implements Controller {
  private readonly limits: WriteLimits;
  private readonly now: () => number;
  private readonly unsubscribe: Array<() => void> = [];
  private confs: Informer<BgpCachedObject> | undefined;
  private peers: Informer<BgpCachedObject> | undefined;
  private state: 'probing' | 'no-crd' | 'dormant' | 'active' | 'stopped' = 'probing';
  private probeTimer: NodeJS.Timeout | undefined;
  private countersTimer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private running: Promise<void> | undefined;
  private speaker: BgpSpeakerLike | undefined;
  private speakerListen = '';
  private speakerMaking: Promise<void> | undefined;
  private nextHops: { 4?: string; 6?: string } = {};
  private readonly written = new Map<string, Written>();
  private readonly deferred = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private lastPlan: BgpPlan | undefined;

  constructor(readonly ctx: SpeakerContext, readonly opts: BgpControllerOptions) {
    this.limits = { ...DEFAULT_WRITE_LIMITS, ...opts.limits };
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    void this.probe();
  }

  private get stopped(): boolean {
    return this.state === 'stopped';
  }

  /** Whether the BGP machinery runs (a BgpConf, BgpPeer or bgp Eip exists). */
  get active(): boolean {
    return this.state === 'active';
  }

  /** The last plan (tests, doctor). */
  plan(): BgpPlan | undefined {
    return this.lastPlan;
  }

  ready(): { ok: boolean; detail: string } {
    if (this.state !== 'active') return { ok: true, detail: `bgp: ${this.state === 'no-crd' ? 'CRDs not installed' : 'not configured'}` };
    const p = this.lastPlan;
    if (!p) return { ok: true, detail: 'bgp: first plan pending' };
    return { ok: true, detail: p.global ? `bgp: ${p.peers.length} peer(s), ${p.routes.length} route(s)` : 'bgp: no usable BgpConf default' };
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.probeTimer) clearTimeout(this.probeTimer);
    if (this.countersTimer) clearInterval(this.countersTimer);
    for (const d of this.deferred.values()) clearTimeout(d.timer);
    this.deferred.clear();
    await this.speakerMaking?.catch(() => undefined);
    const s = this.speaker;
    this.speaker = undefined;
    // Withdraw before exit: routers stop sending traffic here while we can still forward it.
    if (s) await s.close({ withdraw: true });
  }

  // --- activation -----------------------------------------------------------------------

  private async probe(): Promise<void> {
    if (this.state === 'stopped') return;
    try {
      await this.ctx.client.get(`/apis/${EIP_GROUP}/${EIP_VERSION}/bgpconfs?limit=1`);
    } catch (err) {
      if (this.stopped) return;
      if (isNotFound(err)) {
        if (this.state === 'probing') log.info('bgp: the BgpConf/BgpPeer CRDs are not installed; BGP is off (apply deploy/openelb.yaml to add them)');
        this.state = 'no-crd';
      } else {
        log.warn('bgp: cannot tell whether the BGP CRDs are installed; asking again later', { error: describeError(err) });
      }
      this.probeTimer = setTimeout(() => void this.probe(), this.opts.crdProbeMs ?? 300_000);
      this.probeTimer.unref?.();
      return;
    }
    if (this.stopped) return;
    this.state = 'dormant';
    const inf = this.ctx.informers;
    this.confs = inf.bgpConfs();
    this.peers = inf.bgpPeers();
    const eips = inf.eips();
    for (const s of [this.confs, this.peers, eips]) this.unsubscribe.push(s.onChange(() => this.maybeActivate()));
    this.maybeActivate();
  }

  private maybeActivate(): void {
    if (this.state === 'active') return this.schedule();
    if (this.state !== 'dormant' || !this.confs || !this.peers) return;
    const eips = this.ctx.informers.eips();
    if (!this.confs.hasSynced || !this.peers.hasSynced || !eips.hasSynced) return;
    if (!bgpWanted(this.confs.list().length, this.peers.list().length, eips.list())) return;
    this.state = 'active';
    log.info('bgp: active (a BgpConf, BgpPeer or bgp Eip exists)', { node: this.ctx.nodeName });
    const inf = this.ctx.informers;
    for (const s of [inf.services(), inf.nodes(), inf.endpointSlices()]) this.unsubscribe.push(s.onChange(() => this.schedule()));
    // Counters are refreshed on this beat (writeDue lets them through once a minute).
    this.countersTimer = setInterval(() => this.schedule(), this.limits.countersIntervalMs);
    this.countersTimer.unref?.();
    this.schedule();
  }

  // --- reconcile ------------------------------------------------------------------------

  private schedule(): void {
    if (this.state !== 'active' || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.running) {
        void this.running.then(() => this.schedule());
        return;
      }
      this.running = this.reconcile()
        .catch((err) => {
          log.error('bgp: reconcile failed (retrying in 1 s)', { error: describeError(err) });
          setTimeout(() => this.schedule(), 1000).unref?.();
        })
        .finally(() => {
          this.running = undefined;
        });
    });
  }

  private synced(): boolean {
    const inf = this.ctx.informers;
    return [this.confs, this.peers, inf.eips(), inf.services(), inf.nodes(), inf.endpointSlices()].every((i) => i?.hasSynced);
  }

  private thisNode(): BgpNode | undefined {
    const n = this.ctx.informers.nodes().get(this.ctx.nodeName);
    if (!n) return undefined;
    return {
      name: this.ctx.nodeName,
      labels: n.metadata?.labels ?? {},
      internalIPs: (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
    };
  }

  private async reconcile(): Promise<void> {
    if (this.state !== 'active' || !this.synced()) return;
    const inf = this.ctx.informers;
    const confs = this.confs!.list();
    const peers = this.peers!.list();
    const plan = bgpPlan({
      confs,
      peers,
      node: this.thisNode(),
      services: servicesWithIps(inf.services().list()),
      eips: inf.eips().list(),
      readyNodes: readyNodesByService(inf.endpointSlices().list()),
    });
    this.lastPlan = plan;
    this.nextHops = plan.nextHops;
    await this.applySpeaker(plan);
    if (this.state !== 'active') return;
    const statuses = new Map((this.speaker?.status() ?? []).map((s) => [s.name, s]));
    this.writeNodeStatus(plan, confs, peers, statuses);
    this.report(plan, confs, peers);
  }

  private async applySpeaker(plan: BgpPlan): Promise<void> {
    const listenKey = plan.global ? JSON.stringify(plan.global.listen) : '';
    if (this.speaker && listenKey !== this.speakerListen) {
      // No usable BgpConf any more, or a new listen port/address: sessions restart.
      const old = this.speaker;
      this.speaker = undefined;
      log.info('bgp: stopping the speaker', { reason: plan.global ? 'listen settings changed' : 'no usable BgpConf default' });
      await old.close({ withdraw: true });
    }
    if (!plan.global) return;
    if (!this.speaker) {
      const listen = plan.global.listen;
      this.speakerMaking = (async () => {
        const s = await this.opts.makeSpeaker({ listen, nextHop: (family, local) => (parseIP(local)?.family === family ? undefined : this.nextHops[family]) });
        s.onChange(() => this.schedule());
        this.speaker = s;
        this.speakerListen = listenKey;
        log.info('bgp: speaker started', { port: listen.port, addresses: listen.addresses, as: plan.global?.as, routerId: plan.global?.routerId });
        // A port it cannot bind (179 without CAP_NET_BIND_SERVICE, another BGP daemon) leaves the
        // speaker connecting out only: say so on BgpConf default, from this node.
        void s.ready?.then(() => {
          const errors = s.listenErrors?.() ?? [];
          const conf = this.confs?.get(DEFAULT_BGPCONF);
          if (errors.length === 0 || !conf || this.speaker !== s) return;
          const message = `BgpConf ${DEFAULT_BGPCONF}: node ${this.ctx.nodeName} cannot accept BGP sessions (${errors.join('; ')}); it still connects to its peers unless they are passive. Use a listenPort of 1024 or more (e.g. 17900, as OpenELB's docs do), or give the speaker CAP_NET_BIND_SERVICE for 179`;
          void this.ctx.events.warning(targetOf(conf, BGPCONF), 'ListenFailed', message, `bgp/${this.ctx.nodeName}/ListenFailed`);
        });
      })();
      await this.speakerMaking;
      this.speakerMaking = undefined;
      // Stopped meanwhile: stop() waited for the speaker and closed it.
      if (this.stopped) return;
    }
    this.speaker!.setPeers(plan.peers);
    this.speaker!.setRoutes(plan.routes);
  }

  // --- status ---------------------------------------------------------------------------

  private writeNodeStatus(plan: BgpPlan, confs: BgpCachedObject[], peers: BgpCachedObject[], statuses: Map<string, PeerStatus>): void {
    const configured = new Map(plan.peers.map((p) => [p.name, p]));
    for (const obj of peers) {
      const name = obj.metadata.name;
      const cfg = configured.get(name);
      const why = plan.notConfigured.get(name);
      const desired: JsonObject | undefined = cfg ? peerStatusEntry(cfg, statuses.get(name)) : why !== undefined ? notConfiguredEntry(why) : undefined;
      this.writeKey('bgppeers', obj, PEER_MAP, desired);
    }
    for (const obj of confs) {
      const desired = obj.metadata.name === DEFAULT_BGPCONF && plan.confStatus ? (plan.confStatus as unknown as JsonObject) : undefined;
      this.writeKey('bgpconfs', obj, CONF_MAP, desired);
    }
  }

  /** Merge-patch this node's key of `map` on `obj` towards `desired` (undefined: remove it), when due. */
  private writeKey(plural: 'bgpconfs' | 'bgppeers', obj: BgpCachedObject, map: string, desired: Json | undefined): void {
    const node = this.ctx.nodeName;
    const key = `${plural}/${obj.metadata.name}`;
    const cachedRv = obj.metadata.resourceVersion;
    const w = this.written.get(key);
    const cached = ((obj.status?.[map] ?? {}) as Record<string, Json>)[node];
    // Our last write has not reached the cache yet: what we wrote is what is stored.
    const stored = w && w.rv === cachedRv ? w.value : cached;
    const due = writeDue(stored, desired, w?.at, this.now(), this.limits);
    if (due === 'none') return;
    if (due !== 'now') {
      const pending = this.deferred.get(key);
      if (!rearmTimer(pending?.at, due.at)) return;
      if (pending) clearTimeout(pending.timer);
      const timer = setTimeout(() => {
        this.deferred.delete(key);
        this.schedule();
      }, Math.max(0, due.at - this.now()));
      timer.unref?.();
      this.deferred.set(key, { at: due.at, timer });
      return;
    }
    const patch = mergePatchDiff(stored, desired);
    if (patch === undefined) return;
    this.written.set(key, { at: this.now(), value: desired, rv: cachedRv });
    const path = `/apis/${EIP_GROUP}/${EIP_VERSION}/${plural}/${encodeURIComponent(obj.metadata.name)}/status`;
    this.ctx.client.mergePatch(path, { status: { [map]: { [node]: patch } } }).catch((err) => {
      if (isNotFound(err)) return; // deleted meanwhile
      // Forget the write so the next reconcile tries again (after the interval).
      this.written.set(key, { at: this.now(), value: undefined, rv: undefined });
      log.warn('bgp: status write failed', { object: key, error: describeError(err) });
      setTimeout(() => this.schedule(), this.limits.minIntervalMs).unref?.();
    });
  }

  // --- conditions and events ------------------------------------------------------------

  private report(plan: BgpPlan, confs: BgpCachedObject[], peers: BgpCachedObject[]): void {
    const writer = this.opts.conditionWriter?.() ?? false;
    const all: Array<[BgpCachedObject, 'BgpConf' | 'BgpPeer']> = [...confs.map((c) => [c, 'BgpConf'] as [BgpCachedObject, 'BgpConf']), ...peers.map((p) => [p, 'BgpPeer'] as [BgpCachedObject, 'BgpPeer'])];
    for (const [obj, kind] of all) {
      const target = targetOf(obj, kind === 'BgpConf' ? BGPCONF : BGPPEER);
      // Problems only this node has: its own Event (deduplicated: one per change).
      for (const f of plan.findings) {
        if (f.kind === kind && f.name === obj.metadata.name && f.scope === 'node') {
          void this.ctx.events.warning(target, f.reason, f.message, `bgp/${this.ctx.nodeName}/${f.reason}`);
        }
      }
      if (writer && this.isObjectConclusive(plan, kind)) this.writeCondition(obj, kind, plan.findings);
      if (writer) this.liftUpstreamFinalizer(obj, kind);
    }
  }

  /**
   * OpenELB's speaker puts its finalizer on BgpConf default and every BgpPeer and removes it when
   * it has cleaned up its gobgp. After a move to openelb-ts nobody would remove it, and deleting
   * such an object would hang forever: the writer lifts it from objects being deleted (we need no
   * clean-up in the API: routes and sessions follow the cache).
   */
  private liftUpstreamFinalizer(obj: BgpCachedObject, kind: 'BgpConf' | 'BgpPeer'): void {
    const finalizers = obj.metadata.finalizers ?? [];
    if (!obj.metadata.deletionTimestamp || !finalizers.includes(UPSTREAM_FINALIZER)) return;
    const key = `finalizer/${kind}/${obj.metadata.name}`;
    if (this.written.get(key)?.rv === obj.metadata.resourceVersion) return;
    this.written.set(key, { at: this.now(), value: null, rv: obj.metadata.resourceVersion });
    const plural = kind === 'BgpConf' ? 'bgpconfs' : 'bgppeers';
    const path = `/apis/${EIP_GROUP}/${EIP_VERSION}/${plural}/${encodeURIComponent(obj.metadata.name)}`;
    // resourceVersion makes it conditional: merge patch replaces the list whole.
    const patch = { metadata: { resourceVersion: obj.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== UPSTREAM_FINALIZER) } };
    this.ctx.client.mergePatch(path, patch).then(
      () => log.info('bgp: removed OpenELB\'s finalizer from an object being deleted', { object: `${plural}/${obj.metadata.name}` }),
      (err) => {
        this.written.delete(key);
        // 409: the object changed meanwhile; its cache update brings another round.
        if (!isNotFound(err) && !isConflict(err)) log.warn('bgp: cannot remove OpenELB\'s finalizer', { object: `${plural}/${obj.metadata.name}`, error: describeError(err) });
      },
    );
  }

  /**
   * Object-level findings about BgpPeers are only complete when BgpConf default is usable here (a
   * peer is not examined otherwise); a writer on such a node leaves the peers' conditions alone.
   */
  private isObjectConclusive(plan: BgpPlan, kind: 'BgpConf' | 'BgpPeer'): boolean {
    if (kind === 'BgpConf') return true;
    return plan.global !== undefined || plan.findings.some((f) => f.reason === 'NoBgpConf');
  }

  private writeCondition(obj: BgpCachedObject, kind: 'BgpConf' | 'BgpPeer', findings: readonly BgpFinding[]): void {
    const c = readyCondition(kind, obj.metadata.name, findings);
    const current = (obj.status?.conditions ?? []) as Condition[];
    const gen = obj.metadata.generation;
    const next = setCondition(current, { ...c, ...(gen !== undefined ? { observedGeneration: gen } : {}) }, new Date(this.now()));
    if (!next.changed) return;
    const key = `conditions/${kind}/${obj.metadata.name}`;
    const w = this.written.get(key);
    // One write per change: the same conditions again while the cache has not caught up is not news.
    if (w && w.rv === obj.metadata.resourceVersion && JSON.stringify(w.value) === JSON.stringify(next.conditions as unknown as Json)) return;
    this.written.set(key, { at: this.now(), value: next.conditions as unknown as Json, rv: obj.metadata.resourceVersion });
    const plural = kind === 'BgpConf' ? 'bgpconfs' : 'bgppeers';
    const path = `/apis/${EIP_GROUP}/${EIP_VERSION}/${plural}/${encodeURIComponent(obj.metadata.name)}/status`;
    this.ctx.client.mergePatch(path, { status: { conditions: next.conditions } }).then(
      () => {
        const target = targetOf(obj, kind === 'BgpConf' ? BGPCONF : BGPPEER);
        void this.ctx.events.emit(target, c.status === 'True' && c.reason === 'Ready' ? 'Normal' : 'Warning', c.reason, c.message, 'Ready');
      },
      (err) => {
        this.written.delete(key);
        if (!isNotFound(err)) log.warn('bgp: condition write failed', { object: `${plural}/${obj.metadata.name}`, error: describeError(err) });
      },
    );
  }
}
