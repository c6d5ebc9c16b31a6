// TCP sockets created through libc, so options that must precede connect()/accept() (TCP MD5, TTL)
// can be set first; the connected or listening fd is then handed to node:net
// (`new net.Socket({ fd })`, `server.listen({ fd })`), which does the I/O from there.
//
// Measured on Node 20.20 and Deno 2.9.6 (both): a non-blocking connect() returns EINPROGRESS; a
// koffi.node.poll handle for `writable` fires once the handshake ends; SO_ERROR then tells success
// (0) or the failure (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH...). `new net.Socket({ fd, readable:
// true, writable: true })` on the connected fd and `server.listen({ fd })` on a bound, listening
// fd both work on both runtimes.
import koffi from 'koffi';
import {
  AF_INET,
  AF_INET6,
  bind,
  close,
  connect,
  EINPROGRESS,
  errno,
  getsockopt,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  listen,
  setsockopt,
  SO_ERROR,
  SO_REUSEADDR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  socket,
  SOL_SOCKET,
  strerror,
} from './libc.ts';
import { sockaddrIn } from './tcp-options.ts';

export class TcpSocketError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call}: ${strerror(errno)}`);
    this.name = 'TcpSocketError';
  }
}

/** A new non-blocking, close-on-exec TCP socket for addresses of 4 or 16 bytes. */
export function openTcpSocket(family: 4 | 6): number {
  const fd = socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new TcpSocketError('socket', errno());
  return fd;
}

function intOpt(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

export function closeFd(fd: number): void {
  close(fd);
}

/** Binds fd to a local address/port (port 0: any). */
export function bindFd(fd: number, addr: Uint8Array, port: number, opts: { reuseAddr?: boolean } = {}): void {
  if (opts.reuseAddr && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, intOpt(1), 4) !== 0) throw new TcpSocketError('setsockopt(SO_REUSEADDR)', errno());
  // An IPv6 listener takes IPv6 only; IPv4 gets its own socket (per-family MD5 keys stay simple).
  if (addr.length === 16 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, intOpt(1), 4) !== 0) throw new TcpSocketError('setsockopt(IPV6_V6ONLY)', errno());
  const sa = sockaddrIn(addr, port);
  if (bind(fd, sa, sa.length) !== 0) throw new TcpSocketError(`bind(port ${port})`, errno());
}

export function listenFd(fd: number, backlog = 64): void {
  if (listen(fd, backlog) !== 0) throw new TcpSocketError('listen', errno());
}

/** The pending error of a socket (SO_ERROR): 0 when the last connect() succeeded. */
export function socketError(fd: number): number {
  const v = new Uint8Array(4);
  const len = new Uint32Array([4]);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, v, len) !== 0) return errno();
  return new DataView(v.buffer).getInt32(0, true);
}

export interface PendingConnect {
  /** Resolves when connected; rejects with TcpSocketError when the handshake fails. */
  readonly done: Promise<void>;
  /** Stops waiting and closes the fd (the promise then rejects with ECANCELED). Idempotent. */
  cancel(): void;
}

type PollCallback = (status: number, events: { writable?: boolean }) => void;
interface UvPollHandle {
  close(): void;
}
type UvPollFn = (fd: number, opts: { writable: boolean }, cb: PollCallback) => UvPollHandle | null;

const ECANCELED = 125;

/**
 * Starts a non-blocking connect on fd (options already set) and waits for the handshake without
 * blocking the event loop. On failure or cancel the fd is closed; on success the caller owns it.
 */
export function connectFd(fd: number, addr: Uint8Array, port: number): PendingConnect {
  const sa = sockaddrIn(addr, port);
  let handle: UvPollHandle | null = null;
  let settled = false;
  let rejectFn: (e: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    rejectFn = reject;
    const fail = (call: string, e: number): void => {
      settled = true;
      close(fd);
      reject(new TcpSocketError(call, e));
    };
    if (connect(fd, sa, sa.length) === 0) {
      settled = true;
      resolve();
      return;
    }
    const e = errno();
    if (e !== EINPROGRESS) return fail('connect', e);
    const pollFn = (koffi as unknown as { node?: { poll?: UvPollFn } }).node?.poll;
    if (!pollFn) return fail('koffi.node.poll is not available', 38);
    handle = pollFn(fd, { writable: true }, () => {
      // Fires once the handshake has ended either way (Deno fires once per start; we stop here on
      // both runtimes, so the difference does not matter).
      handle?.close();
      handle = null;
      if (settled) return;
      const err = socketError(fd);
      if (err !== 0) return fail('connect', err);
      settled = true;
      resolve();
    });
    if (!handle) fail('koffi.node.poll', errno());
  });
  return {
    done,
    cancel() {
      if (settled) return;
      settled = true;
      handle?.close();
      handle = null;
      close(fd);
      rejectFn(new TcpSocketError('connect', ECANCELED));
    },
  };
}
