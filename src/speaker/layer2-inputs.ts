// API objects -> the plain inputs of the per-IP election (election.ts). Pure: informer caches in,
// plain data out, so every speaker derives the same claims from the same API state and the unit
// tests need no API server.
//
// Which IPs are claimed: the status.loadBalancer.ingress IPs of Services that are ours (the IPAM
// opt-in rule, isOurs) and that fall inside a layer2 Eip. An IP inside no layer2 pool is not ours
// to answer for (another protocol, a deleted pool, someone else's controller): it is reported, not
// announced.
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { type AddressRange, parseAddressSpec, rangeContains } from '../ipam/range.ts';
import { type Family, ipToString, parseIP } from '../net/ip.ts';
import { LAYER2_PROTOCOL } from '../ipam/pool.ts';
import { EIP_ANNOTATION, isOurs } from '../ipam/service-request.ts';
import type { EipObject } from '../kube/client.ts';
import { conditionStatus } from '../kube/objects.ts';
import { NODE_NIC_ANNOTATION } from './nic-choice.ts';
import { EXCLUDE_LABEL, type IpClaim, type NodeFacts, type ServiceClaim } from './election.ts';

/** EndpointSlice label naming the owning Service. */
import { SERVICE_NAME_LABEL } from '../kube/slim.ts';
export { SERVICE_NAME_LABEL };

/** A layer2 Eip, reduced to what announcing needs. */
export interface Layer2Pool {
  name: string;
  range: AddressRange;
  family: Family;
  /** Canonical first address (chooseNic's subnet rule looks it up). */
  firstIp: string;
  /** spec.interface (name, can_reach:<IP> or empty). */
  interface: string;
}

/** Eips served by Layer 2 with a valid address; everything else is skipped (IPAM reports it on the Eip). */
export function layer2Pools(eips: readonly EipObject[]): Layer2Pool[] {
  const out: Layer2Pool[] = [];
  for (const e of eips) {
    const spec = (e.spec ?? {}) as { address?: unknown; protocol?: unknown; interface?: unknown };
    // OpenELB's default protocol is bgp: an Eip without protocol is announced by BGP, never
    // answered by ARP/NDP (a router forwards to the nodes; an ARP answer would steal the traffic).
    if (spec.protocol !== LAYER2_PROTOCOL) continue;
    if (typeof spec.address !== 'string') continue;
    const parsed = parseAddressSpec(spec.address);
    if (!parsed.ok) continue;
    const r = parsed.value;
    out.push({
      name: e.metadata.name,
      range: { family: r.family, first: r.first, last: r.last, size: r.size },
      family: r.family,
      firstIp: ipToString(r.family, r.first),
      interface: typeof spec.interface === 'string' ? spec.interface : '',
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One Service that holds external IPs, reduced to what the election and visibility need. */
export interface ServiceView {
  key: string;
  namespace: string;
  name: string;
  uid?: string;
  externalTrafficPolicy: 'Cluster' | 'Local';
  /** Canonical ingress IPs, in status order. */
  ips: string[];
  annotations: Record<string, string>;
}

// Informer caches replace an object on every change and never mutate one, so a view computed from
// an object stays valid for as long as that object is in the cache: memoize by identity (a reconcile
// over 1,000 Services then re-reads only the ones that changed).
const viewCache = new WeakMap<object, ServiceView | null>();

/** Our Services (opt-in rule) with at least one parseable ingress IP. */
export function servicesWithIps(services: readonly V1Service[]): ServiceView[] {
  const out: ServiceView[] = [];
  for (const s of services) {
    let v = viewCache.get(s);
    if (v === undefined) {
      v = serviceView(s);
      viewCache.set(s, v);
    }
    if (v) out.push(v);
  }
  return out;
}

function serviceView(s: V1Service): ServiceView | null {
  {
    const ns = s.metadata?.namespace ?? '';
    const name = s.metadata?.name ?? '';
    const key = `${ns}/${name}`;
    const ours = isOurs({
      key,
      namespace: ns,
      type: s.spec?.type ?? '',
      ...(s.spec?.loadBalancerClass ? { loadBalancerClass: s.spec.loadBalancerClass } : {}),
      annotations: s.metadata?.annotations ?? {},
      ports: [],
      deleting: Boolean(s.metadata?.deletionTimestamp),
    });
    if (!ours) return null;
    const ips: string[] = [];
    for (const ing of s.status?.loadBalancer?.ingress ?? []) {
      const ip = ing.ip ? parseIP(ing.ip) : undefined;
      if (!ip) continue;
      const text = ipToString(ip.family, ip.value);
      if (!ips.includes(text)) ips.push(text);
    }
    if (ips.length === 0) return null;
    return {
      key,
      namespace: ns,
      name,
      ...(s.metadata?.uid ? { uid: s.metadata.uid } : {}),
      externalTrafficPolicy: s.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
      ips,
      annotations: { ...(s.metadata?.annotations ?? {}) },
    };
  }
}

/**
 * Nodes with a ready endpoint, per Service key ("ns/name"). An endpoint counts when it names its
 * node and its `ready` condition is not false (nil means unknown, which the API asks consumers to
 * read as ready). Terminating endpoints have ready=false.
 */
export function readyNodesByService(slices: readonly V1EndpointSlice[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const sl of slices) {
    const svc = sl.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${sl.metadata?.namespace ?? ''}/${svc}`;
    let set = out.get(key);
    for (const ep of sl.endpoints ?? []) {
      if (!ep.nodeName || ep.conditions?.ready === false) continue;
      if (!set) out.set(key, (set = new Set()));
      set.add(ep.nodeName);
    }
  }
  return out;
}

/** An ingress IP we do not announce, and why (for logs and the Service's event). */
export interface Unclaimed {
  service: string;
  ip: string;
  reason: string;
}

export interface ClaimSet {
  claims: IpClaim[];
  /** Eip of each claimed IP. */
  eipOf: Map<string, string>;
  /** Services holding each claimed IP (sorted keys). */
  servicesOf: Map<string, ServiceView[]>;
  unclaimed: Unclaimed[];
}

/**
 * One claim per (Service, IP) inside a layer2 pool. The pool is the Eip that contains the IP,
 * preferring the one the Service names (annotation eip.openelb.kubesphere.io/v1alpha2, also our
 * label) when pools overlap. electAll merges claims of one IP, so Services sharing it land on one node.
 */
export function buildClaims(
  services: readonly ServiceView[],
  pools: readonly Layer2Pool[],
  readyNodes: ReadonlyMap<string, ReadonlySet<string>>,
  /** Optional memo of "IP -> pools holding it" for these exact pools (the caller drops it when pools change). */
  holdersCache?: Map<string, Layer2Pool[]>,
): ClaimSet {
  const claims: IpClaim[] = [];
  const eipOf = new Map<string, string>();
  const servicesOf = new Map<string, ServiceView[]>();
  const unclaimed: Unclaimed[] = [];
  for (const s of [...services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const named = (s.annotations[EIP_ANNOTATION] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    for (const ip of s.ips) {
      let holders = holdersCache?.get(ip);
      if (!holders) {
        const parsed = parseIP(ip)!;
        holders = pools.filter((p) => rangeContains(p.range, parsed));
        holdersCache?.set(ip, holders);
      }
      const pool = holders.find((p) => named.includes(p.name)) ?? holders[0];
      if (!pool) {
        unclaimed.push({ service: s.key, ip, reason: `${ip} is in no Eip with protocol layer2` });
        continue;
      }
      const sc: ServiceClaim = {
        key: s.key,
        externalTrafficPolicy: s.externalTrafficPolicy,
        ...(s.externalTrafficPolicy === 'Local' ? { readyNodes: readyNodes.get(s.key) ?? new Set<string>() } : {}),
      };
      claims.push({ ip, eip: pool.name, services: [sc] });
      // Two pools can hold a shared IP only if they overlap (IPAM refuses that); first one wins.
      if (!eipOf.has(ip)) eipOf.set(ip, pool.name);
      const list = servicesOf.get(ip);
      if (list) list.push(s);
      else servicesOf.set(ip, [s]);
    }
  }
  return { claims, eipOf, servicesOf, unclaimed };
}

/** Node eligibility facts (exclude label, NetworkUnavailable) by name. */
export function nodeFactsFrom(nodes: readonly V1Node[]): Map<string, NodeFacts> {
  const out = new Map<string, NodeFacts>();
  for (const n of nodes) {
    const name = n.metadata?.name;
    if (!name) continue;
    out.set(name, {
      name,
      excluded: n.metadata?.labels?.[EXCLUDE_LABEL] !== undefined,
      networkUnavailable: conditionStatus(n.status?.conditions, 'NetworkUnavailable') === 'True',
    });
  }
  return out;
}

/** The node annotation that picks the NIC holding that IP, if set. */
export function nodeNicAnnotation(node: V1Node | undefined): string | undefined {
  const v = node?.metadata?.annotations?.[NODE_NIC_ANNOTATION];
  return v && v.trim() ? v.trim() : undefined;
}
