// The announcer: which addresses this node answers for, on which NIC, and the timing around it
// (probe before the first announcement, takeover burst, periodic refresh, re-announce when a NIC
// comes back, retry when a NIC or a privilege is missing). The speaker's reconcile loop and the
// standalone `announce` command both drive it through update(desired): a declarative "own exactly
// these", so a reconcile can be repeated without side effects.
//
// Per NIC there is one Responder (responder.ts) with an ARP socket only while the NIC has IPv4
// addresses and an NDP socket only while it has IPv6 ones. Adding or removing an address is a Set
// change (plus a multicast join/leave for IPv6), never a socket per address.
//
// Failure policy: nothing here throws out of update(). A NIC that is missing, or a socket that
// cannot be opened (no CAP_NET_RAW), puts its addresses in state 'error' with the message, logs
// it once, and is retried every retryMs while other NICs keep serving.
import { PacketSocketError } from '../../native-bindings/packet-socket.ts';
import type { WatchMode } from '../../native-bindings/runtime.ts';
import { log } from '../log.ts';
import { Registry, type Counter, type Gauge } from '../observe/metrics.ts';
import { announcementFrames, probeFrame } from './announce.ts';
import { readInterface } from './interfaces.ts';
import { canonicalIP } from '../net/ip.ts';
import { parseMac } from './mac.ts';
import type { ConflictWhy } from './respond.ts';
import { newCounts, Responder, type AddressCounts, type Family } from './responder.ts';
import type { RejectReason } from './result.ts';

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
  /** How often each NIC in use is checked (operstate, ifindex, MAC) (default 1000 ms). */
  linkCheckMs?: number;
  /** Where NICs are read from (default /sys/class/net). */
  sysRoot?: string;
  /** PacketSocket readiness mode (default: runtime.ts's choice). */
  watchMode?: WatchMode;
  onConflict?: (c: Conflict) => void;
  onStateChange?: (ip: string, s: AnnounceState) => void;
}

/**
 * probing: waiting probeMs for another host to answer our probe (not answered yet);
 * announcing: answered and announced; conflict: another host answered the probe (not answered,
 * re-probed every reprobeMs); error: the NIC is missing or its socket cannot be opened (retried).
 */
export type AnnounceState = 'probing' | 'announcing' | 'conflict' | 'error';

export interface Conflict {
  ip: string;
  nic: string;
  /** The other host's MAC. */
  mac: string;
  /** probe: found before announcing (we did not announce); announced: seen while we answer for it. */
  phase: 'probe' | 'announced';
}

export interface AddressStatus {
  nic: string;
  state: AnnounceState;
  /** The other MAC that claimed the address (set in 'conflict', and in 'announcing' after a claim was seen). */
  conflictMac?: string;
  error?: string;
}

type Timer = ReturnType<typeof setTimeout>;

interface Entry {
  ip: string;
  family: Family;
  nic: string;
  probe: boolean;
  state: AnnounceState | null;
  conflictMac?: string;
  error?: string;
  timer: Timer | null;
  burstLeft: number;
  /** Last other MAC reported for a claim while announcing: report once per change, never fight. */
  lastClaimMac?: string;
  /** Announcement frames for the NIC's current MAC (rebuilt if the MAC changes). */
  frames: Uint8Array[] | null;
  labels: { ip: string; nic: string };
  /** Counted by the responder in plain numbers; `published` is what the registry has already seen. */
  counts: AddressCounts;
  published: AddressCounts;
}

interface Port {
  name: string;
  entries: Map<string, Entry>;
  responder: Responder | null;
  ifindex: number;
  macText: string;
  up: boolean;
  /** Why the NIC's sockets cannot be opened, or null. */
  error: string | null;
  loggedError: string | null;
  watch: ReturnType<typeof setInterval> | null;
  retry: Timer | null;
  /** What the registry has seen of the current responder's per-NIC counters. */
  publishedMalformed: Map<RejectReason, number>;
  publishedSendFailures: number;
}

interface Metrics {
  requests: Counter;
  responses: Counter;
  gratuitous: Counter;
  conflicts: Counter;
  probesSeen: Counter;
  malformed: Counter;
  sendFailures: Counter;
  state: Gauge;
}

/** Metric names, for docs and tests. */
export const L2_METRICS = {
  requests: 'openelb_l2_requests_received_total',
  responses: 'openelb_l2_responses_sent_total',
  gratuitous: 'openelb_l2_gratuitous_sent_total',
  conflicts: 'openelb_l2_conflicts_total',
  probesSeen: 'openelb_l2_probes_received_total',
  malformed: 'openelb_l2_malformed_frames_total',
  sendFailures: 'openelb_l2_send_failures_total',
  state: 'openelb_l2_address_state',
} as const;

const PROBE_SENDS = 2; // at 0 and probeMs/2: one lost probe does not hide a conflict

export class Announcer {
  readonly #opts: Required<Omit<AnnouncerOptions, 'registry' | 'onConflict' | 'onStateChange' | 'watchMode'>> &
    Pick<AnnouncerOptions, 'onConflict' | 'onStateChange' | 'watchMode'>;
  readonly #m: Metrics;
  readonly #entries = new Map<string, Entry>();
  readonly #ports = new Map<string, Port>();
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
      onConflict: opts.onConflict,
      onStateChange: opts.onStateChange,
      watchMode: opts.watchMode,
    };
    const r = opts.registry ?? new Registry();
    this.#m = {
      requests: r.counter(L2_METRICS.requests, 'ARP requests and Neighbor Solicitations received for an owned address'),
      responses: r.counter(L2_METRICS.responses, 'ARP replies and Neighbor Advertisements sent for an owned address'),
      gratuitous: r.counter(L2_METRICS.gratuitous, 'Gratuitous ARP / unsolicited NA frames sent (takeover burst and refresh)'),
      conflicts: r.counter(L2_METRICS.conflicts, 'Another MAC claimed an address (phase=probe: before announcing; announced: while we answer)'),
      probesSeen: r.counter(L2_METRICS.probesSeen, 'ARP probes / DAD solicitations from other hosts for an address we answer (answered to defend it)'),
      malformed: r.counter(L2_METRICS.malformed, 'Frames dropped because they failed validation, by NIC and reason'),
      sendFailures: r.counter(L2_METRICS.sendFailures, 'Frames the kernel refused to send (queue full, NIC down)'),
      state: r.gauge(L2_METRICS.state, '1 for the current announce state of an address (probing, announcing, conflict, error)'),
    };
    this.#unregister = r.onCollect(() => this.#publish());
  }

  /** Moves the responders' plain-number counters into the registry (runs on every scrape). */
  #publish(): void {
    for (const e of this.#entries.values()) {
      const c = e.counts;
      const p = e.published;
      if (c.requests !== p.requests) this.#m.requests.inc(e.labels, c.requests - p.requests);
      if (c.responses !== p.responses) this.#m.responses.inc(e.labels, c.responses - p.responses);
      if (c.probes !== p.probes) this.#m.probesSeen.inc(e.labels, c.probes - p.probes);
      if (c.gratuitous !== p.gratuitous) this.#m.gratuitous.inc(e.labels, c.gratuitous - p.gratuitous);
      p.requests = c.requests;
      p.responses = c.responses;
      p.probes = c.probes;
      p.gratuitous = c.gratuitous;
    }
    for (const port of this.#ports.values()) this.#publishPort(port);
  }

  #publishPort(port: Port): void {
    const r = port.responder;
    if (!r) return;
    for (const [reason, n] of r.malformed) {
      const before = port.publishedMalformed.get(reason) ?? 0;
      if (n !== before) this.#m.malformed.inc({ nic: port.name, reason }, n - before);
      port.publishedMalformed.set(reason, n);
    }
    if (r.sendFailures !== port.publishedSendFailures) this.#m.sendFailures.inc({ nic: port.name }, r.sendFailures - port.publishedSendFailures);
    port.publishedSendFailures = r.sendFailures;
  }

  /** Closes the NIC's responder after publishing what it counted. */
  #dropResponder(port: Port): void {
    this.#publishPort(port);
    port.responder?.close();
    port.responder = null;
    port.publishedMalformed = new Map();
    port.publishedSendFailures = 0;
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
    this.#unregister();
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
      timer: null,
      burstLeft: 0,
      frames: null,
      labels: { ip, nic },
      counts: newCounts(),
      published: newCounts(),
    };
    this.#entries.set(ip, e);
    const port = this.#port(nic);
    port.entries.set(ip, e);
    this.#start(port, e);
  }

  /** Opens what the address needs and begins probing or announcing; on failure, state 'error'. */
  #start(port: Port, e: Entry): void {
    this.#clearTimer(e);
    const r = this.#ensureSocket(port, e.family);
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
    if (e.probe && this.#opts.probeMs > 0) this.#beginProbe(port, e);
    else this.#beginAnnounce(port, e);
  }

  #beginProbe(port: Port, e: Entry): void {
    const r = port.responder;
    if (!r) return this.#fail(port, e, port.error ?? 'socket closed');
    r.stopAnswering(e.ip);
    r.probing.add(e.ip);
    this.#setState(e, 'probing');
    let sends = 0;
    const step = (): void => {
      e.timer = null;
      if (e.state !== 'probing') return;
      if (sends < PROBE_SENDS) {
        sends++;
        r.send(e.family, probeFrame(e.ip, r.mac));
        e.timer = setTimeout(step, this.#opts.probeMs / PROBE_SENDS);
        return;
      }
      // Nobody answered within probeMs: the address is free (or was freed) on this link.
      if (e.conflictMac !== undefined) log.info('address is free again, announcing', { ip: e.ip, nic: e.nic, previousMac: e.conflictMac });
      delete e.conflictMac;
      this.#beginAnnounce(port, e);
    };
    step();
  }

  #beginAnnounce(port: Port, e: Entry): void {
    const r = port.responder;
    if (!r) return this.#fail(port, e, port.error ?? 'socket closed');
    this.#clearTimer(e);
    r.probing.delete(e.ip);
    r.answer(e.ip, e.counts);
    delete e.error;
    this.#setState(e, 'announcing');
    this.#burst(port, e);
  }

  /** Announces now and burstCount-1 more times, then refreshes every refreshMs. */
  #burst(port: Port, e: Entry): void {
    this.#clearTimer(e);
    e.burstLeft = this.#opts.burstCount;
    const step = (): void => {
      e.timer = null;
      if (e.state !== 'announcing' || port.responder === null) return;
      this.#announceOnce(port, e);
      if (e.burstLeft > 0) e.burstLeft--;
      if (e.burstLeft > 0) e.timer = setTimeout(step, this.#opts.burstIntervalMs);
      else if (this.#opts.refreshMs > 0) {
        // ±10 % so a thousand addresses gained together do not refresh in one spike forever.
        e.timer = setTimeout(step, this.#opts.refreshMs * (0.9 + Math.random() * 0.2));
      }
    };
    step();
  }

  #announceOnce(port: Port, e: Entry): void {
    const r = port.responder;
    if (!r) return;
    e.frames ??= announcementFrames(e.ip, r.mac);
    for (const f of e.frames) {
      if (r.send(e.family, f)) e.counts.gratuitous++;
    }
  }

  #fail(port: Port, e: Entry, message: string): void {
    this.#clearTimer(e);
    port.responder?.stopAnswering(e.ip);
    port.responder?.probing.delete(e.ip);
    e.error = message;
    this.#setState(e, 'error');
    if (port.loggedError !== message) {
      port.loggedError = message;
      log.error('cannot answer on NIC, will retry', { nic: port.name, error: message, retryMs: this.#opts.retryMs });
    }
    this.#scheduleRetry(port);
  }

  #release(e: Entry, logIt = true): void {
    this.#clearTimer(e);
    this.#entries.delete(e.ip);
    const port = this.#ports.get(e.nic);
    if (port) {
      port.entries.delete(e.ip);
      const r = port.responder;
      if (r) {
        r.stopAnswering(e.ip);
        r.probing.delete(e.ip);
        if (e.family === 6) r.leave(e.ip);
        let sameFamily = false;
        for (const o of port.entries.values()) if (o.family === e.family) sameFamily = true;
        if (!sameFamily) r.closeFamily(e.family);
      }
      if (port.entries.size === 0) this.#closePort(port);
    }
    for (const m of [this.#m.requests, this.#m.responses, this.#m.gratuitous, this.#m.conflicts, this.#m.probesSeen, this.#m.state]) {
      m.removeMatching({ ip: e.ip });
    }
    if (logIt) log.info('released address', { ip: e.ip, nic: e.nic });
  }

  #setState(e: Entry, s: AnnounceState): void {
    if (e.state === s) return;
    if (e.state !== null) this.#m.state.remove({ ...e.labels, state: e.state });
    e.state = s;
    this.#m.state.set({ ...e.labels, state: s }, 1);
    const fields: Record<string, unknown> = { ip: e.ip, nic: e.nic, state: s };
    if (s === 'error') fields['error'] = e.error;
    if (s === 'conflict') fields['otherMac'] = e.conflictMac;
    log.info('address state', fields);
    const cb = this.#opts.onStateChange;
    if (cb) guard(() => cb(e.ip, s));
  }

  #clearTimer(e: Entry): void {
    if (e.timer !== null) clearTimeout(e.timer);
    e.timer = null;
  }

  // ---- per-NIC

  #port(name: string): Port {
    let p = this.#ports.get(name);
    if (p) return p;
    p = {
      name, entries: new Map(), responder: null, ifindex: 0, macText: '', up: false, error: null, loggedError: null,
      watch: null, retry: null, publishedMalformed: new Map(), publishedSendFailures: 0,
    };
    this.#ports.set(name, p);
    const port = p;
    p.watch = setInterval(() => this.#checkLink(port), this.#opts.linkCheckMs);
    return p;
  }

  /** The NIC's responder with this family's socket open, or null with port.error set. */
  #ensureSocket(port: Port, family: Family): Responder | null {
    if (!port.responder) {
      const nic = readInterface(port.name, this.#opts.sysRoot);
      if (!nic) {
        port.error = `network interface "${port.name}" not found (check the name with \`ip link\`)`;
        return null;
      }
      const mac = parseMac(nic.mac);
      if (nic.type !== 1 || !mac) {
        port.error = `network interface "${port.name}" is not an Ethernet NIC (ARP/NDP answers need a MAC address)`;
        return null;
      }
      port.responder = new Responder(port.name, mac, this.#events(port), this.#opts.watchMode ? { watchMode: this.#opts.watchMode } : {});
      port.ifindex = nic.index;
      port.macText = nic.mac;
      port.up = nic.up;
      for (const e of port.entries.values()) e.frames = null;
    }
    try {
      port.responder.open(family);
    } catch (err) {
      port.error = err instanceof PacketSocketError || err instanceof Error ? err.message : String(err);
      if (!port.responder.has(4) && !port.responder.has(6)) this.#dropResponder(port);
      return null;
    }
    if (port.error !== null) log.info('NIC usable again', { nic: port.name });
    port.error = null;
    port.loggedError = null;
    return port.responder;
  }

  #scheduleRetry(port: Port): void {
    if (port.retry !== null || this.#closed) return;
    port.retry = setTimeout(() => {
      port.retry = null;
      if (this.#ports.get(port.name) !== port) return;
      for (const e of [...port.entries.values()]) if (e.state === 'error') this.#start(port, e);
    }, this.#opts.retryMs);
  }

  /** Polls the NIC: gone -> error (retried); recreated or new MAC -> reopen and re-announce; up again -> burst. */
  #checkLink(port: Port): void {
    if (!port.responder) return; // not open: the retry timer handles it
    const nic = readInterface(port.name, this.#opts.sysRoot);
    if (!nic) {
      this.#dropResponder(port);
      const msg = `network interface "${port.name}" disappeared`;
      port.error = msg;
      for (const e of port.entries.values()) this.#fail(port, e, msg);
      return;
    }
    if (nic.index !== port.ifindex || nic.mac !== port.macText) {
      log.warn('NIC was recreated or changed its MAC: reopening and announcing again', { nic: port.name, mac: nic.mac });
      this.#dropResponder(port);
      for (const e of port.entries.values()) this.#start(port, e);
      return;
    }
    const wasUp = port.up;
    port.up = nic.up;
    if (!wasUp && nic.up) {
      log.info('NIC is up again: announcing its addresses', { nic: port.name });
      for (const e of port.entries.values()) if (e.state === 'announcing') this.#burst(port, e);
    } else if (wasUp && !nic.up) {
      log.warn('NIC is down: addresses on it are unreachable until it comes back', { nic: port.name, operstate: nic.operstate });
    }
  }

  #closePort(port: Port): void {
    if (port.watch !== null) clearInterval(port.watch);
    if (port.retry !== null) clearTimeout(port.retry);
    port.watch = null;
    port.retry = null;
    port.responder?.close();
    port.responder = null;
    this.#ports.delete(port.name);
    this.#m.malformed.removeMatching({ nic: port.name });
    this.#m.sendFailures.removeMatching({ nic: port.name });
  }

  #events(port: Port): ConstructorParameters<typeof Responder>[2] {
    const m = this.#m;
    return {
      claimed: (ip: string, mac: string, why: ConflictWhy) => {
        const e = port.entries.get(ip);
        if (!e || e.state !== 'announcing' || e.lastClaimMac === mac) return;
        e.lastClaimMac = mac;
        e.conflictMac = mac;
        m.conflicts.inc({ ...e.labels, phase: 'announced' });
        // Reported once per change of the other MAC and not fought: answering every claim with
        // our own gratuitous ARP would be a storm between two announcers. The refresh continues.
        log.warn('another host claims an address we announce', { ip, nic: e.nic, otherMac: mac, why });
        const cb = this.#opts.onConflict;
        if (cb) guard(() => cb({ ip, nic: e.nic, mac, phase: 'announced' }));
      },
      probeClaimed: (ip: string, mac: string) => {
        const e = port.entries.get(ip);
        if (!e || e.state !== 'probing') return;
        this.#clearTimer(e);
        port.responder?.probing.delete(ip);
        e.conflictMac = mac;
        m.conflicts.inc({ ...e.labels, phase: 'probe' });
        this.#setState(e, 'conflict');
        const cb = this.#opts.onConflict;
        if (cb) guard(() => cb({ ip, nic: e.nic, mac, phase: 'probe' }));
        const reprobe = this.#opts.reprobeMs * (0.9 + Math.random() * 0.2);
        e.timer = setTimeout(() => {
          e.timer = null;
          if (e.state === 'conflict' && port.responder) this.#beginProbe(port, e);
        }, reprobe);
      },
    };
  }
}

function guard(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log.error('announcer callback threw', { error: err instanceof Error ? err.message : String(err) });
  }
}
