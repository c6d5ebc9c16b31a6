// IP addresses: the one place that parses them and gives their canonical text, their bytes and
// their number. Everything that keys by address (the announcer's owned sets and metrics labels,
// IPAM's allocations and Eip status, the speaker's maps, NIC facts) goes through here, so one
// address has one key everywhere.
//
// Canonical text: IPv4 dotted decimal; IPv6 per RFC 5952 (lowercase, no leading zeros, the longest
// run of two or more zero groups as `::`, the first run on a tie), with IPv4-mapped addresses as
// `::ffff:a.b.c.d` (RFC 5952 §5). Parsing is strict: four decimal octets without leading zeros
// (some tools read those as octal), RFC 4291 §2.2 IPv6 forms (with `::` and a trailing embedded
// IPv4); surrounding whitespace is ignored by every parser alike (annotations and flags are typed by
// hand, and one rule everywhere keeps one key); zone ids (`fe80::1%eth0`) are rejected: a Service
// address or a pool is never scoped to one link.
//
// Two forms, both exact: bytes (4 or 16, network order; the packet path) and a family plus a
// bigint (IPAM ranges, prefixes and route lookups: an IPv6 /64 or ::/0 needs no special case).

export type Family = 4 | 6;

/** An address as a number: what ranges, prefixes and routes compare. */
export interface IP {
  family: Family;
  value: bigint;
}

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

export function familyName(f: Family): 'IPv4' | 'IPv6' {
  return f === 4 ? 'IPv4' : 'IPv6';
}

// ---------------------------------------------------------------- text -> bytes

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const GROUP = /^[0-9a-fA-F]{1,4}$/;

function v4Bytes(text: string): Uint8Array | undefined {
  const m = V4.exec(text);
  if (!m) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    if (part.length > 1 && part[0] === '0') return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

// Colon-separated groups; an embedded IPv4 is allowed only as the very last part.
function groupsOf(s: string, allowV4: boolean): number[] | undefined {
  if (s === '') return [];
  const parts = s.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (allowV4 && i === parts.length - 1 && p.includes('.')) {
      const v4 = v4Bytes(p);
      if (!v4) return undefined;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      if (!GROUP.test(p)) return undefined;
      groups.push(parseInt(p, 16));
    }
  }
  return groups;
}

function v6Bytes(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45 || text.includes('%')) return undefined;
  let groups: number[];
  const dbl = text.indexOf('::');
  if (dbl === -1) {
    const g = groupsOf(text, true);
    if (!g || g.length !== 8) return undefined;
    groups = g;
  } else {
    if (text.indexOf('::', dbl + 1) !== -1) return undefined;
    const left = groupsOf(text.slice(0, dbl), false);
    const right = groupsOf(text.slice(dbl + 2), true);
    if (!left || !right || left.length + right.length > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** The 4 bytes of IPv4 text; undefined for anything else (IPv6 included). */
export function parseIPv4(text: string): Uint8Array | undefined {
  return v4Bytes(text.trim());
}

/** The 16 bytes of IPv6 text; undefined for anything else (IPv4 and zone ids included). */
export function parseIPv6(text: string): Uint8Array | undefined {
  return v6Bytes(text.trim());
}

/** 4 bytes for IPv4 text, 16 for IPv6 text, undefined otherwise. */
export function parseIPBytes(text: string): Uint8Array | undefined {
  const s = text.trim();
  return s.includes(':') ? v6Bytes(s) : v4Bytes(s);
}

// ---------------------------------------------------------------- bytes -> text

export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 canonical text of the 16 bytes at `offset` (allocates only the string: the packet path uses it). */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  let mapped = bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (bytes[offset + i] !== 0) mapped = false;
  if (mapped) return '::ffff:' + formatIPv4(bytes, offset + 12);

  // Longest run of zero groups (length >= 2); the first one wins a tie.
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let g = 0; g <= 8; g++) {
    const zero = g < 8 && bytes[offset + g * 2] === 0 && bytes[offset + g * 2 + 1] === 0;
    if (zero) {
      if (runStart === -1) runStart = g;
    } else if (runStart !== -1) {
      const len = g - runStart;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;

  let s = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      s += '::';
      g += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += (((bytes[offset + g * 2] ?? 0) << 8) | (bytes[offset + g * 2 + 1] ?? 0)).toString(16);
  }
  return s;
}

/** Canonical text of 4 or 16 bytes. */
export function formatIPBytes(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}

// ---------------------------------------------------------------- numbers

/** The address as a family and a number. */
export function ipFromBytes(bytes: Uint8Array): IP {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { family: bytes.length === 4 ? 4 : 6, value };
}

/** The address's bytes (4 or 16, network order). */
export function ipToBytes(family: Family, value: bigint): Uint8Array {
  const n = family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Parses one IPv4 or IPv6 address (no prefix, no zone id); undefined when it is not exactly one. */
export function parseIP(text: string): IP | undefined {
  const b = parseIPBytes(text);
  return b ? ipFromBytes(b) : undefined;
}

/** Canonical text of an address given as a number. */
export function ipToString(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value & 0xffffffffn);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  return formatIPv6(ipToBytes(6, value));
}

/** The canonical text of an address given as text; undefined when it is not one IPv4/IPv6 address. */
export function canonicalIP(text: string): string | undefined {
  const b = parseIPBytes(text);
  return b ? formatIPBytes(b) : undefined;
}

// ---------------------------------------------------------------- prefixes

/** The network mask of a prefix length, as a number. */
export function maskOf(family: Family, prefixLen: number): bigint {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefixLen))) & all;
}

/** Whether `ip` is inside `network`/`prefixLen` of `family`. */
export function inPrefix(ip: IP, family: Family, network: bigint, prefixLen: number): boolean {
  if (ip.family !== family) return false;
  const m = maskOf(family, prefixLen);
  return (ip.value & m) === (network & m);
}

// ---------------------------------------------------------------- bytes in place

/** Compares `length` bytes of `a` at `aOffset` with `b` at `bOffset`, without allocating. */
export function ipEquals(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aOffset + i] !== b[bOffset + i]) return false;
  return true;
}

export function isIPv4Zero(bytes: Uint8Array, offset = 0): boolean {
  return bytes[offset] === 0 && bytes[offset + 1] === 0 && bytes[offset + 2] === 0 && bytes[offset + 3] === 0;
}

/** `::`, the source of a DAD probe. */
export function isIPv6Unspecified(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 16; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

export function isIPv6Multicast(bytes: Uint8Array, offset = 0): boolean {
  return bytes[offset] === 0xff;
}
