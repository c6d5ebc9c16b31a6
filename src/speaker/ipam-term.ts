// One leadership term of the IPAM controller: from the moment this speaker wins the `openelb-ipam`
// Lease until its AbortSignal fires. A term starts from what the API holds (never from memory of a
// previous term), then follows the informers.
//
// How a stale leader is kept from handing one IP to two Services that may not share it
// -------------------------------------------------------------------------------------
// The Eip's status.used map is the commit point, and it is only ever written with a PUT carrying
// the resourceVersion the writer based its decision on:
//   1. New allocations from a pool are first committed to that Eip's status.used (IP -> Service).
//      Only after that PUT succeeds does the Service get the IP in status.loadBalancer.ingress.
//   2. Each PUT is based on the latest version this writer knows. If another writer committed in
//      between, the PUT fails with 409; the writer re-reads the Eip and, if `used` differs from
//      what it last committed, throws its state away and rebuilds from a fresh LIST (Eips
//      first, then Services; see rebuild()). The same happens when the Eip watch shows a `used`
//      this writer did not commit.
//   3. A rebuild honours every committed entry: an IP a Service shows in its status is its own;
//      an IP that an Eip's `used` gives to a Service that does not show it yet (a commit whose
//      Service write has not happened, e.g. the writer was paused or killed in between) is
//      restored to that Service too (ipam-map.ts adoptions), never given to anyone else.
// So for two writers to give IP X to A and B, both would need a successful commit; the second
// commit is based on a version that already contains the first (or it would have got 409), and a
// writer based on that version holds X for A. Service status writes are also PUT with a
// resourceVersion, and every write stops when the term's signal aborts (in flight too).
// test/cluster/ipam-stale-leader.test.ts proves it with two writers at once.
import type { V1Namespace, V1Service } from '@kubernetes/client-node';
import {
  EIP_FINALIZER,
  reconcileAll,
  type IpamState,
  type ServiceEvent,
  type ServiceResult,
} from '../ipam/index.ts';
import { backoffDelay, defaultBackoff } from '../kube/backoff.ts';
import type { EipObject } from '../kube/client.ts';
import { classifyError, describeError, isConflict, isNotFound } from '../kube/errors.ts';
import { targetOf } from '../kube/events.ts';
import { log } from '../log.ts';
import type { Gauge } from '../observe/metrics.ts';
import type { SpeakerContext } from './context.ts';
import {
  adoptions,
  desiredEipStatus,
  desiredServiceWrite,
  eipFinalizerChange,
  keyOfService,
  newerRV,
  sameUsed,
  serviceMetaPatch,
  serviceWriteNeeds,
  stable,
  toEipInput,
  toServiceRequest,
  usedOf,
} from './ipam-map.ts';
import { IpamWriter, TermOver, type IpamMetrics } from './ipam-writer.ts';

export interface TermMetrics extends IpamMetrics {
  resyncs: import('../observe/metrics.ts').Counter;
  pending: Gauge;
  poolSize: Gauge;
  usage: Gauge;
  services: Gauge;
}

/** Parallel Service writes: enough to hide API latency, few enough not to flood the API server. */
const WRITE_CONCURRENCY = 8;
/** 409s in a row on one object before giving up for this tick (it is retried with backoff). */
const CONFLICT_RETRIES = 5;

const SERVICE = { kind: 'Service', apiVersion: 'v1' };
const EIP = { kind: 'Eip', apiVersion: 'network.kubesphere.io/v1alpha2' };

class RetryLater extends Error {}

interface PendingWrite {
  event?: ServiceEvent;
}

export class IpamTerm {
  private state: IpamState | undefined;
  private readonly writer: IpamWriter;
  private readonly svcLatest = new Map<string, V1Service>();
  private readonly svcGone = new Map<string, V1Service>();
  private readonly eipLatest = new Map<string, EipObject>();
  /** What status.used we last committed (or read at rebuild) per Eip: a different one is a foreign writer. */
  private readonly committedUsed = new Map<string, Record<string, string>>();
  private readonly dirtySvc = new Set<string>();
  private readonly dirtyNs = new Set<string>();
  private readonly forceEips = new Set<string>();
  private eipsChanged = false;
  private needResync = true;
  private resyncReason = 'term start';
  private readonly pending = new Map<string, PendingWrite>();
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly unsubscribe: Array<() => void> = [];
  private stopped = false;
  /** Resolves when the first rebuild has been written out (tests, /readyz). */
  firstPass: Promise<void>;
  private firstPassDone!: () => void;
  private firstDone = false;

  constructor(
    private readonly ctx: SpeakerContext,
    private readonly signal: AbortSignal,
    private readonly metrics: TermMetrics,
  ) {
    this.writer = new IpamWriter(ctx.client, signal, metrics);
    this.firstPass = new Promise((r) => (this.firstPassDone = r));
    signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  start(): void {
    if (this.signal.aborted) return;
    const services = this.ctx.informers.services();
    const eips = this.ctx.informers.eips();
    const namespaces = this.ctx.informers.namespaces();
    this.unsubscribe.push(
      services.onEvent((ev, obj) => this.onService(ev, obj)),
      eips.onEvent((ev, obj) => this.onEip(ev, obj)),
      namespaces.onEvent((_ev, obj) => {
        this.dirtyNs.add(obj.metadata?.name ?? '');
        this.kick();
      }),
    );
    this.kick();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    if (this.timer) clearTimeout(this.timer);
    this.metrics.pending.set({}, 0);
  }

  /** Allocations as this term sees them (tests and debugging). */
  allocations(): Map<string, { pool: string; services: string[] }> {
    return this.state?.allocations() ?? new Map();
  }

  // ---- informer events: record what changed, decide in tick() ----

  private onService(ev: string, obj: V1Service): void {
    const key = keyOfService(obj);
    if (ev === 'delete') {
      this.svcLatest.delete(key);
      this.svcGone.set(key, obj);
    } else {
      this.svcGone.delete(key);
      const cur = this.svcLatest.get(key);
      if (!cur || newerRV(obj.metadata?.resourceVersion, cur.metadata?.resourceVersion)) this.svcLatest.set(key, obj);
      else if (cur.metadata?.uid === obj.metadata?.uid) {
        // An echo of our own write (or older) changes nothing. The echo of the version we hold is
        // the informer's cached copy: keep that one, so the write's answer is not a second copy.
        if (cur !== obj && cur.metadata?.resourceVersion === obj.metadata?.resourceVersion) this.svcLatest.set(key, obj);
        return;
      }
    }
    this.dirtySvc.add(key);
    this.kick();
  }

  private onEip(ev: string, obj: EipObject): void {
    const name = obj.metadata.name;
    if (ev === 'delete') {
      this.eipLatest.delete(name);
      this.committedUsed.delete(name);
      this.eipsChanged = true;
      this.kick();
      return;
    }
    const cur = this.eipLatest.get(name);
    if (cur && !newerRV(obj.metadata.resourceVersion, cur.metadata.resourceVersion)) return;
    this.eipLatest.set(name, obj);
    // An Eip we never committed to counts as committed empty: a new Eip whose `used` fills up
    // without us is another writer at work. Our next PUT would be based on that version, so it
    // must not go out before a rebuild has taken those entries in.
    const committed = this.committedUsed.get(name) ?? {};
    if (!sameUsed(usedOf(obj), committed)) {
      // Someone else wrote allocations: we are not the only writer (or a user edited status).
      this.requestResync(`Eip ${name} status.used changed by another writer`);
    }
    if (!cur || specKey(cur) !== specKey(obj)) this.eipsChanged = true;
    this.kick();
  }

  private requestResync(reason: string): void {
    if (!this.needResync) {
      log.warn('ipam: rebuilding from the API', { reason });
      this.needResync = true;
      this.resyncReason = reason;
    }
  }

  private kick(delayMs = 0): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) {
      if (delayMs > 0) return; // an earlier (sooner or equal) wake-up is already set
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.loop();
    }, delayMs);
  }

  private async loop(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      do {
        this.again = false;
        try {
          await this.tick();
          this.failures = 0;
        } catch (err) {
          if (err instanceof TermOver || this.signal.aborted) return;
          const delay = backoffDelay(defaultBackoff, this.failures++);
          log.warn('ipam: pass failed; retrying', { error: err instanceof RetryLater ? err.message : describeError(err), inMs: delay });
          this.running = false;
          this.kick(delay);
          return;
        }
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  // ---- one pass ----

  private async tick(): Promise<void> {
    if (this.stopped) throw new TermOver();
    if (this.needResync || !this.state) await this.rebuild();
    else this.applyChanges();
    this.metrics.pending.set({}, this.state?.pendingKeys().length ?? 0);
    await this.commitEips();
    if (this.needResync) {
      this.again = true;
      return;
    }
    await this.writeServices();
    if (!this.firstDone && this.pending.size === 0 && this.forceEips.size === 0) {
      this.firstDone = true;
      this.firstPassDone();
    }
  }

  /** Start of term, or after another writer was detected: everything from a fresh LIST. */
  private async rebuild(): Promise<void> {
    this.metrics.resyncs.inc({ reason: this.resyncReason === 'term start' ? 'start' : 'conflict' });
    const why = this.resyncReason;
    this.needResync = false;
    this.resyncReason = '';
    const nsInformer = this.ctx.informers.namespaces();
    await Promise.race([
      Promise.all([nsInformer.whenSynced(this.signal), this.ctx.informers.services().whenSynced(this.signal), this.ctx.informers.eips().whenSynced(this.signal)]),
      new Promise((_, rej) => this.signal.addEventListener('abort', () => rej(new TermOver()), { once: true })),
    ]);
    // Anything that changes from here on is dirty again and applied on the next pass. The caches
    // are emptied now, not after the LISTs: an object that a watch event delivers while a LIST is
    // in flight may be newer than the LIST (or absent from it) and must not be overwritten.
    this.dirtySvc.clear();
    this.dirtyNs.clear();
    this.eipsChanged = false;
    this.svcLatest.clear();
    this.svcGone.clear();
    this.eipLatest.clear();
    this.committedUsed.clear();
    // Eips first, then Services. A commit that lands after the Eip LIST makes our next PUT to that
    // Eip fail with 409 (and we rebuild again). A commit that landed before it is in the list we
    // read, and every Service it names was created before it, so it is in the later Service LIST
    // too and adoptions() can complete it. (Services first would miss a Service created between
    // the two LISTs whose committed IP we would then drop as an orphan and hand out again.)
    const eips = await this.writer.listEips();
    const services = (await this.writer.listServices()).filter((s) => s.metadata?.name);
    const adopt = adoptions(services, eips);
    const namespaces: Record<string, Record<string, string>> = {};
    for (const n of nsInformer.list() as V1Namespace[]) namespaces[n.metadata?.name ?? ''] = n.metadata?.labels ?? {};
    const plan = reconcileAll({
      pools: eips.map(toEipInput),
      services: services.map((s) => toServiceRequest(s, adopt.get(keyOfService(s)) ?? [])),
      namespaces,
    });
    this.state = plan.state;
    for (const s of services) {
      const key = keyOfService(s);
      const rv = s.metadata?.resourceVersion;
      const gone = this.svcGone.get(key);
      if (gone && !newerRV(rv, gone.metadata?.resourceVersion)) continue; // deleted during the LIST
      const cur = this.svcLatest.get(key);
      if (!cur || newerRV(rv, cur.metadata?.resourceVersion)) this.svcLatest.set(key, s);
    }
    for (const e of eips) {
      const name = e.metadata.name;
      const cur = this.eipLatest.get(name);
      if (!cur || newerRV(e.metadata.resourceVersion, cur.metadata.resourceVersion)) this.eipLatest.set(name, e);
      // What the rebuilt state is based on; a newer `used` seen meanwhile has already asked for
      // another rebuild (onEip), so no PUT goes out on this base.
      if (!this.committedUsed.has(name)) this.committedUsed.set(name, usedOf(e));
      this.forceEips.add(name);
    }
    for (const [key, ips] of adopt) {
      log.warn('ipam: completing an allocation committed in Eip status but not yet in the Service status', { service: key, ips });
    }
    const byEip = new Map<string, string[]>();
    for (const r of plan.repairs) {
      byEip.set(r.eip, [...(byEip.get(r.eip) ?? []), r.message]);
      log.warn('ipam: repairing Eip status towards the Services', { eip: r.eip, ip: r.ip, statusSaid: r.statusSaid, servicesSay: r.servicesSay, repair: r.message });
    }
    for (const [name, msgs] of byEip) {
      const e = this.eipLatest.get(name);
      if (e) void this.ctx.events.warning(targetOf(e, EIP), 'StatusRepaired', msgs.join('; '), 'repair');
    }
    this.pending.clear();
    for (const [key, r] of plan.services) {
      if (r.state === 'ignored') continue;
      // A completed adoption is restored like an assigned IP (so the core has no event for it),
      // but the Service never showed it: this is its AssignIP.
      if (adopt.has(key) && r.state === 'assigned' && !r.event) {
        const parts = r.ips.map((ip, i) => (r.eips[i] ? `${ip} from Eip ${r.eips[i]}` : ip));
        r.event = { type: 'Normal', reason: 'AssignIP', message: `Assigned ${parts.join(', ')} to Service ${key}` };
      }
      this.record(r);
    }
    log.info('ipam: state rebuilt from the API', {
      why,
      services: services.length,
      eips: eips.length,
      allocations: plan.state.allocations().size,
      pending: plan.state.pendingKeys().length,
      repairs: plan.repairs.length,
    });
  }

  private applyChanges(): void {
    const state = this.state as IpamState;
    let retry = false;
    if (this.eipsChanged) {
      this.eipsChanged = false;
      state.setEips([...this.eipLatest.values()].map(toEipInput));
      for (const n of this.eipLatest.keys()) this.forceEips.add(n);
      retry = true;
    }
    if (this.dirtyNs.size > 0) {
      const ns = this.ctx.informers.namespaces();
      for (const name of this.dirtyNs) state.setNamespace(name, (ns.get(name) as V1Namespace | undefined)?.metadata?.labels ?? (ns.get(name) ? {} : undefined));
      this.dirtyNs.clear();
      retry = true;
    }
    const keys = [...this.dirtySvc];
    this.dirtySvc.clear();
    for (const key of keys) {
      const s = this.svcLatest.get(key);
      const r = s ? state.upsertService(toServiceRequest(s)) : state.removeService(key);
      if (r.released.length > 0) retry = true;
      if (!s) {
        // Gone from the API: nothing to write, only the event.
        const gone = this.svcGone.get(key);
        this.svcGone.delete(key);
        if (r.event && gone) void this.ctx.events.emit(targetOf(gone, SERVICE), r.event.type, r.event.reason, r.event.message, 'ipam');
        if (gone) this.ctx.events.forget(targetOf(gone, SERVICE));
        this.pending.delete(key);
        continue;
      }
      if (r.state !== 'ignored' || this.pending.has(key)) this.record(r);
    }
    if (retry) for (const r of state.retryPending()) this.record(r);
  }

  private record(r: ServiceResult): void {
    const prev = this.pending.get(r.key);
    const event = r.event ?? prev?.event;
    this.pending.set(r.key, event ? { event } : {});
  }

  // ---- Eips: the commit point ----

  private async commitEips(): Promise<void> {
    const state = this.state as IpamState;
    const names = new Set([...state.takeDirtyEips(), ...this.forceEips]);
    this.forceEips.clear();
    let failed = 0;
    await runLimited([...names], WRITE_CONCURRENCY, async (name) => {
      try {
        await this.commitEip(name);
      } catch (err) {
        if (err instanceof TermOver) throw err;
        failed++;
        this.forceEips.add(name);
        log.warn('ipam: Eip status write failed', { eip: name, error: describeError(err) });
      }
    });
    if (failed > 0 && !this.needResync) throw new RetryLater(`${failed} Eip status write(s) failed`);
  }

  private async commitEip(name: string): Promise<void> {
    const state = this.state as IpamState;
    for (let attempt = 0; ; attempt++) {
      const e = this.eipLatest.get(name);
      const st = state.eipStatus(name);
      if (!e || !st) {
        this.metrics.poolSize.remove({ eip: name });
        this.metrics.usage.remove({ eip: name });
        this.metrics.services.remove({ eip: name });
        return;
      }
      const d = desiredEipStatus(e, st, new Date());
      try {
        if (d.write) {
          // A foreign commit seen meanwhile: our decisions may be stale, rebuild before writing.
          if (this.needResync) return;
          const prevCommitted = this.committedUsed.get(name);
          // Set before the PUT: its watch echo may arrive before the response.
          this.committedUsed.set(name, st.used);
          try {
            const written = await this.writer.eipStatus(e, d.status);
            this.setEip(written);
          } catch (err) {
            if (prevCommitted) this.committedUsed.set(name, prevCommitted);
            else this.committedUsed.delete(name);
            throw err;
          }
          if (d.conditionChanged) {
            const c = d.conditionChanged;
            void this.ctx.events.emit(targetOf(e, EIP), c.status === 'True' && c.reason === 'Ready' ? 'Normal' : 'Warning', c.reason, c.message, 'Ready');
          }
        }
        this.metrics.poolSize.set({ eip: name }, st.poolSize);
        this.metrics.usage.set({ eip: name }, st.usage);
        this.metrics.services.set({ eip: name }, Object.values(st.used ?? {}).reduce((n, who) => n + who.split(';').filter(Boolean).length, 0));
        const cur = this.eipLatest.get(name) as EipObject;
        const holders = state.eipHolders(name);
        const change = eipFinalizerChange(cur, holders.length);
        if (change) {
          const fins = (cur.metadata.finalizers ?? []).filter((f) => f !== EIP_FINALIZER);
          if (change === 'add') fins.push(EIP_FINALIZER);
          const written = await this.writer.eipFinalizers(cur, fins);
          this.setEip(written);
          if (change === 'remove') log.info('ipam: Eip has no allocations left; finalizer removed', { eip: name });
        }
        // A deleting Eip that still holds addresses says so in its Ready condition (reason Deleting)
        // and in the event that goes with it; the finalizer keeps it until then.
        return;
      } catch (err) {
        if (err instanceof TermOver) throw err;
        if (isNotFound(err)) {
          this.eipLatest.delete(name);
          return;
        }
        if (!isConflict(err) || attempt >= CONFLICT_RETRIES) throw err;
        let fresh: EipObject;
        try {
          fresh = await this.writer.getEip(name);
        } catch (e2) {
          if (!isNotFound(e2)) throw e2;
          this.eipLatest.delete(name);
          return;
        }
        const committed = this.committedUsed.get(name) ?? {};
        this.setEip(fresh, true);
        if (!sameUsed(usedOf(fresh), committed)) {
          this.requestResync(`Eip ${name} status.used was written by someone else (409 on our commit)`);
          return;
        }
        // Only spec/metadata moved (or our own earlier write): same decision, newer base.
        if (specKey(fresh) !== specKey(e)) this.eipsChanged = true;
      }
    }
  }

  private setEip(e: EipObject, force = false): void {
    const cur = this.eipLatest.get(e.metadata.name);
    if (force || !cur || newerRV(e.metadata.resourceVersion, cur.metadata.resourceVersion)) this.eipLatest.set(e.metadata.name, e);
    if (!force) this.committedUsed.set(e.metadata.name, usedOf(e));
  }

  // ---- Services: after the commit ----

  private async writeServices(): Promise<void> {
    const state = this.state as IpamState;
    const items = [...this.pending];
    this.pending.clear();
    // Releases first: an IP freed in this pass is off its old Service before it shows on a new one.
    const rank = (k: string) => (state.lastResult(k)?.state === 'released' ? 0 : 1);
    items.sort((a, b) => rank(a[0]) - rank(b[0]));
    let failed = 0;
    for (const batch of [items.filter(([k]) => rank(k) === 0), items.filter(([k]) => rank(k) === 1)]) {
      await runLimited(batch, WRITE_CONCURRENCY, async ([key, p]) => {
        try {
          await this.writeService(key, p);
        } catch (err) {
          if (err instanceof TermOver) throw err;
          failed++;
          if (!this.pending.has(key)) this.pending.set(key, p);
          log.warn('ipam: Service write failed', { service: key, error: describeError(err), kind: classifyError(err) });
        }
      });
    }
    if (failed > 0) throw new RetryLater(`${failed} Service write(s) failed`);
  }

  private async writeService(key: string, p: PendingWrite): Promise<void> {
    const state = this.state as IpamState;
    for (let attempt = 0; ; attempt++) {
      const s = this.svcLatest.get(key);
      // Always write the newest decision, not the one that queued this write.
      const r = state.lastResult(key);
      if (!s || !r) return;
      const w = desiredServiceWrite(r, Boolean(s.metadata?.deletionTimestamp));
      try {
        if (w) {
          let cur = s;
          const needs = serviceWriteNeeds(cur, w);
          const releasing = r.state === 'released';
          // Assign: finalizer+label, then status. Release: status, then finalizer.
          if (needs.meta && !releasing) cur = this.setSvc(await this.writer.serviceMeta(cur, serviceMetaPatch(cur, w)));
          if (needs.status) cur = this.setSvc(await this.writer.serviceStatus(cur, w.ingress ?? []));
          if (needs.meta && releasing) cur = this.setSvc(await this.writer.serviceMeta(cur, serviceMetaPatch(cur, w)));
        }
        if (p.event) void this.ctx.events.emit(targetOf(s, SERVICE), p.event.type, p.event.reason, p.event.message, 'ipam');
        return;
      } catch (err) {
        if (err instanceof TermOver) throw err;
        if (isNotFound(err)) return; // deleted meanwhile: the informer's delete releases it
        if (!isConflict(err) || attempt >= CONFLICT_RETRIES) throw err;
        try {
          this.setSvc(await this.writer.getService(s.metadata?.namespace ?? '', s.metadata?.name ?? ''), true);
        } catch (e2) {
          if (isNotFound(e2)) return;
          throw e2;
        }
      }
    }
  }

  private setSvc(s: V1Service, force = false): V1Service {
    const key = keyOfService(s);
    const cur = this.svcLatest.get(key);
    if (force || !cur || newerRV(s.metadata?.resourceVersion, cur.metadata?.resourceVersion)) this.svcLatest.set(key, s);
    return s;
  }

  /** For tests: the ServiceResult the state holds for a key. */
  result(key: string): ServiceResult | undefined {
    return this.state?.lastResult(key);
  }
}

/** What about an Eip feeds pool decisions (status changes alone do not). */
function specKey(e: EipObject): string {
  return stable({ spec: e.spec, annotations: e.metadata.annotations, deleting: Boolean(e.metadata.deletionTimestamp), created: e.metadata.creationTimestamp });
}

async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let firstErr: unknown;
  const worker = async () => {
    while (next < items.length && firstErr === undefined) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        firstErr ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (firstErr !== undefined) throw firstErr;
}
