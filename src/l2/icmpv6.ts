// ICMPv6 checksum (RFC 4443 §2.3): the Internet checksum over an IPv6 pseudo-header (source,
// destination, upper-layer length, three zero bytes, next header 58) followed by the message.

/**
 * One's-complement checksum of the pseudo-header plus `msg` as it stands. To fill the checksum
 * field, zero it first and store the result; to verify a received message, a result of 0 means valid.
 */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, msg: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 16; i += 2) sum += ((src[i]! << 8) | src[i + 1]!) + ((dst[i]! << 8) | dst[i + 1]!);
  const len = msg.length;
  sum += (len >>> 16) + (len & 0xffff) + 58;
  const even = len & ~1;
  for (let i = 0; i < even; i += 2) sum += (msg[i]! << 8) | msg[i + 1]!;
  if (len & 1) sum += msg[len - 1]! << 8;
  // Fold the carries back in; a Number holds far more than any NDP message can add up to.
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
