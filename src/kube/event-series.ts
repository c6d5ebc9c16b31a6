// How many API writes one (object, reason) may cost, decided without I/O so it is tested without
// an API server. Events whose text differs (EventDedupe already dropped exact repeats) but that
// share object and reason form a series, as in client-go's EventCorrelator:
//   - up to `burst` of them become Events of their own, then one more per `refillMs` (a token
//     bucket): ordinary changes (assigned, moved, failed) each stay visible;
//   - past that, they fold into the series' live Event: count + 1, the newest message (prefixed
//     "(combined from similar events): ", as Kubernetes does), lastTimestamp now, written as an
//     update at most once per `updateIntervalMs`, the last fold included (the caller flushes).
// So a flood of distinct messages (a conflict naming the MAC, alternating between two hosts) costs
// at most burst + t/refillMs creates + t/updateIntervalMs updates over t, whatever its rate; at most
// one write per series is in flight at a time.

export interface SeriesLimits {
  /** Events created at once per (object, reason). */
  burst: number;
  /** Then one more new Event per this long. */
  refillMs: number;
  /** At most one update of the live Event per this long. */
  updateIntervalMs: number;
}

export const defaultSeriesLimits: SeriesLimits = { burst: 5, refillMs: 60_000, updateIntervalMs: 10_000 };

export type EventType = 'Normal' | 'Warning';

/** What the series' Event says now. */
export interface SeriesContent {
  type: EventType;
  message: string;
  count: number;
  first: Date;
  last: Date;
}

/**
 * create: write `content` as a new Event; update: write it over the live Event (`name`);
 * wait: nothing now; call next() again after `inMs` (or, when undefined, after the write in flight).
 */
export type SeriesStep = { write: 'create' } | { write: 'update'; name: string } | { write: 'wait'; inMs?: number } | { write: 'none' };

export const COMBINED_PREFIX = '(combined from similar events): ';

export class EventSeries {
  /** Name of the live Event (the one folds go into), once created. */
  name: string | undefined;
  content: SeriesContent | undefined;
  /** The newest message noted, without the combined prefix: what the live Event says now. */
  private said: string | undefined;
  private tokens: number;
  private refilledAt: number;
  private lastWriteAt = -Infinity;
  private writing = false;
  private dirty = false;

  constructor(
    now: number,
    private readonly limits: SeriesLimits = defaultSeriesLimits,
  ) {
    if (!(limits.burst >= 1) || !(limits.refillMs > 0) || !(limits.updateIntervalMs >= 0)) throw new Error('bad event series limits');
    this.tokens = limits.burst;
    this.refilledAt = now;
  }

  /** A new event of the series (`now` monotonic ms, `wall` for the timestamps). */
  note(type: EventType, message: string, now: number, wall: Date): SeriesStep {
    this.refill(now);
    const c = this.content;
    // The live Event already says exactly this (the same thing happened again after something
    // else, e.g. no announcer, then one, then none again): count it on that Event, as client-go's
    // EventLogger does, so kubectl shows "x2" rather than two identical Events. The message is
    // kept as it is: a repeat is not a combination.
    if (c && c.type === type && this.said === message && (this.name !== undefined || this.writing)) {
      this.content = { ...c, count: c.count + 1, last: wall };
      this.dirty = true;
      return this.next(now);
    }
    this.said = message;
    // A new Event only when nothing is owed to the live one: folds waiting for their update are
    // written first, so no count is lost.
    if (!this.writing && !this.dirty && this.tokens >= 1) {
      this.tokens -= 1;
      this.name = undefined;
      this.content = { type, message, count: 1, first: wall, last: wall };
      this.dirty = false;
      this.writing = true;
      return { write: 'create' };
    }
    this.content = c
      ? { type, message: `${COMBINED_PREFIX}${message}`, count: c.count + 1, first: c.first, last: wall }
      : { type, message, count: 1, first: wall, last: wall };
    this.dirty = true;
    return this.next(now);
  }

  /** What to write now for folds not yet written (timer, end of a write). `force` ignores the update interval. */
  next(now: number, force = false): SeriesStep {
    if (!this.dirty) return { write: 'none' };
    if (this.writing) return { write: 'wait' };
    if (this.name !== undefined) {
      const due = this.lastWriteAt + this.limits.updateIntervalMs;
      if (!force && now < due) return { write: 'wait', inMs: due - now };
      this.dirty = false;
      this.writing = true;
      return { write: 'update', name: this.name };
    }
    // No live Event (its create failed, or it expired): a new one needs a token like any other.
    this.refill(now);
    if (this.tokens < 1) return { write: 'wait', inMs: this.refilledAt + this.limits.refillMs - now };
    this.tokens -= 1;
    this.dirty = false;
    this.writing = true;
    return { write: 'create' };
  }

  /**
   * The write that next() or note() asked for has ended. A created Event becomes the live one. A
   * failed create is dropped (the caller's dedupe forgets it, so the same event emitted again
   * tries again); a failed update is kept for the next write; an update of an Event that is gone
   * (expired, deleted) becomes a create.
   */
  written(step: 'create' | 'update', outcome: { ok: true; name?: string } | { ok: false; gone?: boolean }, now: number): void {
    this.writing = false;
    this.lastWriteAt = now;
    if (outcome.ok) {
      if (step === 'create') this.name = outcome.name;
      return;
    }
    if (step === 'create') {
      if (!this.dirty) this.content = undefined;
      return;
    }
    if (outcome.gone) this.name = undefined;
    this.dirty = true;
  }

  /** Folds are waiting to be written. */
  get pending(): boolean {
    return this.dirty;
  }

  /**
   * Nothing is owed and the budget is full again: a fresh series would decide every later event
   * exactly as this one does (a new Event at once), so the recorder may forget this one and the
   * memory it holds per object and reason (issue 12: ~0.7 KB per Service on the IPAM leader).
   */
  settled(now: number): boolean {
    if (this.writing || this.dirty) return false;
    this.refill(now);
    return this.tokens >= this.limits.burst;
  }

  private refill(now: number): void {
    const add = Math.floor((now - this.refilledAt) / this.limits.refillMs);
    if (add <= 0) return;
    this.tokens = Math.min(this.limits.burst, this.tokens + add);
    this.refilledAt = this.tokens === this.limits.burst ? now : this.refilledAt + add * this.limits.refillMs;
  }
}
