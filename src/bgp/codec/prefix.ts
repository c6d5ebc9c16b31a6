// NLRI prefixes (RFC 4271 §4.3, RFC 4760 §5): a length in bits, then just enough bytes to hold it.
// Prefixes are canonical: every bit past the length is zero. RFC 4271 calls trailing bits
// irrelevant, but we key routes by their text, and two spellings of one prefix would be two
// routes; a peer sending host bits is broken, and we say so (3/10) rather than guess.
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../../net/ip.ts';
import { BgpError, ERR_UPDATE, UPDATE_INVALID_NETWORK_FIELD } from './errors.ts';
import type { Prefix } from './types.ts';
import { type Reader, type Writer } from './wire.ts';

export type PrefixFamily = 4 | 6;

export function prefixFamily(p: Prefix): PrefixFamily {
  return p.address.includes(':') ? 6 : 4;
}

/** Wire size of one prefix: the length byte plus ceil(length / 8) bytes. */
export function prefixLength(p: Prefix): number {
  return 1 + ((p.length + 7) >> 3);
}

export function prefixesLength(ps: readonly Prefix[]): number {
  let n = 0;
  for (const p of ps) n += prefixLength(p);
  return n;
}

/** The prefix's address bytes, checked: right family, length in range, host bits zero (RangeError otherwise). */
export function prefixBytes(p: Prefix, family: PrefixFamily): Uint8Array {
  const bytes = family === 4 ? parseIPv4(p.address) : parseIPv6(p.address);
  const max = family === 4 ? 32 : 128;
  if (!bytes) throw new RangeError(`bgp codec: prefix address "${p.address}" is not IPv${family}`);
  if (!Number.isInteger(p.length) || p.length < 0 || p.length > max) {
    throw new RangeError(`bgp codec: prefix ${p.address}/${p.length}: length must be 0..${max}`);
  }
  if (!hostBitsZero(bytes, p.length)) throw new RangeError(`bgp codec: prefix ${p.address}/${p.length} has host bits set (use the network address)`);
  return bytes;
}

function hostBitsZero(bytes: Uint8Array, length: number): boolean {
  const full = length >> 3;
  const rest = length & 7;
  if (rest !== 0 && (bytes[full]! & (0xff >> rest)) !== 0) return false;
  for (let i = full + (rest ? 1 : 0); i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

export function writePrefixes(w: Writer, ps: readonly Prefix[], family: PrefixFamily): void {
  for (const p of ps) {
    const bytes = prefixBytes(p, family);
    w.u8(p.length);
    w.bytes(bytes.subarray(0, (p.length + 7) >> 3));
  }
}

const invalidNetwork = (why: string) => new BgpError(ERR_UPDATE, UPDATE_INVALID_NETWORK_FIELD, `UPDATE: invalid network field: ${why}`);

/** Reads prefixes until the reader's window ends; anything malformed is 3/10 (Invalid Network Field). */
export function readPrefixes(r: Reader, family: PrefixFamily): Prefix[] {
  const max = family === 4 ? 32 : 128;
  const out: Prefix[] = [];
  while (r.remaining > 0) {
    const length = r.u8();
    if (length > max) throw invalidNetwork(`prefix length ${length} exceeds ${max} for IPv${family}`);
    const n = (length + 7) >> 3;
    if (n > r.remaining) throw invalidNetwork(`prefix /${length} runs past the end of its field`);
    const bytes = new Uint8Array(family === 4 ? 4 : 16);
    bytes.set(r.view(n));
    if (!hostBitsZero(bytes, length)) throw invalidNetwork(`prefix /${length} has bits set past its length`);
    out.push({ address: family === 4 ? formatIPv4(bytes) : formatIPv6(bytes), length });
  }
  return out;
}
