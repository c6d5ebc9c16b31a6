// PacketSocket: one AF_PACKET raw socket on one NIC for one ethertype, with a classic BPF
// filter, receiving through the event loop (never blocking it; on Node never holding pool
// threads in the default mode, see runtime.ts for Deno) and sending whole Ethernet frames. Runtime-neutral: Uint8Array in and out.
import { readFileSync } from 'node:fs';
import koffi from 'koffi';
import type { BpfInstruction } from './bpf.ts';
import { acceptAllFilter } from './bpf.ts';
import * as libc from './libc.ts';
import { watchReadable, type ReadableWatch, type WatchMode } from './runtime.ts';

export interface ReceivedFrame {
  /** The whole frame from the Ethernet header on (a copy; the receiver may keep it). */
  data: Uint8Array;
  /** sll_pkttype: PACKET_HOST (0), PACKET_BROADCAST (1) or PACKET_MULTICAST (2). */
  pktType: number;
  ifindex: number;
}

export interface PacketSocketStats {
  /** Frames delivered to the onFrame callback. */
  received: number;
  /** Frames dropped here because their pktType was PACKET_OTHERHOST or PACKET_OUTGOING. */
  droppedNotForUs: number;
  /** Frames handed to the kernel by send(). */
  sent: number;
  /** send() calls that the kernel refused for a transient reason (queue full, NIC down). */
  sendFailed: number;
  /** recvfrom errors other than EAGAIN/EINTR. */
  receiveErrors: number;
}

export interface PacketSocketOptions {
  ifname: string;
  /** Ethertype to bind to (host order), e.g. 0x0806 for ARP, 0x86dd for IPv6. */
  ethertype: number;
  /** Classic BPF program attached before bind; default accepts everything of the ethertype. */
  filter?: BpfInstruction[];
  /** How readiness reaches the event loop; default from runtime.ts (uv-poll on Node, async-poll on Deno). */
  watchMode?: WatchMode;
  /**
   * Receive buffer to ask for (SO_RCVBUFFORCE, else SO_RCVBUF capped by net.core.rmem_max), so a
   * burst of requests survives a short stall of the event loop (GC, a busy CPU). Best effort.
   */
  receiveBufferBytes?: number;
}

/** A user-facing failure: `message` is one line naming the NIC and the fix. */
export class PacketSocketError extends Error {
  override readonly name = 'PacketSocketError';
  constructor(
    message: string,
    /** Symbolic errno, e.g. 'ENODEV', 'EPERM', or 'EINVAL' for bad arguments. */
    readonly code: string,
    readonly errno: number = 0,
  ) {
    super(message);
  }
}

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(koffi.os.errno).map(([name, n]) => [n, name]),
);
function errnoName(n: number): string {
  return ERRNO_NAMES[n] ?? `errno ${n}`;
}
function describe(n: number): string {
  return `${errnoName(n)}: ${libc.strerror(n)}`;
}

/** True if this process has CAP_NET_RAW in its effective set (root normally has it). */
export function hasNetRaw(): boolean {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    if (!m || !m[1]) return false;
    return (BigInt('0x' + m[1]) & (1n << 13n)) !== 0n; // CAP_NET_RAW = 13
  } catch {
    return false;
  }
}

const RECV_BUFFER = 65536;
/** Upper bound of frames handled per wake-up, so a flood cannot starve timers; the watcher
 * fires again while the socket stays readable. */
const DRAIN_BUDGET = 4096;

export class PacketSocket {
  readonly ifname: string;
  readonly ifindex: number;
  readonly ethertype: number;
  readonly stats: PacketSocketStats = { received: 0, droppedNotForUs: 0, sent: 0, sendFailed: 0, receiveErrors: 0 };

  #fd: number;
  #watch: ReadableWatch | null = null;
  #callback: ((frame: ReceivedFrame) => void) | null = null;
  readonly #sendAddr: Uint8Array;
  readonly #buf = new Uint8Array(RECV_BUFFER);
  readonly #from = new Uint8Array(libc.SOCKADDR_LL_SIZE);
  readonly #fromLen = new Uint32Array(1);
  readonly #watchMode: WatchMode | undefined;

  private constructor(fd: number, ifname: string, ifindex: number, ethertype: number, watchMode: WatchMode | undefined) {
    this.#fd = fd;
    this.ifname = ifname;
    this.ifindex = ifindex;
    this.ethertype = ethertype;
    this.#sendAddr = libc.sockaddrLl(ifindex, ethertype);
    this.#watchMode = watchMode;
  }

  /**
   * Opens a non-blocking AF_PACKET socket on `ifname`: socket(protocol 0, so nothing is queued
   * yet) → SO_ATTACH_FILTER → bind(ifindex, ethertype). Binding last means no frame is ever
   * queued before the filter runs. Throws PacketSocketError with a one-line message.
   */
  static open(opts: PacketSocketOptions): PacketSocket {
    const { ifname, ethertype } = opts;
    if (!ifname || ifname.length > 15 || /[\s/:]/.test(ifname)) {
      throw new PacketSocketError(`invalid network interface name "${ifname}"`, 'EINVAL', libc.EINVAL);
    }
    if (!Number.isInteger(ethertype) || ethertype < 0 || ethertype > 0xffff) {
      throw new PacketSocketError(`invalid ethertype ${ethertype}`, 'EINVAL', libc.EINVAL);
    }
    const ifindex = libc.if_nametoindex(ifname) as number;
    if (ifindex === 0) {
      throw new PacketSocketError(`no such network interface "${ifname}"`, 'ENODEV', libc.ENODEV);
    }
    const fd = libc.socket(libc.AF_PACKET, libc.SOCK_RAW | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, 0) as number;
    if (fd < 0) {
      const e = libc.errno();
      if (e === libc.EPERM || e === libc.EACCES) {
        throw new PacketSocketError(
          `opening a raw packet socket on "${ifname}" needs CAP_NET_RAW (run as root or grant NET_RAW)`,
          errnoName(e),
          e,
        );
      }
      throw new PacketSocketError(`cannot open a packet socket on "${ifname}" (${describe(e)})`, errnoName(e), e);
    }
    try {
      const filter = opts.filter ?? acceptAllFilter();
      if (filter.length === 0 || filter.length > 4096) {
        throw new PacketSocketError(`BPF filter must have 1..4096 instructions, got ${filter.length}`, 'EINVAL', libc.EINVAL);
      }
      const prog = { len: filter.length, filter };
      if ((libc.setsockoptFprog(fd, libc.SOL_SOCKET, libc.SO_ATTACH_FILTER, prog, koffi.sizeof(libc.SockFprog)) as number) !== 0) {
        const e = libc.errno();
        throw new PacketSocketError(`cannot attach BPF filter on "${ifname}" (${describe(e)})`, errnoName(e), e);
      }
      if (opts.receiveBufferBytes !== undefined && opts.receiveBufferBytes > 0) {
        const size = new Int32Array([Math.min(opts.receiveBufferBytes, 0x3fffffff)]);
        if ((libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUFFORCE, size, 4) as number) !== 0) {
          libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUF, size, 4); // capped by rmem_max; fine
        }
      }
      const addr = libc.sockaddrLl(ifindex, ethertype);
      if ((libc.bind(fd, addr, addr.length) as number) !== 0) {
        const e = libc.errno();
        if (e === libc.ENODEV || e === libc.ENXIO) {
          throw new PacketSocketError(`no such network interface "${ifname}" (it disappeared)`, 'ENODEV', e);
        }
        throw new PacketSocketError(`cannot bind packet socket to "${ifname}" (${describe(e)})`, errnoName(e), e);
      }
    } catch (err) {
      libc.close(fd);
      throw err;
    }
    return new PacketSocket(fd, ifname, ifindex, ethertype, opts.watchMode);
  }

  /** True until close(). */
  get isOpen(): boolean {
    return this.#fd >= 0;
  }

  /**
   * Sets the frame callback (replacing any previous one) and starts watching the socket.
   * Frames are delivered from the event loop; each wake-up drains the socket until EAGAIN
   * (or DRAIN_BUDGET frames). Frames with pktType PACKET_OTHERHOST or PACKET_OUTGOING are
   * dropped and counted in stats.droppedNotForUs. An exception thrown by the callback
   * propagates (it is a bug in the caller); the remaining frames are read on the next wake-up.
   */
  onFrame(cb: (frame: ReceivedFrame) => void): void {
    this.#assertOpen('onFrame');
    this.#callback = cb;
    if (!this.#watch) {
      this.#watch = watchReadable(this.#fd, () => this.#drain(), this.#watchMode);
    }
  }

  #drain(): void {
    const fd = this.#fd;
    for (let i = 0; i < DRAIN_BUDGET && this.#fd === fd && fd >= 0; i++) {
      this.#fromLen[0] = libc.SOCKADDR_LL_SIZE;
      const n = libc.recvfrom(fd, this.#buf, RECV_BUFFER, libc.MSG_DONTWAIT, this.#from, this.#fromLen) as number;
      if (n < 0) {
        const e = libc.errno();
        if (e === libc.EINTR) continue;
        if (e !== libc.EAGAIN) this.stats.receiveErrors++;
        return;
      }
      const pktType = this.#from[10] ?? 0;
      if (pktType === libc.PACKET_OTHERHOST || pktType === libc.PACKET_OUTGOING) {
        this.stats.droppedNotForUs++;
        continue;
      }
      this.stats.received++;
      const cb = this.#callback;
      if (cb) cb({ data: this.#buf.slice(0, Math.min(n, RECV_BUFFER)), pktType, ifindex: this.ifindex });
    }
  }

  /**
   * Sends one whole Ethernet frame (destination MAC first) out of this NIC.
   * Returns false (and counts stats.sendFailed) when the kernel refuses it for a transient
   * reason: queue full (EAGAIN/ENOBUFS) or the NIC is down (ENETDOWN/ENXIO). Other failures
   * are programming errors and throw.
   */
  send(frame: Uint8Array): boolean {
    this.#assertOpen('send');
    const n = libc.sendto(this.#fd, frame, frame.length, 0, this.#sendAddr, this.#sendAddr.length) as number;
    if (n >= 0) {
      this.stats.sent++;
      return true;
    }
    const e = libc.errno();
    if (e === libc.EAGAIN || e === libc.ENOBUFS || e === libc.ENETDOWN || e === libc.ENXIO) {
      this.stats.sendFailed++;
      return false;
    }
    throw new PacketSocketError(`send on "${this.ifname}" failed (${describe(e)})`, errnoName(e), e);
  }

  /**
   * Joins a link-layer multicast group on this NIC (PACKET_ADD_MEMBERSHIP, PACKET_MR_MULTICAST),
   * e.g. 33:33:ff:xx:xx:xx for a solicited-node group; visible in `ip maddr show dev IF`.
   * The kernel reference-counts identical joins per socket; closing the socket leaves all groups.
   */
  addMembership(mac: Uint8Array): void {
    this.#membership(libc.PACKET_ADD_MEMBERSHIP, mac, 'join');
  }

  /** Leaves a group joined with addMembership (one join is undone per call). */
  dropMembership(mac: Uint8Array): void {
    this.#membership(libc.PACKET_DROP_MEMBERSHIP, mac, 'leave');
  }

  #membership(op: number, mac: Uint8Array, verb: string): void {
    this.#assertOpen(`${verb} multicast group`);
    if (mac.length !== 6) throw new PacketSocketError(`multicast MAC must be 6 bytes, got ${mac.length}`, 'EINVAL', libc.EINVAL);
    const address = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 6; i++) address[i] = mac[i] ?? 0;
    const mreq = { mr_ifindex: this.ifindex, mr_type: libc.PACKET_MR_MULTICAST, mr_alen: 6, mr_address: address };
    if ((libc.setsockoptMreq(this.#fd, libc.SOL_PACKET, op, mreq, koffi.sizeof(libc.PacketMreq)) as number) !== 0) {
      const e = libc.errno();
      const hex = Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
      throw new PacketSocketError(`cannot ${verb} multicast group ${hex} on "${this.ifname}" (${describe(e)})`, errnoName(e), e);
    }
  }

  /** Stops watching and closes the socket. Idempotent; afterwards nothing keeps the process alive. */
  close(): void {
    if (this.#fd < 0) return;
    // Stop the watcher before closing the fd, so libuv never polls a closed (or reused) fd.
    this.#watch?.close();
    this.#watch = null;
    this.#callback = null;
    libc.close(this.#fd);
    this.#fd = -1;
  }

  #assertOpen(what: string): void {
    if (this.#fd < 0) throw new PacketSocketError(`${what} on closed packet socket for "${this.ifname}"`, 'EBADF', 9);
  }
}
