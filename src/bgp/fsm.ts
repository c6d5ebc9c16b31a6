// The BGP finite state machine of one peer (RFC 4271 §8), as a pure function:
//   step(state, event, now) -> { state, actions }
// No sockets, no timers, no randomness from outside: the session (session.ts) turns actions into
// I/O and feeds what happens back as events. Jitter comes from a small PRNG whose seed is part of
// the state, so a scripted timeline is reproducible.
//
// One peer may have two TCP connections at once (we dial while it dials us): each connection has
// its own stage and hold/keepalive timers, and connection collision detection (RFC 4271 §6.8)
// closes one of them as soon as both have an OPEN. The peer's RFC state is the most advanced stage
// among its connections (Connect while dialing, Active while only waiting for the peer to dial).
//
// Backoff: after a session fails (hold timer expiry, NOTIFICATION, malformed message, refused
// OPEN, TCP reset) the FSM waits in Idle for an idle-hold time before it dials or accepts again
// (RFC 4271 §8.1.1 DampPeerOscillations): base * 2^(failures-1), times a jitter in [0.75, 1]
// (RFC 4271 §10, so peers reset together do not retry in lockstep), capped at idleHoldMaxMs.
// The cap bounds how long a peer that has been fixed waits for us; 60 s by default: a retry costs
// one TCP handshake and one OPEN, so retrying once a minute against a peer that keeps refusing is
// cheap, while a longer wait would keep Service routes away for minutes after the router is fixed.
// The failure count resets when a session has stayed Established longer than the cap.
import type { BgpMessage, OpenMessage } from './codec/types.ts';
import { buildOpen, checkOpen, type LocalOpenConfig, type Negotiated } from './open-check.ts';
import { bgpIdNumber } from './bgp-id.ts';

export type State = 'idle' | 'connect' | 'active' | 'opensent' | 'openconfirm' | 'established';
export type Direction = 'out' | 'in';
type Stage = 'connecting' | 'opensent' | 'openconfirm' | 'established';

export interface FsmConfig extends LocalOpenConfig {
  /** Never dial; only accept the peer's connection. */
  passive: boolean;
  /** Seconds between dial attempts (RFC ConnectRetryTime). */
  connectRetry: number;
  /** First idle hold after a failure, ms (default 1000). */
  idleHoldBaseMs?: number;
  /** Cap of the idle hold, ms (default 60000). */
  idleHoldMaxMs?: number;
}

export interface Conn {
  id: number;
  dir: Direction;
  stage: Stage;
  negotiated?: Negotiated;
}

export interface FsmState {
  state: State;
  /** ms of the last change of `state`. */
  since: number;
  /** false: administratively stopped (Idle, no dialing, incoming refused). */
  running: boolean;
  /** true while waiting out the idle-hold time after a failure. */
  holding: boolean;
  conns: Conn[];
  nextConn: number;
  /** Consecutive failed sessions (drives the backoff). */
  failures: number;
  establishedAt?: number;
  lastError?: string;
  seed: number;
}

export type TimerName = 'connect-retry' | 'idle-hold' | 'hold' | 'keepalive';

export interface Notify {
  code: number;
  subcode: number;
  data?: Uint8Array;
}

export type Action =
  | { type: 'connect'; conn: number }
  /** Bind the just-accepted socket to this connection id. */
  | { type: 'accept'; conn: number }
  /** Close the just-accepted socket without a word (we are stopped or holding). */
  | { type: 'refuse'; reason: string }
  | { type: 'send'; conn: number; message: BgpMessage }
  /** Send the NOTIFICATION (if any), then close the connection. */
  | { type: 'close'; conn: number; notification?: Notify; reason: string }
  | { type: 'set-timer'; timer: TimerName; conn?: number; ms: number }
  | { type: 'clear-timer'; timer: TimerName; conn?: number }
  | { type: 'state'; state: State; reason?: string }
  | { type: 'established'; conn: number; negotiated: Negotiated }
  | { type: 'down'; conn: number; reason: string }
  /** The peer asked for our routes again (ROUTE-REFRESH). */
  | { type: 'refresh'; conn: number; afi: number; safi: number };

export type Event =
  | { type: 'start' }
  /** subcode: the Cease subcode to send (default 2, Administrative Shutdown; 3 peer de-configured, 6 configuration change). */
  | { type: 'stop'; reason?: string; subcode?: number }
  | { type: 'tcp-connected'; conn: number }
  | { type: 'tcp-failed'; conn: number; reason: string }
  | { type: 'tcp-accepted' }
  | { type: 'tcp-closed'; conn: number; reason: string }
  | { type: 'message'; conn: number; message: BgpMessage }
  | { type: 'decode-error'; conn: number; error: Notify; reason: string }
  | { type: 'timer'; timer: TimerName; conn?: number };

export interface StepResult {
  state: FsmState;
  actions: Action[];
}

/** Hold time while waiting for the peer's OPEN (RFC 4271 §8: "a large value", 4 minutes suggested). */
export const OPEN_HOLD_MS = 240_000;
const DEFAULT_IDLE_HOLD_BASE_MS = 1000;
const DEFAULT_IDLE_HOLD_MAX_MS = 60_000;

export function initialState(now: number, seed = 1): FsmState {
  return { state: 'idle', since: now, running: false, holding: false, conns: [], nextConn: 1, failures: 0, seed: seed >>> 0 || 1 };
}

/** mulberry32: a tiny PRNG so jitter is reproducible from the state. Returns [0,1) and the next seed. */
function random(seed: number): [number, number] {
  const next = (seed + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, next];
}

/** Idle hold before retry number `failures` (1-based), ms, with jitter factor j in [0,1). Pure. */
export function idleHoldMs(cfg: Pick<FsmConfig, 'idleHoldBaseMs' | 'idleHoldMaxMs'>, failures: number, j: number): number {
  const base = cfg.idleHoldBaseMs ?? DEFAULT_IDLE_HOLD_BASE_MS;
  const max = cfg.idleHoldMaxMs ?? DEFAULT_IDLE_HOLD_MAX_MS;
  const raw = Math.min(max, base * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.round(raw * (0.75 + 0.25 * j));
}

/** The RFC state a set of connections amounts to. */
function derive(s: FsmState): State {
  const rank = ['established', 'openconfirm', 'opensent'] as const;
  for (const r of rank) if (s.conns.some((c) => c.stage === r)) return r;
  if (s.conns.some((c) => c.stage === 'connecting')) return 'connect';
  // Running without a connection: waiting for the peer to dial (passive) or for ConnectRetry.
  return !s.running || s.holding ? 'idle' : 'active';
}

class Builder {
  actions: Action[] = [];
  constructor(
    public s: FsmState,
    readonly cfg: FsmConfig,
    readonly now: number,
  ) {}

  jitter(): number {
    const [r, seed] = random(this.s.seed);
    this.s = { ...this.s, seed };
    return r;
  }

  conn(id: number): Conn | undefined {
    return this.s.conns.find((c) => c.id === id);
  }

  setConn(c: Conn): void {
    this.s = { ...this.s, conns: this.s.conns.map((x) => (x.id === c.id ? c : x)) };
  }

  /** Opens an outgoing connection and arms the connect-retry timer (it also times out a slow dial). */
  dial(): void {
    const id = this.s.nextConn;
    this.s = { ...this.s, nextConn: id + 1, conns: [...this.s.conns, { id, dir: 'out', stage: 'connecting' }] };
    this.actions.push({ type: 'connect', conn: id });
    this.actions.push({ type: 'set-timer', timer: 'connect-retry', ms: this.retryMs() });
  }

  retryMs(): number {
    return Math.round(this.cfg.connectRetry * 1000 * (0.75 + 0.25 * this.jitter()));
  }

  /** Removes a connection: closes it (with an optional NOTIFICATION) and clears its timers. */
  drop(id: number, reason: string, notification?: Notify): void {
    const c = this.conn(id);
    if (!c) return;
    this.s = { ...this.s, conns: this.s.conns.filter((x) => x.id !== id) };
    this.actions.push({ type: 'close', conn: id, reason, ...(notification ? { notification } : {}) });
    this.actions.push({ type: 'clear-timer', timer: 'hold', conn: id }, { type: 'clear-timer', timer: 'keepalive', conn: id });
    if (c.stage === 'established') {
      this.actions.push({ type: 'down', conn: id, reason });
      this.s = { ...this.s, establishedAt: undefined };
    }
  }

  /** A connection ended badly. If it was the last one, wait out the backoff before retrying. */
  fail(id: number, reason: string, notification?: Notify): void {
    const c = this.conn(id);
    if (!c) return;
    const wasEstablished = c.stage === 'established';
    if (wasEstablished && this.s.establishedAt !== undefined) {
      // A session that stayed up longer than the backoff cap was healthy: start counting afresh.
      const max = this.cfg.idleHoldMaxMs ?? DEFAULT_IDLE_HOLD_MAX_MS;
      if (this.now - this.s.establishedAt > max) this.s = { ...this.s, failures: 0 };
    }
    this.drop(id, reason, notification);
    this.s = { ...this.s, lastError: reason };
    if (this.s.conns.length > 0 || !this.s.running) return;
    const failures = this.s.failures + 1;
    const ms = idleHoldMs(this.cfg, failures, this.jitter());
    this.s = { ...this.s, failures, holding: true };
    this.actions.push({ type: 'clear-timer', timer: 'connect-retry' });
    this.actions.push({ type: 'set-timer', timer: 'idle-hold', ms });
  }

  /** Sends our OPEN on a fresh TCP connection. */
  sendOpen(c: Conn): void {
    this.setConn({ ...c, stage: 'opensent' });
    this.actions.push({ type: 'send', conn: c.id, message: buildOpen(this.cfg) });
    this.actions.push({ type: 'set-timer', timer: 'hold', conn: c.id, ms: OPEN_HOLD_MS });
  }

  restartHold(c: Conn): void {
    const hold = c.negotiated?.holdTime ?? 0;
    if (c.stage !== 'opensent' && hold > 0) this.actions.push({ type: 'set-timer', timer: 'hold', conn: c.id, ms: hold * 1000 });
  }

  finish(reason?: string): StepResult {
    const state = derive(this.s);
    if (state !== this.s.state) {
      this.s = { ...this.s, state, since: this.now };
      this.actions.push({ type: 'state', state, ...(reason !== undefined ? { reason } : {}) });
    }
    return { state: this.s, actions: this.actions };
  }
}

const CEASE = 6;
const CEASE_ADMIN_SHUTDOWN = 2;
const CEASE_COLLISION = 7;
const FSM_ERROR = 5;
const HOLD_EXPIRED = 4;

/** One transition. Pure: the same (state, event, now) always gives the same result. */
export function step(cfg: FsmConfig, state: FsmState, event: Event, now: number): StepResult {
  const b = new Builder(state, cfg, now);
  switch (event.type) {
    case 'start': {
      if (b.s.running) return b.finish();
      b.s = { ...b.s, running: true, holding: false, failures: 0 };
      if (!cfg.passive) b.dial();
      return b.finish('started');
    }
    case 'stop': {
      const reason = event.reason ?? 'administratively stopped';
      for (const c of [...b.s.conns]) {
        b.drop(c.id, reason, c.stage === 'connecting' ? undefined : { code: CEASE, subcode: event.subcode ?? CEASE_ADMIN_SHUTDOWN });
      }
      b.s = { ...b.s, running: false, holding: false };
      b.actions.push({ type: 'clear-timer', timer: 'connect-retry' }, { type: 'clear-timer', timer: 'idle-hold' });
      return b.finish(reason);
    }
    case 'tcp-accepted': {
      if (!b.s.running) {
        b.actions.push({ type: 'refuse', reason: 'peer is administratively down' });
        return b.finish();
      }
      if (b.s.holding) {
        // RFC 4271 §8.2.2: Idle refuses connections; the peer retries after our idle hold.
        b.actions.push({ type: 'refuse', reason: 'waiting out the idle hold after an error' });
        return b.finish();
      }
      if (b.s.conns.some((c) => c.stage === 'established')) {
        // Collision with an Established session: the existing one wins (RFC 4271 §6.8).
        b.actions.push({ type: 'refuse', reason: 'a session with this peer is already established' });
        return b.finish();
      }
      const id = b.s.nextConn;
      const c: Conn = { id, dir: 'in', stage: 'connecting' };
      b.s = { ...b.s, nextConn: id + 1, conns: [...b.s.conns, c] };
      b.actions.push({ type: 'accept', conn: id });
      b.sendOpen(c);
      return b.finish();
    }
    case 'tcp-connected': {
      const c = b.conn(event.conn);
      if (!c || c.stage !== 'connecting') return b.finish();
      b.actions.push({ type: 'clear-timer', timer: 'connect-retry' });
      b.sendOpen(c);
      return b.finish();
    }
    case 'tcp-failed': {
      const c = b.conn(event.conn);
      if (!c) return b.finish();
      // A refused or unreachable dial is no session failure: retry after ConnectRetry (already armed
      // by dial()), from Active, accepting the peer's connection meanwhile (RFC 4271 §8.2.2 Connect).
      b.drop(c.id, event.reason);
      b.s = { ...b.s, lastError: `connect: ${event.reason}` };
      return b.finish(event.reason);
    }
    case 'tcp-closed': {
      const c = b.conn(event.conn);
      if (!c) return b.finish();
      b.fail(c.id, event.reason);
      return b.finish(event.reason);
    }
    case 'decode-error': {
      const c = b.conn(event.conn);
      if (!c) return b.finish();
      b.fail(c.id, `sent NOTIFICATION ${event.error.code}/${event.error.subcode}: ${event.reason}`, event.error);
      return b.finish(event.reason);
    }
    case 'timer':
      return timer(b, event.timer, event.conn);
    case 'message':
      return message(b, event.conn, event.message);
  }
}

function timer(b: Builder, name: TimerName, connId: number | undefined): StepResult {
  const { cfg } = b;
  switch (name) {
    case 'idle-hold': {
      if (!b.s.running || !b.s.holding) return b.finish();
      b.s = { ...b.s, holding: false };
      if (!cfg.passive) b.dial();
      return b.finish('idle hold over');
    }
    case 'connect-retry': {
      if (!b.s.running || b.s.holding || cfg.passive) return b.finish();
      const dialing = b.s.conns.filter((c) => c.dir === 'out' && c.stage === 'connecting');
      for (const c of dialing) {
        b.drop(c.id, 'connect timed out');
        b.s = { ...b.s, lastError: `connect: no answer within ${cfg.connectRetry} s` };
      }
      if (b.s.conns.length === 0) b.dial();
      else b.actions.push({ type: 'set-timer', timer: 'connect-retry', ms: b.retryMs() });
      return b.finish();
    }
    case 'hold': {
      const c = connId === undefined ? undefined : b.conn(connId);
      if (!c) return b.finish();
      const why = c.stage === 'opensent' ? 'no OPEN from the peer within the hold time' : `hold timer expired (${c.negotiated?.holdTime ?? 0} s without a message from the peer)`;
      b.fail(c.id, why, { code: HOLD_EXPIRED, subcode: 0 });
      return b.finish(why);
    }
    case 'keepalive': {
      const c = connId === undefined ? undefined : b.conn(connId);
      if (!c || (c.stage !== 'openconfirm' && c.stage !== 'established') || !c.negotiated?.keepaliveTime) return b.finish();
      b.actions.push({ type: 'send', conn: c.id, message: { type: 'keepalive' } });
      b.actions.push({ type: 'set-timer', timer: 'keepalive', conn: c.id, ms: c.negotiated.keepaliveTime * 1000 });
      return b.finish();
    }
  }
}

function message(b: Builder, connId: number, msg: BgpMessage): StepResult {
  const c = b.conn(connId);
  if (!c) return b.finish();
  if (msg.type === 'notification') {
    const why = `peer sent NOTIFICATION ${msg.code}/${msg.subcode}${notificationText(msg.code, msg.subcode)}`;
    b.fail(c.id, why);
    return b.finish(why);
  }
  switch (c.stage) {
    case 'connecting':
      return b.finish();
    case 'opensent': {
      if (msg.type !== 'open') {
        b.fail(c.id, `unexpected ${msg.type} in OpenSent`, { code: FSM_ERROR, subcode: 1 });
        return b.finish();
      }
      return receiveOpen(b, c, msg);
    }
    case 'openconfirm': {
      if (msg.type === 'keepalive') {
        const est: Conn = { ...c, stage: 'established' };
        b.setConn(est);
        b.restartHold(est);
        // Collision resolved in our favour or never happened: any other connection goes.
        for (const o of b.s.conns.filter((x) => x.id !== c.id)) b.drop(o.id, 'connection collision resolved', o.stage === 'connecting' ? undefined : { code: CEASE, subcode: CEASE_COLLISION });
        b.actions.push({ type: 'clear-timer', timer: 'connect-retry' });
        b.s = { ...b.s, establishedAt: b.now, lastError: b.s.lastError };
        b.actions.push({ type: 'established', conn: c.id, negotiated: c.negotiated! });
        return b.finish('established');
      }
      b.fail(c.id, `unexpected ${msg.type} in OpenConfirm`, { code: FSM_ERROR, subcode: 2 });
      return b.finish();
    }
    case 'established': {
      if (msg.type === 'open') {
        b.fail(c.id, 'unexpected OPEN in Established', { code: FSM_ERROR, subcode: 3 });
        return b.finish();
      }
      b.restartHold(c);
      if (msg.type === 'route-refresh') b.actions.push({ type: 'refresh', conn: c.id, afi: msg.afi, safi: msg.safi });
      return b.finish();
    }
  }
}

function receiveOpen(b: Builder, c: Conn, open: OpenMessage): StepResult {
  const r = checkOpen(b.cfg, open);
  if ('refusal' in r) {
    const { code, subcode, data, reason } = r.refusal;
    b.fail(c.id, `refused the peer's OPEN: ${reason}`, { code, subcode, data });
    return b.finish(reason);
  }
  const n = r.negotiated;
  // Collision detection (RFC 4271 §6.8) against a connection that already has the peer's OPEN.
  const other = b.s.conns.find((o) => o.id !== c.id && (o.stage === 'openconfirm' || o.stage === 'established'));
  if (other) {
    if (other.stage === 'established') {
      b.drop(c.id, 'connection collision with the established session', { code: CEASE, subcode: CEASE_COLLISION });
      return b.finish();
    }
    const local = bgpIdNumber(b.cfg.routerId) ?? 0;
    const remote = bgpIdNumber(n.peerBgpId) ?? 0;
    // Keep the connection initiated by the speaker with the higher identifier.
    const keepDir: Direction = local > remote ? 'out' : 'in';
    // Two connections the same way round (the peer dialed twice) cannot be told apart: the newer goes.
    const loser = c.dir !== other.dir && c.dir === keepDir ? other : c;
    b.drop(loser.id, 'connection collision resolved', { code: CEASE, subcode: CEASE_COLLISION });
    if (loser.id === c.id) return b.finish();
  }
  const oc: Conn = { ...c, stage: 'openconfirm', negotiated: n };
  b.setConn(oc);
  b.actions.push({ type: 'send', conn: c.id, message: { type: 'keepalive' } });
  if (n.holdTime > 0) {
    b.actions.push({ type: 'set-timer', timer: 'hold', conn: c.id, ms: n.holdTime * 1000 });
    b.actions.push({ type: 'set-timer', timer: 'keepalive', conn: c.id, ms: n.keepaliveTime * 1000 });
  } else {
    b.actions.push({ type: 'clear-timer', timer: 'hold', conn: c.id });
  }
  return b.finish();
}

const NOTIFICATION_NAMES: Record<string, string> = {
  '1': 'message header error',
  '2': 'OPEN message error',
  '2/2': 'bad peer AS',
  '2/3': 'bad BGP identifier',
  '2/6': 'unacceptable hold time',
  '3': 'UPDATE message error',
  '4': 'hold timer expired',
  '5': 'finite state machine error',
  '6': 'cease',
  '6/2': 'cease: administrative shutdown',
  '6/3': 'cease: peer de-configured',
  '6/4': 'cease: administrative reset',
  '6/5': 'cease: connection rejected',
  '6/7': 'cease: connection collision resolution',
};

/** " (name)" for a NOTIFICATION code/subcode, for status texts. */
export function notificationText(code: number, subcode: number): string {
  const name = NOTIFICATION_NAMES[`${code}/${subcode}`] ?? NOTIFICATION_NAMES[String(code)];
  return name ? ` (${name})` : '';
}
