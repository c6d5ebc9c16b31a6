// BgpSpeaker: every peer of this node, one listener, and what is announced to each peer.
// The Kubernetes side (src/speaker/bgp-*.ts) gives it peers (from BgpConf/BgpPeer) and routes (the
// Service IPs this node should announce) and writes back its status; this file knows neither.
//
// Per peer, the Adj-RIB-Out is what the peer was sent; any change of routes is diffed against it
// and sent at once as packed UPDATEs (no MRAI wait). After the initial table of a new session comes
// End-of-RIB per family. ROUTE-REFRESH re-sends the Adj-RIB-Out. Incoming UPDATEs are decoded (a
// malformed one gets its NOTIFICATION) and counted, never installed: this speaker only announces.
import type net from 'node:net';
import { setInterval } from 'node:timers';
import { log as defaultLog } from '../log.ts';
import { canonicalIP, parseIPBytes } from '../net/ip.ts';
import type { Prefix } from './codec/types.ts';
import { AFI_IPV4, AFI_IPV6 } from './codec/types.ts';
import { PeerSession, normalizeAddress } from './session.ts';
import { peerConfigProblems, peerTtl, DEFAULT_PORT, emptyCounts, type ListenConfig, type PeerConfig, type PeerStatus, type RouteSpec } from './peer-config.ts';
import { desiredRibOut, diffRibOut, isEmptyDiff, parseRoute, type AdjRibOut, type IpFamily } from './rib-out.ts';
import { endOfRibs, updatesForDiff } from './updates.ts';
import { familyOf, Listener } from './transport.ts';
import { md5Hint, readMd5Counters, rise, type Md5Counters } from './md5-counters.ts';

export type { ListenConfig, MessageCounts, PeerConfig, PeerStatus, RouteSpec } from './peer-config.ts';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface SpeakerOptions {
  listen?: ListenConfig;
  /** A next hop of `family` for a session whose local address is `localAddress` (undefined: none). */
  nextHop: (family: 4 | 6, localAddress: string) => string | undefined;
  log?: Logger;
}

/**
 * The most close() waits for sessions and listeners to finish closing (the 200 ms SIGTERM goal).
 * Withdrawals and NOTIFICATIONs are written at once; each session destroys its sockets 100 ms after
 * end() if the peer has not closed by then, so this bound is only reached when something hangs.
 */
export const CLOSE_DEADLINE_MS = 200;
/** How often the kernel's MD5 drop counters are looked at while some peer is not established. */
const MD5_CHECK_MS = 3000;
/** Distinct unknown sources remembered for "log once per source" (a scan must not grow memory). */
const UNKNOWN_SOURCES_REMEMBERED = 1024;

interface Peer {
  cfg: PeerConfig;
  key: string;
  session?: PeerSession;
  /** Configuration problems: the peer is not started and its status says why. */
  problems?: string;
  /** Evidence of a TCP MD5 mismatch while not established (see md5-counters.ts). */
  md5Hint?: string;
  sent: AdjRibOut;
}

export class BgpSpeaker {
  readonly #opts: SpeakerOptions;
  readonly #log: Logger;
  readonly #peers = new Map<string, Peer>();
  #routes: { prefix: Prefix; family: IpFamily }[] = [];
  #listeners: Listener[] = [];
  #listenErrors: string[] = [];
  readonly #unknownLogged = new Set<string>();
  readonly #changeCbs: ((s: PeerStatus) => void)[] = [];
  #closed = false;
  #md5Timer: ReturnType<typeof setInterval> | undefined;
  #md5Last: Md5Counters | undefined;
  /** Resolves once every listen address is bound (or failed; see listenErrors()). */
  readonly ready: Promise<void>;

  constructor(opts: SpeakerOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? defaultLog;
    this.ready = this.#startListening(opts.listen);
    this.#md5Timer = setInterval(() => this.#checkMd5(), MD5_CHECK_MS);
    // A diagnostic must not keep the process alive (node:timers gives unref() on Deno too).
    this.#md5Timer.unref();
  }

  /** Turns a rise of the kernel's MD5 drop counters into a status hint on every peer not established. */
  #checkMd5(): void {
    const waiting = [...this.#peers.values()].filter((p) => p.session && p.session.status().state !== 'established');
    if (waiting.length === 0) {
      this.#md5Last = undefined;
      return;
    }
    const now = readMd5Counters();
    const before = this.#md5Last;
    this.#md5Last = now;
    if (!now || !before) return;
    const r = rise(now, before);
    for (const p of waiting) {
      const hint = md5Hint(r, Boolean(p.cfg.authPassword));
      if (!hint || hint === p.md5Hint) continue;
      p.md5Hint = hint;
      this.#log.warn('TCP MD5 mismatch suspected', { peer: p.cfg.name, hint });
      this.#emit(this.#statusOf(p));
    }
  }

  async #startListening(listen: ListenConfig | undefined): Promise<void> {
    if (!listen || listen.port === -1) return;
    // Let the caller's setPeers() right after construction land first, so the listener is prepared
    // (MD5 keys, TTL) for those peers before listen() answers any SYN.
    await Promise.resolve();
    const port = listen.port === 0 ? DEFAULT_PORT : listen.port;
    const addresses = listen.addresses.length > 0 ? listen.addresses : ['0.0.0.0', '::'];
    for (const address of addresses) {
      try {
        const l = await Listener.open(address, port, (s) => this.#onAccept(s), (fresh) => this.#prepareListener(fresh));
        if (this.#closed) {
          await l.close();
          return;
        }
        this.#listeners.push(l);
        // Peers set while it was being opened.
        this.#prepareListener(l);
      } catch (err) {
        const msg = `BgpConf listen ${address} port ${port}: ${(err as Error).message}; fix listenAddresses/listenPort (or free the port; another BGP daemon on this node?)`;
        this.#listenErrors.push(msg);
        this.#log.error('cannot listen for BGP connections', { address, port, error: msg });
      }
    }
  }

  /** Problems binding the listen addresses (empty when all are listening). */
  listenErrors(): string[] {
    return [...this.#listenErrors];
  }

  /** Adds, removes and restarts peers to match `peers` (by name; a changed config restarts the session). */
  setPeers(peers: PeerConfig[]): void {
    if (this.#closed) return;
    const want = new Map(peers.map((p) => [p.name, p]));
    for (const [name, peer] of this.#peers) {
      const next = want.get(name);
      if (next && JSON.stringify(next) === peer.key) continue;
      // Cease: 3 "peer de-configured" when it is gone, 6 "other configuration change" when it changed.
      void peer.session?.stop(next ? 'configuration changed' : 'peer removed', next ? 6 : 3);
      this.#peers.delete(name);
    }
    for (const [name, cfg] of want) {
      if (this.#peers.has(name)) continue;
      const peer: Peer = { cfg, key: JSON.stringify(cfg), sent: new Map() };
      this.#peers.set(name, peer);
      const problems = peerConfigProblems(cfg, parseIPBytes);
      const dup = [...this.#peers.values()].find((p) => p !== peer && sameAddress(p.cfg.neighborAddress, cfg.neighborAddress));
      if (dup) problems.push(`BgpPeer ${name}: neighborAddress ${cfg.neighborAddress} is also used by BgpPeer ${dup.cfg.name}; one peer per address`);
      if (problems.length > 0) {
        peer.problems = problems.join('; ');
        this.#log.warn('BGP peer not started', { peer: name, problems: peer.problems });
        this.#emit(this.#statusOf(peer));
        continue;
      }
      peer.session = new PeerSession(cfg, {
        established: (s) => this.#onEstablished(peer, s),
        down: () => {
          peer.sent = new Map();
        },
        refresh: (s, afi) => this.#onRefresh(peer, s, afi),
        status: () => this.#emit(this.#statusOf(peer)),
        log: (level, msg, fields) => this.#log[level](msg, fields),
      });
      peer.session.start();
    }
    this.#updateListeners();
  }

  /** Announces exactly `routes` to every established peer (diffed against what each was sent). */
  setRoutes(routes: RouteSpec[]): void {
    const parsed: { prefix: Prefix; family: IpFamily }[] = [];
    const seen = new Set<string>();
    for (const r of routes) {
      const p = parseRoute(r.prefix);
      if ('error' in p) {
        this.#log.warn('BGP route ignored', { error: p.error });
        continue;
      }
      const k = `${p.prefix.address}/${p.prefix.length}`;
      if (seen.has(k)) continue;
      seen.add(k);
      parsed.push(p);
    }
    this.#routes = parsed;
    if (this.#closed) return;
    for (const peer of this.#peers.values()) this.#sync(peer);
  }

  status(): PeerStatus[] {
    return [...this.#peers.values()].map((p) => this.#statusOf(p));
  }

  onChange(cb: (s: PeerStatus) => void): void {
    this.#changeCbs.push(cb);
  }

  /**
   * Shuts every session down: with withdraw, UPDATEs withdrawing everything first; then NOTIFICATION
   * Cease/Administrative Shutdown (6/2) and close. Resolves within CLOSE_DEADLINE_MS even when a
   * peer stops reading (its socket is destroyed).
   */
  async close(opts: { withdraw?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#md5Timer);
    const stops: Promise<void>[] = [];
    for (const peer of this.#peers.values()) {
      const s = peer.session;
      if (!s) continue;
      if (opts.withdraw && s.established && peer.sent.size > 0) {
        const diff = diffRibOut(peer.sent, new Map());
        s.send(updatesForDiff(diff, this.#attrContext(peer, s)));
        peer.sent = new Map();
      }
      stops.push(s.stop('speaker shutting down', 2));
    }
    const listeners = this.#listeners.map((l) => l.close());
    this.#listeners = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...stops, ...listeners]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_DEADLINE_MS);
      }),
    ]);
    if (timer) clearTimeout(timer);
  }

  #statusOf(peer: Peer): PeerStatus {
    if (!peer.session) {
      return {
        name: peer.cfg.name,
        neighborAddress: peer.cfg.neighborAddress,
        state: 'idle',
        since: 0,
        messages: { sent: emptyCounts(), received: emptyCounts() },
        ...(peer.problems ? { lastError: peer.problems } : {}),
      };
    }
    const st = peer.session.status();
    if (st.state === 'established') peer.md5Hint = undefined;
    if (peer.md5Hint) st.lastError = st.lastError ? `${st.lastError}; ${peer.md5Hint}` : `BgpPeer ${peer.cfg.name}: ${peer.md5Hint}`;
    return { ...st, announced: peer.sent.size };
  }

  #emit(s: PeerStatus): void {
    for (const cb of this.#changeCbs) {
      try {
        cb(s);
      } catch (err) {
        this.#log.warn('BGP status callback failed', { error: String(err) });
      }
    }
  }

  #onAccept(sock: net.Socket): void {
    const from = normalizeAddress(sock.remoteAddress ?? '');
    const peer = [...this.#peers.values()].find((p) => p.session && sameAddress(p.cfg.neighborAddress, from));
    if (!peer?.session || this.#closed) {
      sock.destroy();
      if (!this.#unknownLogged.has(from)) {
        if (this.#unknownLogged.size >= UNKNOWN_SOURCES_REMEMBERED) this.#unknownLogged.clear();
        this.#unknownLogged.add(from);
        this.#log.warn('closed a BGP connection from an address that is no BgpPeer', { source: from, fix: 'add a BgpPeer with this neighborAddress, or ignore if unexpected' });
      }
      return;
    }
    peer.session.accept(sock);
  }

  #updateListeners(): void {
    for (const l of this.#listeners) this.#prepareListener(l);
  }

  /** MD5 keys of every peer with authPassword, and the TTL accepted sockets start with. */
  #prepareListener(l: Listener): void {
    const keys = new Map<string, string>();
    // Accepted sockets inherit the listener's TTL; where the runtime cannot set it per socket
    // afterwards (Deno), the largest TTL any peer of the family needs keeps every session possible.
    let ttl = 0;
    for (const p of this.#peers.values()) {
      const addr = canonicalIP(p.cfg.neighborAddress);
      if (!p.session || !addr) continue;
      if (p.cfg.authPassword) keys.set(addr, p.cfg.authPassword);
      if (familyOf(addr) === l.family) ttl = Math.max(ttl, peerTtl(p.cfg));
    }
    try {
      l.setTtl(ttl || 64);
    } catch (err) {
      this.#log.warn('cannot set the TTL of the BGP listener', { error: (err as Error).message });
    }
    try {
      l.setKeys(keys);
    } catch (err) {
      this.#log.error('cannot set TCP MD5 keys on the BGP listener', { error: (err as Error).message, fix: 'the kernel needs CONFIG_TCP_MD5SIG for BgpPeer authPassword' });
    }
  }

  #attrContext(peer: Peer, s: PeerSession): { localAs: number; peerAs: number; fourOctetAs: boolean } {
    return { localAs: peer.cfg.localAs, peerAs: peer.cfg.peerAs, fourOctetAs: s.established?.negotiated.fourOctetAs ?? false };
  }

  #desired(peer: Peer, s: PeerSession): AdjRibOut {
    const est = s.established!;
    const local = est.localAddress;
    const localFamily = familyOf(local);
    const hop = (f: IpFamily): string | undefined => this.#opts.nextHop(f, local) ?? (f === localFamily ? local : undefined);
    const { rib, skipped } = desiredRibOut(this.#routes, est.negotiated.families, { 4: hop(4), 6: hop(6) });
    for (const why of Object.values(skipped)) this.#log.debug('BGP routes not sent to peer', { peer: peer.cfg.name, why });
    return rib;
  }

  /** Sends the difference between what the peer should carry and what it was sent. */
  #sync(peer: Peer): void {
    const s = peer.session;
    if (!s?.established) return;
    const desired = this.#desired(peer, s);
    const diff = diffRibOut(peer.sent, desired);
    if (isEmptyDiff(diff)) return;
    if (s.send(updatesForDiff(diff, this.#attrContext(peer, s)))) {
      peer.sent = desired;
      this.#emit(this.#statusOf(peer));
    }
  }

  #onEstablished(peer: Peer, s: PeerSession): void {
    peer.sent = new Map();
    const desired = this.#desired(peer, s);
    const msgs = updatesForDiff(diffRibOut(new Map(), desired), this.#attrContext(peer, s));
    msgs.push(...endOfRibs(s.established!.negotiated.families));
    if (s.send(msgs)) peer.sent = desired;
  }

  #onRefresh(peer: Peer, s: PeerSession, afi: number): void {
    if (!s.established) return;
    const family: IpFamily | undefined = afi === AFI_IPV4 ? 4 : afi === AFI_IPV6 ? 6 : undefined;
    if (family === undefined) return;
    const again: AdjRibOut = new Map([...peer.sent].filter(([, e]) => e.family === family));
    s.send(updatesForDiff(diffRibOut(new Map(), again), this.#attrContext(peer, s)));
  }
}

function sameAddress(a: string, b: string): boolean {
  const ca = canonicalIP(a);
  return ca !== undefined && ca === canonicalIP(b);
}
