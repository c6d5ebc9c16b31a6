// What the speaker says when another host claims an IP it announces (or was about to): a log line
// and a Warning Event (IPConflict) on every Service that has the IP.
//
// Bounded per IP, because anyone on the segment can send conflicting frames at line rate (spoofed
// gratuitous ARPs alternating between two MACs are one conflict each): the first conflict of an IP
// is said at once; the ones after it within `intervalMs` are only counted, with the MACs seen, and
// said once as a summary at the end of that interval. So per IP at most one log line and one Event
// emit per Service per interval, whatever the frame rate; the EventRecorder bounds the API writes
// per (Service, reason) on top of that.
import type { EventRecorder } from '../kube/events.ts';
import { targetOf } from '../kube/events.ts';
import type { Conflict } from '../l2/announcer.ts';
import { performance } from 'node:perf_hooks';
import { log } from '../log.ts';
import type { ServiceView } from './layer2-inputs.ts';
import { EVENT_IP_CONFLICT } from './layer2-plan.ts';

export interface ConflictReporterOptions {
  nodeName: string;
  events: EventRecorder;
  /** Services that have the IP now (from the last reconcile). */
  servicesOf: (ip: string) => readonly ServiceView[];
  /** Per IP, at most one report per this long. Default 10 s. */
  intervalMs?: number;
  /** Monotonic clock in ms (tests). */
  now?: () => number;
}

/** What one report says: the latest conflict, how many it stands for, and the MACs among them. */
export interface ConflictSummary {
  last: Conflict;
  conflicts: number;
  macs: string[];
  moreMacs: number;
}

interface IpWindow {
  reportedAt: number;
  held: ConflictSummary | undefined;
}

const DEFAULT_INTERVAL_MS = 10_000;
/** MACs named in one summary; more are only counted (a flood may spoof thousands). */
const MAX_MACS = 4;
/** IPs remembered; only IPs we announce (or probe) ever conflict, so this is generous. */
const MAX_IPS = 4096;

export type ConflictStep = { report: ConflictSummary } | { holdUntil: number };

/**
 * The per-IP decision, without I/O: report now, or hold until the interval since the last report
 * has passed (then takeHeld() gives the summary of what was held).
 */
export class ConflictThrottle {
  private readonly windows = new Map<string, IpWindow>();

  constructor(readonly intervalMs: number = DEFAULT_INTERVAL_MS) {
    if (!(intervalMs >= 0)) throw new Error('intervalMs must be >= 0');
  }

  note(c: Conflict, now: number): ConflictStep {
    const w = this.windows.get(c.ip);
    if (!w || (now - w.reportedAt >= this.intervalMs && !w.held)) {
      this.remember(c.ip, { reportedAt: now, held: undefined });
      return { report: { last: c, conflicts: 1, macs: [c.mac], moreMacs: 0 } };
    }
    const h = w.held ?? { last: c, conflicts: 0, macs: [], moreMacs: 0 };
    h.last = c;
    h.conflicts += 1;
    if (!h.macs.includes(c.mac)) {
      if (h.macs.length < MAX_MACS) h.macs.push(c.mac);
      else h.moreMacs += 1;
    }
    w.held = h;
    return { holdUntil: w.reportedAt + this.intervalMs };
  }

  /** The summary held for an IP (and the interval restarts now), or undefined. */
  takeHeld(ip: string, now: number): ConflictSummary | undefined {
    const w = this.windows.get(ip);
    if (!w?.held) return undefined;
    const h = w.held;
    w.held = undefined;
    w.reportedAt = now;
    return h;
  }

  /** IPs with a summary held back. */
  heldIps(): string[] {
    return [...this.windows].filter(([, w]) => w.held).map(([ip]) => ip);
  }

  private remember(ip: string, w: IpWindow): void {
    this.windows.delete(ip);
    this.windows.set(ip, w);
    if (this.windows.size > MAX_IPS) {
      // Oldest first; one with a summary held is kept (its timer will take it).
      for (const [k, v] of this.windows) {
        if (this.windows.size <= MAX_IPS) break;
        if (!v.held) this.windows.delete(k);
      }
    }
  }
}

export function conflictMessage(s: ConflictSummary, node: string): string {
  const c = s.last;
  const who = `another host (MAC ${s.macs.join(', ')}${s.moreMacs ? ` and ${s.moreMacs} more` : ''})`;
  const times = s.conflicts > 1 ? ` (${s.conflicts} times since the last report)` : '';
  return c.phase === 'probe'
    ? `${who} answers for ${c.ip} on the network of NIC ${c.nic} of node ${node}${times}; not announcing it; find and remove the other host's address`
    : `${who} claims ${c.ip}, which node ${node} announces on NIC ${c.nic}${times}; clients may reach either host; find and remove the other host's address`;
}

export class ConflictReporter {
  private readonly throttle: ConflictThrottle;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly o: ConflictReporterOptions) {
    this.throttle = new ConflictThrottle(o.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.now = o.now ?? (() => performance.now());
  }

  report(c: Conflict): void {
    if (this.stopped) return;
    const now = this.now();
    const step = this.throttle.note(c, now);
    if ('report' in step) {
      this.say(step.report);
      return;
    }
    if (this.timers.has(c.ip)) return;
    const t = setTimeout(() => {
      this.timers.delete(c.ip);
      const held = this.throttle.takeHeld(c.ip, this.now());
      if (held) this.say(held);
    }, Math.max(1, Math.ceil(step.holdUntil - now)));
    t.unref?.();
    this.timers.set(c.ip, t);
  }

  /** Say what is held back now and wait until every Event write has finished (tests, shutdown). */
  async flush(): Promise<void> {
    for (const ip of this.throttle.heldIps()) {
      clearTimeout(this.timers.get(ip));
      this.timers.delete(ip);
      const held = this.throttle.takeHeld(ip, this.now());
      if (held) this.say(held);
    }
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    await this.o.events.flush();
  }

  /** Stop reporting; summaries still held are dropped (the process is stopping). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private say(s: ConflictSummary): void {
    const message = conflictMessage(s, this.o.nodeName);
    const c = s.last;
    log.warn('layer2: address conflict', { ip: c.ip, nic: c.nic, phase: c.phase, macs: s.macs, conflicts: s.conflicts, node: this.o.nodeName });
    for (const svc of this.o.servicesOf(c.ip)) {
      const target = targetOf(
        { kind: 'Service', apiVersion: 'v1', metadata: { name: svc.name, namespace: svc.namespace, ...(svc.uid ? { uid: svc.uid } : {}) } },
        { kind: 'Service', apiVersion: 'v1' },
      );
      const p = this.o.events.warning(target, EVENT_IP_CONFLICT, message, `${EVENT_IP_CONFLICT}/${c.ip}`);
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }
}
