// Who is alive, judged from the membership Leases a speaker's watch delivers: a pure function
// of (what we saw before, the Leases as the watch shows them now, the local time). The I/O
// class (membership.ts) feeds it and acts on the answer; keeping the judgement here lets it be
// tested with scripted timelines and replaced without touching the API calls.
//
// Liveness is judged by LOCAL observation time (lease-rules.ts): a peer is alive while we have
// seen its Lease change within its duration; a released Lease (holder '') is dead at once.
//
// Fail-static (SPEC §2): "not seeing renewals" is only evidence of death while our watch is
// provably fresh. Our own renewals travel through the same watch, so the last time we saw one of
// them arrive is how far our view of everyone else is known to be current; so is any peer's
// renewal arriving (a watch delivers in commit order: what was committed before it has arrived).
// We judge expiry at min(now, last renewal of anyone seen arriving), with no slack: when the API
// or our watch is down, the clock stops and the alive set freezes instead of everyone declaring
// everyone else dead and answering for all IPs. (A slack of two renew periods once let a node
// declare a live peer dead within a second of the API server dying, when that peer's last renewal
// had arrived a little late: RELIABILITY.md. Without slack a peer is dead only if it missed a
// whole duration of renewals while the stream demonstrably flowed.)
// After such a blind gap every peer gets a fresh duration to show a renewal, so recovery from an
// API outage does not flap ownership.
import { type LeaseRecord, type Observation, aliveHolders, nextExpiry, observe } from './lease-rules.ts';

export interface LivenessTimings {
  /** A member not seen renewing for this long is dead. */
  leaseDurationMs: number;
  /** Renewal period (how often a live member's Lease changes). */
  retryPeriodMs: number;
}

/** What the judgement remembers between calls. Treat as opaque; start from `emptyLiveness`. */
export interface LivenessView {
  /** By lease name: the record and when we last saw it change. */
  readonly observations: ReadonlyMap<string, Observation>;
  /** Last local time our own renewal arrived through the watch. */
  readonly ownSeenAt?: number;
  readonly ownSeenRv?: string;
  /** Last local time anyone's renewal (ours included) arrived through the watch. */
  readonly viewCurrentAt?: number;
}

export const emptyLiveness: LivenessView = { observations: new Map() };

export interface LeaseSeen {
  name: string;
  record: LeaseRecord;
}

export interface Judgement {
  view: LivenessView;
  /** Holders alive at the judging time. */
  alive: Set<string>;
  /** Judge again after this many ms (an alive Lease may expire then); undefined = nothing to expire. */
  recheckInMs?: number;
  /** Set when this call ended a blind gap of that many ms (for the log). */
  resumedAfterGapMs?: number;
}

/** The blind gap after which every peer gets a fresh duration. */
const blindGapMs = (t: LivenessTimings): number => 2 * t.retryPeriodMs + t.leaseDurationMs / 2;

/**
 * Fold the Leases the watch shows now (`leases`, the whole list) into `prev` at local time
 * `now`, and say who is alive. `ownLease` is the name of our own membership Lease. Pure.
 */
export function judgeLiveness(
  prev: LivenessView,
  leases: readonly LeaseSeen[],
  ownLease: string,
  now: number,
  t: LivenessTimings,
): Judgement {
  const observations = new Map(prev.observations);
  let { ownSeenAt, ownSeenRv, viewCurrentAt } = prev;
  let resumedAfterGapMs: number | undefined;

  // A renewal (ours or a peer's) just arrived: the view is current up to now. If the stream had
  // been silent for a while we were blind and nobody could have shown us a renewal: give every
  // peer a fresh duration, so the first renewal back (whoever's it is) does not declare all the
  // others dead at once.
  const renewalArrived = () => {
    const gap = viewCurrentAt === undefined ? 0 : now - viewCurrentAt;
    if (gap > blindGapMs(t)) {
      for (const [k, obs] of observations) {
        if (obs.observedAt < now) observations.set(k, { ...obs, observedAt: now });
      }
      resumedAfterGapMs = gap;
    }
    viewCurrentAt = now;
  };

  const seen = new Set<string>();
  for (const { name, record } of leases) {
    seen.add(name);
    const before = observations.get(name);
    const after = observe(before, record, now);
    observations.set(name, after);
    const own = name === ownLease && record.resourceVersion !== undefined && record.resourceVersion !== ownSeenRv;
    if (own || (before && after.observedAt !== before.observedAt)) renewalArrived();
    if (own) {
      ownSeenAt = now;
      ownSeenRv = record.resourceVersion;
    }
  }
  for (const name of [...observations.keys()]) if (!seen.has(name)) observations.delete(name);

  // Nothing proven until our own renewal came back through the watch: nobody expires.
  const judgeAt = ownSeenAt === undefined ? 0 : Math.min(now, viewCurrentAt ?? 0);
  const alive = aliveHolders(observations, judgeAt, t.leaseDurationMs);
  const next = nextExpiry(observations, judgeAt, t.leaseDurationMs);
  let recheckInMs: number | undefined;
  if (next !== undefined) {
    let delay = next - judgeAt + 1;
    // Frozen clock (view not current): re-check at a calm pace, not in a tight loop.
    if (judgeAt < now) delay = Math.max(delay, t.retryPeriodMs);
    recheckInMs = Math.max(1, delay);
  }
  const view: LivenessView = {
    observations,
    ...(ownSeenAt !== undefined ? { ownSeenAt } : {}),
    ...(ownSeenRv !== undefined ? { ownSeenRv } : {}),
    ...(viewCurrentAt !== undefined ? { viewCurrentAt } : {}),
  };
  return {
    view,
    alive,
    ...(recheckInMs !== undefined ? { recheckInMs } : {}),
    ...(resumedAfterGapMs !== undefined ? { resumedAfterGapMs } : {}),
  };
}
