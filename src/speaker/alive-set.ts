// Who is alive for each pool: the pure core of liveness. Two witnesses feed it:
//   - the roster: nodes whose membership Lease is live (kubelet cadence, ~40 s to expire; it says
//     who exists and is released at once on a graceful stop), and
//   - segment beacons (src/l2/beacon.ts) heard on the NIC we would announce a pool on.
// The alive set for a pool is: roster members heard on that pool's segment within the beacon
// deadline (and listing the pool). A crashed node stops beaconing and is dead for its pools within
// the deadline, with or without an API server. Where no peer's beacon has been heard on a NIC for
// a while (multicast filtered, a single node, peers of an older version), the pools on that NIC
// fall back to the roster alone ("lease-only"), which is slower but never wrong by omission.
//
// State transitions are plain functions over plain data with the clock passed in (`now`: a
// monotonic ms clock; `wallNow`: ms since the epoch, only for the freshness of a new incarnation),
// so every rule below is tested with scripted timelines in test/unit/speaker/alive-set.test.ts.
//
// Replays: within an incarnation a beacon must carry a sequence number above the last one we
// accepted from that node (sequence numbers are per sender, so a copy seen twice is dropped). A
// new incarnation replaces the current one only if it started later (a restart), or the current
// one has been silent for `forgetIncarnationAfterMs`; replaced incarnations are remembered and never
// come back. The first beacon of an incarnation must be fresh by our wall clock (within
// `maxClockSkewMs`), so an observer that just started cannot be kept fooled by old captures.

export interface LivenessTimings {
  /** A peer not heard for this long is dead for the pools on that NIC. */
  deadlineMs: number;
  /** A NIC where no peer has been heard for this long falls back to Lease-only liveness. */
  fallbackAfterMs: number;
  /** A new incarnation's first beacon must be stamped within this of our wall clock. */
  maxClockSkewMs: number;
  /** A silent incarnation may be replaced by one that claims an earlier start after this long. */
  forgetIncarnationAfterMs: number;
}

export const defaultLivenessTimings = (deadlineMs: number, fallbackAfterMs: number): LivenessTimings => ({
  deadlineMs,
  fallbackAfterMs,
  maxClockSkewMs: 120_000,
  forgetIncarnationAfterMs: 10 * deadlineMs,
});

export interface Incarnation {
  startedAtMs: number;
  nonce: number;
}

/** A beacon that passed authentication, as heard on one of our NICs. */
export interface HeardBeacon {
  node: string;
  incarnation: Incarnation;
  seq: number;
  sentAtMs: number;
  leaving: boolean;
  /** Pools the sender serves on the NIC it sent from; undefined when it did not list them. */
  pools: readonly string[] | undefined;
  /** Sender's MAC (text). */
  mac: string;
  /** Our NIC it arrived on. */
  nic: string;
}

export interface NicHearing {
  heardAt: number;
  pools: ReadonlySet<string> | undefined;
  mac: string;
}

export interface PeerRecord {
  incarnation: Incarnation;
  lastSeq: number;
  lastHeardAt: number;
  leaving: boolean;
  /** Earlier incarnations (bounded), never accepted again. */
  retired: readonly string[];
  byNic: ReadonlyMap<string, NicHearing>;
}

export interface BeaconView {
  peers: ReadonlyMap<string, PeerRecord>;
  /** Last time any peer's beacon was accepted on each of our NICs. */
  nicHeardAt: ReadonlyMap<string, number>;
  /** Last time the view was ticked (see tick()). */
  tickedAt: number | undefined;
}

export const emptyBeaconView = (): BeaconView => ({ peers: new Map(), nicHeardAt: new Map(), tickedAt: undefined });

export type HearVerdict =
  | 'accepted'
  | 'restarted' // accepted: a new incarnation of a known node
  | 'self' // our own beacon (another of our NICs shares the segment): ignored
  | 'replay' // sequence number not above the last one, or a retired incarnation
  | 'stale-incarnation' // an incarnation that started before the current one, which is not silent
  | 'clock-skew'; // a new incarnation stamped too far from our wall clock

const RETIRED_KEPT = 16;
const incKey = (i: Incarnation): string => `${i.startedAtMs}/${i.nonce}`;
const sameInc = (a: Incarnation, b: Incarnation): boolean => a.startedAtMs === b.startedAtMs && a.nonce === b.nonce;
const laterInc = (a: Incarnation, b: Incarnation): boolean =>
  a.startedAtMs > b.startedAtMs || (a.startedAtMs === b.startedAtMs && a.nonce > b.nonce);

export interface Clock {
  self: string;
  now: number;
  wallNow: number;
  timings: LivenessTimings;
}

/** Takes in one authenticated beacon. Returns the new view (the input is not modified). */
export function hearBeacon(view: BeaconView, b: HeardBeacon, c: Clock): { view: BeaconView; verdict: HearVerdict } {
  if (b.node === c.self) return { view, verdict: 'self' };
  const cur = view.peers.get(b.node);
  let verdict: HearVerdict = 'accepted';
  let base: PeerRecord;
  if (cur && sameInc(cur.incarnation, b.incarnation)) {
    if (b.seq <= cur.lastSeq) return { view, verdict: 'replay' };
    base = cur;
  } else {
    if (cur?.retired.includes(incKey(b.incarnation))) return { view, verdict: 'replay' };
    if (Math.abs(b.sentAtMs - c.wallNow) > c.timings.maxClockSkewMs) return { view, verdict: 'clock-skew' };
    if (cur && !laterInc(b.incarnation, cur.incarnation) && c.now - cur.lastHeardAt < c.timings.forgetIncarnationAfterMs) {
      return { view, verdict: 'stale-incarnation' };
    }
    if (cur) verdict = 'restarted';
    base = {
      incarnation: { ...b.incarnation },
      lastSeq: -1,
      lastHeardAt: c.now,
      leaving: false,
      retired: cur ? [...cur.retired, incKey(cur.incarnation)].slice(-RETIRED_KEPT) : [],
      byNic: new Map(), // what the old incarnation served says nothing about the new one
    };
  }
  const byNic = new Map(base.byNic);
  byNic.set(b.nic, { heardAt: c.now, pools: b.pools ? new Set(b.pools) : undefined, mac: b.mac });
  const peers = new Map(view.peers);
  peers.set(b.node, { ...base, lastSeq: b.seq, lastHeardAt: c.now, leaving: b.leaving, byNic });
  const nicHeardAt = new Map(view.nicHeardAt);
  nicHeardAt.set(b.nic, c.now);
  return { view: { ...view, peers, nicHeardAt }, verdict };
}

/**
 * Called on a steady timer (every beacon interval). If far more time passed since the last tick
 * than a timer can be late by, this process was not running (suspended VM, stopped container,
 * event loop starved): it could not have heard anyone, so silence during the gap is no evidence.
 * Every peer and NIC gets the gap added to its last-heard time instead of being declared dead at
 * once. Returns the new view and the gap that was forgiven (0 normally).
 */
export function tick(view: BeaconView, now: number, timings: LivenessTimings): { view: BeaconView; blindGapMs: number } {
  const prev = view.tickedAt;
  if (prev === undefined || now < prev) return { view: { ...view, tickedAt: now }, blindGapMs: 0 };
  const gap = now - prev;
  if (gap <= timings.deadlineMs) return { view: { ...view, tickedAt: now }, blindGapMs: 0 };
  const shift = (t: number) => Math.min(now, t + gap);
  const peers = new Map<string, PeerRecord>();
  for (const [node, p] of view.peers) {
    const byNic = new Map<string, NicHearing>();
    for (const [nic, h] of p.byNic) byNic.set(nic, { ...h, heardAt: shift(h.heardAt) });
    peers.set(node, { ...p, lastHeardAt: shift(p.lastHeardAt), byNic });
  }
  const nicHeardAt = new Map<string, number>();
  for (const [nic, t] of view.nicHeardAt) nicHeardAt.set(nic, shift(t));
  return { view: { peers, nicHeardAt, tickedAt: now }, blindGapMs: gap };
}

/** Forgets peers not heard for a long time (bounded memory when nodes come and go). */
export function prune(view: BeaconView, now: number, keepMs: number): BeaconView {
  let changed = false;
  const peers = new Map<string, PeerRecord>();
  for (const [node, p] of view.peers) {
    if (now - p.lastHeardAt > keepMs) changed = true;
    else peers.set(node, p);
  }
  return changed ? { ...view, peers } : view;
}

/**
 * 'warming-up': we have listened on the NIC for less than a deadline, so a live peer may simply not
 * have been heard yet; the roster decides meanwhile (a peer is kept alive, never wrongly dropped).
 */
export type NicMode = 'beacons' | 'lease-only' | 'warming-up';

export interface JudgeInput {
  self: string;
  /** Nodes with a live membership Lease (this node included while its own Lease is live). */
  roster: ReadonlySet<string>;
  /** Pool (Eip) name -> the NIC this node would announce it on. Pools we cannot serve are absent. */
  poolNics: ReadonlyMap<string, string>;
  /** When we started listening on each NIC (absent: since forever; Infinity: not listening now, e.g. our link is down). */
  listeningSince?: ReadonlyMap<string, number>;
  now: number;
  timings: LivenessTimings;
}

export interface Judgement {
  /** Per pool we can serve: the nodes alive for it (roster members; self included if in the roster). */
  alive: Map<string, Set<string>>;
  /** Per NIC we announce on: whether beacons or the roster alone judge it. */
  nicMode: Map<string, NicMode>;
  /** Nodes heard with a valid key within the deadline but without a live Lease: not alive. */
  heardNotInRoster: string[];
  /** When the judgement changes next without any new input (a deadline or fallback expiry). */
  nextChangeAt: number | undefined;
}

/** The alive set per pool. Pure. */
export function judgeAlive(view: BeaconView, input: JudgeInput): Judgement {
  const { self, roster, poolNics, now, timings } = input;
  const nicMode = new Map<string, NicMode>();
  let next: number | undefined;
  const soonest = (t: number) => {
    if (Number.isFinite(t) && t > now && (next === undefined || t < next)) next = t;
  };
  for (const nic of new Set(poolNics.values())) {
    const since = input.listeningSince?.get(nic);
    if (since !== undefined && now - since < timings.deadlineMs) {
      nicMode.set(nic, 'warming-up');
      soonest(since + timings.deadlineMs);
      continue;
    }
    const heard = view.nicHeardAt.get(nic);
    const on = heard !== undefined && now - heard < timings.fallbackAfterMs;
    nicMode.set(nic, on ? 'beacons' : 'lease-only');
    if (on) soonest(heard + timings.fallbackAfterMs);
  }
  const alive = new Map<string, Set<string>>();
  for (const [pool, nic] of poolNics) {
    const set = new Set<string>();
    for (const node of roster) {
      if (node === self || nicMode.get(nic) !== 'beacons') {
        set.add(node);
        continue;
      }
      const p = view.peers.get(node);
      const h = p?.byNic.get(nic);
      if (!p || !h || p.leaving) continue;
      if (now - h.heardAt >= timings.deadlineMs) continue;
      soonest(h.heardAt + timings.deadlineMs);
      if (h.pools && !h.pools.has(pool)) continue;
      set.add(node);
    }
    alive.set(pool, set);
  }
  const heardNotInRoster: string[] = [];
  for (const [node, p] of view.peers) {
    if (!roster.has(node) && !p.leaving && now - p.lastHeardAt < timings.deadlineMs) heardNotInRoster.push(node);
  }
  return { alive, nicMode, heardNotInRoster: heardNotInRoster.sort(), nextChangeAt: next };
}

/** The node a verified beacon showed using `mac` on `nic`, if any (for resolving claims on the wire). */
export function nodeOfMac(view: BeaconView, nic: string, mac: string): string | undefined {
  let best: { node: string; at: number } | undefined;
  for (const [node, p] of view.peers) {
    const h = p.byNic.get(nic);
    if (h && h.mac === mac && (!best || h.heardAt > best.at)) best = { node, at: h.heardAt };
  }
  return best?.node;
}
