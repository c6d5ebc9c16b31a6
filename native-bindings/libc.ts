// koffi declarations of the libc calls, structs and constants the packet layer needs.
// This file (with the rest of native-bindings/) is the only place that knows the C ABI
// (x86_64/aarch64 Linux, glibc). Everything above it sees Uint8Array frames and numbers.
//
// Pointer arguments on the hot path (recvfrom/sendto buffers and socket addresses) are
// declared `void *` and given Uint8Array/Uint32Array: koffi passes a typed array's memory
// directly, which avoids building a JS object per packet. The structs are still declared
// (and their layout checked at load) so the byte encoders below cannot drift from the ABI.
import koffi from 'koffi';

// ---- constants (linux/socket.h, linux/if_packet.h, linux/if_ether.h, asm-generic/errno.h)
export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_ATTACH_FILTER = 26;
export const SO_RCVBUF = 8;
export const SO_RCVBUFFORCE = 33; // like SO_RCVBUF, past net.core.rmem_max (needs CAP_NET_ADMIN)
export const SOL_PACKET = 263;
export const PACKET_ADD_MEMBERSHIP = 1;
export const PACKET_DROP_MEMBERSHIP = 2;
export const PACKET_MR_MULTICAST = 0;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 0x001;
export const ARPHRD_ETHER = 1;

// sll_pkttype values (linux/if_packet.h)
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

// TCP sockets (linux/in.h, linux/in6.h, linux/tcp.h, asm-generic/socket.h)
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const IP_TTL = 2;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_V6ONLY = 26;
export const TCP_MD5SIG = 14;
export const POLLOUT = 0x004;

export const EPERM = 1;
export const EINTR = 4;
export const EAGAIN = 11; // == EWOULDBLOCK on Linux
export const EACCES = 13;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOBUFS = 105;
export const ENXIO = 6;
export const ENETDOWN = 100;
export const ENOENT = 2;
export const ENOPROTOOPT = 92;
export const EINPROGRESS = 115;

// ---- structs
/** struct sockaddr_ll (20 bytes). sll_protocol is in network byte order. */
export const SockaddrLl = koffi.struct('sockaddr_ll', {
  sll_family: 'uint16_t',
  sll_protocol: 'uint16_t',
  sll_ifindex: 'int',
  sll_hatype: 'uint16_t',
  sll_pkttype: 'uint8_t',
  sll_halen: 'uint8_t',
  sll_addr: koffi.array('uint8_t', 8),
});
/** struct sock_filter: one classic BPF instruction (8 bytes). */
export const SockFilter = koffi.struct('sock_filter', {
  code: 'uint16_t',
  jt: 'uint8_t',
  jf: 'uint8_t',
  k: 'uint32_t',
});
/** struct sock_fprog: length + pointer to the instructions (16 bytes on 64-bit). */
export const SockFprog = koffi.struct('sock_fprog', {
  len: 'uint16_t',
  filter: koffi.pointer(SockFilter),
});
/** struct packet_mreq (16 bytes). */
export const PacketMreq = koffi.struct('packet_mreq', {
  mr_ifindex: 'int',
  mr_type: 'uint16_t',
  mr_alen: 'uint16_t',
  mr_address: koffi.array('uint8_t', 8),
});
/** struct pollfd (8 bytes). */
export const PollFd = koffi.struct('pollfd', { fd: 'int', events: 'short', revents: 'short' });

export const SOCKADDR_LL_SIZE = 20;
// Fail at load rather than corrupt memory if a platform lays these out differently.
for (const [t, size] of [[SockaddrLl, 20], [SockFilter, 8], [PacketMreq, 16], [PollFd, 8]] as const) {
  if (koffi.sizeof(t) !== size) throw new Error(`native-bindings: unexpected sizeof(${t.name}) ${koffi.sizeof(t)}`);
}
if (koffi.offsetof(SockaddrLl, 'sll_pkttype') !== 10 || koffi.offsetof(SockaddrLl, 'sll_addr') !== 12) {
  throw new Error('native-bindings: unexpected sockaddr_ll layout');
}

// ---- functions
const lib = koffi.load('libc.so.6');

export const socket = lib.func('int socket(int domain, int type, int protocol)');
export const bind = lib.func('int bind(int fd, void *addr, uint32_t addrlen)');
export const close = lib.func('int close(int fd)');
/** addr: the bytes of a sockaddr_in / sockaddr_in6. */
export const connect = lib.func('int connect(int fd, void *addr, uint32_t addrlen)');
export const listen = lib.func('int listen(int fd, int backlog)');
/** optval: raw bytes; optlen: Uint32Array(1), in/out. */
export const getsockopt = lib.func('int getsockopt(int fd, int level, int name, void *optval, void *optlen)');
export const if_nametoindex = lib.func('unsigned int if_nametoindex(const char *ifname)');
export const sendto = lib.func('intptr_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)');
export const send = lib.func('intptr_t send(int fd, void *buf, size_t len, int flags)');
export const recv = lib.func('intptr_t recv(int fd, void *buf, size_t len, int flags)');
/** addr: Uint8Array(20) receiving a sockaddr_ll; addrlen: Uint32Array(1), in/out. */
export const recvfrom = lib.func('intptr_t recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *addrlen)');
/** Generic form: optval as raw bytes. */
export const setsockopt = lib.func('int setsockopt(int fd, int level, int name, void *optval, uint32_t optlen)');
/** SO_ATTACH_FILTER form: koffi marshals the struct and the instruction array it points to. */
export const setsockoptFprog = lib.func('setsockopt', 'int', ['int', 'int', 'int', koffi.pointer(SockFprog), 'uint32_t']);
export const setsockoptMreq = lib.func('setsockopt', 'int', ['int', 'int', 'int', koffi.pointer(PacketMreq), 'uint32_t']);
/** fds: Uint8Array of n * 8 bytes (struct pollfd). Used synchronously and through .async(). */
export const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
export const strerror = lib.func('const char *strerror(int errnum)');
/**
 * prctl(2) is variadic in glibc; on x86-64 and arm64 integer arguments travel in the same
 * registers either way, and prctl reads only integers, so a fixed 5-argument declaration is safe.
 */
export const prctl = lib.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)');
export const getppid = lib.func('int getppid(void)');
/** madvise(2) on our own mappings (startup-pages.ts); the address is a plain number (< 2^53). */
export const madvise = lib.func('int madvise(uintptr_t addr, size_t length, int advice)');
export const MADV_DONTNEED = 4;
/** syscall(2) for pidfd_open, which glibc < 2.36 does not wrap; integer arguments only (see prctl). */
export const syscall3 = lib.func('syscall', 'long', ['long', 'long', 'long']);
/** Same number on x86-64 and arm64 (syscalls added after 4.x share one table). */
export const SYS_pidfd_open = 434;
export const PR_SET_PDEATHSIG = 1;
export const SIGTERM = 15;

/** errno of the last koffi call on this thread. */
export function errno(): number {
  return koffi.errno();
}

// ---- small encoders for the structs passed as raw bytes

export function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/** Bytes of a sockaddr_ll for bind/sendto: family AF_PACKET, protocol (host order in, network order out). */
export function sockaddrLl(ifindex: number, protocol: number, addr?: Uint8Array): Uint8Array {
  const b = new Uint8Array(SOCKADDR_LL_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, protocol, false); // network byte order
  v.setInt32(4, ifindex, true);
  v.setUint16(8, ARPHRD_ETHER, true);
  if (addr) {
    b[11] = Math.min(addr.length, 8);
    b.set(addr.subarray(0, 8), 12);
  }
  return b;
}

/** Reads the fields of a sockaddr_ll filled in by recvfrom. */
export function readSockaddrLl(b: Uint8Array): { protocol: number; ifindex: number; pktType: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { protocol: v.getUint16(2, false), ifindex: v.getInt32(4, true), pktType: b[10] ?? 0 };
}
