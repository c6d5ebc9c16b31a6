// Who is alive: every speaker holds its own membership Lease (`openelb-speaker-<node>`, holder =
// node name) and renews it every retry period; every speaker watches all of them. The steady-state
// write load is one renew per node per period, independent of the number of Services (SPEC §2;
// Cilium #26586 and kube-vip #563 are what a Lease per Service costs).
//
// Who counts as alive is judged by a pure function (membership-liveness.ts: local observation
// time, fail-static while the watch is not provably current); our own Lease is renewed through
// the LeaseStore shared with the IPAM election (lease-store.ts). This class only wires the two
// to the watch, timers and listeners.
//
// Facts peers need (e.g. which Eips this node cannot serve because it has no NIC for them) ride
// as annotations on the same Lease, written with the next renewal: no extra writes.
import type { V1Lease } from '@kubernetes/client-node';
import { log } from '../log.ts';
import type { KubeClient } from './client.ts';
import { describeError } from './errors.ts';
import { type Informer, leaseInformer } from './informer.ts';
import { leaseRecordOf } from './lease-object.ts';
import { type Clock, LeaseStore, systemClock } from './lease-store.ts';
import { type LivenessView, emptyLiveness, judgeLiveness } from './membership-liveness.ts';

export const MEMBERSHIP_LABEL_KEY = 'app.kubernetes.io/component';
export const MEMBERSHIP_LABEL_VALUE = 'speaker-membership';
export const MEMBERSHIP_SELECTOR = `${MEMBERSHIP_LABEL_KEY}=${MEMBERSHIP_LABEL_VALUE}`;
/** Comma-separated Eip names whose NIC this node cannot find (so it must not be chosen for them). */
export const CANNOT_SERVE_ANNOTATION = 'openelb.kubesphere.io/cannot-serve';

export const membershipLeaseName = (node: string): string => `openelb-speaker-${node}`;

export interface MembershipTimings {
  /** A member not seen renewing for this long is dead. */
  leaseDurationMs: number;
  /** Renewal period; at least two renewals must fit in a duration. */
  retryPeriodMs: number;
}

// Crash failover within 2 s (SPEC §2): detection takes at most one duration after the last renew
// we saw, and a member gets three chances to renew within it.
export const defaultMembershipTimings: MembershipTimings = { leaseDurationMs: 1500, retryPeriodMs: 500 };

export function membershipTimingProblems(t: MembershipTimings): string[] {
  const p: string[] = [];
  if (!(Number.isFinite(t.leaseDurationMs) && t.leaseDurationMs > 0)) p.push('lease duration must be a positive number of ms');
  if (!(Number.isFinite(t.retryPeriodMs) && t.retryPeriodMs > 0)) p.push('retry period must be a positive number of ms');
  if (p.length) return p;
  if (t.retryPeriodMs < 10) p.push(`retry period ${t.retryPeriodMs} ms is below 10 ms`);
  if (t.leaseDurationMs > 3_600_000) p.push(`lease duration ${t.leaseDurationMs} ms is over 1 h`);
  if (t.retryPeriodMs * 2 > t.leaseDurationMs) {
    p.push(`retry period (${t.retryPeriodMs} ms) must be at most half the lease duration (${t.leaseDurationMs} ms)`);
  }
  return p;
}

/** Parses the cannot-serve annotation into Eip names. Pure. */
export function parseNameList(v: string | undefined): Set<string> {
  return new Set((v ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}

/** Canonical text for a set of names (sorted, so equal sets give equal text and no rewrite). */
export function formatNameList(names: Iterable<string>): string {
  return [...new Set(names)].filter(Boolean).sort().join(',');
}

export interface Member {
  node: string;
  lease: string;
  alive: boolean;
  self: boolean;
  annotations: Record<string, string>;
}

export interface MembershipOptions extends Partial<MembershipTimings> {
  client: KubeClient;
  /** The speakers' namespace. */
  namespace: string;
  nodeName: string;
  /** Share an existing informer (it must use MEMBERSHIP_SELECTOR); else one is made. */
  informer?: Informer<V1Lease>;
  /** Injected for tests; the system's monotonic and wall clocks by default. */
  clock?: Clock;
}

export class Membership {
  readonly timings: MembershipTimings;
  readonly leaseName: string;
  readonly informer: Informer<V1Lease>;
  private readonly o: MembershipOptions;
  private readonly ownInformer: boolean;
  private readonly clock: Clock;
  // Our own Lease
  private readonly store: LeaseStore;
  private lastRenewOkSentAt: number | undefined;
  private readonly facts = new Map<string, string | undefined>(); // annotations we manage
  // Peers
  private view: LivenessView = emptyLiveness;
  private signature = '';
  private aliveSet = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private unsubscribe: Array<() => void> = [];
  // Loop
  private started = false;
  private stopping = false;
  private kicked = false;
  private wakeNap: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;

  constructor(opts: MembershipOptions) {
    this.o = opts;
    this.timings = {
      leaseDurationMs: opts.leaseDurationMs ?? defaultMembershipTimings.leaseDurationMs,
      retryPeriodMs: opts.retryPeriodMs ?? defaultMembershipTimings.retryPeriodMs,
    };
    const problems = membershipTimingProblems(this.timings);
    if (problems.length) throw new Error(`membership: ${problems.join('; ')}`);
    this.leaseName = membershipLeaseName(opts.nodeName);
    this.clock = opts.clock ?? systemClock;
    this.store = new LeaseStore({
      api: opts.client,
      namespace: opts.namespace,
      name: this.leaseName,
      identity: opts.nodeName,
      durationMs: this.timings.leaseDurationMs,
      labels: { [MEMBERSHIP_LABEL_KEY]: MEMBERSHIP_LABEL_VALUE },
      clock: this.clock,
    });
    this.ownInformer = !opts.informer;
    this.informer = opts.informer ?? leaseInformer(opts.client, opts.namespace, { labelSelector: MEMBERSHIP_SELECTOR });
  }

  /** Start renewing our Lease and watching everyone's. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribe.push(this.informer.onChange(() => this.recompute()));
    this.unsubscribe.push(this.informer.onStatus(() => this.recompute()));
    if (this.ownInformer) this.informer.start();
    this.loopDone = this.loop();
  }

  /** Resolves once the watch has synced and our own Lease has been written. */
  async whenReady(signal?: AbortSignal): Promise<void> {
    await this.informer.whenSynced(signal);
    while (this.lastRenewOkSentAt === undefined) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      if (this.stopping) throw new Error('membership stopped');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Node names of alive members (this node included while its own Lease is seen alive). */
  alive(): Set<string> {
    return new Set(this.aliveSet);
  }

  isAlive(node: string): boolean {
    return this.aliveSet.has(node);
  }

  /** Every membership Lease we know, alive or not. */
  members(): Member[] {
    const out: Member[] = [];
    for (const lease of this.informer.list()) {
      const holder = lease.spec?.holderIdentity ?? '';
      const name = lease.metadata?.name ?? '';
      out.push({
        node: holder || nodeOfLease(name),
        lease: name,
        alive: holder !== '' && this.aliveSet.has(holder),
        self: name === this.leaseName,
        annotations: { ...(lease.metadata?.annotations ?? {}) },
      });
    }
    // Code-unit order, not localeCompare: the same on every node whatever its locale, and
    // localeCompare loads ICU's collation data (~3 MB of RSS per speaker, issue 12).
    return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /** A member's annotations as last seen (undefined if we have no Lease for that node). */
  annotationsOf(node: string): Record<string, string> | undefined {
    const lease = this.leaseOf(node);
    return lease ? { ...(lease.metadata?.annotations ?? {}) } : undefined;
  }

  /** Eips the node said it cannot serve. */
  cannotServe(node: string): Set<string> {
    return parseNameList(this.annotationsOf(node)?.[CANNOT_SERVE_ANNOTATION]);
  }

  /** Declare the Eips this node cannot serve; written with the next renewal, only if changed. */
  setCannotServe(eips: Iterable<string>): void {
    const v = formatNameList(eips);
    this.setAnnotation(CANNOT_SERVE_ANNOTATION, v === '' ? undefined : v);
  }

  /** Set (or with undefined, remove) an annotation on our Lease. Written promptly when it changes. */
  setAnnotation(key: string, value: string | undefined): void {
    // Compare with what was last requested (or what the Lease has): repeated calls with the same
    // value from every reconcile must not cause extra writes.
    const prev = this.facts.has(key) ? this.facts.get(key) : this.store.object?.metadata?.annotations?.[key];
    this.facts.set(key, value);
    if (prev === value) return;
    this.kick(); // renew now instead of at the next period
  }

  /** Fires when the alive set or an alive member's annotations change (also on expiry timers). */
  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Our own renewals are succeeding (peers see us alive). For /readyz. */
  get renewing(): boolean {
    return (
      this.lastRenewOkSentAt !== undefined && this.clock.now() - this.lastRenewOkSentAt < this.timings.leaseDurationMs
    );
  }

  /** Graceful stop (SIGTERM): stop renewing and clear our holder so peers see us dead at once. */
  async release(): Promise<void> {
    await this.halt();
    const r = await this.store.release(Math.max(this.timings.leaseDurationMs, 1000));
    if (r.released) log.info('membership lease released', { lease: this.leaseName });
    else if (r.error) {
      log.warn('membership release failed; peers will notice after the lease duration', { lease: this.leaseName, error: r.error });
    }
    await this.teardown();
  }

  /** Stop renewing without releasing (a crash, for tests). */
  async abandon(): Promise<void> {
    await this.halt();
    await this.teardown();
  }

  private async halt(): Promise<void> {
    this.stopping = true;
    this.kick();
    await this.loopDone;
  }

  private async teardown(): Promise<void> {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    if (this.ownInformer) await this.informer.stop();
  }

  // --- our own Lease -----------------------------------------------------------------------

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.renewOnce();
      } catch (err) {
        log.error('membership renew iteration failed', { lease: this.leaseName, error: describeError(err) });
      }
      if (this.stopping) break;
      // A fact changed while we were writing: write again at once, else wait a period.
      if (!this.kicked) await this.nap(this.timings.retryPeriodMs);
    }
  }

  private kick(): void {
    this.kicked = true;
    this.wakeNap?.();
  }

  private nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.wakeNap = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakeNap = done;
    });
  }

  /** Annotations to write: what the Lease has, with the keys we manage set or removed. */
  private desiredAnnotations(base: V1Lease | undefined): Record<string, string> {
    const out: Record<string, string> = { ...(base?.metadata?.annotations ?? {}) };
    for (const [k, v] of this.facts) {
      if (v === undefined) delete out[k];
      else out[k] = v;
    }
    return out;
  }

  private async renewOnce(): Promise<void> {
    const deadline = Math.max(this.timings.retryPeriodMs, Math.min(this.timings.leaseDurationMs, 5000));
    this.kicked = false;
    const out = await this.store.tryAcquireOrRenew({
      timeoutMs: () => deadline,
      annotations: (base) => this.desiredAnnotations(base),
    });
    switch (out.kind) {
      case 'held':
        if (this.lastRenewOkSentAt === undefined) log.info('membership lease held', { lease: this.leaseName });
        this.lastRenewOkSentAt = out.sentAt;
        return;
      case 'heldByOther':
        // Another identity holds our node's Lease (a misconfigured second speaker on this node?).
        log.warn('membership lease held by someone else', { lease: this.leaseName, holder: out.holder });
        return;
      case 'lost':
        return; // someone wrote in between: read again next period
      case 'error':
        log.debug(`membership lease ${out.during} failed`, { lease: this.leaseName, error: describeError(out.error) });
        return;
    }
  }

  // --- everyone's Leases -------------------------------------------------------------------

  private leaseOf(node: string): V1Lease | undefined {
    const byName = this.informer.get(`${this.o.namespace}/${membershipLeaseName(node)}`);
    if (byName) return byName;
    return this.informer.list().find((l) => l.spec?.holderIdentity === node);
  }

  private recompute(): void {
    const now = this.clock.now();
    const leases = this.informer.list().map((l) => ({ name: l.metadata?.name ?? '', record: leaseRecordOf(l) }));
    const j = judgeLiveness(this.view, leases, this.leaseName, now, this.timings);
    this.view = j.view;
    if (j.resumedAfterGapMs !== undefined) {
      log.info('membership view resumed after a blind gap', { gapMs: Math.round(j.resumedAfterGapMs) });
    }
    const alive = j.alive;
    const sig = JSON.stringify(
      [...alive].sort().map((node) => {
        const a = this.leaseOf(node)?.metadata?.annotations ?? {};
        return [node, Object.keys(a).sort().map((k) => [k, a[k]])];
      }),
    );
    const changed = sig !== this.signature;
    this.signature = sig;
    this.aliveSet = alive;

    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (j.recheckInMs !== undefined && !this.stopping) {
      this.expiryTimer = setTimeout(() => this.recompute(), j.recheckInMs);
    }

    if (changed) {
      log.debug('membership changed', { alive: [...alive].sort() });
      for (const cb of this.listeners) {
        try {
          cb();
        } catch (err) {
          log.error('membership listener threw', { error: describeError(err) });
        }
      }
    }
  }
}

function nodeOfLease(name: string): string {
  const prefix = membershipLeaseName('');
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}
