// Routing-table facts from /proc (no `ip` binary, no netlink): pure parsers over the file
// texts plus a route lookup that mirrors the kernel's choice closely enough for picking a NIC.
//
// Limits worth knowing: /proc/net/route shows only the IPv4 main table (policy routing
// tables are invisible), and its hex fields are in host byte order — decoded here as
// little-endian, which holds for x86-64 and arm64 (the platforms we ship for).

import { type Family, inPrefix, type IP, ipToString, maskOf } from '../net/ip.ts';

export interface Route {
  family: Family;
  iface: string;
  /** Canonical network address (host bits cleared). */
  dest: string;
  prefixLen: number;
  /** Next hop; undefined for a connected (on-link) route. */
  gateway?: string;
  metric: number;
  flags: number;
  /** Parsed network value, kept for lookups. */
  network: bigint;
}

// Flags from <linux/route.h> and <linux/ipv6_route.h>.
export const RTF_UP = 0x1;
export const RTF_GATEWAY = 0x2;
export const RTF_REJECT = 0x200;
export const RTF_LOCAL = 0x80000000;

/** Decodes a /proc/net/route 32-bit hex field (host order, little-endian) to a BigInt address. */
function v4FromProcHex(hex: string): bigint | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const n = parseInt(hex, 16) >>> 0;
  const b0 = n & 0xff, b1 = (n >>> 8) & 0xff, b2 = (n >>> 16) & 0xff, b3 = (n >>> 24) & 0xff;
  return (BigInt(b0) << 24n) | (BigInt(b1) << 16n) | (BigInt(b2) << 8n) | BigInt(b3);
}

function prefixFromMask(mask: bigint): number | undefined {
  let len = 0;
  for (let bit = 31n; bit >= 0n; bit--) {
    if ((mask >> bit) & 1n) len++;
    else break;
  }
  // A non-contiguous mask cannot come from the kernel; refuse rather than guess.
  return maskOf(4, len) === mask ? len : undefined;
}

/** Parses /proc/net/route (IPv4 main table). Lines that do not parse are skipped. */
export function parseRouteTable(text: string): Route[] {
  const routes: Route[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, destHex, gwHex, flagsHex, , , metricText, maskHex] = f;
    if (!iface || !destHex || !gwHex || !flagsHex || !metricText || !maskHex) continue;
    const dest = v4FromProcHex(destHex);
    const gw = v4FromProcHex(gwHex);
    const mask = v4FromProcHex(maskHex);
    if (dest === undefined || gw === undefined || mask === undefined) continue;
    const prefixLen = prefixFromMask(mask);
    if (prefixLen === undefined) continue;
    const flags = parseInt(flagsHex, 16);
    const network = dest & mask;
    routes.push({
      family: 4,
      iface,
      dest: ipToString(4, network),
      prefixLen,
      ...(gw !== 0n ? { gateway: ipToString(4, gw) } : {}),
      metric: Number(metricText),
      flags,
      network,
    });
  }
  return routes;
}

/**
 * Parses /proc/net/ipv6_route. Columns: dest, dest prefix len, src, src prefix len, next hop,
 * metric, refcnt, use, flags, iface — all hex. The file holds every table (local included),
 * so local /128 entries and the `lo` reject route appear here; lookups filter them.
 */
export function parseIpv6RouteTable(text: string): Route[] {
  const routes: Route[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [destHex, plenHex, , , gwHex, metricHex, , , flagsHex, iface] = f;
    if (!destHex || !plenHex || !gwHex || !metricHex || !flagsHex || !iface) continue;
    if (!/^[0-9a-f]{32}$/i.test(destHex) || !/^[0-9a-f]{32}$/i.test(gwHex)) continue;
    const prefixLen = parseInt(plenHex, 16);
    if (!(prefixLen >= 0 && prefixLen <= 128)) continue;
    const network = BigInt('0x' + destHex) & maskOf(6, prefixLen);
    const gw = BigInt('0x' + gwHex);
    routes.push({
      family: 6,
      iface,
      dest: ipToString(6, network),
      prefixLen,
      ...(gw !== 0n ? { gateway: ipToString(6, gw) } : {}),
      metric: parseInt(metricHex, 16) >>> 0,
      flags: parseInt(flagsHex, 16) >>> 0,
      network,
    });
  }
  return routes;
}

/** A route that can carry traffic out of a NIC: up, not a reject/blackhole, not a local entry, not via lo. */
export function isUsableRoute(r: Route): boolean {
  return (r.flags & RTF_UP) !== 0 && (r.flags & RTF_REJECT) === 0 && (r.flags & RTF_LOCAL) === 0 && r.iface !== 'lo';
}

/** A connected (on-link) route: usable, no gateway, not a host route of our own address. */
export function isConnectedRoute(r: Route): boolean {
  return isUsableRoute(r) && r.gateway === undefined;
}

/**
 * The route the kernel would most likely pick for `ip` among `routes` that pass `accept`:
 * longest prefix, then lowest metric, then first in table order (the kernel's order for
 * equal routes). Local routes and `lo` are never returned (see isUsableRoute), so a
 * can_reach target that is one of our own addresses resolves to the NIC of its subnet.
 */
export function lookupRoute(
  routes: readonly Route[],
  ip: IP,
  accept: (r: Route) => boolean = isUsableRoute,
): Route | undefined {
  let best: Route | undefined;
  for (const r of routes) {
    if (r.family !== ip.family || !accept(r)) continue;
    if (!inPrefix(ip, r.family, r.network, r.prefixLen)) continue;
    if (!best || r.prefixLen > best.prefixLen || (r.prefixLen === best.prefixLen && r.metric < best.metric)) best = r;
  }
  return best;
}
