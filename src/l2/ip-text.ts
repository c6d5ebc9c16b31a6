// Minimal IP text <-> BigInt conversion for the l2 layer (NIC facts, route lookups).
// The l2 layer sits below src/ipam, so it cannot borrow that layer's address code; this
// file is deliberately small: strict parsing (no zone ids, no leading zeros), canonical
// output (IPv4 dotted decimal, IPv6 RFC 5952: lowercase, longest zero run compressed).

export type Family = 4 | 6;
export interface IpValue {
  family: Family;
  value: bigint;
}

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    // Leading zeros are rejected: some tools read them as octal, so the meaning is ambiguous.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (s.includes('%')) return undefined; // zone ids have no meaning for a pool or route
  let text = s;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    text = text.slice(0, lastColon + 1) + '0:0'; // placeholder: two groups
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

/** Parses IPv4 or IPv6 text; undefined when it is not exactly one address. */
export function parseIp(text: string): IpValue | undefined {
  const s = text.trim();
  if (s.includes(':')) {
    const value = parseV6(s);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseV4(s);
  return value === undefined ? undefined : { family: 4, value };
}

/** Canonical text: IPv4 dotted decimal, IPv6 per RFC 5952 (lowercase, `::` for the longest run ≥ 2). */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Canonical text of an address given as text; undefined when unparseable. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip.family, ip.value) : undefined;
}

/** Network mask as a BigInt for a prefix length. */
export function maskOf(family: Family, prefixLen: number): bigint {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefixLen))) & all;
}

export function inPrefix(ip: IpValue, family: Family, network: bigint, prefixLen: number): boolean {
  if (ip.family !== family) return false;
  const m = maskOf(family, prefixLen);
  return (ip.value & m) === (network & m);
}
