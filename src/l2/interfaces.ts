// NIC facts: what the NICs of this node are, which addresses they hold, which routes they serve.
// (Which NIC answers for an Eip is the speaker's rule: src/speaker/nic-choice.ts.)
//
// Everything comes from /sys/class/net and /proc/net through node:fs: the speaker image
// may not ship iproute2, and netlink would need more FFI than it is worth here. The
// parsers are pure over the file texts (unit tests feed captured fixtures); the readers
// at the bottom are thin.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { canonicalIP, type Family, ipToString, parseIP } from '../net/ip.ts';
import {
  type Route,
  isConnectedRoute,
  lookupRoute,
  parseIpv6RouteTable,
  parseRouteTable,
} from './routes.ts';

export interface Nic {
  name: string;
  index: number;
  /** Lowercase colon-separated MAC, as sysfs prints it. */
  mac: string;
  /** Administratively up (IFF_UP) AND operationally usable (operstate up, or unknown as dummy/lo report). */
  up: boolean;
  adminUp: boolean;
  operstate: string;
  /** A port of a bond/bridge/team (has a `master`): frames for it are handled by the master. */
  enslaved: boolean;
  master?: string;
  loopback: boolean;
  /** IFF_NOARP (e.g. kube-ipvs0): the kernel does no ARP there, so nobody on a LAN is behind it. */
  noarp: boolean;
  /** ARPHRD_* hardware type from sysfs `type` (1 = Ethernet, 772 = loopback). */
  type: number;
}

export interface IfAddr {
  family: Family;
  /** Canonical text. */
  ip: string;
  iface: string;
  prefixLen?: number;
}

export interface NicFacts {
  nics: readonly Nic[];
  /** IPv4 (main table) and IPv6 routes. */
  routes: readonly Route[];
  /** Addresses held by NICs of this node (IPv4 inferred from fib_trie + connected routes). */
  addresses: readonly IfAddr[];
  /** Local IPv4 addresses whose NIC /proc cannot tell (no connected route: NIC down, or a /32). */
  unattributedV4?: readonly string[];
}

// <linux/if.h>
const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_NOARP = 0x80;
/** ARPHRD_ETHER: the hardware type of an Ethernet NIC (sysfs `type`). */
export const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;

export interface SysNicFiles {
  ifindex: string;
  address: string;
  operstate: string;
  flags: string;
  type: string;
  /** Target of the `master` symlink, when present (e.g. `../br0` or `../../bond0`). */
  masterLink?: string;
}

/** Builds a Nic from the texts of its /sys/class/net/<name>/ files. */
export function parseSysNic(name: string, f: SysNicFiles): Nic {
  const flags = parseInt(f.flags.trim(), 16) || 0;
  const type = Number(f.type.trim());
  const operstate = f.operstate.trim();
  const adminUp = (flags & IFF_UP) !== 0;
  const master = f.masterLink ? f.masterLink.trim().split('/').filter(Boolean).pop() : undefined;
  return {
    name,
    index: Number(f.ifindex.trim()),
    mac: f.address.trim().toLowerCase(),
    // operstate "unknown" is what drivers without carrier reporting (lo, dummy) say while up.
    up: adminUp && (operstate === 'up' || operstate === 'unknown'),
    adminUp,
    operstate,
    enslaved: master !== undefined,
    ...(master !== undefined ? { master } : {}),
    loopback: (flags & IFF_LOOPBACK) !== 0 || type === ARPHRD_LOOPBACK,
    noarp: (flags & IFF_NOARP) !== 0,
    type,
  };
}

/**
 * Parses /proc/net/if_inet6: `address(32 hex) ifindex prefixlen scope flags name`, all hex.
 * Tentative (DAD not finished) and dadfailed addresses are kept: they are still on the NIC.
 */
export function parseIfInet6(text: string): (IfAddr & { index: number; scope: number; flags: number })[] {
  const out: (IfAddr & { index: number; scope: number; flags: number })[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const [addrHex, idxHex, plenHex, scopeHex, flagsHex, iface] = f;
    if (!addrHex || !/^[0-9a-f]{32}$/i.test(addrHex) || !idxHex || !plenHex || !scopeHex || !flagsHex || !iface) continue;
    out.push({
      family: 6,
      ip: ipToString(6, BigInt('0x' + addrHex)),
      iface,
      prefixLen: parseInt(plenHex, 16),
      index: parseInt(idxHex, 16),
      scope: parseInt(scopeHex, 16),
      flags: parseInt(flagsHex, 16),
    });
  }
  return out;
}

/**
 * The host's own IPv4 addresses from /proc/net/fib_trie: leaves carrying a `/32 host LOCAL`
 * entry (the local-table route the kernel adds for each address). The file prints the
 * Main and Local tables (often identical); duplicates are removed. Order: first seen.
 */
export function parseFibTrieLocal(text: string): string[] {
  const seen = new Set<string>();
  let leaf: string | undefined;
  for (const line of text.split('\n')) {
    const leafMatch = /^\s*\|--\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (leafMatch) {
      leaf = leafMatch[1];
      continue;
    }
    if (/^\s*\+--/.test(line) || /^\S/.test(line)) {
      leaf = undefined; // a new inner node or table header ends the current leaf
      continue;
    }
    const entry = /^\s*\/(\d+)\s+(\S+)\s+(\S+)/.exec(line);
    if (entry && leaf && entry[1] === '32' && entry[3] === 'LOCAL') {
      const ip = canonicalIP(leaf);
      if (ip) seen.add(ip);
    }
  }
  return [...seen];
}

/**
 * Attributes each local IPv4 address to a NIC: the NIC of the longest connected route that
 * holds it (the subnet the address was configured with). 127/8 goes to the loopback NIC.
 * An address with no connected route (a /32 without a peer) cannot be attributed from /proc
 * alone and is left out — documented limit of the no-netlink approach.
 */
export function attributeV4Addresses(locals: readonly string[], routes: readonly Route[], loopbackName = 'lo'): IfAddr[] {
  const out: IfAddr[] = [];
  for (const ip of locals) {
    const v = parseIP(ip);
    if (!v || v.family !== 4) continue;
    if (v.value >> 24n === 127n) {
      out.push({ family: 4, ip, iface: loopbackName, prefixLen: 8 });
      continue;
    }
    const r = lookupRoute(routes, v, isConnectedRoute);
    if (r) out.push({ family: 4, ip, iface: r.iface, prefixLen: r.prefixLen });
  }
  return out;
}

export interface ProcTexts {
  route: string;
  ipv6Route: string;
  ifInet6: string;
  fibTrie: string;
}

/** Pure assembly of NicFacts from the NIC list and the /proc texts. */
export function nicFactsFrom(nics: readonly Nic[], t: ProcTexts): NicFacts {
  const routes = [...parseRouteTable(t.route), ...parseIpv6RouteTable(t.ipv6Route)];
  const lo = nics.find((n) => n.loopback)?.name ?? 'lo';
  const locals = parseFibTrieLocal(t.fibTrie);
  const v4 = attributeV4Addresses(locals, routes, lo);
  const attributed = new Set(v4.map((a) => a.ip));
  const v6 = parseIfInet6(t.ifInet6).map(({ family, ip, iface, prefixLen }): IfAddr => ({
    family,
    ip,
    iface,
    ...(prefixLen !== undefined ? { prefixLen } : {}),
  }));
  return { nics, routes, addresses: [...v4, ...v6], unattributedV4: locals.filter((ip) => !attributed.has(ip)) };
}

// ---------------------------------------------------------------------------------------
// Thin readers

export interface FactRoots {
  sys?: string; // default /sys/class/net
  proc?: string; // default /proc/net
}

const readText = (path: string): string => readFileSync(path, 'utf8');
const readOptional = (path: string): string => {
  try {
    return readText(path);
  } catch {
    return ''; // e.g. IPv6 disabled: /proc/net/if_inet6 and ipv6_route are absent
  }
};

/** The raw sysfs texts of one NIC; undefined if it vanished meanwhile. */
export function readSysNicFiles(name: string, sysRoot = '/sys/class/net'): SysNicFiles | undefined {
  const dir = `${sysRoot}/${name}`;
  try {
    let masterLink: string | undefined;
    try {
      masterLink = readlinkSync(`${dir}/master`);
    } catch {
      masterLink = undefined; // not enslaved
    }
    return {
      ifindex: readText(`${dir}/ifindex`),
      address: readOptional(`${dir}/address`),
      operstate: readOptional(`${dir}/operstate`),
      flags: readText(`${dir}/flags`),
      type: readText(`${dir}/type`),
      ...(masterLink !== undefined ? { masterLink } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Reads one NIC from sysfs; undefined if it vanished meanwhile. */
export function readInterface(name: string, sysRoot = '/sys/class/net'): Nic | undefined {
  const files = readSysNicFiles(name, sysRoot);
  return files ? parseSysNic(name, files) : undefined;
}

/** All NICs of this network namespace (as sysfs shows it), ordered by ifindex. */
export function listInterfaces(sysRoot = '/sys/class/net'): Nic[] {
  const nics: Nic[] = [];
  for (const name of readdirSync(sysRoot)) {
    const nic = readInterface(name, sysRoot);
    if (nic) nics.push(nic);
  }
  return nics.sort((a, b) => a.index - b.index);
}

export function readProcTexts(procRoot = '/proc/net'): ProcTexts {
  return {
    route: readOptional(`${procRoot}/route`),
    ipv6Route: readOptional(`${procRoot}/ipv6_route`),
    ifInet6: readOptional(`${procRoot}/if_inet6`),
    fibTrie: readOptional(`${procRoot}/fib_trie`),
  };
}

/** The NIC facts of the current network namespace. */
export function readNicFacts(roots: FactRoots = {}): NicFacts {
  return nicFactsFrom(listInterfaces(roots.sys), readProcTexts(roots.proc));
}
