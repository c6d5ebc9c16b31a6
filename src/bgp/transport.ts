// TCP for BGP sessions: outgoing connections and listeners whose sockets are created through libc
// (native-bindings/tcp-socket.ts) so TCP MD5 keys and the TTL are in place before the handshake, then
// handed to node:net for the I/O. Works the same on Node 20 and Deno 2 (both wrap an fd).
import net from 'node:net';
import { parseIPBytes } from '../net/ip.ts';
import { setTcpMd5, setTtl } from '../../native-bindings/tcp-options.ts';
import { bindFd, closeFd, connectFd, listenFd, openTcpSocket } from '../../native-bindings/tcp-socket.ts';

export interface DialOptions {
  address: string;
  port: number;
  /** Bind to this local address first (optional). */
  localAddress?: string;
  md5Key?: string;
  ttl: number;
}

export interface PendingDial {
  readonly socket: Promise<net.Socket>;
  cancel(): void;
}

export function addressBytes(text: string): Uint8Array {
  const b = parseIPBytes(text);
  if (!b) throw new Error(`"${text}" is not an IP address`);
  return b;
}

export function familyOf(text: string): 4 | 6 {
  return text.includes(':') ? 6 : 4;
}

/** Connects with MD5 key and TTL set before the SYN. Option errors throw synchronously. */
export function dial(opts: DialOptions): PendingDial {
  const peer = addressBytes(opts.address);
  const family = peer.length === 4 ? 4 : 6;
  const fd = openTcpSocket(family);
  try {
    if (opts.md5Key) setTcpMd5(fd, peer, opts.md5Key);
    setTtl(fd, family, opts.ttl);
    if (opts.localAddress) bindFd(fd, addressBytes(opts.localAddress), 0);
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  const pending = connectFd(fd, peer, opts.port);
  return {
    socket: pending.done.then(() => new net.Socket({ fd, readable: true, writable: true })),
    cancel: () => pending.cancel(),
  };
}

/** The fd behind a node:net socket, where the runtime exposes it (Node does; used for the TTL of accepted sockets). */
export function socketFd(sock: net.Socket | net.Server): number | undefined {
  const fd = (sock as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** A listening socket on one address; MD5 keys per peer address are set on it (accepted sockets inherit them). */
export class Listener {
  #server: net.Server | undefined;
  readonly family: 4 | 6;
  readonly #fd: number;
  readonly #keys = new Map<string, string>();

  private constructor(fd: number, family: 4 | 6) {
    this.#fd = fd;
    this.family = family;
  }

  get server(): net.Server {
    return this.#server!;
  }

  /**
   * Binds and listens on address:port; onSocket gets every accepted connection. `prepare` runs
   * between bind() and listen() so the MD5 keys and TTL are in place before the first SYN is answered.
   */
  static async open(address: string, port: number, onSocket: (s: net.Socket) => void, prepare: (l: Listener) => void = () => undefined): Promise<Listener> {
    const bytes = addressBytes(address);
    const family = bytes.length === 4 ? 4 : 6;
    const fd = openTcpSocket(family);
    const l = new Listener(fd, family);
    try {
      bindFd(fd, bytes, port, { reuseAddr: true });
      prepare(l);
      listenFd(fd);
    } catch (err) {
      closeFd(fd);
      throw err;
    }
    const server = net.createServer({ pauseOnConnect: false }, onSocket);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    l.#server = server;
    return l;
  }

  /** Makes the listener's MD5 keys exactly `keys` (peer address -> password) for its family. */
  setKeys(keys: Map<string, string>): void {
    for (const [addr, key] of keys) {
      if (familyOf(addr) !== this.family || this.#keys.get(addr) === key) continue;
      setTcpMd5(this.#fd, addressBytes(addr), key);
      this.#keys.set(addr, key);
    }
    for (const addr of [...this.#keys.keys()]) {
      if (keys.has(addr)) continue;
      setTcpMd5(this.#fd, addressBytes(addr), undefined);
      this.#keys.delete(addr);
    }
  }

  /**
   * TTL of the listener, which accepted sockets inherit (Linux copies it at accept). Node lets us
   * set each accepted socket's TTL afterwards; Deno does not expose their fds, so there the
   * listener's value is what a passive session gets.
   */
  setTtl(ttl: number): void {
    if (ttl === this.#ttl) return;
    setTtl(this.#fd, this.family, ttl);
    this.#ttl = ttl;
  }
  #ttl = 0;

  close(): Promise<void> {
    const server = this.#server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

/** Sets the TTL of an accepted socket; false when the runtime does not expose its fd. */
export function setAcceptedTtl(sock: net.Socket, family: 4 | 6, ttl: number): boolean {
  const fd = socketFd(sock);
  if (fd === undefined) return false;
  setTtl(fd, family, ttl);
  return true;
}
