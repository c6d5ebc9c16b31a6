// Who announces each external IP: one pure function, so every speaker computes the same
// answer from the same API state without talking to the others.
//
// Candidates = alive speakers (membership Leases) on nodes that may announce (Node object
// present, not labelled exclude-from-external-load-balancers, not NetworkUnavailable=True)
// that found a NIC for the IP's Eip; for externalTrafficPolicy Local, further restricted to
// nodes with a ready endpoint of the Service. Among them the winner is chosen by rendezvous
// (highest-random-weight) hashing of (node, IP), as MetalLB does with a hash of node and IP:
// each IP picks the node with the highest score, so IPs spread evenly, and when a node leaves
// only the IPs it owned move (each to its own runner-up); when a node joins it takes only the
// IPs for which it now scores highest (~1/n of them).

export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface Member {
  /** Node name (= membership Lease holder). */
  node: string;
  /** Eip names for which this node found no usable NIC (it published that in its Lease/status). */
  cannotServe: ReadonlySet<string>;
}

export interface NodeFacts {
  name: string;
  /** Label node.kubernetes.io/exclude-from-external-load-balancers present (any value). */
  excluded: boolean;
  /** Condition NetworkUnavailable=True. */
  networkUnavailable: boolean;
}

export interface ServiceClaim {
  /** "namespace/name". */
  key: string;
  externalTrafficPolicy: 'Cluster' | 'Local';
  /** Nodes with a ready endpoint of this Service (from EndpointSlices); only read for Local. */
  readyNodes?: ReadonlySet<string>;
}

export interface IpClaim {
  /** Canonical IP text (the hash is over this text, so every speaker must use the same form). */
  ip: string;
  eip: string;
  services: readonly ServiceClaim[];
}

export type Election = { ip: string; node: string } | { ip: string; node: undefined; reason: string };

// ---------------------------------------------------------------------------------------
// Stable 64-bit hashing, pure TS (no node:crypto: identical on Node and Deno, and cheap).

const M64 = (1n << 64n) - 1n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const utf8 = new TextEncoder();

/** FNV-1a 64 over the UTF-8 bytes of s. */
export function fnv1a64(s: string): bigint {
  let h = FNV_OFFSET;
  for (const b of utf8.encode(s)) h = ((h ^ BigInt(b)) * FNV_PRIME) & M64;
  return h;
}

/** MurmurHash3's 64-bit finalizer: a bijection with full avalanche, fixing FNV's weak low-entropy mixing. */
function fmix64(x: bigint): bigint {
  let k = x & M64;
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & M64;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & M64;
  k ^= k >> 33n;
  return k;
}

const keyHash = (s: string): bigint => fmix64(fnv1a64(s));

/** Rendezvous weight of (node, ip); higher wins. Exported for diagnostics and tests. */
export function rendezvousScore(node: string, ip: string): bigint {
  return combine(keyHash(node), keyHash(ip));
}

// Both inputs are already well mixed; a second finalizer over their sum decorrelates the
// per-IP rankings of nodes (a bare XOR would preserve pairwise score differences).
const combine = (nodeHash: bigint, ipHash: bigint): bigint => fmix64((nodeHash + fmix64(ipHash ^ 0x9e3779b97f4a7c15n)) & M64);

/** Higher score first; ties (practically impossible) by node name in code-unit order. */
const better = (a: { node: string; score: bigint }, b: { node: string; score: bigint }): boolean =>
  a.score > b.score || (a.score === b.score && a.node < b.node);

// ---------------------------------------------------------------------------------------
// Eligibility

interface Candidate {
  node: string;
  hash: bigint;
  cannotServe: Set<string>;
  /** Why this node may not announce anything, independent of the claim; undefined = eligible. */
  nodeReason?: string;
}

/**
 * Normalises members: one entry per node (a duplicate merges its cannotServe sets, the
 * conservative reading), sorted by name so nothing depends on input order. A member whose
 * Node object is missing is not eligible: a speaker always runs on a node, so a missing Node
 * means it was deleted (or our cache has not seen it yet) and traffic may not reach it.
 */
function prepare(members: readonly Member[], nodes: ReadonlyMap<string, NodeFacts>): Candidate[] {
  const byNode = new Map<string, Candidate>();
  for (const m of members) {
    const c = byNode.get(m.node);
    if (c) {
      for (const e of m.cannotServe) c.cannotServe.add(e);
      continue;
    }
    const facts = nodes.get(m.node);
    let nodeReason: string | undefined;
    if (!facts) nodeReason = 'no Node object';
    else if (facts.excluded) nodeReason = `label ${EXCLUDE_LABEL}`;
    else if (facts.networkUnavailable) nodeReason = 'NetworkUnavailable=True';
    byNode.set(m.node, {
      node: m.node,
      hash: keyHash(m.node),
      cannotServe: new Set(m.cannotServe),
      ...(nodeReason !== undefined ? { nodeReason } : {}),
    });
  }
  return [...byNode.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

const MAX_LISTED = 10;
function listing(items: string[]): string {
  if (items.length <= MAX_LISTED) return items.join(', ');
  return `${items.slice(0, MAX_LISTED).join(', ')} and ${items.length - MAX_LISTED} more`;
}

function excludedReason(c: Candidate, eips: readonly string[]): string | undefined {
  if (c.nodeReason) return c.nodeReason;
  const missing = eips.filter((e) => c.cannotServe.has(e));
  if (missing.length) return `no usable NIC for Eip ${missing.join(', ')}`;
  return undefined;
}

function elect(ip: string, eips: readonly string[], services: readonly ServiceClaim[], candidates: readonly Candidate[]): Election {
  if (candidates.length === 0) {
    return { ip, node: undefined, reason: 'no speaker is alive (no live membership Lease in the speakers\' namespace)' };
  }
  const eligible: Candidate[] = [];
  const ruledOut: string[] = [];
  for (const c of candidates) {
    const why = excludedReason(c, eips);
    if (why) ruledOut.push(`${c.node} (${why})`);
    else eligible.push(c);
  }
  if (eligible.length === 0) {
    const n = candidates.length;
    const head = n === 1 ? 'the only speaker is ruled out' : `all ${n} speakers are ruled out`;
    return { ip, node: undefined, reason: `${head}: ${listing(ruledOut)}` };
  }

  // Services sharing an IP are all Cluster by the sharing rules; if a Local one is among them
  // anyway, the IP can only live where every Local Service has a ready endpoint.
  const local = services.filter((s) => s.externalTrafficPolicy === 'Local');
  let pool = eligible;
  if (local.length > 0) {
    let allowed: Set<string> | undefined;
    for (const s of local) {
      const ready = s.readyNodes ?? new Set<string>();
      allowed = allowed ? new Set([...allowed].filter((n) => ready.has(n))) : new Set(ready);
    }
    const ok = allowed ?? new Set<string>();
    pool = eligible.filter((c) => ok.has(c.node));
    if (pool.length === 0) {
      const keys = local.map((s) => s.key).sort();
      const head =
        keys.length === 1
          ? `no ready endpoint of ${keys[0]} on a node with a running speaker that may announce (externalTrafficPolicy: Local)`
          : `no node has a ready endpoint of every Local Service sharing this IP (${keys.join(', ')}) and a running speaker that may announce`;
      const byNode = new Map(candidates.map((c) => [c.node, c]));
      const details = [...ok].sort().map((n) => {
        const c = byNode.get(n);
        return `${n} (${c ? excludedReason(c, eips) ?? 'eligible' : 'no running speaker'})`;
      });
      const tail = details.length ? `; ready endpoints on: ${listing(details)}` : '; there is no ready endpoint at all';
      return { ip, node: undefined, reason: head + tail };
    }
  }

  const ipHash = keyHash(ip);
  let best: { node: string; score: bigint } | undefined;
  for (const c of pool) {
    const cur = { node: c.node, score: combine(c.hash, ipHash) };
    if (!best || better(cur, best)) best = cur;
  }
  // pool is non-empty here
  return { ip, node: (best as { node: string }).node };
}

/** The node that announces one IP, or why nobody does. */
export function electAnnouncer(claim: IpClaim, members: readonly Member[], nodes: ReadonlyMap<string, NodeFacts>): Election {
  return elect(claim.ip, [claim.eip], claim.services, prepare(members, nodes));
}

/**
 * Elections for many IPs at once (member hashing done once). Claims for the same IP are
 * merged (their Services together, every Eip involved must be servable): an IP has one owner.
 */
export function electAll(
  claims: Iterable<IpClaim>,
  members: readonly Member[],
  nodes: ReadonlyMap<string, NodeFacts>,
): Map<string, Election> {
  const merged = new Map<string, { eips: Set<string>; services: ServiceClaim[] }>();
  for (const c of claims) {
    const m = merged.get(c.ip);
    if (m) {
      m.eips.add(c.eip);
      m.services.push(...c.services);
    } else {
      merged.set(c.ip, { eips: new Set([c.eip]), services: [...c.services] });
    }
  }
  const candidates = prepare(members, nodes);
  const out = new Map<string, Election>();
  for (const ip of [...merged.keys()].sort()) {
    const m = merged.get(ip)!;
    out.set(ip, elect(ip, [...m.eips].sort(), m.services, candidates));
  }
  return out;
}

/**
 * Whether `node` may announce the IP of `claims` (all claims of one IP) by the API's facts alone:
 * its Node object, the exclude label, the Eips it declared it cannot serve, and for Local Services
 * a ready endpoint on it. Liveness is left out (as if it were alive). Pure: the election with
 * `node` as the only member, so it cannot drift from electAll's rules.
 */
export function mayAnnounce(claims: readonly IpClaim[], node: string, cannotServe: ReadonlySet<string>, nodes: ReadonlyMap<string, NodeFacts>): boolean {
  const ip = claims[0]?.ip;
  if (ip === undefined) return false;
  return electAll(claims, [{ node, cannotServe }], nodes).get(ip)?.node === node;
}

/** The IPs a node announces, sorted. */
export function ownedBy(elections: ReadonlyMap<string, Election>, node: string): string[] {
  const out: string[] = [];
  for (const e of elections.values()) if (e.node === node) out.push(e.ip);
  return out.sort();
}
