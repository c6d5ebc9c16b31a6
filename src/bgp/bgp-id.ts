// A BGP identifier (router id) is a 32-bit number written as an IPv4 address. Collision detection
// (RFC 4271 §6.8) compares identifiers as unsigned integers.
import { parseIPv4 } from '../net/ip.ts';

/** The identifier as an unsigned 32-bit number, or undefined if it is not dotted-quad IPv4 text. */
export function bgpIdNumber(text: string): number | undefined {
  const b = parseIPv4(text);
  if (!b) return undefined;
  return ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
}
