// What this node's BGP speaker should do, from API state: its peers (BgpConf `default` + the
// BgpPeers that select it), the /32 and /128 routes it announces, and the configuration problems
// found on the way. Pure: informer caches in, plain data out (every node computes its own plan;
// unit tests need no API server and no sockets).
//
// Routes: the ingress IPs of our Services that lie in a bgp Eip (protocol bgp, or empty, OpenELB's
// default). Every node with a session announces them with itself as next hop, so the router
// spreads traffic over the nodes by ECMP:
//   - externalTrafficPolicy Cluster: every node (kube-proxy forwards to a pod anywhere);
//   - Local: only nodes with a ready endpoint of that Service (traffic to a node without one would
//     be dropped); a shared IP is announced if any of its Services wants it here;
//   - a node labelled node.kubernetes.io/exclude-from-external-load-balancers announces nothing.
import { parseAddressSpec, type AddressRange, rangeContains } from '../ipam/range.ts';
import { BGP_PROTOCOL, effectiveProtocol, SERVED_PROTOCOLS } from '../ipam/pool.ts';
import { EIP_ANNOTATION } from '../ipam/service-request.ts';
import type { EipObject } from '../kube/client.ts';
import { parseIP } from '../net/ip.ts';
import { EXCLUDE_LABEL } from './election.ts';
import {
  type BgpFinding,
  type BgpNode,
  type BgpObject,
  byAge,
  DEFAULT_BGPCONF,
  type GlobalConfig,
  globalConfig,
  peerConfig,
  selectsNode,
} from './bgp-config.ts';
import type { PeerConfig, RouteSpec } from './bgp-speaker-api.ts';
import type { ServiceView } from './layer2-inputs.ts';

export interface BgpPlanInput {
  confs: readonly BgpObject[];
  peers: readonly BgpObject[];
  /** This node; undefined until the node informer has it (then nothing is configured). */
  node: BgpNode | undefined;
  /** Our Services with ingress IPs (layer2-inputs' servicesWithIps). */
  services: readonly ServiceView[];
  eips: readonly EipObject[];
  /** Nodes with a ready endpoint, per Service key (layer2-inputs' readyNodesByService). */
  readyNodes: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface BgpPlan {
  /** BgpConf `default` applied to this node; undefined: no BGP on this node (findings say why). */
  global: GlobalConfig | undefined;
  peers: PeerConfig[];
  routes: RouteSpec[];
  findings: BgpFinding[];
  /** This node's entry of BgpConf default's status.nodesConfStatus. */
  confStatus: { routerId: string; as: number } | undefined;
  /**
   * BgpPeers not configured on this node for a reason of this node's own (a duplicate neighbour,
   * its own address, no router id or AS here), with why: shown in this node's status entry of that
   * BgpPeer. Problems of the objects themselves go to their conditions, written once, not by
   * every node.
   */
  notConfigured: Map<string, string>;
  /** This node's InternalIPs per family: the next hop of routes of the other family than a session's. */
  nextHops: { 4?: string; 6?: string };
}

interface ServedPool {
  name: string;
  protocol: string;
  range: AddressRange;
}

function servedPools(eips: readonly EipObject[]): ServedPool[] {
  const out: ServedPool[] = [];
  for (const e of eips) {
    const spec = (e.spec ?? {}) as { address?: unknown; protocol?: unknown };
    const protocol = effectiveProtocol(spec.protocol);
    if (!SERVED_PROTOCOLS.includes(protocol) || typeof spec.address !== 'string') continue;
    const parsed = parseAddressSpec(spec.address);
    if (parsed.ok) out.push({ name: e.metadata.name, protocol, range: parsed.value });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The prefixes this node announces. The Eip of an IP is the one the Service names (annotation, also
 * our label) if it holds the IP, else the first holder by name, as layer 2 decides it.
 */
export function bgpRoutes(
  nodeName: string,
  services: readonly ServiceView[],
  eips: readonly EipObject[],
  readyNodes: ReadonlyMap<string, ReadonlySet<string>>,
): RouteSpec[] {
  const pools = servedPools(eips);
  const prefixes = new Set<string>();
  for (const s of services) {
    const named = (s.annotations[EIP_ANNOTATION] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    const here = s.externalTrafficPolicy === 'Cluster' || (readyNodes.get(s.key)?.has(nodeName) ?? false);
    if (!here) continue;
    for (const ip of s.ips) {
      const parsed = parseIP(ip);
      if (!parsed) continue;
      const holders = pools.filter((p) => rangeContains(p.range, parsed));
      const pool = holders.find((p) => named.includes(p.name)) ?? holders[0];
      if (pool?.protocol !== BGP_PROTOCOL) continue;
      prefixes.add(`${ip}/${parsed.family === 4 ? 32 : 128}`);
    }
  }
  return [...prefixes].sort().map((prefix) => ({ prefix }));
}

/** This node's BGP plan. */
export function bgpPlan(raw: BgpPlanInput): BgpPlan {
  // An object being deleted is gone already (as upstream: its peer is removed, its routes withdrawn).
  const live = (o: BgpObject) => !o.metadata.deletionTimestamp;
  const input = { ...raw, confs: raw.confs.filter(live), peers: raw.peers.filter(live) };
  const findings: BgpFinding[] = [];
  const notConfigured = new Map<string, string>();
  const empty = (node?: BgpNode): BgpPlan => ({ global: undefined, peers: [], routes: [], findings, confStatus: undefined, notConfigured, nextHops: node ? nextHopsOf(node) : {} });

  for (const c of input.confs) {
    if (c.metadata.name === DEFAULT_BGPCONF) continue;
    findings.push({
      kind: 'BgpConf',
      name: c.metadata.name,
      scope: 'object',
      severity: 'error',
      reason: 'NotDefault',
      message: `BgpConf ${c.metadata.name} is ignored: only the BgpConf named ${DEFAULT_BGPCONF} configures the speakers (as in OpenELB); rename it to ${DEFAULT_BGPCONF} or delete it`,
    });
  }
  const conf = input.confs.find((c) => c.metadata.name === DEFAULT_BGPCONF);
  if (!conf) {
    for (const p of input.peers) {
      findings.push({
        kind: 'BgpPeer',
        name: p.metadata.name,
        scope: 'object',
        severity: 'error',
        reason: 'NoBgpConf',
        message: `BgpPeer ${p.metadata.name} is not used: there is no BgpConf named ${DEFAULT_BGPCONF} with the local AS; create one (kind: BgpConf, metadata.name: ${DEFAULT_BGPCONF}, spec.as: <your AS>)`,
      });
    }
    return empty(input.node);
  }
  const node = input.node;
  if (!node) return empty();

  const g = globalConfig(conf, node);
  findings.push(...g.findings);
  const global = g.global;
  if (!global) {
    const here = g.findings.filter((f) => f.severity === 'error' && f.scope === 'node');
    if (here.length > 0) {
      const why = `BgpConf ${DEFAULT_BGPCONF} is not usable on node ${node.name}: ${here.map((f) => f.message).join('; ')}`;
      for (const p of input.peers) {
        const sel = selectsNode(p, node);
        if (sel.ok && sel.matches) notConfigured.set(p.metadata.name, why);
      }
    }
    return empty(node);
  }

  const peers: PeerConfig[] = [];
  const byNeighbor = new Map<string, string>();
  for (const obj of [...input.peers].sort(byAge)) {
    const v = peerConfig(obj, global, node);
    findings.push(...v.findings);
    if (v.kind === 'invalid') {
      const why = v.findings.find((f) => f.scope === 'node');
      if (why) notConfigured.set(obj.metadata.name, why.message);
      continue;
    }
    if (v.kind === 'not-selected') continue;
    const key = canonical(v.peer.neighborAddress);
    const older = byNeighbor.get(key);
    if (older !== undefined) {
      const message = `BgpPeer ${obj.metadata.name}: node ${node.name} already peers with ${v.peer.neighborAddress} through the older BgpPeer ${older}, which wins; delete one of them or make their spec.nodeSelector disjoint`;
      findings.push({ kind: 'BgpPeer', name: obj.metadata.name, scope: 'node', severity: 'error', reason: 'DuplicateNeighbor', message });
      notConfigured.set(obj.metadata.name, message);
      continue;
    }
    byNeighbor.set(key, obj.metadata.name);
    peers.push(v.peer);
  }

  const excluded = node.labels[EXCLUDE_LABEL] !== undefined;
  const routes = excluded ? [] : bgpRoutes(node.name, input.services, input.eips, input.readyNodes);
  return {
    global,
    peers: peers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    routes,
    findings,
    confStatus: { routerId: global.routerId, as: global.as },
    notConfigured,
    nextHops: nextHopsOf(node),
  };
}

function canonical(ip: string): string {
  const p = parseIP(ip);
  return p ? `${p.family}/${p.value}` : ip;
}

function nextHopsOf(node: BgpNode): { 4?: string; 6?: string } {
  const out: { 4?: string; 6?: string } = {};
  for (const a of node.internalIPs) {
    const f = parseIP(a)?.family;
    if (f !== undefined && out[f] === undefined) out[f] = a;
  }
  return out;
}

/** Whether BGP is configured at all: a BgpConf or BgpPeer exists, or an Eip is bgp (or empty). */
export function bgpWanted(confs: number, peers: number, eips: readonly EipObject[]): boolean {
  if (confs > 0 || peers > 0) return true;
  return eips.some((e) => effectiveProtocol((e.spec ?? {}).protocol) === BGP_PROTOCOL);
}
