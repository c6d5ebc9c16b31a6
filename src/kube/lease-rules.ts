// The Lease algorithm (the semantics of client-go's leaderelection, written for us): pure
// decisions over what we observed, used for the IPAM leader Lease and for the per-node
// membership Leases. The API calls (GET, PUT with resourceVersion, 409 = lost) live in the
// caller.
//
// Expiry is judged by LOCAL monotonic time since we last saw the record change, never by
// the renewTime the holder wrote: that was written by another machine's clock, which may be
// skewed by minutes. A holder that keeps renewing changes the record (renewTime and
// resourceVersion), so observers keep pushing their local deadline forward.

export interface LeaseRecord {
  /** holderIdentity; '' or undefined = released / never held. */
  holder?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Date;
  renewTime?: Date;
  /** leaseTransitions. */
  transitions?: number;
  /** metadata.resourceVersion of the object this record was read from (PUT preconditions). */
  resourceVersion?: string;
}

export interface Observation {
  record: LeaseRecord;
  /** Local monotonic ms when we last saw the record CHANGE (not when we last read it). */
  observedAt: number;
}

export type LeaseAction =
  | { kind: 'acquire' | 'renew'; next: LeaseRecord }
  | { kind: 'wait'; until: number; holder: string }
  | { kind: 'release'; next: LeaseRecord };

const isReleased = (r: LeaseRecord): boolean => !r.holder;

const sameTime = (a?: Date, b?: Date): boolean => (a && b ? a.getTime() === b.getTime() : !a && !b);

/** Whether two records differ in anything a holder changes when it renews, acquires or releases. */
export function recordChanged(a: LeaseRecord, b: LeaseRecord): boolean {
  if (a.resourceVersion !== undefined && b.resourceVersion !== undefined) return a.resourceVersion !== b.resourceVersion;
  return (
    (a.holder ?? '') !== (b.holder ?? '') ||
    a.leaseDurationSeconds !== b.leaseDurationSeconds ||
    a.transitions !== b.transitions ||
    !sameTime(a.renewTime, b.renewTime) ||
    !sameTime(a.acquireTime, b.acquireTime)
  );
}

/** Folds a freshly read record into our observation: observedAt moves only when the record changed. */
export function observe(prev: Observation | undefined, record: LeaseRecord, now: number): Observation {
  if (prev && !recordChanged(prev.record, record)) return { record, observedAt: prev.observedAt };
  return { record, observedAt: now };
}

/**
 * How long an observed lease lasts, in ms. The record's leaseDurationSeconds is the holder's
 * promise (it may be configured differently from us, e.g. mid-rollout), so we honour it — except
 * when it equals our own duration rounded up to whole seconds: then the holder is configured
 * like us and our exact ms value is used, keeping sub-second precision the API field lacks.
 */
export function effectiveDurationMs(record: LeaseRecord, durationMs: number): number {
  const s = record.leaseDurationSeconds;
  if (s === undefined || s <= 0) return durationMs;
  return s === Math.ceil(durationMs / 1000) ? durationMs : s * 1000;
}

/** Expired (or released): judged by local observation time only. */
export function isExpired(obs: Observation, now: number, durationMs: number): boolean {
  if (isReleased(obs.record)) return true;
  return now >= obs.observedAt + effectiveDurationMs(obs.record, durationMs);
}

/** Seconds written to leaseDurationSeconds for a duration in ms (whole seconds, at least 1). */
export const durationSeconds = (durationMs: number): number => Math.max(1, Math.ceil(durationMs / 1000));

/**
 * What `me` should do with the lease. No lease yet → acquire (the caller creates it). Held by
 * me → renew. Released or expired by local observation → acquire (transitions + 1 when the
 * holder changes, as client-go counts). Otherwise wait until the local deadline.
 */
export function decideLease(me: string, obs: Observation | undefined, now: number, durationMs: number, nowWall: Date): LeaseAction {
  const seconds = durationSeconds(durationMs);
  if (!obs) {
    return {
      kind: 'acquire',
      next: { holder: me, leaseDurationSeconds: seconds, acquireTime: nowWall, renewTime: nowWall, transitions: 0 },
    };
  }
  const r = obs.record;
  if (r.holder === me) {
    return {
      kind: 'renew',
      next: {
        ...r,
        holder: me,
        leaseDurationSeconds: seconds,
        acquireTime: r.acquireTime ?? nowWall,
        renewTime: nowWall,
        transitions: r.transitions ?? 0,
      },
    };
  }
  if (isExpired(obs, now, durationMs)) {
    return {
      kind: 'acquire',
      next: {
        ...r,
        holder: me,
        leaseDurationSeconds: seconds,
        acquireTime: nowWall,
        renewTime: nowWall,
        transitions: (r.transitions ?? 0) + 1,
      },
    };
  }
  return { kind: 'wait', until: obs.observedAt + effectiveDurationMs(r, durationMs), holder: r.holder ?? '' };
}

/**
 * Graceful stop: clear the holder so peers may take over at once (client-go's
 * ReleaseOnCancel writes holder "" and leaseDurationSeconds 1). Undefined when we do not hold it.
 */
export function releaseLease(me: string, obs: Observation | undefined, nowWall: Date): LeaseAction | undefined {
  if (!obs || obs.record.holder !== me) return undefined;
  return {
    kind: 'release',
    next: {
      ...obs.record,
      holder: '',
      leaseDurationSeconds: 1,
      acquireTime: nowWall,
      renewTime: nowWall,
      transitions: obs.record.transitions ?? 0,
    },
  };
}

/**
 * For the holder: until when it may act as holder after a renew request it SENT at `sentAt`
 * (local ms) succeeded. Observers start their clock no earlier than the write landed, which is
 * no earlier than sentAt, so stopping by sentAt + duration never overlaps a successor.
 */
export const holderDeadline = (sentAt: number, durationMs: number): number => sentAt + durationMs;

/**
 * Membership: the holders of the leases that are alive by local observation. A released lease
 * (empty holder) is not alive. `observations` is keyed by lease name.
 */
export function aliveHolders(observations: ReadonlyMap<string, Observation>, now: number, durationMs: number): Set<string> {
  const alive = new Set<string>();
  for (const obs of observations.values()) {
    if (obs.record.holder && !isExpired(obs, now, durationMs)) alive.add(obs.record.holder);
  }
  return alive;
}

/** The earliest local time at which one of the alive leases expires (for scheduling a re-check). */
export function nextExpiry(observations: ReadonlyMap<string, Observation>, now: number, durationMs: number): number | undefined {
  let next: number | undefined;
  for (const obs of observations.values()) {
    if (!obs.record.holder || isExpired(obs, now, durationMs)) continue;
    const t = obs.observedAt + effectiveDurationMs(obs.record, durationMs);
    if (next === undefined || t < next) next = t;
  }
  return next;
}

/**
 * metav1.MicroTime text: RFC 3339 UTC with exactly 6 fractional digits
 * (2026-11-22T09:00:00.123000Z). The API server answers 400 to other forms. A JS Date has
 * millisecond precision, so the last three digits are always 000.
 */
export function toMicroTime(d: Date): string {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ, always UTC, always 3 digits
  return `${iso.slice(0, 23)}000Z`;
}

/** Parses MicroTime/Time text (any fractional precision) to a Date; undefined if invalid. */
export function parseMicroTime(s: string): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return undefined;
  const frac = (m[2] ?? '').padEnd(3, '0').slice(0, 3);
  const d = new Date(`${m[1]}.${frac}${m[3]}`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
