// The Layer 2 side of the speaker: who is alive (membership Leases), who announces each external IP
// (the pure per-IP election), and answering ARP/NDP for the IPs this node wins.
//
// Every change of Services, Eips, Nodes, EndpointSlices, the alive set or this node's NICs runs one
// reconcile, which is a pure plan (layer2-inputs.ts, election.ts, layer2-plan.ts) over the caches
// followed by three effects:
//   1. Announcer.update(exact owned set): add -> probe (new IPs only) + burst; remove -> withdraw.
//   2. membership.setCannotServe(Eips with no NIC here): peers elect around us (rides on the next
//      Lease renewal, no extra write).
//   3. Visibility: the announcing node patches the Service annotation `<node>/<nic>` and records an
//      event, only when the annotation differs: steady state writes nothing, whatever the number of
//      Services (SPEC §2). IPs nobody may announce are reported by one writer (the lowest-named
//      alive speaker).
// Liveness (liveness.ts, alive-set.ts): the membership Leases are the roster (who exists, renewed at
// kubelet cadence); segment beacons say who is alive on each pool's segment now. A roster member
// not heard on a pool's segment is treated as unable to serve that pool, so the election moves its
// IPs within the beacon deadline, with or without an API server. Where views disagree (asymmetric
// loss) and two nodes claim one IP on the wire, the one the election ranks higher keeps it
// (wire-conflict.ts); where the API views differ instead (a claimant that may not serve the IP by
// our view), each follows its own view and re-announces later only if it still owns the IP.
// Fail-static: informer caches keep the last good view while the API is unreachable and the
// membership view freezes (membership.ts); only what the segment itself shows (a peer falling
// silent) changes the owned set then.
// Stop: announcer first (stop answering), then a leaving beacon and the released Lease (peers take
// over at once, the beacon even without an API server).
import { type KubeClient } from '../kube/client.ts';
import { describeError, isNotFound } from '../kube/errors.ts';
import { targetOf } from '../kube/events.ts';
import { BeaconKeySource } from '../kube/beacon-key.ts';
import { Membership } from '../kube/membership.ts';
import { type AnnounceState, Announcer, type Conflict } from '../l2/announcer.ts';
import { type NicFacts, readNicFacts } from '../l2/interfaces.ts';
import { performance } from 'node:perf_hooks';
import { log } from '../log.ts';
import type { Gauge } from '../observe/metrics.ts';
import { ConflictReporter } from './conflict-report.ts';
import type { Controller, SpeakerContext } from './context.ts';
import { type Election, type IpClaim, type NodeFacts, mayAnnounce } from './election.ts';
import { ElectionMemo } from './election-memo.ts';
import { reconcileDelayMs } from './reconcile-pacing.ts';
import { type BeaconPorts, type KeyProvider, LEASE_ONLY_ANNOTATION, Liveness, MACS_ANNOTATION, formatMacs, parseMacs } from './liveness.ts';
import { type ClaimVerdict, type Yield, judgeClaim, reannounceAfterRecheck, yieldsInForce } from './wire-conflict.ts';
import { announceOwned } from './announce-owned.ts';
import {
  type Layer2Pool,
  type ServiceView,
  buildClaims,
  layer2Pools,
  nodeFactsFrom,
  nodeNicAnnotation,
  readyNodesByService,
  servicesWithIps,
} from './layer2-inputs.ts';
import {
  EVENT_NODE_ASSIGNED,
  type VisibilityAction,
  desiredAnnouncements,
  electionMembers,
  isUnownedWriter,
  planNics,
  visibilityActions,
} from './layer2-plan.ts';

export interface Layer2ControllerOptions {
  membershipLeaseDurationMs?: number;
  membershipRetryPeriodMs?: number;
  /** How often NIC facts are re-read from /sys and /proc (NICs have no watch here). Default 5 s. */
  nicRefreshMs?: number;
  /** Announcer timings (tests shorten the burst); defaults are the announcer's. */
  announcer?: { burstCount?: number; burstIntervalMs?: number; refreshMs?: number; probeMs?: number };
  /** NIC facts source (tests); default the current network namespace. */
  readNicFacts?: () => NicFacts;
  /** Segment beacons; omitted or enabled=false: liveness from the membership Leases alone. */
  beacons?: {
    enabled?: boolean;
    intervalMs: number;
    deadlineMs: number;
    /** Name of the key Secret in the speakers' namespace. */
    keySecret?: string;
    /** Key source (tests); default the Secret. */
    keys?: KeyProvider;
    /** Socket side (tests); default AF_PACKET sockets. */
    ports?: (onBeacon: Parameters<NonNullable<ConstructorParameters<typeof Liveness>[0]['ports']>>[0]) => BeaconPorts;
  };
}

/** Metric names, for docs and tests. */
export const LAYER2_METRICS = {
  owned: 'openelb_layer2_ip_owned',
  elections: 'openelb_layer2_ips',
  alive: 'openelb_membership_alive_speakers',
  renewing: 'openelb_membership_renewing',
  cannotServe: 'openelb_layer2_cannot_serve_eip',
  conflicts: 'openelb_layer2_conflicts_total',
  reconciles: 'openelb_layer2_reconciles_total',
  reconcileErrors: 'openelb_layer2_reconcile_errors_total',
  serviceWrites: 'openelb_layer2_service_writes_total',
  wireResolutions: 'openelb_layer2_wire_resolutions_total',
} as const;

const DEFAULT_NIC_REFRESH_MS = 5000;
const RETRY_AFTER_ERROR_MS = 1000;
const MAX_WRITES_IN_FLIGHT = 4;
/**
 * After a claim by a speaker that may not serve the IP by our API view, how long the API watch gets
 * to bring our views together before we re-announce an IP we still own. Watch events arrive within
 * tens of ms here, up to a few hundred on a starved machine; ARP/ND entries live for tens of seconds.
 */
const RECHECK_CLAIM_AFTER_MS = 1000;
/** At most one re-announce per IP after rechecks in this long (reannounceAfterRecheck in wire-conflict.ts). */
const RECHECK_HOLD_DOWN_MS = 10_000;

export class Layer2Controller implements Controller {
  private readonly membership: Membership;
  private readonly announcer: Announcer;
  private readonly conflicts: ConflictReporter;
  private readonly keySource: BeaconKeySource | undefined;
  private readonly liveness: Liveness | undefined;
  private yields = new Map<string, Yield>(); // ip -> the speaker we yielded it to on the wire
  private readonly reassert = new Set<string>(); // IPs to announce again (we kept them on the wire)
  private readonly rechecks = new Map<string, NodeJS.Timeout>(); // ip -> re-announce if still ours (views differed)
  private readonly recheckAnnounced = new Map<string, number>(); // ip -> when a recheck last re-announced it
  private roundClaims: readonly IpClaim[] = []; // the claims last elected
  private claimsOf: Map<string, IpClaim[]> | undefined; // ip -> its roundClaims, grouped on the first wire claim judged
  private nodeFacts: ReadonlyMap<string, NodeFacts> = new Map();
  private eipOf = new Map<string, string>();
  private roster = new Set<string>();
  private readonly readFacts: () => NicFacts;
  private facts: NicFacts | undefined;
  private factsSig = '';
  private previous: Map<string, Election> | undefined;
  private poolsKey = '';
  private pools: Layer2Pool[] = [];
  private holders = new Map<string, Layer2Pool[]>();
  private lastReconcileAt = -Infinity;
  private lastReconcileMs = 0;
  private readonly memo = new ElectionMemo();
  private servicesOf = new Map<string, ServiceView[]>();
  private owned = new Map<string, string>(); // ip -> nic, as last given to the announcer
  private readonly inFlight = new Map<string, string>(); // "svcKey\0annotation" -> value being written
  private readonly unsubscribe: Array<() => void> = [];
  private readonly writeQueue: Array<() => Promise<void>> = [];
  private writesInFlight = 0;
  private nicTimer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private visibilityScheduled = false;
  private started = false;
  private stopped = false;
  private synced = false;
  private reconciled = false;
  private readonly m: {
    elections: Gauge;
    alive: Gauge;
    renewing: Gauge;
    cannotServe: Gauge;
    conflicts: ReturnType<SpeakerContext['registry']['counter']>;
    reconciles: ReturnType<SpeakerContext['registry']['counter']>;
    reconcileErrors: ReturnType<SpeakerContext['registry']['counter']>;
    serviceWrites: ReturnType<SpeakerContext['registry']['counter']>;
    wireResolutions: ReturnType<SpeakerContext['registry']['counter']>;
  };

  constructor(
    readonly ctx: SpeakerContext,
    readonly opts: Layer2ControllerOptions = {},
  ) {
    this.membership = new Membership({
      client: ctx.client,
      namespace: ctx.namespace,
      nodeName: ctx.nodeName,
      ...(opts.membershipLeaseDurationMs !== undefined ? { leaseDurationMs: opts.membershipLeaseDurationMs } : {}),
      ...(opts.membershipRetryPeriodMs !== undefined ? { retryPeriodMs: opts.membershipRetryPeriodMs } : {}),
    });
    this.announcer = new Announcer({
      registry: ctx.registry,
      ...(opts.announcer ?? {}),
      onConflict: (c) => this.onConflict(c),
      onClaim: (c) => this.onClaim(c),
      onStateChange: (ip, s) => this.onStateChange(ip, s),
    });
    this.conflicts = new ConflictReporter({ nodeName: ctx.nodeName, events: ctx.events, servicesOf: (ip) => this.servicesOf.get(ip) ?? [] });
    this.readFacts = opts.readNicFacts ?? (() => readNicFacts());
    const b = opts.beacons;
    if (b && b.enabled !== false) {
      const keys = b.keys ?? (this.keySource = new BeaconKeySource({ client: ctx.client, namespace: ctx.namespace, ...(b.keySecret ? { secretName: b.keySecret } : {}) }));
      this.liveness = new Liveness({
        nodeName: ctx.nodeName,
        intervalMs: b.intervalMs,
        deadlineMs: b.deadlineMs,
        // A NIC silent for a whole Lease duration is judged by the Leases again: by then a peer
        // that crashed has also lost its Lease, so the switch never revives the dead.
        fallbackAfterMs: this.membership.timings.leaseDurationMs,
        keys,
        registry: ctx.registry,
        ...(b.ports ? { ports: b.ports } : {}),
      });
    }
    const r = ctx.registry;
    // Read from `owned` at each scrape: a stored series per owned IP would cost ~0.4 KB each.
    this.unsubscribe.push(r.collected(LAYER2_METRICS.owned, 'External IPs this node is elected to announce (1 per IP, labelled with the NIC)', 'gauge', () => ownedSeries(this.owned)));
    this.m = {
      elections: r.gauge(LAYER2_METRICS.elections, 'External IPs by election outcome as seen by this node (self, other, none)'),
      alive: r.gauge(LAYER2_METRICS.alive, 'Speakers with a live membership Lease, as seen by this node'),
      renewing: r.gauge(LAYER2_METRICS.renewing, '1 while this node renews its membership Lease'),
      cannotServe: r.gauge(LAYER2_METRICS.cannotServe, 'Eips this node has no usable NIC for (1 per Eip)'),
      conflicts: r.counter(LAYER2_METRICS.conflicts, 'Another host was seen claiming an IP this node owns, by phase'),
      reconciles: r.counter(LAYER2_METRICS.reconciles, 'Layer 2 reconcile rounds'),
      reconcileErrors: r.counter(LAYER2_METRICS.reconcileErrors, 'Layer 2 reconcile rounds that failed (a bug; retried after 1 s)'),
      serviceWrites: r.counter(LAYER2_METRICS.serviceWrites, 'Service annotation writes (announcer visibility), by result'),
      wireResolutions: r.counter(LAYER2_METRICS.wireResolutions, 'Another speaker claimed an IP we announce (views disagreed), by action: kept (we rank higher), yielded, or deferred (our API views differed)'),
    };
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const inf = this.ctx.informers;
    const sources = [inf.services(), inf.eips(), inf.nodes(), inf.endpointSlices()];
    for (const s of sources) this.unsubscribe.push(s.onChange(() => this.schedule()));
    this.unsubscribe.push(this.membership.onChange(() => this.schedule()));
    this.membership.start();
    if (this.liveness) {
      this.unsubscribe.push(this.liveness.onChange(() => this.schedule()));
      this.keySource?.start();
      this.liveness.start();
    }
    this.refreshFacts();
    this.nicTimer = setInterval(() => {
      if (this.refreshFacts()) this.schedule();
      this.m.renewing.set({}, this.membership.renewing ? 1 : 0);
      this.publishLeaseOnly();
    }, this.opts.nicRefreshMs ?? DEFAULT_NIC_REFRESH_MS);
    // Announce nothing before every cache has listed and our own Lease is written: a partial view
    // would elect from too few Services or too few peers.
    void Promise.all([...sources.map((s) => s.whenSynced()), this.membership.whenReady()])
      .then(() => {
        if (this.stopped) return;
        this.synced = true;
        log.info('layer2: caches synced and membership ready', { node: this.ctx.nodeName });
        this.schedule();
      })
      .catch((err) => {
        if (!this.stopped) log.error('layer2: start failed', { error: describeError(err) });
      });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    if (this.nicTimer) clearInterval(this.nicTimer);
    for (const t of this.rechecks.values()) clearTimeout(t);
    this.rechecks.clear();
    this.conflicts.stop();
    // Stop answering first, then tell peers: they must not see us dead while we still answer for long,
    // and a released Lease makes them take over without waiting for expiry.
    await this.announcer.close();
    this.liveness?.leave();
    this.liveness?.close();
    this.keySource?.stop();
    if (this.started) await this.membership.release();
  }

  /** Crash-like stop for tests: stop answering and renewing without releasing the Lease. */
  async abandon(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    if (this.nicTimer) clearInterval(this.nicTimer);
    for (const t of this.rechecks.values()) clearTimeout(t);
    this.rechecks.clear();
    this.conflicts.stop();
    await this.announcer.close();
    this.liveness?.close();
    this.keySource?.stop();
    await this.membership.abandon();
  }

  ready(): { ok: boolean; detail: string } {
    if (!this.synced) return { ok: false, detail: 'layer2: waiting for caches and the membership Lease' };
    if (!this.reconciled) return { ok: false, detail: 'layer2: first reconcile pending' };
    const leaseOnly = this.liveness?.leaseOnlyNics() ?? [];
    const wire = !this.liveness ? 'beacons off' : leaseOnly.length ? `Lease-only liveness on ${leaseOnly.join(', ')}` : 'beacons on every NIC';
    return { ok: true, detail: `layer2: announcing ${this.owned.size} IP(s), ${this.membership.alive().size} speaker(s) in the roster, ${wire}` };
  }

  /** IPs this node announces now (ip -> NIC). For tests and diagnostics. */
  ownedIps(): Map<string, string> {
    return new Map(this.owned);
  }

  // --- reconcile ---------------------------------------------------------------------------

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    // One round per event-loop turn, however many caches changed in it; after a round, a rest in
    // proportion to its cost (reconcile-pacing.ts), since a round is O(Services): a burst of changes
    // (IPAM assigning 1,000 Services) cannot starve the rest, and in a small cluster a change that
    // takes an IP from us is applied at once. After a quiet spell (a failover) the round runs at once.
    const wait = reconcileDelayMs(performance.now(), this.lastReconcileAt, this.lastReconcileMs);
    const run = () => {
      this.scheduled = false;
      const t0 = performance.now();
      this.lastReconcileAt = t0;
      this.lastReconcileMs = 0;
      if (this.stopped || !this.synced) return;
      try {
        this.reconcile();
        this.lastReconcileMs = performance.now() - t0;
      } catch (err) {
        // A bug, not an input problem (inputs are validated by the pure plan): log it and try again
        // soon rather than waiting for the next API change, which may never come.
        log.error('layer2 reconcile failed; retrying', { error: String((err as Error)?.stack ?? err) });
        this.m.reconcileErrors.inc();
        setTimeout(() => this.schedule(), RETRY_AFTER_ERROR_MS).unref?.();
      }
    };
    if (wait > 0) setTimeout(run, wait);
    else setImmediate(run);
  }

  /** Re-reads NIC facts; true when what chooseNic sees changed. */
  private refreshFacts(): boolean {
    let facts: NicFacts;
    try {
      facts = this.readFacts();
    } catch (err) {
      log.warn('layer2: reading NIC facts failed; keeping the last ones', { error: describeError(err) });
      return false;
    }
    const sig = JSON.stringify(facts, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    if (sig === this.factsSig) return false;
    this.factsSig = sig;
    this.facts = facts;
    return true;
  }

  private reconcile(): void {
    const self = this.ctx.nodeName;
    const inf = this.ctx.informers;
    this.m.reconciles.inc();

    const eips = inf.eips().list();
    const poolsKey = JSON.stringify(eips.map((e) => [e.metadata.name, e.metadata.resourceVersion]));
    if (poolsKey !== this.poolsKey) {
      this.poolsKey = poolsKey;
      this.pools = layer2Pools(eips);
      this.holders = new Map();
    }
    const pools = this.pools;
    const services = servicesWithIps(inf.services().list());
    if (this.holders.size > 4 * services.length + 1024) this.holders = new Map(); // IPs long gone
    const ready = readyNodesByService(inf.endpointSlices().list());
    const { claims, eipOf, servicesOf, unclaimed } = buildClaims(services, pools, ready, this.holders);
    const nodes = inf.nodes().list();
    const nodeFacts = nodeFactsFrom(nodes);
    this.nodeFacts = nodeFacts;
    // Only a wire claim (rare) needs them grouped by IP: group then, not every round.
    this.roundClaims = claims;
    this.claimsOf = undefined;
    const selfNode = nodes.find((n) => n.metadata?.name === self);

    const nics = planNics(pools, this.facts ?? { nics: [], routes: [], addresses: [] }, self, nodeNicAnnotation(selfNode));
    this.membership.setCannotServe(nics.cannotServe);
    this.m.cannotServe.removeMatching({});
    for (const e of nics.cannotServe) this.m.cannotServe.set({ eip: e }, 1);

    const alive = this.membership.alive();
    this.roster = alive;
    this.eipOf = eipOf;
    const poolNics = new Map<string, string>();
    const macs = new Map<string, string>();
    for (const [eip, ch] of nics.byEip) {
      if (!ch.ok) continue;
      poolNics.set(eip, ch.nic);
      macs.set(ch.nic, ch.mac);
    }
    this.membership.setAnnotation(MACS_ANNOTATION, macs.size ? formatMacs(macs) : undefined);
    const liveness = this.liveness;
    liveness?.setInputs({ roster: alive, poolNics });
    // A roster member not heard on a pool's segment cannot serve that pool, as far as we can tell.
    const silentPools = (node: string): string[] => {
      if (!liveness) return [];
      const out: string[] = [];
      for (const pool of poolNics.keys()) if (!liveness.aliveFor(pool)?.has(node)) out.push(pool);
      return out;
    };
    const members = electionMembers(alive, self, nics.cannotServe, (n) => {
      const silent = silentPools(n);
      const declared = this.membership.cannotServe(n);
      return silent.length ? new Set([...declared, ...silent]) : declared;
    });
    const elections = this.memo.elect(claims, members, nodeFacts);
    const desired = desiredAnnouncements({ self, elections, eipOf, nics: nics.byEip, previous: this.previous });
    this.previous = elections;
    this.servicesOf = servicesOf;
    // Yields on the wire stay in force until the views agree again (wire-conflict.ts).
    this.yields = yieldsInForce(this.yields, alive, (pool) => liveness?.aliveFor(pool));
    for (const ip of this.yields.keys()) desired.delete(ip);

    const before = this.owned;
    announceOwned(this.announcer, desired, before, this.reassert); // and re-announce IPs we kept against a claim
    this.reassert.clear();
    this.owned = new Map([...desired].map(([ip, a]) => [ip, a.nic]));
    for (const ip of this.recheckAnnounced.keys()) if (!this.owned.has(ip)) this.recheckAnnounced.delete(ip);
    this.logOwnershipChanges(before, this.owned);

    // Metrics: outcome counts, alive count (ownership per IP is read from `owned` when scraped).
    let mine = 0;
    let other = 0;
    let none = 0;
    for (const e of elections.values()) {
      if (e.node === self) mine++;
      else if (e.node === undefined) none++;
      else other++;
    }
    this.m.elections.set({ owner: 'self' }, mine);
    this.m.elections.set({ owner: 'other' }, other);
    this.m.elections.set({ owner: 'none' }, none);
    this.m.alive.set({}, alive.size);
    this.m.renewing.set({}, this.membership.renewing ? 1 : 0);
    for (const u of unclaimed) log.debug('layer2: ingress IP not announced', { ...u });
    if (!this.reconciled) {
      this.reconciled = true;
      log.info('layer2: first reconcile', { node: self, owned: [...this.owned.keys()], alive: [...alive].sort() });
    }

    this.applyVisibility(elections, alive);
  }

  private logOwnershipChanges(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): void {
    for (const [ip, nic] of after) {
      if (before.get(ip) !== nic) log.info('layer2: announcing', { ip, nic, node: this.ctx.nodeName });
    }
    for (const ip of before.keys()) if (!after.has(ip)) log.info('layer2: withdrawn', { ip, node: this.ctx.nodeName });
  }

  // --- visibility --------------------------------------------------------------------------

  private applyVisibility(elections: ReadonlyMap<string, Election>, alive: ReadonlySet<string>): void {
    const answering = new Map<string, string>();
    const states = this.announcer.states();
    for (const [ip, nic] of this.owned) {
      const st = states.get(ip)?.state;
      if (st === 'announcing') answering.set(ip, nic);
    }
    const actions = visibilityActions({
      self: this.ctx.nodeName,
      elections,
      servicesOf: this.servicesOf,
      answering,
      unownedWriter: isUnownedWriter(this.ctx.nodeName, alive),
    });
    for (const a of actions) this.apply(a);
  }

  private apply(a: VisibilityAction): void {
    const target = targetOf({ kind: 'Service', apiVersion: 'v1', metadata: { name: a.service.name, namespace: a.service.namespace, ...(a.service.uid ? { uid: a.service.uid } : {}) } }, { kind: 'Service', apiVersion: 'v1' });
    const slotOf = `${a.event.reason}/${a.ip}`;
    // "Nobody announces": the reason can change while the annotation stays `none`, so the event goes
    // through the recorder's dedupe (one per distinct message) and the patch only sets the value.
    const eventAfterPatch = a.event.reason === EVENT_NODE_ASSIGNED;
    if (!eventAfterPatch) void this.ctx.events.emit(target, a.event.type, a.event.reason, a.event.message, slotOf);
    if (!a.needsPatch) return;
    const slot = `${a.service.key}\u0000${a.annotationKey}`;
    if (this.inFlight.get(slot) === a.annotationValue) return;
    this.inFlight.set(slot, a.annotationValue);
    this.enqueueWrite(() => this.write(a, target, slot, slotOf, eventAfterPatch));
  }

  /**
   * Visibility writes go through a small queue: a takeover of hundreds of IPs must not fire hundreds
   * of PATCHes and Events at once (the API server answers 429, and the burst competes with the
   * Lease renewals that keep us alive). Writes are never on the failover path.
   */
  private enqueueWrite(job: () => Promise<void>): void {
    this.writeQueue.push(job);
    this.pumpWrites();
  }

  private pumpWrites(): void {
    while (this.writesInFlight < MAX_WRITES_IN_FLIGHT && this.writeQueue.length > 0 && !this.stopped) {
      const job = this.writeQueue.shift()!;
      this.writesInFlight++;
      void job().finally(() => {
        this.writesInFlight--;
        this.pumpWrites();
      });
    }
  }

  private async write(a: VisibilityAction, target: ReturnType<typeof targetOf>, slot: string, slotOf: string, eventAfterPatch: boolean): Promise<void> {
    // Still true? Ownership may have moved while this waited in the queue.
    const e = this.previous?.get(a.ip);
    const stillTrue = eventAfterPatch ? this.owned.get(a.ip) !== undefined && `${this.ctx.nodeName}/${this.owned.get(a.ip)}` === a.annotationValue : e !== undefined && e.node === undefined;
    if (!stillTrue) {
      if (this.inFlight.get(slot) === a.annotationValue) this.inFlight.delete(slot);
      return;
    }
    await this.patchAnnotation(this.ctx.client, a.service, a.annotationKey, a.annotationValue)
      .then(async (ok) => {
        this.m.serviceWrites.inc({ result: ok ? 'ok' : 'error' });
        if (!ok || !eventAfterPatch) return;
        // A new owner or NIC: say so once. Forget earlier events of this Service first, so an owner
        // that comes back (failback) reports again instead of being deduped against its old message.
        this.ctx.events.forget(target);
        await this.ctx.events.emit(target, a.event.type, a.event.reason, a.event.message, slotOf);
      })
      .finally(() => {
        // Keep the marker until the cache shows the value (or a later write replaced it), so the
        // rounds in between do not write again.
        setTimeout(() => {
          if (this.inFlight.get(slot) === a.annotationValue) this.inFlight.delete(slot);
        }, 2000).unref?.();
      });
  }

  private async patchAnnotation(client: KubeClient, svc: ServiceView, key: string, value: string): Promise<boolean> {
    try {
      await client.patchService(svc.namespace, svc.name, { metadata: { annotations: { [key]: value } } });
      return true;
    } catch (err) {
      if (!isNotFound(err)) {
        log.warn('layer2: cannot write the announcer annotation', { service: svc.key, annotation: key, error: describeError(err) });
      }
      return false;
    }
  }

  // --- announcer callbacks -----------------------------------------------------------------

  /** Says on our Lease which NICs fell back to Lease-only liveness for a whole fallback window (doctor reads it). */
  private publishLeaseOnly(): void {
    if (!this.liveness || !this.synced) return;
    const nics = this.liveness.settledLeaseOnlyNics();
    this.membership.setAnnotation(LEASE_ONLY_ANNOTATION, nics.length ? nics.join(',') : undefined);
  }

  /** The speaker using `mac` on `nic`: from verified beacons first, else from the roster's MAC annotations. */
  private speakerOfMac(nic: string, mac: string): string | undefined {
    const heard = this.liveness?.nodeOfMac(nic, mac);
    if (heard) return heard;
    for (const node of this.roster) {
      const a = this.membership.annotationsOf(node)?.[MACS_ANNOTATION];
      if (a && [...parseMacs(a).values()].includes(mac)) return node;
    }
    return undefined;
  }

  /**
   * Every claim of an IP we announce (unbounded, from the announcer): another speaker's claim is
   * settled on the wire here, each time. The announcer's conflict reports are bounded per source
   * MAC, and one speaker taking over many IPs is one MAC: deciding from reports would leave IPs
   * beyond that bound answered by two nodes.
   */
  private onClaim(c: Conflict): void {
    if (!this.owned.has(c.ip)) return;
    const verdict = this.judge(c);
    if (verdict.action === 'yield') {
      const pool = this.eipOf.get(c.ip) ?? '';
      this.yields.set(c.ip, { to: verdict.to, pool });
      this.m.wireResolutions.inc({ action: 'yielded' });
      log.info('layer2: another speaker announces this IP and ranks higher for it; yielding until our views agree', { ip: c.ip, to: verdict.to, node: this.ctx.nodeName });
      this.schedule();
    } else if (verdict.action === 'keep') {
      this.m.wireResolutions.inc({ action: 'kept' });
      log.info('layer2: another speaker announces this IP; we rank higher and keep it', { ip: c.ip, mac: c.mac, node: this.ctx.nodeName });
      this.reassert.add(c.ip);
      this.schedule();
    } else if (verdict.action === 'recheck') {
      this.m.wireResolutions.inc({ action: 'deferred' });
      log.info('layer2: another speaker announces this IP, which it may not serve by our view: our API views differ; following our own view', { ip: c.ip, mac: c.mac, node: this.ctx.nodeName, recheckMs: RECHECK_CLAIM_AFTER_MS });
      if (this.rechecks.has(c.ip)) return;
      const t = setTimeout(() => {
        this.rechecks.delete(c.ip);
        // Still ours once the views had time to agree: the claimant was the one behind and has
        // withdrawn (or will); bring back the clients its announcements pulled away.
        const now = performance.now();
        if (this.stopped || !reannounceAfterRecheck(this.owned.has(c.ip), this.recheckAnnounced.get(c.ip), now, RECHECK_HOLD_DOWN_MS)) return;
        this.recheckAnnounced.set(c.ip, now);
        this.reassert.add(c.ip);
        this.schedule();
      }, RECHECK_CLAIM_AFTER_MS);
      t.unref?.();
      this.rechecks.set(c.ip, t);
    }
  }

  /** The wire-conflict verdict on a claim of an IP we announce (wire-conflict.ts), from our current view. */
  private judge(c: Conflict): ClaimVerdict {
    const claimant = this.speakerOfMac(c.nic, c.mac);
    // Liveness aside on purpose: a claimant we do not hear is the case the rank rule is for.
    const mayServe = claimant !== undefined && mayAnnounce(this.claimsOfIp(c.ip), claimant, this.membership.cannotServe(claimant), this.nodeFacts);
    return judgeClaim(c.ip, this.ctx.nodeName, claimant, mayServe);
  }

  private claimsOfIp(ip: string): readonly IpClaim[] {
    if (!this.claimsOf) {
      this.claimsOf = new Map();
      for (const c of this.roundClaims) {
        const g = this.claimsOf.get(c.ip);
        if (g) g.push(c);
        else this.claimsOf.set(c.ip, [c]);
      }
    }
    return this.claimsOf.get(ip) ?? [];
  }

  /** A bounded report of a claim (or a probe conflict): Events and logs, unless a peer speaker made it (onClaim settles those). */
  private onConflict(c: Conflict): void {
    if (c.phase === 'announced' && this.owned.has(c.ip) && this.judge(c).action !== 'foreign') return;
    this.m.conflicts.inc({ phase: c.phase });
    this.conflicts.report(c);
  }


  private onStateChange(_ip: string, s: AnnounceState): void {
    // Reaching 'announcing' (after a probe) is when the annotation becomes true: one coalesced
    // visibility pass for all IPs that got there in this turn.
    if (s !== 'announcing' || this.visibilityScheduled || this.stopped) return;
    this.visibilityScheduled = true;
    setImmediate(() => {
      this.visibilityScheduled = false;
      if (this.previous && !this.stopped) this.applyVisibility(this.previous, this.membership.alive());
    });
  }
}

function* ownedSeries(owned: ReadonlyMap<string, string>): Generator<readonly [Record<string, string>, number]> {
  for (const [ip, nic] of owned) yield [{ ip, nic }, 1];
}
