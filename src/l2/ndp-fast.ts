// The NDP hot case as one allocation-free pure function, like arp-fast.ts for ARP: a valid
// Neighbor Solicitation (not DAD) for an IPv6 address we answer. It validates in place what
// ndp.decode() validates for such a frame (RFC 4861 §7.1.1: hop limit 255, code 0, checksum over
// the pseudo-header, option lengths), looks the target up without address text, and writes the
// solicited NA into a caller-owned buffer. Anything else (DAD, conflicts, odd options, malformed)
// returns false and goes through respond(); test/unit/l2/ndp-fast.test.ts checks both agree.

export const NA_REPLY_LENGTH = 14 + 40 + 32;

/** One's-complement sum of 16-bit big-endian words of b[from, to) (odd tail padded with zero). */
function sum16(b: Uint8Array, from: number, to: number, acc: number): number {
  let i = from;
  for (; i + 1 < to; i += 2) acc += (b[i]! << 8) | b[i + 1]!;
  if (i < to) acc += b[i]! << 8;
  return acc;
}
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * If `frame` (first `length` bytes) is a valid, non-DAD Neighbor Solicitation addressed to us
 * (multicast or `mac`), not from us, from a source address we do not answer, with a unicast asker
 * MAC, for a target `owned(frame, 62)` accepts: writes the solicited NA (S=1, O=1, target
 * link-layer option = `mac`, to the asker) into `out` and returns true. Otherwise false.
 */
export function fastNaReply(
  frame: Uint8Array,
  length: number,
  mac: Uint8Array,
  owned: (bytes: Uint8Array, offset: number) => boolean,
  out: Uint8Array,
): boolean {
  const f = frame;
  if (length < 14 + 40 + 24 || f[12] !== 0x86 || f[13] !== 0xdd) return false;
  if (f[14]! >> 4 !== 6 || f[20] !== 58 || f[21] !== 255) return false;
  const pl = (f[18]! << 8) | f[19]!;
  if (pl < 24 || length < 54 + pl) return false;
  const end = 54 + pl;
  if (f[54] !== 135 || f[55] !== 0) return false;
  // Source: not multicast, not :: (DAD probes take the full path), not an address we answer.
  if (f[22] === 0xff) return false;
  let unspecified = true;
  for (let i = 22; i < 38; i++) if (f[i] !== 0) unspecified = false;
  if (unspecified || owned(f, 22)) return false;
  if (f[62] === 0xff || !owned(f, 62)) return false;
  // Addressed to us, not from us.
  const toUs = (f[0]! & 1) === 1 || (f[0] === mac[0] && f[1] === mac[1] && f[2] === mac[2] && f[3] === mac[3] && f[4] === mac[4] && f[5] === mac[5]);
  if (!toUs) return false;
  if (f[6] === mac[0] && f[7] === mac[1] && f[8] === mac[2] && f[9] === mac[3] && f[10] === mac[4] && f[11] === mac[5]) return false;
  // ICMPv6 checksum over the pseudo-header (src, dst, length, next header) and the message.
  let s = sum16(f, 22, 54, 0) + pl + 58;
  s = sum16(f, 54, end, s);
  if (fold(s) !== 0xffff) return false;
  // Options: every length non-zero and inside the message; the first source link-layer option is the asker.
  let asker = 6; // Ethernet source unless an option says otherwise
  let found = false;
  for (let p = 78; p < end; ) {
    if (end - p < 2) return false;
    const len = f[p + 1]! * 8;
    if (len === 0 || p + len > end) return false;
    if (f[p] === 1 && !found) {
      if (len !== 8) return false;
      asker = p + 2;
      found = true;
    }
    p += len;
  }
  // The asker must be a unicast, non-zero MAC that is not ours.
  if ((f[asker]! & 1) === 1) return false;
  let zero = true;
  let ours = true;
  for (let i = 0; i < 6; i++) {
    if (f[asker + i] !== 0) zero = false;
    if (f[asker + i] !== mac[i]) ours = false;
  }
  if (zero || ours) return false;

  // Ethernet: to the asker, from us.
  for (let i = 0; i < 6; i++) {
    out[i] = f[asker + i]!;
    out[6 + i] = mac[i]!;
  }
  out[12] = 0x86;
  out[13] = 0xdd;
  // IPv6: version 6, payload 32, ICMPv6, hop limit 255, src = target, dst = the asker's address.
  out[14] = 0x60;
  out[15] = 0;
  out[16] = 0;
  out[17] = 0;
  out[18] = 0;
  out[19] = 32;
  out[20] = 58;
  out[21] = 255;
  for (let i = 0; i < 16; i++) {
    out[22 + i] = f[62 + i]!;
    out[38 + i] = f[22 + i]!;
    out[62 + i] = f[62 + i]!; // NA target
  }
  // ICMPv6 NA: type 136, code 0, checksum, flags S|O, reserved, target, option 2 (len 1) = our MAC.
  out[54] = 136;
  out[55] = 0;
  out[56] = 0;
  out[57] = 0;
  out[58] = 0x60;
  out[59] = 0;
  out[60] = 0;
  out[61] = 0;
  out[78] = 2;
  out[79] = 1;
  for (let i = 0; i < 6; i++) out[80 + i] = mac[i]!;
  const c = ~fold(sum16(out, 54, 86, sum16(out, 22, 54, 0) + 32 + 58)) & 0xffff;
  out[56] = c >> 8;
  out[57] = c & 0xff;
  return true;
}
