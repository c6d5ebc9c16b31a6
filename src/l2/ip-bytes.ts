// IP addresses as bytes (4 or 16) and the one canonical text form the whole project uses as a
// key (owned sets, metrics labels, logs): IPv4 dotted decimal; IPv6 per RFC 5952 (lowercase,
// longest run of zero groups compressed, first run on a tie, runs of one group not compressed,
// no leading zeros, IPv4-mapped addresses as ::ffff:a.b.c.d). Zone ids (fe80::1%eth0) are
// rejected: a VIP is never scoped to a link name.

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Strict dotted decimal: four decimal octets 0-255, no leading zeros (they read as octal elsewhere). */
export function parseIPv4(text: string): Uint8Array | null {
  const m = V4.exec(text);
  if (!m) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    if (part.length > 1 && part[0] === '0') return null;
    const n = Number(part);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

// Parses colon-separated groups; an embedded IPv4 is allowed only as the very last part.
function parseGroups(s: string, allowV4: boolean): number[] | null {
  if (s === '') return [];
  const parts = s.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (allowV4 && i === parts.length - 1 && p.includes('.')) {
      const v4 = parseIPv4(p);
      if (!v4) return null;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      if (!GROUP.test(p)) return null;
      groups.push(parseInt(p, 16));
    }
  }
  return groups;
}

/** RFC 4291 §2.2 text forms (with `::` and a trailing embedded IPv4); null for anything else, including zone ids. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.length < 2 || text.length > 45 || text.includes('%')) return null;
  let groups: number[];
  const dbl = text.indexOf('::');
  if (dbl === -1) {
    const g = parseGroups(text, true);
    if (!g || g.length !== 8) return null;
    groups = g;
  } else {
    if (text.indexOf('::', dbl + 1) !== -1) return null;
    const left = parseGroups(text.slice(0, dbl), false);
    const right = parseGroups(text.slice(dbl + 2), true);
    if (!left || !right || left.length + right.length > 7) return null;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** 4 bytes for IPv4 text, 16 for IPv6 text, null otherwise. */
export function parseIP(text: string): Uint8Array | null {
  return text.includes(':') ? parseIPv6(text) : parseIPv4(text);
}

export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 canonical text of the 16 bytes at `offset`. */
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
export function formatIP(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}

/** The canonical form of an IP given as text, or null when it is not a valid IPv4/IPv6 address. */
export function canonicalIP(text: string): string | null {
  const b = parseIP(text);
  return b ? formatIP(b) : null;
}

export function ipEquals(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aOffset + i] !== b[bOffset + i]) return false;
  return true;
}

export function isIPv4Zero(bytes: Uint8Array, offset = 0): boolean {
  return bytes[offset] === 0 && bytes[offset + 1] === 0 && bytes[offset + 2] === 0 && bytes[offset + 3] === 0;
}

export function isIPv6Unspecified(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 16; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

export function isIPv6Multicast(bytes: Uint8Array, offset = 0): boolean {
  return bytes[offset] === 0xff;
}

/** ff02::1:ffXX:XXXX (RFC 4291 §2.7.1), the group an NS for `ipv6` is sent to. */
export function solicitedNodeAddress(ipv6: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[0] = 0xff;
  out[1] = 0x02;
  out[11] = 0x01;
  out[12] = 0xff;
  out[13] = ipv6[13] ?? 0;
  out[14] = ipv6[14] ?? 0;
  out[15] = ipv6[15] ?? 0;
  return out;
}

/** True when the 16 bytes at `offset` are a solicited-node multicast address (ff02::1:ff00:0/104). */
export function isSolicitedNodeAddress(bytes: Uint8Array, offset = 0): boolean {
  if (bytes[offset] !== 0xff || bytes[offset + 1] !== 0x02) return false;
  for (let i = 2; i < 11; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 11] === 0x01 && bytes[offset + 12] === 0xff;
}

/** ff02::1, all nodes on the link: where unsolicited and DAD-defending NAs go. */
export function allNodesAddress(): Uint8Array {
  const out = new Uint8Array(16);
  out[0] = 0xff;
  out[1] = 0x02;
  out[15] = 0x01;
  return out;
}
