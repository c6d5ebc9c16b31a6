// BGP status as written to the API, and when to write it. Pure.
//
// Each node owns one key of BgpPeer status.nodesPeerStatus and BgpConf status.nodesConfStatus
// (upstream's names and shapes: gobgp's PeerState/TimersState, counts as strings) and writes it
// with a merge patch of that key only, so nodes never race each other and need no resourceVersion.
// API writes per node are a product metric (README, issue 12), so:
//   - a session becoming established or going down, a new negotiated hold time, a changed admin
//     state or configuration is written at once, but at most once per `minIntervalMs` per object
//     (a flapping session costs one write per interval, not per flap);
//   - what changes all the time is refreshed at most once per `countersIntervalMs` (a minute):
//     message counters (keepalives every 30 s, updates), and while a router is unreachable, which
//     of connect/active/idle the retrying session is in and its last error. Status is for people,
//     metrics are for graphs.
import type { Condition } from '../kube/objects.ts';
import type { BgpFinding } from './bgp-config.ts';
import type { MessageCounts, PeerConfig, PeerStatus } from './bgp-speaker-api.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

function counts(c: MessageCounts): JsonObject {
  return {
    open: String(c.open),
    update: String(c.update),
    notification: String(c.notification),
    keepalive: String(c.keepalive),
    refresh: String(c.refresh),
    total: String(c.total),
  };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** This node's nodesPeerStatus entry for a configured peer. */
export function peerStatusEntry(cfg: PeerConfig, s: PeerStatus | undefined): JsonObject {
  const state = (s?.state ?? 'idle').toUpperCase();
  const peerState: JsonObject = {
    neighborAddress: cfg.neighborAddress,
    peerAs: cfg.peerAs,
    localAs: cfg.localAs,
    sessionState: state,
    adminState: cfg.adminDown ? 'DOWN' : 'UP',
  };
  if (s) peerState.messages = { received: counts(s.messages.received), sent: counts(s.messages.sent) };
  const timersState: JsonObject = {};
  if (s?.uptimeStart !== undefined && s.state === 'established') timersState.uptime = iso(s.uptimeStart);
  else if (s && s.state !== 'established') timersState.downtime = iso(s.since);
  if (s?.negotiatedHoldTime !== undefined && s.state === 'established') timersState.negotiatedHoldTime = String(s.negotiatedHoldTime);
  if (cfg.holdTime !== undefined) timersState.holdTime = String(cfg.holdTime);
  if (cfg.keepaliveInterval !== undefined) timersState.keepaliveInterval = String(cfg.keepaliveInterval);
  if (cfg.connectRetry !== undefined) timersState.connectRetry = String(cfg.connectRetry);
  const entry: JsonObject = { peerState, timersState };
  if (s?.lastError && s.state !== 'established') entry.lastError = s.lastError;
  return entry;
}

/** This node's entry for a BgpPeer that selects it but is not configured here, and why. */
export function notConfiguredEntry(why: string): JsonObject {
  return { peerState: { sessionState: 'IDLE' }, lastError: why };
}

function isObject(x: Json | undefined): x is JsonObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * The JSON merge patch (RFC 7386) that turns `from` into `to`, or undefined if they are equal.
 * Keys only in `from` become null; lists and scalars are replaced whole.
 */
export function mergePatchDiff(from: Json | undefined, to: Json | undefined): Json | undefined {
  if (to === undefined) return from === undefined ? undefined : null;
  if (isObject(from) && isObject(to)) {
    const out: JsonObject = {};
    for (const k of Object.keys(from)) if (!(k in to)) out[k] = null;
    for (const [k, v] of Object.entries(to)) {
      const d = mergePatchDiff(from[k], v);
      if (d !== undefined) out[k] = d;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return JSON.stringify(from) === JSON.stringify(to) ? undefined : to;
}

/**
 * What makes a write urgent: whether the session is established (and since when, with which hold
 * time), its admin state and identity. The rest (message counters, which of the not-established
 * states a retrying session is in, its downtime and last error) changes every second or so while
 * a router is unreachable; it is refreshed at most once per countersIntervalMs, or it would cost
 * every node one write per second for as long as the router is down.
 */
function urgentPart(e: Json | undefined): Json | undefined {
  if (!isObject(e) || !isObject(e.peerState)) return e;
  const { messages: _m, sessionState, ...peerState } = e.peerState;
  const { downtime: _d, ...timersState } = isObject(e.timersState) ? e.timersState : {};
  const { lastError: _e, ...rest } = e;
  return { ...rest, peerState: { ...peerState, established: sessionState === 'ESTABLISHED' }, timersState };
}

export interface WriteLimits {
  /** Least time between two writes of one object's key (ms). */
  minIntervalMs: number;
  /** Least time between writes that only refresh counters (ms). */
  countersIntervalMs: number;
}

export const DEFAULT_WRITE_LIMITS: WriteLimits = { minIntervalMs: 1000, countersIntervalMs: 60_000 };

/**
 * When to write `desired` over what is stored. `lastWriteAt` is when this node last wrote the key
 * (undefined: never in this process). Returns 'none', 'now', or the time to write at.
 */
export function writeDue(
  stored: Json | undefined,
  desired: Json | undefined,
  lastWriteAt: number | undefined,
  now: number,
  limits: WriteLimits = DEFAULT_WRITE_LIMITS,
): 'none' | 'now' | { at: number } {
  if (mergePatchDiff(stored, desired) === undefined) return 'none';
  const urgent = stored === undefined || mergePatchDiff(urgentPart(stored), urgentPart(desired)) !== undefined;
  const interval = urgent ? limits.minIntervalMs : limits.countersIntervalMs;
  if (lastWriteAt === undefined || now - lastWriteAt >= interval) return 'now';
  return { at: lastWriteAt + interval };
}

/**
 * Whether a deferred write timer must be (re)armed for `dueAt`, given the one pending (if any):
 * one timer per key, at the earliest time due, so a counter refresh waiting a minute never holds
 * back a session that has just become established.
 */
export function rearmTimer(pendingAt: number | undefined, dueAt: number): boolean {
  return pendingAt === undefined || dueAt < pendingAt;
}

/**
 * The Ready condition of a BgpConf or BgpPeer from the object-scoped findings about it: False with
 * the first error's reason, else True with the first warning's, else True/Ready.
 */
export function readyCondition(kind: 'BgpConf' | 'BgpPeer', name: string, findings: readonly BgpFinding[]): Omit<Condition, 'lastTransitionTime'> {
  const mine = findings.filter((f) => f.kind === kind && f.name === name && f.scope === 'object');
  const message = mine.map((f) => f.message).join('; ');
  const error = mine.find((f) => f.severity === 'error');
  if (error) return { type: 'Ready', status: 'False', reason: error.reason, message };
  if (mine.length > 0) return { type: 'Ready', status: 'True', reason: (mine[0] as BgpFinding).reason, message };
  return {
    type: 'Ready',
    status: 'True',
    reason: 'Ready',
    message: kind === 'BgpConf' ? `BgpConf ${name} configures the speakers` : `BgpPeer ${name} is configured on the nodes it selects`,
  };
}
