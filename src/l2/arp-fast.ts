// The hot case of the responder as one allocation-free pure function: a well-formed ARP request
// for an IPv4 address we answer. It reads the frame's bytes in place, looks the target up as a
// 32-bit number (no address text), and writes the reply into a caller-owned buffer. Every other
// frame (replies, conflicts, malformed, not owned) returns -1 and goes through respond(), which
// stays the one full decision; test/unit/l2/arp-fast.test.ts checks both give the same replies.

/** IPv4 bytes at `offset` as an unsigned 32-bit number (the key of the numeric owned set). */
export function ipv4Key(b: Uint8Array, offset = 0): number {
  return ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
}

/** Dotted-decimal text -> key; NaN when it is not IPv4 dotted decimal. */
export function ipv4KeyOf(text: string): number {
  const p = text.split('.');
  if (p.length !== 4) return NaN;
  let k = 0;
  for (const x of p) {
    const n = Number(x);
    if (!/^\d{1,3}$/.test(x) || n > 255) return NaN;
    k = k * 256 + n;
  }
  return k;
}

export const ARP_REPLY_LENGTH = 42;

/**
 * If `frame` (first `length` bytes) is an ARP request (op 1, Ethernet/IPv4) addressed to us
 * (broadcast/multicast or `mac`), from another MAC with a unicast sender MAC, whose sender IP is
 * not one we answer (that is a conflict: respond() reports it) and whose target IP is in `owned`:
 * writes the unicast reply (42 bytes, sender = `mac`) into `out` and returns the target key.
 * Otherwise returns -1 and leaves `out` alone.
 */
export function fastArpReply(frame: Uint8Array, length: number, mac: Uint8Array, owned: { has(key: number): boolean }, out: Uint8Array): number {
  const f = frame;
  if (length < 42 || f[12] !== 0x08 || f[13] !== 0x06) return -1;
  // htype 1, ptype 0x0800, hlen 6, plen 4, op 1
  if (f[14] !== 0 || f[15] !== 1 || f[16] !== 0x08 || f[17] !== 0 || f[18] !== 6 || f[19] !== 4 || f[20] !== 0 || f[21] !== 1) return -1;
  const target = ipv4Key(f, 38);
  if (!owned.has(target)) return -1;
  // Addressed to us: group address, or our MAC.
  if ((f[0]! & 1) === 0 && !(f[0] === mac[0] && f[1] === mac[1] && f[2] === mac[2] && f[3] === mac[3] && f[4] === mac[4] && f[5] === mac[5])) return -1;
  // Not our own frame (Ethernet source or ARP sender MAC).
  if (f[6] === mac[0] && f[7] === mac[1] && f[8] === mac[2] && f[9] === mac[3] && f[10] === mac[4] && f[11] === mac[5]) return -1;
  if (f[22] === mac[0] && f[23] === mac[1] && f[24] === mac[2] && f[25] === mac[3] && f[26] === mac[4] && f[27] === mac[5]) return -1;
  // The asker's MAC must be unicast and non-zero, or no unicast answer is possible.
  if ((f[22]! & 1) === 1 || (f[22] === 0 && f[23] === 0 && f[24] === 0 && f[25] === 0 && f[26] === 0 && f[27] === 0)) return -1;
  const sender = ipv4Key(f, 28);
  if (sender !== 0 && owned.has(sender)) return -1; // someone else uses our address: a conflict
  // Reply: to the asker's ARP sender MAC, from us; sender = us/target IP, target = asker.
  for (let i = 0; i < 6; i++) {
    out[i] = f[22 + i]!;
    out[6 + i] = mac[i]!;
    out[22 + i] = mac[i]!;
    out[32 + i] = f[22 + i]!;
  }
  out[12] = 0x08;
  out[13] = 0x06;
  out[14] = 0;
  out[15] = 1;
  out[16] = 0x08;
  out[17] = 0;
  out[18] = 6;
  out[19] = 4;
  out[20] = 0;
  out[21] = 2;
  for (let i = 0; i < 4; i++) {
    out[28 + i] = f[38 + i]!;
    out[38 + i] = f[28 + i]!;
  }
  return target;
}
