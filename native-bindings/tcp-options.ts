// Socket options a BGP session needs that node:net does not offer: TCP MD5 signatures (RFC 2385,
// setsockopt TCP_MD5SIG) and the IP TTL / IPv6 hop limit (eBGP sends with TTL 1 unless multihop).
// Addresses arrive as bytes (4 or 16, network order); the layers above parse the text.
//
// TCP_MD5SIG is set per peer address: on a socket before connect() (the SYN is signed, so it must be
// in place before the handshake starts) and on a listening socket once per peer (the kernel then
// signs the SYN-ACK and checks every segment from that address; segments from that address without
// a valid signature are dropped silently, which is why a mismatch shows up as a connection that
// never completes, not as an error). An accepted socket inherits the listener's keys.
import { AF_INET, AF_INET6, errno, IP_TTL, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, IPV6_UNICAST_HOPS, setsockopt, strerror, TCP_MD5SIG } from './libc.ts';

/** Linux uapi TCP_MD5SIG_MAXKEYLEN. */
export const TCP_MD5SIG_MAXKEYLEN = 80;
/** sizeof(struct sockaddr_storage). */
const SOCKADDR_STORAGE_SIZE = 128;
/**
 * struct tcp_md5sig (linux/tcp.h): sockaddr_storage tcpm_addr; u8 tcpm_flags; u8 tcpm_prefixlen;
 * u16 tcpm_keylen; int tcpm_ifindex; u8 tcpm_key[80]  =>  128 + 1 + 1 + 2 + 4 + 80 = 216 bytes.
 */
export const TCP_MD5SIG_SIZE = 216;
const MD5_OFF_KEYLEN = 130;
const MD5_OFF_KEY = 136;

export class SocketOptionError extends Error {
  constructor(
    readonly option: string,
    readonly errno: number,
  ) {
    super(`setsockopt(${option}) failed: ${strerror(errno)} (errno ${errno})`);
    this.name = 'SocketOptionError';
  }
}

/** Bytes of a sockaddr_in (16) or sockaddr_in6 (28) for an address of 4 or 16 bytes and a port. */
export function sockaddrIn(addr: Uint8Array, port: number): Uint8Array {
  if (addr.length === 4) {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setUint16(0, AF_INET, true);
    v.setUint16(2, port, false);
    b.set(addr, 4);
    return b;
  }
  if (addr.length === 16) {
    const b = new Uint8Array(28);
    const v = new DataView(b.buffer);
    v.setUint16(0, AF_INET6, true);
    v.setUint16(2, port, false);
    b.set(addr, 8);
    return b;
  }
  throw new Error(`sockaddrIn: an address has 4 or 16 bytes, not ${addr.length}`);
}

/** Bytes of a struct tcp_md5sig for one peer address; an empty key removes that peer's key. Pure. */
export function tcpMd5sig(peer: Uint8Array, key: Uint8Array): Uint8Array {
  if (key.length > TCP_MD5SIG_MAXKEYLEN) throw new Error(`TCP MD5 key is ${key.length} bytes; Linux accepts at most ${TCP_MD5SIG_MAXKEYLEN}`);
  const b = new Uint8Array(TCP_MD5SIG_SIZE);
  const sa = sockaddrIn(peer, 0);
  if (sa.length > SOCKADDR_STORAGE_SIZE) throw new Error('unreachable: sockaddr larger than sockaddr_storage');
  b.set(sa, 0);
  // flags 0 and prefixlen 0: an exact address (TCP_MD5SIG, not TCP_MD5SIG_EXT), any interface.
  new DataView(b.buffer).setUint16(MD5_OFF_KEYLEN, key.length, true);
  b.set(key, MD5_OFF_KEY);
  return b;
}

function set(fd: number, level: number, name: number, value: Uint8Array, what: string): void {
  if (setsockopt(fd, level, name, value, value.length) !== 0) throw new SocketOptionError(what, errno());
}

/**
 * Signs (or, with key undefined/empty, stops signing) TCP segments to and from `peer` on `fd`.
 * Throws SocketOptionError (ENOENT when removing a key that was never set is ignored).
 */
export function setTcpMd5(fd: number, peer: Uint8Array, key: string | undefined): void {
  const bytes = new TextEncoder().encode(key ?? '');
  const value = tcpMd5sig(peer, bytes);
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, value, value.length) === 0) return;
  const e = errno();
  if (bytes.length === 0 && e === 2 /* ENOENT: no key for that address */) return;
  throw new SocketOptionError('TCP_MD5SIG', e);
}

/** Sets the TTL (IPv4) or unicast hop limit (IPv6) of packets sent on fd. */
export function setTtl(fd: number, family: 4 | 6, ttl: number): void {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw new Error(`TTL must be 1..255, not ${ttl}`);
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, ttl, true);
  if (family === 4) set(fd, IPPROTO_IP, IP_TTL, v, 'IP_TTL');
  else set(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, v, 'IPV6_UNICAST_HOPS');
}
