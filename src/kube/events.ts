// Kubernetes Events for what users should see with `kubectl describe` (AssignIP, ReleaseIP,
// AssignIPFailed, which node answers, pool problems). Written as core/v1 Events, which every
// kubectl shows. Two bounds keep the API writes proportional to real changes, never to input rate:
//   - EventDedupe: the same (type, reason, message) again for an (object, slot) writes nothing, so
//     a reconcile that finds nothing new writes nothing;
//   - EventSeries: events of one (object, reason) whose text keeps changing (a conflict that names
//     a MAC, alternating between two hosts) become a few Events, then fold into the live one
//     (count, newest message, lastTimestamp), updated at a bounded rate (events patch).
// Best effort by design: an event that cannot be written is logged, never an error for the
// caller, and is retried the next time the same thing is emitted.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { CoreV1Event } from '@kubernetes/client-node';
import { log } from '../log.ts';
import type { KubeClient } from './client.ts';
import { describeError, isAlreadyExists, isNotFound } from './errors.ts';
import { type DedupeKey, EventDedupe } from './event-dedupe.ts';
import { type EventType, type SeriesContent, type SeriesLimits, type SeriesStep, EventSeries, defaultSeriesLimits } from './event-series.ts';

export type { EventType };
/** What an event is about: enough of an ObjectReference for kubectl describe to find it. */
export interface EventTarget {
  kind: string;
  apiVersion: string;
  name: string;
  /** Absent for cluster-scoped objects (Eip, Node). */
  namespace?: string;
  uid?: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** reportingInstance and source.host: the node name. */
  instance: string;
  /** reportingComponent and source.component. Default `openelb-ts`. */
  component?: string;
  /** Memory bound: 4096 (object, slot) pairs and as many (object, reason) series by default. */
  maxEntries?: number;
  /** Writes per (object, reason): see event-series.ts for the defaults. */
  limits?: Partial<SeriesLimits>;
  /** Monotonic clock in ms (tests). Default performance.now(). */
  now?: () => number;
}

interface Series {
  series: EventSeries;
  target: EventTarget;
  reason: string;
  timer?: NodeJS.Timeout | undefined;
  inFlight?: Promise<boolean> | undefined;
  /**
   * The name of the Event being created, kept until a create succeeds: a create whose answer was
   * lost (a reset keep-alive connection, a timeout) may have reached the API server, and its retry
   * must then meet AlreadyExists, not write the same Event twice.
   */
  createName?: string | undefined;
}

// The API server rejects longer messages.
const MAX_MESSAGE = 1024;

/** Object identity for dedupe: uid when known, so a recreated object starts fresh. */
export function targetKey(t: EventTarget): string {
  return t.uid ?? `${t.kind}/${t.namespace ?? ''}/${t.name}`;
}

/** Target for any object with metadata (Service, Node, Eip JSON, ...). */
export function targetOf(
  obj: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; uid?: string } },
  fallback: { kind: string; apiVersion: string },
): EventTarget {
  return {
    kind: obj.kind ?? fallback.kind,
    apiVersion: obj.apiVersion ?? fallback.apiVersion,
    name: obj.metadata?.name ?? '',
    ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
    ...(obj.metadata?.uid ? { uid: obj.metadata.uid } : {}),
  };
}

export class EventRecorder {
  readonly component: string;
  readonly instance: string;
  private readonly client: KubeClient;
  private readonly dedupe: EventDedupe;
  private readonly series = new Map<string, Series>();
  private readonly maxSeries: number;
  private readonly limits: SeriesLimits;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(opts: EventRecorderOptions) {
    this.client = opts.client;
    this.instance = opts.instance;
    this.component = opts.component ?? 'openelb-ts';
    this.dedupe = new EventDedupe(opts.maxEntries);
    this.maxSeries = opts.maxEntries ?? 4096;
    this.limits = { ...defaultSeriesLimits, ...opts.limits };
    this.now = opts.now ?? (() => performance.now());
  }

  normal(target: EventTarget, reason: string, message: string, slot?: string): Promise<boolean> {
    return this.emit(target, 'Normal', reason, message, slot);
  }

  warning(target: EventTarget, reason: string, message: string, slot?: string): Promise<boolean> {
    return this.emit(target, 'Warning', reason, message, slot);
  }

  /**
   * Record an event unless the same (type, message) was the last one for (target, slot); slot
   * defaults to the reason. Resolves true when this call wrote to the API (a new Event, or the
   * live one of its (target, reason) updated); false when it wrote nothing now (a repeat, or a
   * fold that a later update carries). Never rejects.
   */
  async emit(target: EventTarget, type: EventType, reason: string, message: string, slot?: string): Promise<boolean> {
    const key: DedupeKey = { object: targetKey(target), slot: slot ?? reason };
    const text = clip(message);
    // Record before writing so concurrent identical emits write once; undo on failure.
    if (!this.dedupe.shouldEmit(key, type, `${reason}\u0000${text}`)) return false;
    const s = this.seriesOf(target, reason);
    const ok = await this.run(s, s.series.note(type, text, this.now(), new Date()));
    if (!ok && s.series.name === undefined && !s.series.pending) this.dedupe.forget(key);
    return ok;
  }

  /**
   * Write every fold still held back by the update interval now, and wait for writes in flight
   * (shutdown, tests). New Events still wait for their budget.
   */
  async flush(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const writes: Array<Promise<boolean>> = [];
      for (const s of this.series.values()) {
        if (s.inFlight) writes.push(s.inFlight);
        else if (s.series.pending) {
          if (s.timer) clearTimeout(s.timer);
          s.timer = undefined;
          writes.push(this.run(s, s.series.next(this.now(), true)));
        }
      }
      if (writes.length === 0) return;
      await Promise.all(writes);
    }
  }

  /** Forget dedupe state for an object that was deleted, or whose story starts over (failback). */
  forget(target: EventTarget): void {
    // The series (rate budget) stays: forgetting must not reopen the door to a flood.
    this.dedupe.forgetObject(targetKey(target));
  }

  private seriesOf(target: EventTarget, reason: string): Series {
    const k = `${targetKey(target)}\u0000${reason}`;
    let s = this.series.get(k);
    if (s) this.series.delete(k); // refresh recency
    else s = { series: new EventSeries(this.now(), this.limits), target, reason };
    this.series.set(k, s);
    if (this.series.size > this.maxSeries) {
      const oldest = this.series.keys().next().value;
      if (oldest !== undefined) this.series.delete(oldest);
    }
    this.forgetSettled(s);
    this.scheduleSweep();
    return s;
  }

  /**
   * Once per refill period while any series is held, forget every settled one. Without it a quiet
   * cluster kept the series of its last burst (on the IPAM leader one AssignIP series per Service,
   * ~0.6 KB each) until later events came, which in a steady state they never do.
   */
  private scheduleSweep(): void {
    if (this.sweepTimer || this.series.size === 0) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      const now = this.now();
      for (const [k, s] of this.series) if (!s.timer && !s.inFlight && s.series.settled(now)) this.series.delete(k);
      this.scheduleSweep();
    }, this.limits.refillMs);
    this.sweepTimer.unref?.();
  }

  /**
   * Forget the least recently used series that are settled (nothing owed, budget full): they
   * decide nothing a fresh one would not. A few per call, oldest first, stopping at the first one
   * still in use, so a burst of events about many objects is given back as later events come.
   */
  private forgetSettled(keep: Series): void {
    const now = this.now();
    let looked = 0;
    for (const [k, s] of this.series) {
      if (s === keep || looked++ >= 4) return;
      if (s.timer || s.inFlight || !s.series.settled(now)) return;
      this.series.delete(k);
    }
  }

  /** Series held (per object and reason), for tests and memory accounting. */
  get seriesCount(): number {
    return this.series.size;
  }

  /** Carry out one step of a series; afterwards, whatever folded in meanwhile. */
  private async run(s: Series, step: SeriesStep): Promise<boolean> {
    if (step.write === 'none') return false;
    if (step.write === 'wait') {
      if (step.inMs !== undefined && !s.timer) {
        s.timer = setTimeout(() => {
          s.timer = undefined;
          void this.run(s, s.series.next(this.now()));
        }, Math.max(1, Math.ceil(step.inMs)));
        s.timer.unref?.();
      }
      return false;
    }
    const content = s.series.content as SeriesContent;
    const write = step.write === 'create' ? this.create(s, content) : this.update(s, step.name, content);
    s.inFlight = write;
    const ok = await write;
    s.inFlight = undefined;
    void this.run(s, s.series.next(this.now()));
    return ok;
  }

  private async create(s: Series, c: SeriesContent): Promise<boolean> {
    const t = s.target;
    const name = (s.createName ??= eventName(t, c.first));
    try {
      // Events about cluster-scoped objects live in "default", as client-go puts them.
      const created = await this.client.createEvent(t.namespace ?? 'default', this.build(name, t, c.type, s.reason, c.message, c));
      s.createName = undefined;
      s.series.written('create', { ok: true, name: created.metadata?.name ?? name }, this.now());
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) {
        // An earlier attempt was written after all: that Event is the series' live one.
        s.createName = undefined;
        s.series.written('create', { ok: true, name }, this.now());
        return true;
      }
      s.series.written('create', { ok: false }, this.now());
      this.warnNotRecorded(s, err);
      return false;
    }
  }

  private async update(s: Series, name: string, c: SeriesContent): Promise<boolean> {
    try {
      await this.client.patchEvent(s.target.namespace ?? 'default', name, {
        type: c.type,
        message: clip(c.message),
        count: c.count,
        lastTimestamp: c.last.toISOString(),
      });
      s.series.written('update', { ok: true }, this.now());
      return true;
    } catch (err) {
      s.series.written('update', { ok: false, gone: isNotFound(err) }, this.now());
      if (!isNotFound(err)) this.warnNotRecorded(s, err);
      return false;
    }
  }

  private warnNotRecorded(s: Series, err: unknown): void {
    const t = s.target;
    log.warn('event not recorded', {
      object: `${t.kind}/${t.namespace ? `${t.namespace}/` : ''}${t.name}`,
      reason: s.reason,
      error: describeError(err),
    });
  }

  private build(name: string, t: EventTarget, type: EventType, reason: string, message: string, c: SeriesContent): CoreV1Event {
    return {
      metadata: { name, namespace: t.namespace ?? 'default' },
      involvedObject: {
        kind: t.kind,
        apiVersion: t.apiVersion,
        name: t.name,
        ...(t.namespace ? { namespace: t.namespace } : {}),
        ...(t.uid ? { uid: t.uid } : {}),
      },
      reason,
      message: clip(message),
      type,
      count: c.count,
      firstTimestamp: c.first,
      lastTimestamp: c.last,
      source: { component: this.component, host: this.instance },
      reportingComponent: this.component,
      reportingInstance: this.instance,
    };
  }
}

/** client-go's naming, <object>.<unique suffix>, within the 253 characters a name may have. */
function eventName(t: EventTarget, first: Date): string {
  const suffix = `${first.getTime().toString(16)}${randomBytes(3).toString('hex')}`;
  return `${t.name.slice(0, 253 - suffix.length - 1)}.${suffix}`;
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
}
