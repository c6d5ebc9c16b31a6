// One BGP peer: its TCP connection(s), message framing, the FSM's timers, counters and last error.
// The decisions are in fsm.ts (pure); this file turns the FSM's actions into socket and timer calls
// and feeds back what happens as events. What is announced is the speaker's business (speaker.ts):
// the session tells it when a session is up, down, or asks for a refresh, and sends what it is given.
//
// Reading is bounded per event-loop turn: a peer flooding UPDATEs must not starve timers, the ARP
// responder or the API client running in the same process. At most MAX_MESSAGES_PER_TURN messages,
// and no more than MAX_MS_PER_TURN of work, are decoded per turn; with more buffered, the socket is
// paused and the rest is handled on the next turn (setImmediate), so TCP flow control pushes back on
// the peer meanwhile. (Without the bound a flood held a 20 ms interval up for 1.2 s, test/netns/bgp-faults.test.ts.)
import type net from 'node:net';
import { setImmediate } from 'node:timers';
import type { BgpMessage, CodecOptions, MessageType } from './codec/types.ts';
import { BgpError } from './codec/errors.ts';
import { decodeMessage, encodeMessage, frameLength } from './codec/index.ts';
import { initialState, notificationText, step, type Action, type Event, type FsmConfig, type FsmState, type TimerName } from './fsm.ts';
import type { Negotiated } from './open-check.ts';
import {
  DEFAULT_CONNECT_RETRY,
  DEFAULT_HOLD_TIME,
  DEFAULT_KEEPALIVE,
  DEFAULT_PORT,
  emptyCounts,
  peerTtl,
  type MessageCounts,
  type PeerConfig,
  type PeerStatus,
} from './peer-config.ts';
import { dial, familyOf, setAcceptedTtl, type PendingDial } from './transport.ts';

export const MAX_MESSAGES_PER_TURN = 256;
/** Wall-clock bound of one turn's decoding, ms (checked every 16 messages). */
export const MAX_MS_PER_TURN = 5;
/** How long close() lets a NOTIFICATION drain before the socket is destroyed. */
const CLOSE_GRACE_MS = 100;

export interface SessionHooks {
  /** The session is Established on `conn`: send the Adj-RIB-Out. */
  established(s: PeerSession): void;
  /** The Established session ended: whatever was sent is gone on the peer. */
  down(s: PeerSession, reason: string): void;
  /** The peer sent ROUTE-REFRESH: send the Adj-RIB-Out for that family again. */
  refresh(s: PeerSession, afi: number, safi: number): void;
  /** Status changed (state, error, counters at state changes). */
  status(st: PeerStatus): void;
  /** An internal error worth logging (never thrown into the event loop). */
  log(level: 'info' | 'warn' | 'debug', msg: string, fields?: Record<string, unknown>): void;
}

interface Connection {
  id: number;
  socket?: net.Socket;
  dialing?: PendingDial;
  codec: CodecOptions;
  buf: Uint8Array;
  off: number;
  scheduled: boolean;
  closing: boolean;
}

const COUNTER_OF: Record<MessageType, keyof MessageCounts> = {
  open: 'open',
  update: 'update',
  notification: 'notification',
  keepalive: 'keepalive',
  'route-refresh': 'refresh',
};

function fsmConfig(p: PeerConfig): FsmConfig {
  return {
    localAs: p.localAs,
    peerAs: p.peerAs,
    routerId: p.routerId,
    holdTime: p.holdTime ?? DEFAULT_HOLD_TIME,
    keepaliveInterval: p.keepaliveInterval ?? DEFAULT_KEEPALIVE,
    connectRetry: p.connectRetry ?? DEFAULT_CONNECT_RETRY,
    families: p.families,
    passive: p.passive ?? false,
    ...(p.gracefulRestart ? { gracefulRestart: p.gracefulRestart } : {}),
  };
}

export class PeerSession {
  readonly config: PeerConfig;
  readonly #fsmCfg: FsmConfig;
  readonly #hooks: SessionHooks;
  #fsm: FsmState;
  readonly #conns = new Map<number, Connection>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Sockets accepted but not yet bound to a connection id (between tcp-accepted and its actions). */
  #acceptQueue: net.Socket[] = [];
  readonly #sent = emptyCounts();
  readonly #received = emptyCounts();
  #established: { conn: number; negotiated: Negotiated; localAddress: string } | undefined;
  #closed = new Set<Promise<void>>();

  constructor(config: PeerConfig, hooks: SessionHooks, seed = Math.floor(Math.random() * 2 ** 32)) {
    this.config = config;
    this.#fsmCfg = fsmConfig(config);
    this.#hooks = hooks;
    this.#fsm = initialState(Date.now(), seed);
  }

  get name(): string {
    return this.config.name;
  }

  /** The Established connection, its negotiated parameters and our local address on it. */
  get established(): { conn: number; negotiated: Negotiated; localAddress: string } | undefined {
    return this.#established;
  }

  start(): void {
    if (this.config.adminDown) {
      this.#fsm = { ...this.#fsm, lastError: 'administratively down (adminDown: true)' };
      this.#hook('status', () => this.#hooks.status(this.status()));
      return;
    }
    this.#dispatch({ type: 'start' });
  }

  /** Stops with Cease (subcode, default 2 Administrative Shutdown) and waits for the sockets to close. */
  async stop(reason: string, subcode = 2): Promise<void> {
    this.#dispatch({ type: 'stop', reason, subcode });
    for (const s of this.#acceptQueue) s.destroy();
    this.#acceptQueue = [];
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    await Promise.all([...this.#closed]);
  }

  /** A connection from the peer's address, accepted by the speaker's listener. */
  accept(sock: net.Socket): void {
    this.#acceptQueue.push(sock);
    this.#dispatch({ type: 'tcp-accepted' });
    // Actions 'accept'/'refuse' consumed the socket; anything left was not claimed.
    for (const s of this.#acceptQueue) s.destroy();
    this.#acceptQueue = [];
  }

  /** Sends messages on the Established connection; false if there is none. */
  send(messages: BgpMessage[]): boolean {
    const est = this.#established;
    if (!est) return false;
    const c = this.#conns.get(est.conn);
    if (!c?.socket || c.closing) return false;
    for (const m of messages) this.#write(c, m);
    return true;
  }

  status(): PeerStatus {
    const s = this.#fsm;
    let lastError = s.lastError;
    if (lastError?.startsWith('connect: no answer') && this.config.authPassword) {
      lastError += `; TCP MD5 is configured: a password mismatch looks exactly like this (the peer drops wrongly signed segments silently), check authPassword of BgpPeer ${this.config.name} against the router`;
    }
    return {
      name: this.config.name,
      neighborAddress: this.config.neighborAddress,
      state: s.state,
      since: s.since,
      ...(s.establishedAt !== undefined && s.state === 'established' ? { uptimeStart: s.establishedAt } : {}),
      ...(this.#established ? { negotiatedHoldTime: this.#established.negotiated.holdTime } : {}),
      messages: { sent: { ...this.#sent }, received: { ...this.#received } },
      ...(lastError !== undefined ? { lastError } : {}),
    };
  }

  /** Calls the speaker: an exception there is logged, never thrown into a socket's data handler. */
  #hook(name: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#hooks.log('warn', `BGP session hook ${name} failed`, { peer: this.name, error: String(err) });
    }
  }

  #dispatch(event: Event): void {
    const before = this.#fsm.lastError;
    const r = step(this.#fsmCfg, this.#fsm, event, Date.now());
    this.#fsm = r.state;
    for (const a of r.actions) this.#apply(a);
    // A new error without a state change (a dial timing out while already in Connect) is news too:
    // it is how a TCP MD5 mismatch shows.
    if (r.state.lastError !== before && !r.actions.some((a) => a.type === 'state')) this.#hook('status', () => this.#hooks.status(this.status()));
  }

  #apply(a: Action): void {
    switch (a.type) {
      case 'connect':
        return this.#connect(a.conn);
      case 'accept': {
        const sock = this.#acceptQueue.shift();
        if (!sock) return;
        const ttl = peerTtl(this.config);
        try {
          if (!setAcceptedTtl(sock, familyOf(this.config.neighborAddress), ttl) && ttl !== 64) {
            this.#hooks.log('debug', 'cannot set the TTL of an accepted BGP connection on this runtime', { peer: this.name, ttl });
          }
        } catch (err) {
          this.#hooks.log('warn', 'setting the TTL of an accepted BGP connection failed', { peer: this.name, error: String(err) });
        }
        this.#attach(a.conn, sock);
        return;
      }
      case 'refuse': {
        const sock = this.#acceptQueue.shift();
        sock?.destroy();
        this.#hooks.log('debug', 'refused a connection from the peer', { peer: this.name, reason: a.reason });
        return;
      }
      case 'send': {
        const c = this.#conns.get(a.conn);
        if (c?.socket && !c.closing) this.#write(c, a.message);
        return;
      }
      case 'close':
        return this.#close(a.conn, a.notification);
      case 'set-timer': {
        const key = `${a.timer}:${a.conn ?? ''}`;
        const old = this.#timers.get(key);
        if (old) clearTimeout(old);
        const timer: TimerName = a.timer;
        const conn = a.conn;
        this.#timers.set(
          key,
          setTimeout(() => {
            this.#timers.delete(key);
            this.#dispatch({ type: 'timer', timer, ...(conn !== undefined ? { conn } : {}) });
          }, a.ms),
        );
        return;
      }
      case 'clear-timer': {
        const key = `${a.timer}:${a.conn ?? ''}`;
        const old = this.#timers.get(key);
        if (old) clearTimeout(old);
        this.#timers.delete(key);
        return;
      }
      case 'state':
        this.#hooks.log('info', 'BGP session state', { peer: this.name, state: a.state, ...(a.reason ? { reason: a.reason } : {}) });
        this.#hook('status', () => this.#hooks.status(this.status()));
        return;
      case 'established': {
        const c = this.#conns.get(a.conn);
        this.#established = { conn: a.conn, negotiated: a.negotiated, localAddress: normalizeAddress(c?.socket?.localAddress ?? '') };
        this.#hook('established', () => this.#hooks.established(this));
        this.#hook('status', () => this.#hooks.status(this.status()));
        return;
      }
      case 'down':
        if (this.#established?.conn === a.conn) this.#established = undefined;
        this.#hook('down', () => this.#hooks.down(this, a.reason));
        return;
      case 'refresh':
        this.#hook('refresh', () => this.#hooks.refresh(this, a.afi, a.safi));
        return;
    }
  }

  #connect(id: number): void {
    const c: Connection = { id, codec: { fourOctetAs: false }, buf: new Uint8Array(0), off: 0, scheduled: false, closing: false };
    this.#conns.set(id, c);
    let pending: PendingDial;
    try {
      pending = dial({
        address: this.config.neighborAddress,
        port: this.config.remotePort ?? DEFAULT_PORT,
        ttl: peerTtl(this.config),
        ...(this.config.authPassword ? { md5Key: this.config.authPassword } : {}),
      });
    } catch (err) {
      // Setting the socket up failed (e.g. the kernel has no TCP MD5): report, retry later.
      queueMicrotask(() => this.#dispatch({ type: 'tcp-failed', conn: id, reason: `BgpPeer ${this.name}: ${(err as Error).message}` }));
      return;
    }
    c.dialing = pending;
    pending.socket.then(
      (sock) => {
        c.dialing = undefined;
        if (!this.#conns.has(id) || c.closing) {
          sock.destroy();
          return;
        }
        this.#attach(id, sock);
        this.#dispatch({ type: 'tcp-connected', conn: id });
      },
      (err: Error) => {
        c.dialing = undefined;
        if (!this.#conns.has(id) || c.closing) return;
        this.#conns.delete(id);
        this.#dispatch({ type: 'tcp-failed', conn: id, reason: err.message });
      },
    );
  }

  #attach(id: number, sock: net.Socket): void {
    let c = this.#conns.get(id);
    if (!c) {
      c = { id, codec: { fourOctetAs: false }, buf: new Uint8Array(0), off: 0, scheduled: false, closing: false };
      this.#conns.set(id, c);
    }
    const conn = c;
    conn.socket = sock;
    sock.setNoDelay(true);
    sock.on('data', (chunk: Uint8Array) => this.#onData(conn, chunk));
    sock.on('error', (err) => {
      if (!conn.closing) this.#hooks.log('debug', 'BGP connection error', { peer: this.name, error: err.message });
    });
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    this.#closed.add(closed);
    void closed.then(() => {
      this.#closed.delete(closed);
      if (conn.closing || !this.#conns.has(id)) return;
      this.#conns.delete(id);
      this.#dispatch({ type: 'tcp-closed', conn: id, reason: 'the peer closed the TCP connection' });
    });
  }

  #onData(c: Connection, chunk: Uint8Array): void {
    if (c.closing) return;
    const rest = c.buf.length - c.off;
    if (rest === 0) {
      c.buf = chunk;
    } else {
      const b = new Uint8Array(rest + chunk.length);
      b.set(c.buf.subarray(c.off), 0);
      b.set(chunk, rest);
      c.buf = b;
    }
    c.off = 0;
    this.#pump(c);
  }

  /** Decodes up to MAX_MESSAGES_PER_TURN buffered messages (or MAX_MS_PER_TURN of work); the rest waits for the next turn. */
  #pump(c: Connection): void {
    c.scheduled = false;
    let handled = 0;
    const started = performance.now();
    while (!c.closing && this.#conns.get(c.id) === c) {
      if (handled >= MAX_MESSAGES_PER_TURN || (handled % 16 === 15 && performance.now() - started > MAX_MS_PER_TURN)) {
        c.socket?.pause();
        c.scheduled = true;
        setImmediate(() => this.#pump(c));
        return;
      }
      let len: number | undefined;
      let msg: BgpMessage;
      try {
        len = frameLength(c.buf, c.off);
        if (len === undefined) break;
        const frame = c.buf.subarray(c.off, c.off + len);
        c.off += len;
        msg = decodeMessage(frame, c.codec);
      } catch (err) {
        this.#received.total++;
        if (err instanceof BgpError) {
          this.#dispatch({ type: 'decode-error', conn: c.id, error: { code: err.code, subcode: err.subcode, data: err.data }, reason: err.message });
          return;
        }
        // A codec bug must not take the whole speaker down with it: end this session with an
        // unspecific header error (subcode 0, RFC 4271 §6.1) and let it reconnect.
        this.#hooks.log('warn', 'BGP codec failed on a message (bug)', { peer: this.name, error: String(err) });
        this.#dispatch({ type: 'decode-error', conn: c.id, error: { code: 1, subcode: 0 }, reason: `internal decoding error: ${String(err)}` });
        return;
      }
      handled++;
      this.#received.total++;
      this.#received[COUNTER_OF[msg.type]]++;
      this.#dispatch({ type: 'message', conn: c.id, message: msg });
      // The OPEN exchange fixes the AS_PATH width for every later message on this connection.
      const negotiated = this.#fsm.conns.find((x) => x.id === c.id)?.negotiated;
      if (negotiated) c.codec = { fourOctetAs: negotiated.fourOctetAs };
    }
    if (c.off >= c.buf.length) {
      c.buf = new Uint8Array(0);
      c.off = 0;
    }
    c.socket?.resume();
  }

  #write(c: Connection, m: BgpMessage): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(m, c.codec);
    } catch (err) {
      this.#hooks.log('warn', 'cannot encode a BGP message (bug)', { peer: this.name, type: m.type, error: String(err) });
      return;
    }
    c.socket!.write(bytes);
    this.#sent.total++;
    this.#sent[COUNTER_OF[m.type]]++;
    if (m.type === 'notification') {
      this.#hooks.log('info', 'sent NOTIFICATION', { peer: this.name, code: m.code, subcode: m.subcode, text: notificationText(m.code, m.subcode).slice(2, -1) });
    }
  }

  #close(id: number, notification: { code: number; subcode: number; data?: Uint8Array } | undefined): void {
    const c = this.#conns.get(id);
    this.#conns.delete(id);
    if (!c) return;
    c.closing = true;
    c.dialing?.cancel();
    const sock = c.socket;
    if (!sock) return;
    if (notification) {
      this.#write(c, { type: 'notification', code: notification.code, subcode: notification.subcode, data: notification.data ?? new Uint8Array(0) });
    }
    // end() flushes what was written (the NOTIFICATION, or withdrawals before it) and sends FIN;
    // a peer that stops reading must not hold the socket open: destroy after a short grace.
    sock.end();
    const t = setTimeout(() => sock.destroy(), CLOSE_GRACE_MS);
    sock.once('close', () => clearTimeout(t));
  }
}

/** '::ffff:10.0.0.1' (an IPv4 peer on a dual-stack socket) -> '10.0.0.1'. */
export function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
