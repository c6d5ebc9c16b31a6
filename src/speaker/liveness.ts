// Liveness on the wire, the imperative shell around alive-set.ts: sends this node's signed beacon
// every interval on each NIC it may announce on, verifies what it hears, feeds the pure core and
// tells the Layer 2 controller when the alive set of any pool changes. No API server is involved,
// so a peer that crashes during an API outage is still failed over.
//
// Timers: one steady send timer (interval ±10 % jitter, so speakers started together do not send in
// lock-step), and one judgement timer set to the next moment the judgement can change on its own
// (a deadline expiring). The judgement runs in a setImmediate after the timer fires: the event
// loop's poll phase, which reads the beacon sockets, runs between the two, so beacons that queued
// up while the loop was busy are counted before anyone is declared dead.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type BeaconKey, verifyBeacon, signBeacon } from '../l2/beacon-auth.ts';
import { type BeaconArrival, BeaconLinks } from '../l2/beacon-link.ts';
import { beaconFrame, fitPools } from '../l2/beacon.ts';
import { formatMac } from '../l2/mac.ts';
import { log } from '../log.ts';
import type { Registry } from '../observe/metrics.ts';
import {
  type BeaconView,
  type Judgement,
  type LivenessTimings,
  type NicMode,
  defaultLivenessTimings,
  emptyBeaconView,
  hearBeacon,
  judgeAlive,
  nodeOfMac,
  prune,
  tick,
} from './alive-set.ts';

export const LIVENESS_METRICS = {
  sent: 'openelb_beacons_sent_total',
  sentBytes: 'openelb_beacons_sent_bytes_total',
  received: 'openelb_beacons_received_total',
  leaseOnly: 'openelb_liveness_lease_only',
  heardNotInRoster: 'openelb_liveness_heard_without_lease',
} as const;

/** On a speaker's membership Lease: NICs where no peer beacon was heard for a whole fallback window. */
export const LEASE_ONLY_ANNOTATION = 'openelb.kubesphere.io/lease-only-nics';
/** On a speaker's membership Lease: `nic=mac` pairs, so a claim on the wire can be traced to a speaker. */
export const MACS_ANNOTATION = 'openelb.kubesphere.io/macs';

/** `eth0=52:54:00:00:00:01,eth1=...`, sorted by NIC. Pure. */
export function formatMacs(macs: ReadonlyMap<string, string>): string {
  return [...macs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([n, m]) => `${n}=${m}`).join(',');
}

export function parseMacs(v: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of v.split(',')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim().toLowerCase());
  }
  return out;
}

export interface KeyProvider {
  keys(): { signing: BeaconKey; accepted: BeaconKey[] } | undefined;
  onChange(cb: () => void): () => void;
}

/** Minimal socket side, so tests can run two Liveness instances over an in-memory segment. */
export interface BeaconPorts {
  setNics(names: Iterable<string>): void;
  /** Per NIC: whether the frame left (false: the link is down or the socket not open). */
  sendAll(frameFor: (nic: string, mac: Uint8Array) => Uint8Array | undefined): ReadonlyMap<string, boolean>;
  readonly stats: { sent: number; bytesSent: number };
  close(): void;
}

export interface LivenessOptions {
  nodeName: string;
  intervalMs: number;
  deadlineMs: number;
  /** A NIC with no peer heard for this long falls back to the roster (the Lease duration). */
  fallbackAfterMs: number;
  keys: KeyProvider;
  registry: Registry;
  /** Socket side; default real AF_PACKET sockets. */
  ports?: (onBeacon: (a: BeaconArrival) => void) => BeaconPorts;
  now?: () => number;
  wallNow?: () => number;
}

function randomU32(): number {
  const r = randomBytes(4);
  return ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0;
}

export interface LivenessInputs {
  /** Nodes with a live membership Lease. */
  roster: ReadonlySet<string>;
  /** Pool (Eip) -> our NIC for it, for the pools we can serve. */
  poolNics: ReadonlyMap<string, string>;
}

export class Liveness {
  readonly timings: LivenessTimings;
  private view: BeaconView = emptyBeaconView();
  private inputs: LivenessInputs = { roster: new Set(), poolNics: new Map() };
  private poolsByNic = new Map<string, string[]>();
  private readonly listeningSince = new Map<string, number>();
  private readonly linkDown = new Set<string>();
  private haveInputs = false;
  private judged: Judgement | undefined;
  private signature = '';
  private readonly incarnation = { startedAtMs: Date.now(), nonce: randomU32() };
  private seq = 0;
  private readonly ports: BeaconPorts;
  private sendTimer: NodeJS.Timeout | undefined;
  private judgeTimer: NodeJS.Timeout | undefined;
  private judgeSoon = false;
  private readonly listeners = new Set<() => void>();
  private readonly now: () => number;
  private readonly wallNow: () => number;
  private started = false;
  private closed = false;
  private readonly m;

  constructor(private readonly o: LivenessOptions) {
    this.timings = defaultLivenessTimings(o.deadlineMs, o.fallbackAfterMs);
    this.now = o.now ?? (() => performance.now());
    this.wallNow = o.wallNow ?? (() => Date.now());
    const onBeacon = (a: BeaconArrival) => this.onBeacon(a);
    this.ports = o.ports ? o.ports(onBeacon) : new BeaconLinks({ onBeacon });
    const r = o.registry;
    this.m = {
      sent: r.counter(LIVENESS_METRICS.sent, 'Segment beacons sent (all NICs)'),
      sentBytes: r.counter(LIVENESS_METRICS.sentBytes, 'Bytes of segment beacons sent, Ethernet header included'),
      received: r.counter(LIVENESS_METRICS.received, 'Segment beacons received, by result (accepted, restarted, replay, bad-tag, unknown-key, no-key, ...)'),
      leaseOnly: r.gauge(LIVENESS_METRICS.leaseOnly, '1 for a NIC where no peer beacon is heard, so its pools fall back to Lease-only liveness'),
      heardNotInRoster: r.gauge(LIVENESS_METRICS.heardNotInRoster, 'Speakers heard on the segment that have no live membership Lease (not counted alive)'),
    };
    o.keys.onChange(() => this.sendNow());
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    const loop = () => {
      if (this.closed) return;
      this.sendNow();
      const jitter = 0.9 + Math.random() * 0.2;
      this.sendTimer = setTimeout(loop, Math.max(10, this.o.intervalMs * jitter));
    };
    loop();
  }

  /** The roster and our pools' NICs changed (from the Layer 2 reconcile). */
  setInputs(inputs: LivenessInputs): void {
    this.inputs = inputs;
    const byNic = new Map<string, string[]>();
    for (const [pool, nic] of inputs.poolNics) {
      const l = byNic.get(nic);
      if (l) l.push(pool);
      else byNic.set(nic, [pool]);
    }
    const nicsChanged = [...byNic.keys()].sort().join() !== [...this.poolsByNic.keys()].sort().join();
    this.poolsByNic = byNic;
    const now = this.now();
    for (const nic of byNic.keys()) if (!this.listeningSince.has(nic)) this.listeningSince.set(nic, now);
    for (const nic of [...this.listeningSince.keys()]) {
      if (!byNic.has(nic)) {
        this.listeningSince.delete(nic);
        this.linkDown.delete(nic);
      }
    }
    if (nicsChanged) this.ports.setNics(byNic.keys());
    const first = !this.haveInputs;
    this.haveInputs = true;
    if (first) this.sendNow(); // peers hear us (with our pools) at once
    else this.rejudge();
  }

  /** Nodes alive for a pool, or undefined for a pool we cannot serve (no NIC for it here). */
  aliveFor(pool: string): ReadonlySet<string> | undefined {
    return this.judgement().alive.get(pool);
  }

  nicModes(): ReadonlyMap<string, NicMode> {
    return this.judgement().nicMode;
  }

  /** NICs in Lease-only fallback, sorted. */
  leaseOnlyNics(): string[] {
    return [...this.judgement().nicMode].filter(([, m]) => m === 'lease-only').map(([n]) => n).sort();
  }

  /** NICs in Lease-only fallback for a whole fallback window of listening: a lasting condition worth reporting. */
  settledLeaseOnlyNics(): string[] {
    const now = this.now();
    return this.leaseOnlyNics().filter((n) => now - (this.listeningSince.get(n) ?? now) >= this.timings.fallbackAfterMs);
  }

  /** The speaker whose verified beacon used `mac` on `nic`. */
  nodeOfMac(nic: string, mac: string): string | undefined {
    return nodeOfMac(this.view, nic, mac);
  }

  /** Beacons are being signed (a key is loaded). */
  get keyed(): boolean {
    return this.o.keys.keys() !== undefined;
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Graceful stop: tell peers on every NIC that we are leaving (twice, in case one is lost). */
  leave(): void {
    if (this.closed) return;
    this.sendNow(true);
    this.sendNow(true);
  }

  close(): void {
    this.closed = true;
    if (this.sendTimer) clearTimeout(this.sendTimer);
    if (this.judgeTimer) clearTimeout(this.judgeTimer);
    this.ports.close();
  }

  // -----------------------------------------------------------------------------------------

  private judgement(): Judgement {
    if (!this.judged) this.rejudge();
    return this.judged!;
  }

  private sendNow(leaving = false): void {
    if (this.closed) return;
    const now = this.now();
    const t = tick(this.view, now, this.timings);
    if (t.blindGapMs > 0) log.info('liveness: resumed after a gap; peers get a fresh deadline', { gapMs: Math.round(t.blindGapMs) });
    this.view = prune(t.view, now, Math.max(this.timings.fallbackAfterMs, this.timings.forgetIncarnationAfterMs) * 2);
    const keys = this.o.keys.keys();
    // Nothing to say before the first reconcile told us our pools: an empty pool list would read
    // as "serves nothing" for a moment.
    if (keys && this.haveInputs) {
      const before = this.ports.stats;
      const sent0 = before.sent;
      const bytes0 = before.bytesSent;
      const wall = this.wallNow();
      const sent = this.ports.sendAll((nic, mac) => {
        const { pools, poolsUnlisted } = fitPools(this.o.nodeName, this.poolsByNic.get(nic) ?? []);
        this.seq = (this.seq + 1) >>> 0;
        const payload = signBeacon(
          { leaving, poolsUnlisted, intervalMs: Math.min(0xffff, this.o.intervalMs), incarnation: this.incarnation, seq: this.seq, sentAtMs: wall, node: this.o.nodeName, pools },
          keys.signing,
          mac,
        );
        return beaconFrame(mac, payload);
      });
      this.noteLinks(sent, now);
      this.m.sent.inc({}, this.ports.stats.sent - sent0);
      this.m.sentBytes.inc({}, this.ports.stats.bytesSent - bytes0);
    }
    this.rejudge();
  }

  /**
   * While our own link is down we hear nobody, and that silence says nothing about the peers: the
   * NIC is judged by the roster (as in warm-up) until it is back and has listened for a deadline.
   * Without this a node whose link flapped would take over every IP on it when the link returned.
   */
  private noteLinks(sent: ReadonlyMap<string, boolean>, now: number): void {
    for (const [nic, ok] of sent) {
      if (!this.listeningSince.has(nic)) continue;
      const down = this.linkDown.has(nic);
      if (!ok && !down) {
        this.linkDown.add(nic);
        this.listeningSince.set(nic, Infinity);
        log.info('liveness: cannot send beacons on NIC (link down?); peers there are judged by their Leases until it is back', { nic });
      } else if (ok && down) {
        this.linkDown.delete(nic);
        this.listeningSince.set(nic, now);
        log.info('liveness: beacons flow again on NIC; listening for a deadline before judging by them', { nic });
      }
    }
  }

  private onBeacon(a: BeaconArrival): void {
    if (this.closed) return;
    const keys = this.o.keys.keys();
    if (!keys) {
      this.m.received.inc({ result: 'no-key' });
      return;
    }
    const v = verifyBeacon(a.payload, a.srcMac, keys.accepted);
    if (!v.ok) {
      this.m.received.inc({ result: v.reason });
      return;
    }
    const b = v.value;
    const r = hearBeacon(
      this.view,
      {
        node: b.node,
        incarnation: b.incarnation,
        seq: b.seq,
        sentAtMs: b.sentAtMs,
        leaving: b.leaving,
        pools: b.poolsUnlisted ? undefined : b.pools,
        mac: formatMac(a.srcMac),
        nic: a.nic,
      },
      { self: this.o.nodeName, now: this.now(), wallNow: this.wallNow(), timings: this.timings },
    );
    this.m.received.inc({ result: r.verdict });
    if (r.verdict === 'restarted') log.info('liveness: peer restarted', { node: b.node, nic: a.nic });
    if (r.verdict === 'clock-skew' || r.verdict === 'stale-incarnation') {
      log.debug('liveness: beacon refused', { node: b.node, nic: a.nic, verdict: r.verdict });
    }
    this.view = r.view;
    if (r.verdict === 'accepted' || r.verdict === 'restarted') this.rejudge();
  }

  private rejudge(): void {
    if (this.closed) return;
    const now = this.now();
    const j = judgeAlive(this.view, { self: this.o.nodeName, roster: this.inputs.roster, poolNics: this.inputs.poolNics, listeningSince: this.listeningSince, now, timings: this.timings });
    this.judged = j;
    let sig = '';
    for (const [pool, set] of [...j.alive].sort(([a], [b]) => (a < b ? -1 : 1))) sig += `${pool}=${[...set].sort().join(',')};`;
    sig += '|';
    for (const [nic, mode] of [...j.nicMode].sort(([a], [b]) => (a < b ? -1 : 1))) sig += `${nic}=${mode};`;
    sig += `|${j.heardNotInRoster.join(',')}`;
    this.scheduleJudge(j.nextChangeAt, now);
    if (sig === this.signature) return;
    this.signature = sig;
    this.m.leaseOnly.removeMatching({});
    for (const [nic, mode] of j.nicMode) this.m.leaseOnly.set({ nic }, mode === 'lease-only' ? 1 : 0);
    this.m.heardNotInRoster.set({}, j.heardNotInRoster.length);
    for (const cb of this.listeners) {
      try {
        cb();
      } catch (err) {
        log.error('liveness listener threw', { error: String(err) });
      }
    }
  }

  private scheduleJudge(at: number | undefined, now: number): void {
    if (this.judgeTimer) clearTimeout(this.judgeTimer);
    this.judgeTimer = undefined;
    if (at === undefined || this.closed) return;
    this.judgeTimer = setTimeout(() => {
      this.judgeTimer = undefined;
      if (this.judgeSoon) return;
      this.judgeSoon = true;
      // After the poll phase: beacons already queued on the sockets are read first.
      setImmediate(() => {
        this.judgeSoon = false;
        this.rejudge();
      });
    }, Math.max(1, at - now + 1));
  }
}
