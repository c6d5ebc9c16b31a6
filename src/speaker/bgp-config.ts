// BgpConf and BgpPeer objects -> the settings one node runs with, as OpenELB reads them. Pure.
//
// Upstream's rules kept here (pkg/speaker/bgp in OpenELB):
//   - only the BgpConf named `default` configures the speakers; others are ignored;
//   - routerId empty -> the node's first InternalIP (we take the first IPv4 one: a BGP identifier
//     is 32 bits);
//   - a node labelled openelb.kubesphere.io/rack=<rack> while asPerRack is set uses
//     asPerRack[<rack>] (when > 0, else spec.as) and its own address as router id;
//   - an absent BgpPeer.nodeSelector means every node; afiSafis empty -> the family of
//     neighborAddress.
// Fields of upstream's v1alpha1 (routerID, router-id, port; config.neighbor-address, peer-as) are
// read too: the CRD serves v1alpha1 with the v1alpha2 schema (conversion None), so objects keep
// whatever spelling they were written with.
import { parseIP } from '../net/ip.ts';
import type { BgpFamily, ListenConfig, PeerConfig } from './bgp-speaker-api.ts';
import { matchSelector } from './label-selector.ts';

export const DEFAULT_BGPCONF = 'default';
export const RACK_LABEL = 'openelb.kubesphere.io/rack';
export const BGP_PORT = 179;
/** gobgp route family numbers (AFI << 16 | SAFI) used in BgpConf.spec.families. */
export const ROUTE_FAMILY: Readonly<Record<number, BgpFamily>> = { 65537: 'ipv4-unicast', 131073: 'ipv6-unicast' };
const DEFAULT_RESTART_TIME = 120;

/** A BgpConf or BgpPeer as the informer holds it (untyped spec). */
export interface BgpObject {
  /** creationTimestamp is RFC 3339 text in JSON (client-node's types say Date). */
  metadata: { name: string; uid?: string; creationTimestamp?: string | Date; generation?: number; deletionTimestamp?: string | Date };
  spec?: unknown;
}

export type FindingScope =
  /** The same on every node: the object itself is wrong (reported as its Ready condition). */
  | 'object'
  /** Depends on this node (its labels, its addresses): reported by this node. */
  | 'node';

export interface BgpFinding {
  kind: 'BgpConf' | 'BgpPeer';
  name: string;
  scope: FindingScope;
  /** error: the object (or this node's use of it) does nothing; warning: part of it is ignored. */
  severity: 'error' | 'warning';
  reason: string;
  /** Names the object and says how to fix it. */
  message: string;
}

/** What this node runs with, from BgpConf `default`. */
export interface GlobalConfig {
  as: number;
  routerId: string;
  listen: ListenConfig;
  /** undefined: every family we serve. */
  families: BgpFamily[] | undefined;
  gracefulRestart: { restartTime: number } | undefined;
}

/** This node, reduced to what BGP needs. */
export interface BgpNode {
  name: string;
  labels: Readonly<Record<string, string>>;
  /** InternalIP addresses, in status order. */
  internalIPs: readonly string[];
}

type Rec = Record<string, unknown>;
const rec = (x: unknown): Rec => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Rec) : {});
const str = (x: unknown): string | undefined => (typeof x === 'string' && x.trim() !== '' ? x.trim() : undefined);
const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
const isAs = (x: number | undefined): x is number => x !== undefined && Number.isInteger(x) && x >= 1 && x <= 0xffffffff;

function firstIPv4(addrs: readonly string[]): string | undefined {
  return addrs.find((a) => parseIP(a)?.family === 4);
}

/** Older first, then by name: the order that decides which of two conflicting objects wins. */
export function byAge(a: BgpObject, b: BgpObject): number {
  const ta = Date.parse(String(a.metadata.creationTimestamp ?? '')) || Number.MAX_SAFE_INTEGER;
  const tb = Date.parse(String(b.metadata.creationTimestamp ?? '')) || Number.MAX_SAFE_INTEGER;
  return ta - tb || (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
}

function gracefulRestartOf(x: unknown, fallback: { restartTime: number } | undefined): { restartTime: number } | undefined {
  const g = rec(x);
  if (g.enabled === true) return { restartTime: num(g.restartTime) || DEFAULT_RESTART_TIME };
  if (g.enabled === false) return undefined;
  return fallback;
}

/**
 * BgpConf `default` applied to this node, or the findings that stop it. `findings` also carries
 * warnings about fields that are accepted but not applied.
 */
export function globalConfig(conf: BgpObject, node: BgpNode): { global: GlobalConfig | undefined; findings: BgpFinding[] } {
  const name = conf.metadata.name;
  const spec = rec(conf.spec);
  const findings: BgpFinding[] = [];
  const finding = (scope: FindingScope, severity: BgpFinding['severity'], reason: string, message: string) =>
    findings.push({ kind: 'BgpConf', name, scope, severity, reason, message: `BgpConf ${name}: ${message}` });

  const rack = node.labels[RACK_LABEL];
  const perRack = rec(spec.asPerRack);
  const hasPerRack = spec.asPerRack !== undefined && spec.asPerRack !== null;
  let as = num(spec.as);
  let routerId = str(spec.routerId) ?? str(spec.routerID) ?? str(spec['router-id']);
  if (rack !== undefined && rack !== '' && hasPerRack) {
    const rackAs = num(perRack[rack]);
    if (rackAs !== undefined && rackAs > 0) as = rackAs;
    // Upstream: a racked node always uses its own address (one router id per node).
    routerId = undefined;
  }
  if (!isAs(as)) {
    const where = rack ? ` and spec.asPerRack has no AS for rack ${rack} (label ${RACK_LABEL} of node ${node.name})` : '';
    finding(rack && hasPerRack ? 'node' : 'object', 'error', 'NoAS', `no usable spec.as${where}: set spec.as to the local AS number (1..4294967295)${rack ? ` or add ${rack} to spec.asPerRack` : ''}`);
  }
  if (routerId !== undefined) {
    const ip = parseIP(routerId);
    if (ip?.family !== 4) {
      finding('object', 'error', 'InvalidRouterId', `spec.routerId "${routerId}" is not an IPv4 address: write one (e.g. 192.168.0.2) or leave it empty to use each node's IPv4 InternalIP`);
      routerId = undefined;
    }
  } else {
    routerId = firstIPv4(node.internalIPs);
    if (routerId === undefined) {
      finding('node', 'error', 'NoRouterId', `node ${node.name} has no IPv4 InternalIP to use as router id (spec.routerId is empty${rack && hasPerRack ? ` or ignored for racked nodes` : ''}): give the node an IPv4 InternalIP, or set spec.routerId`);
    }
  }

  let port = num(spec.listenPort) ?? num(spec.port) ?? BGP_PORT;
  if (port === 0) port = BGP_PORT;
  if (!(port === -1 || (Number.isInteger(port) && port >= 1 && port <= 65535))) {
    finding('object', 'error', 'InvalidListenPort', `spec.listenPort ${port} is not -1 or a port 1..65535: fix it, or omit it for ${BGP_PORT}`);
    return { global: undefined, findings };
  }
  const addresses: string[] = [];
  for (const a of Array.isArray(spec.listenAddresses) ? spec.listenAddresses : []) {
    if (typeof a === 'string' && parseIP(a)) addresses.push(a);
    else finding('object', 'warning', 'InvalidListenAddress', `spec.listenAddresses entry ${JSON.stringify(a)} is not an IP address and is skipped: remove or fix it`);
  }

  let families: BgpFamily[] | undefined;
  if (Array.isArray(spec.families) && spec.families.length > 0) {
    families = [];
    for (const f of spec.families) {
      const fam = typeof f === 'number' ? ROUTE_FAMILY[f] : undefined;
      if (fam) {
        if (!families.includes(fam)) families.push(fam);
      } else {
        finding('object', 'warning', 'UnsupportedFamily', `spec.families entry ${JSON.stringify(f)} is not served (65537 = IPv4 unicast, 131073 = IPv6 unicast) and is ignored`);
      }
    }
    if (families.length === 0) finding('object', 'error', 'NoFamily', 'spec.families names no served family: use 65537 (IPv4 unicast) and/or 131073 (IPv6 unicast), or remove it');
  }
  if (str(spec.policy)) {
    finding('object', 'warning', 'PolicyIgnored', `spec.policy (${str(spec.policy)}) names a gobgp policy ConfigMap, which openelb-ts does not apply: routes are announced without it; remove spec.policy to silence this`);
  }
  if (!isAs(as) || routerId === undefined || (families !== undefined && families.length === 0)) return { global: undefined, findings };
  return {
    global: { as, routerId, listen: { port, addresses }, families, gracefulRestart: gracefulRestartOf(spec.gracefulRestart, undefined) },
    findings,
  };
}

const AFI: Record<string, 4 | 6> = { AFI_IP: 4, AFI_IP6: 6 };

function familiesOf(spec: Rec, neighborFamily: 4 | 6, warn: (reason: string, message: string) => void): BgpFamily[] {
  const list = Array.isArray(spec.afiSafis) ? spec.afiSafis : [];
  const byFamily = (f: 4 | 6): BgpFamily => (f === 4 ? 'ipv4-unicast' : 'ipv6-unicast');
  if (list.length === 0) return [byFamily(neighborFamily)];
  const out: BgpFamily[] = [];
  for (const item of list) {
    const config = rec(rec(item).config);
    if (rec(item).config === undefined) {
      // Upstream fills a missing config with the neighbour's family.
      if (!out.includes(byFamily(neighborFamily))) out.push(byFamily(neighborFamily));
      continue;
    }
    if (config.enabled === false) continue;
    const fam = rec(config.family);
    const afi = AFI[String(fam.afi ?? '')];
    const safi = fam.safi === undefined ? 'SAFI_UNICAST' : fam.safi;
    if (afi === undefined || safi !== 'SAFI_UNICAST') {
      warn('UnsupportedFamily', `spec.afiSafis family ${String(fam.afi)}/${String(fam.safi)} is not served (AFI_IP or AFI_IP6 with SAFI_UNICAST) and is ignored`);
      continue;
    }
    if (!out.includes(byFamily(afi))) out.push(byFamily(afi));
  }
  return out;
}

function seconds(x: unknown): number | undefined {
  const s = typeof x === 'number' ? String(x) : typeof x === 'string' ? x.trim() : '';
  if (!/^[0-9]+$/.test(s)) return undefined;
  return Number(s);
}

/** Whether the BgpPeer's nodeSelector selects `node` (absent: every node, as upstream). */
export function selectsNode(obj: BgpObject, node: BgpNode): ReturnType<typeof matchSelector> {
  const sel = rec(obj.spec).nodeSelector;
  if (sel === undefined || sel === null) return { ok: true, matches: true };
  return matchSelector(sel, node.labels);
}

export type PeerVerdict =
  | { kind: 'peer'; peer: PeerConfig; findings: BgpFinding[] }
  /** The nodeSelector does not select this node. */
  | { kind: 'not-selected'; findings: BgpFinding[] }
  /** Unusable; `findings` says why. */
  | { kind: 'invalid'; findings: BgpFinding[] };

/** One BgpPeer for this node under `global`. Duplicates across peers are the plan's business. */
export function peerConfig(obj: BgpObject, global: GlobalConfig, node: BgpNode): PeerVerdict {
  const name = obj.metadata.name;
  const spec = rec(obj.spec);
  const findings: BgpFinding[] = [];
  const finding = (scope: FindingScope, severity: BgpFinding['severity'], reason: string, message: string) =>
    findings.push({ kind: 'BgpPeer', name, scope, severity, reason, message: `BgpPeer ${name}: ${message}` });

  const sel = selectsNode(obj, node);
  if (!sel.ok) {
    finding('object', 'error', 'InvalidNodeSelector', `spec.nodeSelector ${sel.problem}, so it selects no node: fix it (matchLabels, or matchExpressions with In, NotIn, Exists, DoesNotExist), or remove it to peer from every node`);
    return { kind: 'invalid', findings };
  }
  if (!sel.matches) return { kind: 'not-selected', findings };

  const conf = rec(spec.conf ?? spec.config);
  const neighborText = str(conf.neighborAddress) ?? str(conf['neighbor-address']);
  const peerAs = num(conf.peerAs) ?? num(conf['peer-as']);
  if (neighborText === undefined) {
    const unnumbered = str(conf.neighborInterface);
    finding('object', 'error', unnumbered ? 'NeighborInterfaceNotServed' : 'NoNeighborAddress', unnumbered
      ? `spec.conf.neighborInterface (BGP unnumbered over ${unnumbered}) is not served by openelb-ts: give the router's address in spec.conf.neighborAddress`
      : 'spec.conf.neighborAddress is missing: set it to the IP address of the BGP router');
    return { kind: 'invalid', findings };
  }
  const neighbor = parseIP(neighborText);
  if (!neighbor) {
    finding('object', 'error', 'InvalidNeighborAddress', `spec.conf.neighborAddress "${neighborText}" is not an IP address: write the router's IPv4 or IPv6 address`);
    return { kind: 'invalid', findings };
  }
  if (!isAs(peerAs)) {
    finding('object', 'error', 'NoPeerAS', `spec.conf.peerAs is missing or not 1..4294967295: set it to the router's AS number`);
    return { kind: 'invalid', findings };
  }
  const localAs = num(conf.localAs) ?? global.as;
  if (!isAs(localAs)) {
    finding('object', 'error', 'InvalidLocalAS', `spec.conf.localAs ${localAs} is not 1..4294967295: fix it or remove it to use the BgpConf's AS`);
    return { kind: 'invalid', findings };
  }

  let families = familiesOf(spec, neighbor.family, (reason, message) => finding('object', 'warning', reason, message));
  if (global.families) families = families.filter((f) => global.families!.includes(f));
  if (families.length === 0) {
    finding('object', 'error', 'NoFamily', `no address family left to announce (spec.afiSafis${global.families ? ' intersected with BgpConf spec.families' : ''}): enable AFI_IP and/or AFI_IP6 with SAFI_UNICAST`);
    return { kind: 'invalid', findings };
  }

  const timers = rec(rec(spec.timers).config);
  const transport = rec(spec.transport);
  const multihop = rec(spec.ebgpMultihop);
  const peer: PeerConfig = { name, neighborAddress: neighborText, peerAs, localAs, routerId: global.routerId, families };
  const hold = seconds(timers.holdTime);
  const keepalive = seconds(timers.keepaliveInterval);
  const retry = seconds(timers.connectRetry);
  if (hold !== undefined) peer.holdTime = hold;
  if (keepalive !== undefined) peer.keepaliveInterval = keepalive;
  if (retry !== undefined && retry > 0) peer.connectRetry = retry;
  if (hold !== undefined && keepalive !== undefined && hold > 0 && keepalive >= hold) {
    finding('object', 'warning', 'KeepaliveNotBelowHoldTime', `spec.timers.config.keepaliveInterval (${keepalive} s) is not below holdTime (${hold} s), so the router may drop the session between keepalives: use about a third of holdTime`);
  }
  if (transport.passiveMode === true) peer.passive = true;
  const port = num(transport.remotePort);
  if (port !== undefined && port > 0) peer.remotePort = port;
  const password = typeof conf.authPassword === 'string' && conf.authPassword !== '' ? conf.authPassword : undefined;
  if (password !== undefined) peer.authPassword = password;
  if (multihop.enabled === true) peer.ebgpMultihopTtl = num(multihop.multihopTtl) || 255;
  const gr = gracefulRestartOf(spec.gracefulRestart, global.gracefulRestart);
  if (gr) peer.gracefulRestart = gr;
  if (conf.adminDown === true) peer.adminDown = true;
  if (node.internalIPs.some((a) => parseIP(a)?.value === neighbor.value && parseIP(a)?.family === neighbor.family)) {
    finding('node', 'warning', 'NeighborIsThisNode', `spec.conf.neighborAddress ${neighborText} is an address of node ${node.name} itself, which does not peer with itself: narrow spec.nodeSelector so it leaves out ${node.name}`);
    return { kind: 'invalid', findings };
  }
  return { kind: 'peer', peer, findings };
}
