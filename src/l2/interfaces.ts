// NIC facts and the choice of the NIC that answers ARP/NDP for an Eip on this node.
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
  isUsableRoute,
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
const ARPHRD_ETHER = 1;
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
// The choice

export type NicChoice =
  | { ok: true; nic: string; index: number; mac: string; source: 'annotation' | 'name' | 'can_reach' | 'subnet' }
  | { ok: false; reason: 'NoInterface'; message: string };

export interface NicChoiceInput {
  eipName: string;
  /** The Eip's spec.interface: a NIC name, `can_reach:<IP>`, or empty. */
  interface?: string;
  /** Value of the node annotation layer2.openelb.kubesphere.io/v1alpha1, if set. */
  nodeAnnotationIp?: string;
  /** First address of the pool (any text form). */
  poolFirstIp: string;
  poolFamily: Family;
  /** For messages only. */
  node?: string;
}

export const NODE_NIC_ANNOTATION = 'layer2.openelb.kubesphere.io/v1alpha1';

/**
 * Which NIC answers for the Eip on this node. Precedence (SPEC §1): the node annotation (the
 * NIC holding that IP), else the Eip's `interface` (a name, or `can_reach:<IP>` = the NIC of
 * the route to that IP, never lo), else the NIC whose connected subnet holds the pool's first
 * IP. The chosen NIC must exist, be up, be Ethernet-type with ARP on, not loopback, and not be
 * enslaved to a bond/bridge (answering on a port is wrong: MetalLB #316).
 */
export function chooseNic(input: NicChoiceInput, facts: NicFacts): NicChoice {
  const where = input.node ? ` on node ${input.node}` : '';
  const eip = `Eip ${input.eipName}`;
  const fail = (message: string): NicChoice => ({ ok: false, reason: 'NoInterface', message });
  const byName = new Map(facts.nics.map((n) => [n.name, n]));

  const validate = (name: string, from: string, fix: string, source: 'annotation' | 'name' | 'can_reach' | 'subnet'): NicChoice => {
    const nic = byName.get(name);
    if (!nic) {
      const names = facts.nics.filter((n) => !n.loopback).map((n) => n.name).sort().join(', ');
      return fail(`${eip}: NIC ${name} (${from}) does not exist${where} (NICs: ${names || 'none'}); ${fix}`);
    }
    if (nic.loopback) return fail(`${eip}: NIC ${name} (${from}) is the loopback NIC${where}; nobody on the LAN can reach it; ${fix}`);
    if (nic.type !== ARPHRD_ETHER) {
      return fail(`${eip}: NIC ${name} (${from})${where} is not an Ethernet NIC (hardware type ${nic.type}); ARP/NDP need one; ${fix}`);
    }
    if (nic.noarp) {
      return fail(`${eip}: NIC ${name} (${from})${where} has ARP turned off (NOARP, like kube-ipvs0); choose the NIC attached to the pool's network; ${fix}`);
    }
    if (nic.enslaved) {
      return fail(
        `${eip}: NIC ${name} (${from})${where} is enslaved to ${nic.master}; ARP/NDP must be answered on the master, ` +
          `set the Eip's spec.interface to ${nic.master} (or point the node annotation at an IP on ${nic.master})`,
      );
    }
    if (!nic.up) {
      return fail(`${eip}: NIC ${name} (${from})${where} is down (operstate ${nic.operstate}); bring it up or ${fix}`);
    }
    return { ok: true, nic: nic.name, index: nic.index, mac: nic.mac, source };
  };

  const annotation = input.nodeAnnotationIp?.trim();
  if (annotation) {
    const fix = `set the node annotation ${NODE_NIC_ANNOTATION} to an IP held by the NIC facing the pool's network, or remove it`;
    const ip = parseIP(annotation);
    if (!ip) return fail(`${eip}: node annotation ${NODE_NIC_ANNOTATION}=${JSON.stringify(annotation)}${where} is not an IP address; ${fix}`);
    const text = ipToString(ip.family, ip.value);
    // A link-local address can sit on a bridge and its port alike (same MAC): prefer the NIC that is no port.
    const owners = facts.addresses.filter((a) => a.family === ip.family && a.ip === text);
    const owner = owners.find((a) => byName.get(a.iface)?.enslaved === false) ?? owners[0];
    if (!owner && facts.unattributedV4?.includes(text)) {
      return fail(
        `${eip}: ${text} (node annotation ${NODE_NIC_ANNOTATION}) is an address of node ${input.node ?? '(this node)'}, ` +
          `but its NIC has no connected subnet (the NIC is down, or the address is a /32); bring the NIC up or ${fix}`,
      );
    }
    if (!owner) return fail(`${eip}: no NIC${where} holds ${text} (node annotation ${NODE_NIC_ANNOTATION}); ${fix}`);
    return validate(owner.iface, `holds ${text} from the node annotation ${NODE_NIC_ANNOTATION}`, fix, 'annotation');
  }

  const spec = input.interface?.trim() ?? '';
  if (spec.startsWith('can_reach:')) {
    const target = spec.slice('can_reach:'.length).trim();
    const fix = `fix spec.interface of ${eip} (can_reach:<IP of a host on the pool's network>) or name the NIC`;
    const ip = parseIP(target);
    if (!ip) return fail(`${eip}: spec.interface ${JSON.stringify(spec)} does not hold a valid IP after can_reach:; ${fix}`);
    const text = ipToString(ip.family, ip.value);
    // The kernel reaches a loopback address through lo; our lookup skips lo and would fall
    // through to the default route, naming a NIC that has nothing to do with it.
    if ((ip.family === 4 && ip.value >> 24n === 127n) || (ip.family === 6 && ip.value === 1n)) {
      return fail(`${eip}: spec.interface ${spec} names a loopback address, which is only reachable through lo; ${fix}`);
    }
    const route = lookupRoute(facts.routes, ip, isUsableRoute);
    if (!route) return fail(`${eip}: no route${where} reaches ${text} (spec.interface ${spec}) except through lo; ${fix}`);
    return validate(route.iface, `route to ${text} from spec.interface ${spec}`, fix, 'can_reach');
  }
  if (spec !== '') {
    return validate(spec, `spec.interface`, `fix spec.interface of ${eip}`, 'name');
  }

  const first = parseIP(input.poolFirstIp);
  const fix = `set spec.interface of ${eip} to the NIC name or can_reach:<IP on the pool's network>`;
  if (!first || first.family !== input.poolFamily) {
    return fail(`${eip}: pool first IP ${JSON.stringify(input.poolFirstIp)} is not an IPv${input.poolFamily} address`);
  }
  const firstText = ipToString(first.family, first.value);
  const route = lookupRoute(facts.routes, first, isConnectedRoute);
  if (!route) {
    return fail(`${eip}: the pool's first IP ${firstText} is in no subnet directly connected to a NIC${where}; ${fix}`);
  }
  return validate(route.iface, `its subnet ${route.dest}/${route.prefixLen} holds ${firstText}`, fix, 'subnet');
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
