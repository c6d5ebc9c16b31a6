// The per-NIC socket lifecycle: one Responder per NIC in use, its sockets opened lazily (ARP only
// while the NIC has IPv4 addresses, NDP only while it has IPv6 ones), and kept working while the
// NIC changes under it. Every linkCheckMs the NIC is read again (operstate, ifindex, MAC) and the
// socket counters are looked at:
// - gone: sockets closed, the addresses are told (state 'error', retried every retryMs);
// - recreated or a new MAC: sockets dropped, every address starts over (new frames, new probe);
// - down -> up, or receive errors that grew since the last check (a flap shorter than the check
//   interval shows up only as the ENETDOWN it left on the socket): the sockets are reopened and
//   the solicited-node groups rejoined, then the addresses announce again.
// The policy for the addresses (what state, what to announce) stays with the announcer; this file
// only says what happened to the NIC.
import { PacketSocketError } from '../../native-bindings/packet-socket.ts';
import type { WatchMode } from '../../native-bindings/runtime.ts';
import { log } from '../log.ts';
import { ARPHRD_ETHER, readInterface, type Nic } from './interfaces.ts';
import { type L2Metrics, type NicPublished, newNicPublished } from './l2-metrics.ts';
import { parseMac } from './mac.ts';
import { Responder, type Family, type ResponderEvents } from './responder.ts';

export interface NicPortOptions {
  sysRoot: string;
  linkCheckMs: number;
  retryMs: number;
  watchMode?: WatchMode | undefined;
}

/** What the NIC watcher tells the announcer. */
export interface NicPortEvents extends ResponderEvents {
  /** The NIC's sockets are gone or cannot be reopened: every address fails with this message. */
  unusable(message: string): void;
  /** The NIC was recreated or changed its MAC: sockets were dropped, start every address again. */
  replaced(): void;
  /** The NIC came back (up again, or sockets reopened after errors): announce again. */
  revived(): void;
  /** The retry timer fired: restart the addresses in state 'error'. */
  retry(): void;
}

/** What the last check saw of the NIC and its sockets. */
export interface LinkSeen {
  ifindex: number;
  mac: string;
  up: boolean;
  receiveErrors: number;
}

export type LinkChange = 'none' | 'gone' | 'replaced' | 'down' | 'up' | 'errors';

/** Compares the last check with the NIC now (undefined: missing) and the sockets' receive errors now. */
export function linkChange(seen: LinkSeen, now: Pick<Nic, 'index' | 'mac' | 'up'> | undefined, receiveErrors: number): LinkChange {
  if (!now) return 'gone';
  if (now.index !== seen.ifindex || now.mac !== seen.mac) return 'replaced';
  if (seen.up && !now.up) return 'down';
  if (!seen.up && now.up) return 'up';
  if (now.up && receiveErrors > seen.receiveErrors) return 'errors';
  return 'none';
}

export class NicPort<A> {
  /** The addresses on this NIC (the announcer's records). */
  readonly addresses = new Map<string, A>();
  responder: Responder | null = null;
  /** Why the NIC's sockets cannot be opened, or null. */
  error: string | null = null;
  /** The error already logged (log once per distinct error). */
  loggedError: string | null = null;
  readonly #seen: LinkSeen = { ifindex: 0, mac: '', up: false, receiveErrors: 0 };
  #published: NicPublished = newNicPublished();
  #watch: ReturnType<typeof setInterval> | null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(
    readonly name: string,
    private readonly opts: NicPortOptions,
    private readonly metrics: L2Metrics,
    private readonly events: NicPortEvents,
  ) {
    this.#watch = setInterval(() => this.#checkLink(), opts.linkCheckMs);
  }

  /** The NIC's responder with this family's socket open, or null with `error` set. */
  ensureSocket(family: Family): Responder | null {
    if (!this.responder) {
      const nic = readInterface(this.name, this.opts.sysRoot);
      if (!nic) {
        this.error = `network interface "${this.name}" not found (check the name with \`ip link\`)`;
        return null;
      }
      const mac = parseMac(nic.mac);
      if (nic.type !== ARPHRD_ETHER || !mac) {
        this.error = `network interface "${this.name}" is not an Ethernet NIC (ARP/NDP answers need a MAC address)`;
        return null;
      }
      this.responder = new Responder(this.name, mac, this.events, this.opts.watchMode ? { watchMode: this.opts.watchMode } : {});
      Object.assign(this.#seen, { ifindex: nic.index, mac: nic.mac, up: nic.up, receiveErrors: 0 });
    }
    try {
      this.responder.open(family);
    } catch (err) {
      this.error = errorText(err);
      if (!this.responder.has(4) && !this.responder.has(6)) this.dropResponder();
      return null;
    }
    if (this.error !== null) log.info('NIC usable again', { nic: this.name });
    this.error = null;
    this.loggedError = null;
    return this.responder;
  }

  /** Moves the responder's per-NIC counters into the registry. */
  publish(): void {
    const r = this.responder;
    if (r) this.metrics.publishNic(this.name, r.malformed, r.sendFailures, this.#published);
  }

  /** Closes the NIC's responder after publishing what it counted. */
  dropResponder(): void {
    this.publish();
    this.responder?.close();
    this.responder = null;
    this.#published = newNicPublished();
  }

  /** Asks for a retry after retryMs (one pending at a time). */
  scheduleRetry(): void {
    if (this.#retry !== null || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (!this.#closed) this.events.retry();
    }, this.opts.retryMs);
  }

  /** Stops watching, closes the sockets and removes the NIC's series. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#watch !== null) clearInterval(this.#watch);
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#watch = null;
    this.#retry = null;
    this.responder?.close();
    this.responder = null;
    this.metrics.removeNic(this.name);
  }

  #checkLink(): void {
    const r = this.responder;
    if (!r) return; // not open: the retry timer handles it
    const nic = readInterface(this.name, this.opts.sysRoot);
    const errors = r.socketStats().receiveErrors;
    const change = linkChange(this.#seen, nic, errors);
    if (nic) this.#seen.up = nic.up;
    this.#seen.receiveErrors = errors;
    switch (change) {
      case 'gone': {
        this.dropResponder();
        this.error = `network interface "${this.name}" disappeared`;
        this.events.unusable(this.error);
        return;
      }
      case 'replaced':
        log.warn('NIC was recreated or changed its MAC: reopening and announcing again', { nic: this.name, mac: nic?.mac });
        this.dropResponder();
        this.events.replaced();
        return;
      case 'down':
        log.warn('NIC is down: addresses on it are unreachable until it comes back', { nic: this.name, operstate: nic?.operstate });
        return;
      case 'up':
      case 'errors':
        // The kernel reported errors on the sockets (ENETDOWN on link down): a fresh socket is the
        // one state known to work, whatever the runtime's poll handle went through.
        if (change === 'up') log.info('NIC is up again: reopening its sockets and announcing its addresses', { nic: this.name });
        else log.warn('receive errors on the NIC\'s sockets: reopening them and announcing again', { nic: this.name, receiveErrors: errors });
        try {
          r.reopen(); // the responder's own counters (malformed, send failures) carry on
        } catch (err) {
          this.dropResponder();
          this.error = errorText(err);
          this.events.unusable(this.error);
          return;
        }
        this.#seen.receiveErrors = r.socketStats().receiveErrors;
        this.events.revived();
        return;
      default:
        return;
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof PacketSocketError || err instanceof Error ? err.message : String(err);
}
