// Adj-RIB-Out of one peer (RFC 4271 §3.2): the routes we have announced to it, and the pure
// difference between that and what we want announced now. The speaker sends the difference at once
// (no MRAI wait: a Service IP should be in the router's FIB within 200 ms) and records it as sent.
import type { Prefix } from './codec/types.ts';
import type { Family } from './open-check.ts';
import { canonicalIP, ipToString, maskOf, parseIP } from '../net/ip.ts';

export type IpFamily = 4 | 6;

export interface RibEntry {
  prefix: Prefix;
  family: IpFamily;
  nextHop: string;
}

/** prefix text ("192.0.2.10/32") -> what was (or is to be) announced for it. */
export type AdjRibOut = Map<string, RibEntry>;

export interface RibDiff {
  /** Prefixes to withdraw, per family. */
  withdraw: { family: IpFamily; prefixes: Prefix[] }[];
  /** Prefixes to announce, grouped by family and next hop (one group shares its attributes). */
  announce: { family: IpFamily; nextHop: string; prefixes: Prefix[] }[];
}

export const prefixKey = (p: Prefix): string => `${p.address}/${p.length}`;

/** Parses "addr/len" (or a bare address: a host route) into a canonical prefix; host bits must be zero. */
export function parseRoute(text: string): { prefix: Prefix; family: IpFamily } | { error: string } {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addrText = slash === -1 ? t : t.slice(0, slash);
  const ip = parseIP(addrText);
  if (!ip) return { error: `route "${text}": "${addrText}" is not an IP address` };
  const bits = ip.family === 4 ? 32 : 128;
  const lenText = slash === -1 ? String(bits) : t.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > bits) return { error: `route "${text}": prefix length must be 0..${bits}` };
  const length = Number(lenText);
  if ((ip.value & ~maskOf(ip.family, length) & ((1n << BigInt(bits)) - 1n)) !== 0n) {
    return { error: `route "${text}": host bits are set; use ${ipToString(ip.family, ip.value & maskOf(ip.family, length))}/${length}` };
  }
  return { prefix: { address: canonicalIP(addrText)!, length }, family: ip.family };
}

const FAMILY_OF: Record<Family, IpFamily> = { 'ipv4-unicast': 4, 'ipv6-unicast': 6 };

/**
 * What one peer should carry: every route of a family negotiated with it and for which we have a
 * next hop of that family. Routes left out are reported in `skipped` (family -> why) for the status.
 */
export function desiredRibOut(
  routes: { prefix: Prefix; family: IpFamily }[],
  families: Family[],
  nextHops: Partial<Record<IpFamily, string>>,
): { rib: AdjRibOut; skipped: Partial<Record<IpFamily, string>> } {
  const allowed = new Set(families.map((f) => FAMILY_OF[f]));
  const rib: AdjRibOut = new Map();
  const skipped: Partial<Record<IpFamily, string>> = {};
  for (const r of routes) {
    if (!allowed.has(r.family)) {
      skipped[r.family] = `IPv${r.family} unicast was not negotiated with the peer`;
      continue;
    }
    const nh = nextHops[r.family];
    if (!nh) {
      skipped[r.family] = `no IPv${r.family} next hop: the session runs over IPv${r.family === 4 ? 6 : 4} and no node address of IPv${r.family} is known`;
      continue;
    }
    rib.set(prefixKey(r.prefix), { prefix: r.prefix, family: r.family, nextHop: nh });
  }
  return { rib, skipped };
}

/** The UPDATE content that turns `sent` into `desired`. A changed next hop is re-announced (an implicit withdraw). */
export function diffRibOut(sent: AdjRibOut, desired: AdjRibOut): RibDiff {
  const withdraw = new Map<IpFamily, Prefix[]>();
  const announce = new Map<string, { family: IpFamily; nextHop: string; prefixes: Prefix[] }>();
  for (const [k, e] of sent) {
    if (desired.has(k)) continue;
    const list = withdraw.get(e.family) ?? [];
    list.push(e.prefix);
    withdraw.set(e.family, list);
  }
  for (const [k, e] of desired) {
    const old = sent.get(k);
    if (old && old.nextHop === e.nextHop) continue;
    const g = `${e.family} ${e.nextHop}`;
    const group = announce.get(g) ?? { family: e.family, nextHop: e.nextHop, prefixes: [] };
    group.prefixes.push(e.prefix);
    announce.set(g, group);
  }
  return {
    withdraw: [...withdraw].map(([family, prefixes]) => ({ family, prefixes })),
    announce: [...announce.values()],
  };
}

export function isEmptyDiff(d: RibDiff): boolean {
  return d.withdraw.length === 0 && d.announce.length === 0;
}
