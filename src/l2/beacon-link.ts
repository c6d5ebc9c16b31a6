// The beacons' sockets: one AF_PACKET socket for ethertype 0x88B5 per NIC the speaker may announce
// on, joined to the beacon group (so the NIC's filter lets the group through), sending whole
// frames and handing every received payload, with its sender MAC, to one callback. Thin I/O: what
// a beacon means is decided in src/speaker (alive-set.ts), its bytes in beacon.ts/beacon-auth.ts.
//
// NICs come and go and flap: every linkCheckMs each NIC is re-read from sysfs; a NIC that was
// recreated, changed its MAC or came back up gets a fresh socket (a poll watch can stop for good
// after the link reported an error), and a NIC that cannot be opened is retried on the next check.
import { PacketSocket, type PacketSocketError } from '../../native-bindings/packet-socket.ts';
import type { WatchMode } from '../../native-bindings/runtime.ts';
import { log } from '../log.ts';
import { ETHERTYPE_BEACON, beaconGroupMac } from './beacon.ts';
import { ETH_HEADER_LENGTH } from './ethernet.ts';
import { readInterface } from './interfaces.ts';
import { parseMac } from './mac.ts';

export interface BeaconArrival {
  nic: string;
  /** The Ethernet source (6 bytes, a view valid during the callback). */
  srcMac: Uint8Array;
  /** Bytes after the Ethernet header (a view valid during the callback). */
  payload: Uint8Array;
}

export interface BeaconLinkOptions {
  onBeacon: (a: BeaconArrival) => void;
  linkCheckMs?: number;
  sysRoot?: string;
  watchMode?: WatchMode;
}

interface Port {
  name: string;
  sock: PacketSocket | null;
  mac: Uint8Array | null;
  macText: string;
  ifindex: number;
  up: boolean;
  error: string | null;
}

export class BeaconLinks {
  readonly #opts: BeaconLinkOptions;
  readonly #ports = new Map<string, Port>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  /** Frames sent and send failures, for metrics. */
  readonly stats = { sent: 0, sendFailed: 0, received: 0, bytesSent: 0 };

  constructor(opts: BeaconLinkOptions) {
    this.#opts = opts;
    this.#timer = setInterval(() => this.#check(), opts.linkCheckMs ?? 1000);
    this.#timer.unref?.();
  }

  /** The NICs to beacon on; sockets are opened and closed to match. */
  setNics(names: Iterable<string>): void {
    if (this.#closed) return;
    const want = new Set(names);
    for (const [name, p] of this.#ports) {
      if (!want.has(name)) {
        this.#closeSock(p);
        this.#ports.delete(name);
      }
    }
    for (const name of want) {
      if (this.#ports.has(name)) continue;
      const p: Port = { name, sock: null, mac: null, macText: '', ifindex: 0, up: false, error: null };
      this.#ports.set(name, p);
      this.#open(p);
    }
  }

  nics(): string[] {
    return [...this.#ports.keys()].sort();
  }

  /** NICs whose socket is not open, with why. */
  errors(): Map<string, string> {
    const out = new Map<string, string>();
    for (const p of this.#ports.values()) if (p.error) out.set(p.name, p.error);
    return out;
  }

  /**
   * Sends one frame on every NIC; `frameFor` builds it from the NIC's name and MAC. Returns, per
   * NIC, whether the frame left: false for a NIC that is down, gone or whose socket is not open
   * (the kernel refuses a send on a down link at once, so this notices a link going down within
   * one beacon interval, before any peer's deadline runs out).
   */
  sendAll(frameFor: (nic: string, mac: Uint8Array) => Uint8Array | undefined): Map<string, boolean> {
    const out = new Map<string, boolean>();
    for (const p of this.#ports.values()) {
      if (!p.sock || !p.mac || !p.up) {
        out.set(p.name, false);
        continue;
      }
      const f = frameFor(p.name, p.mac);
      if (!f) continue;
      const ok = p.sock.send(f);
      out.set(p.name, ok);
      if (ok) {
        this.stats.sent++;
        this.stats.bytesSent += f.length;
      } else this.stats.sendFailed++;
    }
    return out;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const p of this.#ports.values()) this.#closeSock(p);
    this.#ports.clear();
  }

  #open(p: Port): void {
    const nic = readInterface(p.name, this.#opts.sysRoot);
    if (!nic) return this.#fail(p, `network interface "${p.name}" not found`);
    const mac = parseMac(nic.mac);
    if (nic.type !== 1 || !mac) return this.#fail(p, `network interface "${p.name}" is not an Ethernet NIC`);
    try {
      const sock = PacketSocket.open({ ifname: p.name, ethertype: ETHERTYPE_BEACON, ...(this.#opts.watchMode ? { watchMode: this.#opts.watchMode } : {}) });
      try {
        sock.addMembership(beaconGroupMac());
      } catch (err) {
        sock.close();
        throw err;
      }
      sock.onFrame((f) => {
        if (f.data.length < ETH_HEADER_LENGTH) return;
        this.stats.received++;
        this.#opts.onBeacon({ nic: p.name, srcMac: f.data.subarray(6, 12), payload: f.data.subarray(ETH_HEADER_LENGTH) });
      });
      p.sock = sock;
      p.mac = mac;
      p.macText = nic.mac;
      p.ifindex = nic.index;
      p.up = nic.up;
      if (p.error) log.info('beacons: NIC usable again', { nic: p.name });
      p.error = null;
    } catch (err) {
      this.#fail(p, (err as PacketSocketError).message ?? String(err));
    }
  }

  #fail(p: Port, msg: string): void {
    if (p.error !== msg) log.warn('beacons: cannot use NIC; retrying', { nic: p.name, error: msg });
    p.error = msg;
  }

  #closeSock(p: Port): void {
    p.sock?.close();
    p.sock = null;
    p.mac = null;
  }

  #check(): void {
    for (const p of this.#ports.values()) {
      if (!p.sock) {
        this.#open(p);
        continue;
      }
      const nic = readInterface(p.name, this.#opts.sysRoot);
      const changed = !nic || nic.index !== p.ifindex || nic.mac !== p.macText;
      const backUp = !!nic && nic.up && !p.up;
      if (nic) p.up = nic.up;
      if (changed || backUp) {
        this.#closeSock(p);
        this.#open(p);
      }
    }
  }
}
