// The per-NIC packet loop: up to two PacketSockets on one NIC (ARP, and IPv6 filtered to NS/NA),
// each frame through the pure respond() decision, replies sent back out of the socket the
// question came in on. The announcer owns the policy (which addresses, when, what to report); this
// file only knows "answer what is in `answering`, tell me what happens".
//
// Per frame: an ARP request or a (non-DAD) Neighbor Solicitation for an owned address takes an
// allocation-free path (arp-fast.ts / ndp-fast.ts: numeric lookup, reply written into one reused
// buffer); everything else goes through the
// pure respond() with one Set lookup per address in the frame. Counters are plain numbers here;
// the announcer publishes them when /metrics is scraped. Claims are checked only while probing.
import { PacketSocket, type ReceivedFrame } from '../../native-bindings/packet-socket.ts';
import type { WatchMode } from '../../native-bindings/runtime.ts';
import { arpFilter, ndpFilter } from './bpf-filters.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.ts';
import { respond, type ConflictWhy, type NicIdentity } from './respond.ts';
import { ARP_REPLY_LENGTH, fastArpReply, ipv4Key, ipv4KeyOf } from './arp-fast.ts';
import { NA_REPLY_LENGTH, fastNaReply } from './ndp-fast.ts';
import { claimOf } from './claim.ts';
import { DefenseLimiter } from './defense-limit.ts';
import { parseIPv6 } from '../net/ip.ts';
import { solicitedNodeMulticastMac } from './mac.ts';
import type { RejectReason } from './result.ts';

export type Family = 4 | 6;

const RECEIVE_BUFFER_BYTES = 1 << 20;

/** Per-address counters, plain numbers (the announcer publishes them to Prometheus on scrape). */
export interface AddressCounts {
  /** Requests (ARP requests/probes, NS) received for the address. */
  requests: number;
  /** Answers the kernel accepted for sending. */
  responses: number;
  /** ARP probes / DAD solicitations from another host for the address (answered, to defend it). */
  probes: number;
  /** Gratuitous ARP / unsolicited NA frames sent for the address (counted by the announcer). */
  gratuitous: number;
}

export function newCounts(): AddressCounts {
  return { requests: 0, responses: 0, probes: 0, gratuitous: 0 };
}

export interface ResponderEvents {
  /** Another MAC claims an address being answered. */
  claimed(ip: string, mac: string, why: ConflictWhy): void;
  /** Another MAC claims (or probes for) an address in `probing`. */
  probeClaimed(ip: string, mac: string): void;
}

export interface ResponderOptions {
  watchMode?: WatchMode;
  /** Spaces out the NAs that defend an address against DAD probes (default: one per address per second). */
  dadDefense?: DefenseLimiter;
}

export class Responder {
  /** Addresses being probed on this NIC: not answered, but claims for them are reported. */
  readonly probing = new Set<string>();
  /** Frames that failed validation, by reason (never answered). */
  readonly malformed = new Map<RejectReason, number>();
  /** Answers or announcements the kernel refused to send (queue full, NIC down). */
  sendFailures = 0;
  /** DAD probes not answered because their address was defended less than an interval ago. */
  defencesLimited = 0;
  /** Answered addresses (canonical text, both families) and their counters. */
  readonly #answering = new Map<string, AddressCounts>();
  /** The IPv4 ones again by 32-bit key, for the allocation-free ARP path. */
  readonly #answering4 = new Map<number, AddressCounts>();
  /**
   * The IPv6 ones by their last 32 bits, for the allocation-free NS path: a chain (almost always of
   * one) of the first 96 bits as numbers, compared in full. Numbers, not a Uint8Array per
   * address: a typed array and its backing store cost ~0.2 KB each.
   */
  readonly #answering6 = new Map<number, Owned6>();
  readonly #owned6 = (b: Uint8Array, offset: number): boolean => this.#find6(b, offset) !== undefined;
  readonly #reply = new Uint8Array(ARP_REPLY_LENGTH);
  readonly #replyNa = new Uint8Array(NA_REPLY_LENGTH);
  readonly #id: NicIdentity;
  readonly #owned = (ip: string): boolean => this.#answering.has(ip);
  #arp: PacketSocket | null = null;
  #ndp: PacketSocket | null = null;
  /** IPv6 addresses whose solicited-node group is joined on the NDP socket (the group MAC is derived again when needed). */
  readonly #groups = new Set<string>();
  readonly #dadDefense: DefenseLimiter;

  constructor(
    readonly nic: string,
    readonly mac: Uint8Array,
    private readonly events: ResponderEvents,
    private readonly opts: ResponderOptions = {},
  ) {
    this.#id = { mac };
    this.#dadDefense = opts.dadDefense ?? new DefenseLimiter(() => performance.now());
  }

  /** Starts answering `ip` (canonical text), counting into `counts`. */
  answer(ip: string, counts: AddressCounts): void {
    this.stopAnswering(ip);
    this.#answering.set(ip, counts);
    const b6 = ip.includes(':') ? parseIPv6(ip) : null;
    if (b6) {
      const k = ipv4Key(b6, 12);
      this.#answering6.set(k, { ...head96(b6, 0), counts, next: this.#answering6.get(k) ?? null });
      return;
    }
    const k = ipv4KeyOf(ip);
    if (!Number.isNaN(k)) this.#answering4.set(k, counts);
  }

  #find6(b: Uint8Array, offset: number): AddressCounts | undefined {
    const w0 = bits24(b, offset);
    const w1 = bits24(b, offset + 3);
    const w2 = bits24(b, offset + 6);
    const w3 = bits24(b, offset + 9);
    for (let e = this.#answering6.get(ipv4Key(b, offset + 12)) ?? null; e !== null; e = e.next) {
      if (e.w0 === w0 && e.w1 === w1 && e.w2 === w2 && e.w3 === w3) return e.counts;
    }
    return undefined;
  }

  /** Stops answering `ip` at once. */
  stopAnswering(ip: string): void {
    if (!this.#answering.delete(ip)) return;
    const b6 = ip.includes(':') ? parseIPv6(ip) : null;
    if (b6) {
      const k = ipv4Key(b6, 12);
      const h = head96(b6, 0);
      let rest: Owned6 | null = null; // the chain without `ip`, rebuilt (chains are of one or two)
      for (let e = this.#answering6.get(k) ?? null; e !== null; e = e.next) {
        if (e.w0 !== h.w0 || e.w1 !== h.w1 || e.w2 !== h.w2 || e.w3 !== h.w3) rest = { ...e, next: rest };
      }
      if (rest) this.#answering6.set(k, rest);
      else this.#answering6.delete(k);
      return;
    }
    const k = ipv4KeyOf(ip);
    if (!Number.isNaN(k)) this.#answering4.delete(k);
  }

  isAnswering(ip: string): boolean {
    return this.#answering.has(ip);
  }

  /** Whether the socket of this family is open. */
  has(family: Family): boolean {
    return (family === 4 ? this.#arp : this.#ndp) !== null;
  }

  /** Opens the socket of this family if it is not open. Throws PacketSocketError (one-line message). */
  open(family: Family): void {
    if (this.has(family)) return;
    const sock = this.#openSocket(family);
    if (family === 4) this.#arp = sock;
    else this.#ndp = sock;
  }

  #openSocket(family: Family): PacketSocket {
    const sock = PacketSocket.open({
      ifname: this.nic,
      ethertype: family === 4 ? ETHERTYPE_ARP : ETHERTYPE_IPV6,
      filter: family === 4 ? arpFilter() : ndpFilter(),
      // ~1,000 queued requests: a 100 ms stall at 10k requests/s loses nothing. Memory is only
      // used while frames wait.
      receiveBufferBytes: RECEIVE_BUFFER_BYTES,
      ...(this.opts.watchMode ? { watchMode: this.opts.watchMode } : {}),
    });
    sock.onFrame((f) => this.#onFrame(sock, f));
    return sock;
  }

  /** Closes the socket of this family (leaving its groups). */
  closeFamily(family: Family): void {
    if (family === 4) {
      this.#arp?.close();
      this.#arp = null;
    } else {
      this.#ndp?.close();
      this.#ndp = null;
      this.#groups.clear(); // closing the socket left every group
    }
  }

  /**
   * Closes and opens again every socket that is open, rejoining the solicited-node groups; the
   * answered set and counters stay. For a NIC that came back from down, or a socket that keeps
   * reporting errors. Throws PacketSocketError (one-line message) if a socket cannot be opened; the
   * old socket of that family then stays in use.
   */
  reopen(): void {
    // Make before break: the new socket is open (and in every solicited-node group) before the old
    // one closes, so a request that arrives during the swap is queued on one of them, not lost.
    // What the old one already holds (frames queued since the event loop last read it, and the
    // swap runs from a timer, before the loop reads sockets again) is answered before it closes:
    // closing drops its queue. A frame that reaches both in that instant is answered twice; an
    // extra identical reply is harmless, a missing one is what this is here to fix.
    for (const family of [4, 6] as const) {
      const old = family === 4 ? this.#arp : this.#ndp;
      if (!old) continue;
      const fresh = this.#openSocket(family);
      if (family === 6) {
        try {
          for (const ip of this.#groups) fresh.addMembership(groupOf(ip));
        } catch (err) {
          fresh.close();
          throw err;
        }
        this.#ndp = fresh;
      } else {
        this.#arp = fresh;
      }
      old.deliverQueued();
      old.close();
    }
  }

  /** Joins the solicited-node group of an IPv6 address (idempotent per address). Needs the NDP socket. */
  join(ip: string): void {
    if (this.#groups.has(ip) || !this.#ndp) return;
    if (!parseIPv6(ip)) return;
    this.#ndp.addMembership(groupOf(ip));
    this.#groups.add(ip);
  }

  /** Leaves the group joined for `ip`; the kernel counts joins, so a group shared by two addresses stays. */
  leave(ip: string): void {
    if (!this.#groups.delete(ip)) return;
    try {
      this.#ndp?.dropMembership(groupOf(ip));
    } catch {
      // The socket is on its way out (NIC gone): the group goes with it.
    }
  }

  /** Sends a frame out of this family's socket; false (counted in sendFailures) if it is closed or the kernel refused. */
  send(family: Family, frame: Uint8Array): boolean {
    const sock = family === 4 ? this.#arp : this.#ndp;
    const ok = sock ? safeSend(sock, frame) : false;
    if (!ok) this.sendFailures++;
    return ok;
  }

  /** Counters of both sockets (for malformed/dropped accounting and tests). */
  socketStats(): { received: number; droppedNotForUs: number; sent: number; sendFailed: number; receiveErrors: number } {
    const out = { received: 0, droppedNotForUs: 0, sent: 0, sendFailed: 0, receiveErrors: 0 };
    for (const s of [this.#arp, this.#ndp]) {
      if (!s) continue;
      out.received += s.stats.received;
      out.droppedNotForUs += s.stats.droppedNotForUs;
      out.sent += s.stats.sent;
      out.sendFailed += s.stats.sendFailed;
      out.receiveErrors += s.stats.receiveErrors;
    }
    return out;
  }

  close(): void {
    this.closeFamily(4);
    this.closeFamily(6);
  }

  #onFrame(sock: PacketSocket, f: ReceivedFrame): void {
    const frame = f.data;
    if (this.probing.size > 0) {
      const c = claimOf(frame, this.mac);
      if (c && this.probing.has(c.ip)) this.events.probeClaimed(c.ip, c.mac);
    }
    // Hot path: an ARP request for an address we answer, without decoding into objects.
    if (this.#answering4.size > 0) {
      const k = fastArpReply(frame, frame.length, this.mac, this.#answering4, this.#reply);
      if (k >= 0) {
        const c = this.#answering4.get(k)!;
        c.requests++;
        if (safeSend(sock, this.#reply)) c.responses++;
        else this.sendFailures++;
        if (frame[28] === 0 && frame[29] === 0 && frame[30] === 0 && frame[31] === 0) c.probes++; // ARP probe
        return;
      }
    }
    if (this.#answering6.size > 0 && fastNaReply(frame, frame.length, this.mac, this.#owned6, this.#replyNa)) {
      const c = this.#find6(frame, 62)!;
      c.requests++;
      if (safeSend(sock, this.#replyNa)) c.responses++;
      else this.sendFailures++;
      return;
    }
    const d = respond(frame, this.#id, this.#owned);
    switch (d.kind) {
      case 'reply': {
        const c = this.#answering.get(d.ip);
        if (d.why === 'ns-dad' && !this.#dadDefense.allow(d.ip)) {
          this.defencesLimited++;
          if (c) {
            c.requests++;
            c.probes++;
          }
          return;
        }
        const sent = safeSend(sock, d.frame);
        if (!sent) this.sendFailures++;
        if (!c) return;
        c.requests++;
        if (sent) c.responses++;
        if (d.why === 'arp-probe' || d.why === 'ns-dad') c.probes++;
        return;
      }
      case 'conflict':
        this.events.claimed(d.ip, d.mac, d.why);
        return;
      case 'malformed':
        this.malformed.set(d.reason, (this.malformed.get(d.reason) ?? 0) + 1);
        return;
      default:
        return;
    }
  }
}

/**
 * The first 96 bits of an IPv6 address as four 24-bit numbers: small integers, which V8 keeps
 * inside the object (a 32-bit value does not fit a small integer and would be boxed).
 */
interface Head96 {
  w0: number;
  w1: number;
  w2: number;
  w3: number;
}

/** An answered IPv6 address in #answering6: its first 96 bits, its counters, the next one with the same last 32 bits. */
interface Owned6 extends Head96 {
  counts: AddressCounts;
  next: Owned6 | null;
}

function bits24(b: Uint8Array, offset: number): number {
  return (b[offset]! << 16) | (b[offset + 1]! << 8) | b[offset + 2]!;
}

function head96(b: Uint8Array, offset: number): Head96 {
  return { w0: bits24(b, offset), w1: bits24(b, offset + 3), w2: bits24(b, offset + 6), w3: bits24(b, offset + 9) };
}

/** The solicited-node group MAC of a joined address (valid IPv6 text: join() checked it). */
function groupOf(ip: string): Uint8Array {
  return solicitedNodeMulticastMac(parseIPv6(ip)!);
}

function safeSend(sock: PacketSocket, frame: Uint8Array): boolean {
  if (!sock.isOpen) return false;
  try {
    return sock.send(frame);
  } catch {
    // A non-transient send error (e.g. the NIC vanished under us): the NIC watcher reopens.
    return false;
  }
}
