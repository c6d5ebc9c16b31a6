// The announcer: which addresses this node answers for, on which NIC, and the timing around it
// (probe before the first announcement, takeover burst, periodic refresh, re-announce when a NIC
// comes back, retry when a NIC or a privilege is missing). The speaker's reconcile loop and the
// standalone `announce` command both drive it through update(desired): a declarative "own exactly
// these", so a reconcile can be repeated without side effects.
//
// Its parts, one concern per file (MetalLB's internal/layer2 is the model):
// - address-state.ts: the per-address state machine as pure decisions;
// - nic-port.ts: the per-NIC socket lifecycle (open lazily, reopen on down/up or socket errors);
// - responder.ts: the packet loop that answers on a NIC's sockets;
// - l2-metrics.ts: the metric families and publishing the responders' counters on scrape;
// - report-limiter.ts: the bound on conflict reports (anyone on the LAN can cause them).
// - schedule.ts: one timer for every address's next step (probe, burst, refresh, re-probe).
// This file wires them: each address's next step, and the reactions to what a NIC port reports.
//
// Failure policy: nothing here throws out of update(). A NIC that is missing, or a socket that
// cannot be opened (no CAP_NET_RAW), puts its addresses in state 'error' with the message, logs
// it once, and is retried every retryMs while other NICs keep serving.
import type { WatchMode } from '../../native-bindings/runtime.ts';
import { log } from '../log.ts';
import { Registry } from '../observe/metrics.ts';
import {
  type AddressStatus,
  type AnnounceState,
  type Conflict,
  claimChangesOwner,
  claimEndsProbe,
  firstState,
  jittered,
  nextAnnouncementMs,
  probeStep,
} from './address-state.ts';
import { announcementFrames, probeFrame } from './announce.ts';
import { canonicalIP } from '../net/ip.ts';
import { L2Metrics } from './l2-metrics.ts';
import { NicPort, type NicPortEvents } from './nic-port.ts';
import type { ConflictWhy } from './respond.ts';
import { ReportLimiter } from './report-limiter.ts';
import { Schedule, type Scheduled } from './schedule.ts';
import { newCounts, type AddressCounts, type Family, type Responder } from './responder.ts';

export type { AddressStatus, AnnounceState, Conflict } from './address-state.ts';
export { L2_METRICS } from './l2-metrics.ts';

export interface AnnouncerOptions {
  /** Per-IP counters and state gauges go here (src/observe/metrics.ts); default a private one. */
  registry?: Registry;
  /** Announcements in the takeover burst, the first one immediately (default 5: t=0 .. 4.4 s). */
  burstCount?: number;
  /** Time between burst announcements (default 1100 ms). */
  burstIntervalMs?: number;
  /** Periodic re-announce while owned, so switch MAC tables do not age out (default 30000; 0 = off). */
  refreshMs?: number;
  /** How long to wait for an answer to the ARP probe / DAD NS before announcing (default 200 ms; 0 = no probe). */
  probeMs?: number;
  /** After a conflict found by probing, probe again this often (default 15000 ms), so a freed address is taken. */
  reprobeMs?: number;
  /** Retry opening sockets for addresses in state 'error' this often (default 3000 ms). */
  retryMs?: number;
  /** How often each NIC in use is checked (operstate, ifindex, MAC, socket errors) (default 1000 ms). */
  linkCheckMs?: number;
  /** Where NICs are read from (default /sys/class/net). */
  sysRoot?: string;
  /** PacketSocket readiness mode (default: runtime.ts's choice). */
  watchMode?: WatchMode;
  /** Bound on reports of claims by other MACs while announcing (default: report-limiter.ts's). */
  conflictReports?: ReportLimiter;
  /** Clock for the conflict report bound (default Date.now). */
  now?: () => number;
  onConflict?: (c: Conflict) => void;
  /**
   * Every change of claimer of an address we announce, unbounded (onConflict is the bounded
   * report of the same claims). For decisions that must see each claim, such as the speaker
   * settling a claim by another speaker on the wire; never for log lines or API writes.
   */
  onClaim?: (c: Conflict) => void;
  onStateChange?: (ip: string, s: AnnounceState) => void;
}

/** What an address does when its schedule fires (null: nothing scheduled). */
type Step = 'probe' | 'announce' | 'reprobe' | null;

interface Entry extends Scheduled {
  ip: string;
  family: Family;
  nic: string;
  probe: boolean;
  state: AnnounceState | null;
  conflictMac?: string;
  error?: string;
  step: Step;
  /** Probes sent in the current probing round. */
  probesSent: number;
  burstLeft: number;
  /** Last other MAC recorded for a claim while announcing: recorded once per change, never fought. */
  lastClaimMac?: string;
  /** Counted by the responder in plain numbers; read by the metrics at each scrape. */
  counts: AddressCounts;
  /** Claims by other MACs seen while probing / while announcing (the conflicts counter). */
  conflictsProbe: number;
  conflictsAnnounced: number;
}

type Port = NicPort<Entry>;

export class Announcer {
  readonly #opts: Required<Omit<AnnouncerOptions, 'registry' | 'onConflict' | 'onClaim' | 'onStateChange' | 'watchMode' | 'conflictReports'>> &
    Pick<AnnouncerOptions, 'onConflict' | 'onClaim' | 'onStateChange' | 'watchMode'>;
  readonly #m: L2Metrics;
  readonly #limiter: ReportLimiter;
  readonly #entries = new Map<string, Entry>();
  readonly #ports = new Map<string, Port>();
  readonly #schedule = new Schedule<Entry>((e) => this.#due(e));
  readonly #unregister: () => void;
  #closed = false;

  constructor(opts: AnnouncerOptions = {}) {
    this.#opts = {
      burstCount: Math.max(1, Math.floor(opts.burstCount ?? 5)),
      burstIntervalMs: opts.burstIntervalMs ?? 1100,
      refreshMs: opts.refreshMs ?? 30_000,
      probeMs: opts.probeMs ?? 200,
      reprobeMs: opts.reprobeMs ?? 15_000,
      retryMs: opts.retryMs ?? 3000,
      linkCheckMs: opts.linkCheckMs ?? 1000,
      sysRoot: opts.sysRoot ?? '/sys/class/net',
      now: opts.now ?? Date.now,
      onConflict: opts.onConflict,
      onClaim: opts.onClaim,
      onStateChange: opts.onStateChange,
      watchMode: opts.watchMode,
    };
    this.#limiter = opts.conflictReports ?? new ReportLimiter();
    const r = opts.registry ?? new Registry();
    this.#m = new L2Metrics(r, () => this.#entries.values());
    this.#unregister = r.onCollect(() => this.#publish());
  }

  /** Moves the NIC responders' plain-number counters into the registry (runs on every scrape). */
  #publish(): void {
    for (const port of this.#ports.values()) port.publish();
  }

  /**
   * Makes the owned set exactly `desired` (IP -> NIC name + whether to probe before the first
   * announcement). New IP: probe (if asked) then answer + burst. Removed IP: stop answering at once
   * and leave its solicited-node group. A NIC's sockets close when it has no IPs left. A changed NIC
   * is a move (stop on the old, start on the new). Never throws for NIC or socket trouble.
   */
  update(desired: ReadonlyMap<string, { nic: string; probe: boolean }>): void {
    if (this.#closed) {
      // A reconcile racing with shutdown: nothing may be answered any more, and nothing to throw about.
      log.debug('announcer: update after close() ignored', { addresses: desired.size });
      return;
    }
    const want = new Map<string, { nic: string; probe: boolean }>();
    for (const [raw, w] of desired) {
      const ip = canonicalIP(raw);
      if (!ip) {
        log.warn('announcer: not an IP address, ignored', { ip: raw, nic: w.nic });
        continue;
      }
      want.set(ip, w);
    }
    for (const [ip, e] of this.#entries) {
      const w = want.get(ip);
      if (!w || w.nic !== e.nic) this.#release(e);
    }
    for (const [ip, w] of want) {
      const e = this.#entries.get(ip);
      if (e) e.probe = w.probe;
      else this.#add(ip, w.nic, w.probe);
    }
  }

  /**
   * Announces `ip` again from the start of the burst, for an address another announcer claimed
   * while we keep it (so caches that took the other's MAC come back). The address stays answered
   * and its sockets stay open: removing and re-adding it would close them when it is the NIC's
   * last address, dropping the requests queued on them. The claimer is forgotten, so its next
   * claim is reported again. No-op unless the address is announcing.
   */
  reannounce(ip: string): void {
    const e = this.#entries.get(canonicalIP(ip) ?? ip);
    const port = e ? this.#ports.get(e.nic) : undefined;
    if (!e || !port || e.state !== 'announcing') return;
    delete e.lastClaimMac;
    this.#burst(port, e);
  }

  states(): Map<string, AddressStatus> {
    const out = new Map<string, AddressStatus>();
    for (const e of this.#entries.values()) {
      const s: AddressStatus = { nic: e.nic, state: e.state ?? 'probing' };
      if (e.conflictMac !== undefined) s.conflictMac = e.conflictMac;
      if (e.error !== undefined) s.error = e.error;
      out.set(e.ip, s);
    }
    return out;
  }

  /** Socket-level counters per NIC in use (frames received, sent, dropped as not for us). */
  nicStats(): Map<string, ReturnType<Responder['socketStats']>> {
    const out = new Map<string, ReturnType<Responder['socketStats']>>();
    for (const p of this.#ports.values()) if (p.responder) out.set(p.name, p.responder.socketStats());
    return out;
  }

  /** Stops answering everything now and closes every socket. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const n = this.#entries.size;
    for (const e of [...this.#entries.values()]) this.#release(e, false);
    for (const p of [...this.#ports.values()]) this.#closePort(p);
    this.#schedule.close();
    this.#unregister();
    this.#m.close();
    log.info('announcer closed: no longer answering', { addresses: n });
    return Promise.resolve();
  }

  // ---- lifecycle of one address

  #add(ip: string, nic: string, probe: boolean): void {
    const e: Entry = {
      ip,
      family: ip.includes(':') ? 6 : 4,
      nic,
      probe,
      state: null,
      due: 0,
      slot: -1,
      step: null,
      probesSent: 0,
      burstLeft: 0,
      counts: newCounts(),
      conflictsProbe: 0,
      conflictsAnnounced: 0,
    };
    this.#entries.set(ip, e);
    const port = this.#port(nic);
    port.addresses.set(ip, e);
    this.#start(port, e);
  }

  /** Opens what the address needs and begins probing or announcing; on failure, state 'error'. */
  #start(port: Port, e: Entry): void {
    this.#unschedule(e);
    const r = port.ensureSocket(e.family);
    if (!r) {
      this.#fail(port, e, port.error ?? 'cannot open packet socket');
      return;
    }
    if (e.family === 6) {
      try {
        r.join(e.ip);
      } catch (err) {
        this.#fail(port, e, err instanceof Error ? err.message : String(err));
        return;
      }
    }
    if (firstState(e.probe, this.#opts.probeMs) === 'probing') this.#beginProbe(port, e);
    else this.#beginAnnounce(port, e);
  }

  #beginProbe(port: Port, e: Entry): void {
    const r = port.responder;
    if (!r) return this.#fail(port, e, port.error ?? 'socket closed');
    r.stopAnswering(e.ip);
    r.probing.add(e.ip);
    this.#setState(e, 'probing');
    e.probesSent = 0;
    this.#probeStep(port, e);
  }

  #probeStep(port: Port, e: Entry): void {
    if (e.state !== 'probing') return;
    const next = probeStep(e.probesSent, this.#opts.probeMs);
    if (next.kind === 'send') {
      const r = port.responder;
      if (!r) return this.#fail(port, e, port.error ?? 'socket closed');
      e.probesSent++;
      r.send(e.family, probeFrame(e.ip, r.mac));
      this.#after(e, 'probe', next.waitMs);
      return;
    }
    // Nobody answered within probeMs: the address is free (or was freed) on this link.
    if (e.conflictMac !== undefined) log.info('address is free again, announcing', { ip: e.ip, nic: e.nic, previousMac: e.conflictMac });
    delete e.conflictMac;
    this.#beginAnnounce(port, e);
  }

  #beginAnnounce(port: Port, e: Entry): void {
    const r = port.responder;
    if (!r) return this.#fail(port, e, port.error ?? 'socket closed');
    this.#unschedule(e);
    r.probing.delete(e.ip);
    r.answer(e.ip, e.counts);
    delete e.error;
    this.#setState(e, 'announcing');
    this.#burst(port, e);
  }

  /** Announces now and burstCount-1 more times, then refreshes every refreshMs. */
  #burst(port: Port, e: Entry): void {
    this.#unschedule(e);
    e.burstLeft = this.#opts.burstCount;
    this.#announceStep(port, e);
  }

  /** One announcement of the burst or the refresh, and the next one scheduled. */
  #announceStep(port: Port, e: Entry): void {
    if (e.state !== 'announcing' || port.responder === null) return;
    this.#announceOnce(port.responder, e);
    if (e.burstLeft > 0) e.burstLeft--;
    const next = nextAnnouncementMs(e.burstLeft, this.#opts.burstIntervalMs, this.#opts.refreshMs, Math.random());
    if (next !== null) this.#after(e, 'announce', next);
  }

  #announceOnce(r: Responder, e: Entry): void {
    // Built at each announcement, not kept: a few small frames per address every refreshMs cost
    // microseconds, while keeping them cost ~0.5 KB of heap per address (typed arrays and their
    // backing stores), and a frame built now always carries the NIC's current MAC.
    for (const f of announcementFrames(e.ip, r.mac)) {
      if (r.send(e.family, f)) e.counts.gratuitous++;
    }
  }

  #fail(port: Port, e: Entry, message: string): void {
    this.#unschedule(e);
    port.responder?.stopAnswering(e.ip);
    port.responder?.probing.delete(e.ip);
    e.error = message;
    this.#setState(e, 'error');
    if (port.loggedError !== message) {
      port.loggedError = message;
      log.error('cannot answer on NIC, will retry', { nic: port.name, error: message, retryMs: this.#opts.retryMs });
    }
    port.scheduleRetry();
  }

  #release(e: Entry, logIt = true): void {
    this.#unschedule(e);
    this.#entries.delete(e.ip);
    this.#limiter.forget(e.ip);
    const port = this.#ports.get(e.nic);
    if (port) {
      port.addresses.delete(e.ip);
      const r = port.responder;
      if (r) {
        r.stopAnswering(e.ip);
        r.probing.delete(e.ip);
        if (e.family === 6) r.leave(e.ip);
        let sameFamily = false;
        for (const o of port.addresses.values()) if (o.family === e.family) sameFamily = true;
        if (!sameFamily) r.closeFamily(e.family);
      }
      if (port.addresses.size === 0) this.#closePort(port);
    }
    if (logIt) log.info('released address', { ip: e.ip, nic: e.nic });
  }

  #setState(e: Entry, s: AnnounceState): void {
    if (e.state === s) return;
    e.state = s; // the state gauge reads it at the next scrape
    const fields: Record<string, unknown> = { ip: e.ip, nic: e.nic, state: s };
    if (s === 'error') fields['error'] = e.error;
    if (s === 'conflict') fields['otherMac'] = e.conflictMac;
    log.info('address state', fields);
    const cb = this.#opts.onStateChange;
    if (cb) guard(() => cb(e.ip, s));
  }

  #unschedule(e: Entry): void {
    this.#schedule.cancel(e);
    e.step = null;
  }

  #after(e: Entry, step: Step, ms: number): void {
    e.step = step;
    this.#schedule.at(e, ms);
  }

  /** An address's scheduled step is due. Its port is the one of its NIC while it is held. */
  #due(e: Entry): void {
    const step = e.step;
    e.step = null;
    const port = this.#ports.get(e.nic);
    if (!port || this.#entries.get(e.ip) !== e) return;
    if (step === 'probe') this.#probeStep(port, e);
    else if (step === 'announce') this.#announceStep(port, e);
    else if (step === 'reprobe' && e.state === 'conflict' && port.responder) this.#beginProbe(port, e);
  }

  // ---- what a NIC port reports

  #port(name: string): Port {
    let p = this.#ports.get(name);
    if (p) return p;
    const opts = { sysRoot: this.#opts.sysRoot, linkCheckMs: this.#opts.linkCheckMs, retryMs: this.#opts.retryMs, watchMode: this.#opts.watchMode };
    const events: NicPortEvents = {
      claimed: (ip, mac, why) => this.#claimed(port, ip, mac, why),
      probeClaimed: (ip, mac) => this.#probeClaimed(port, ip, mac),
      unusable: (message) => {
        for (const e of port.addresses.values()) this.#fail(port, e, message);
      },
      replaced: () => {
        for (const e of port.addresses.values()) this.#start(port, e);
      },
      revived: () => {
        for (const e of port.addresses.values()) if (e.state === 'announcing') this.#burst(port, e);
      },
      retry: () => {
        if (this.#ports.get(port.name) !== port) return;
        for (const e of [...port.addresses.values()]) if (e.state === 'error') this.#start(port, e);
      },
    };
    const port: Port = new NicPort<Entry>(name, opts, this.#m, events);
    p = port;
    this.#ports.set(name, p);
    return p;
  }

  #closePort(port: Port): void {
    port.close();
    this.#ports.delete(port.name);
  }

  /** Another MAC claims an address we answer: recorded per change of claimer, reported within the bound. */
  #claimed(port: Port, ip: string, mac: string, why: ConflictWhy): void {
    const e = port.addresses.get(ip);
    if (!e || !claimChangesOwner(e.state, e.lastClaimMac, mac)) return;
    e.lastClaimMac = mac;
    e.conflictMac = mac;
    e.conflictsAnnounced++;
    const onClaim = this.#opts.onClaim;
    if (onClaim) guard(() => onClaim({ ip, nic: e.nic, mac, phase: 'announced' }));
    // Not fought (see claimChangesOwner), and reported within a bound per IP and per MAC: two
    // spoofed MACs taking turns would otherwise be one log line and one Event per frame.
    const verdict = this.#limiter.check(ip, mac, this.#opts.now());
    if (!verdict.report) return;
    const fields: Record<string, unknown> = { ip, nic: e.nic, otherMac: mac, why };
    if (verdict.suppressed > 0) fields['claimsNotReported'] = verdict.suppressed;
    log.warn('another host claims an address we announce', fields);
    const cb = this.#opts.onConflict;
    if (cb) guard(() => cb({ ip, nic: e.nic, mac, phase: 'announced' }));
  }

  /** Another MAC answers (or probes for) an address we probe: conflict, probe again later. */
  #probeClaimed(port: Port, ip: string, mac: string): void {
    const e = port.addresses.get(ip);
    if (!e || !claimEndsProbe(e.state)) return;
    this.#unschedule(e);
    port.responder?.probing.delete(ip);
    e.conflictMac = mac;
    e.conflictsProbe++;
    this.#setState(e, 'conflict');
    const cb = this.#opts.onConflict;
    if (cb) guard(() => cb({ ip, nic: e.nic, mac, phase: 'probe' }));
    this.#after(e, 'reprobe', jittered(this.#opts.reprobeMs, Math.random()));
  }
}

function guard(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log.error('announcer callback threw', { error: err instanceof Error ? err.message : String(err) });
  }
}
