// The pool model: what one Eip says, normalised, with nothing about other Eips (validate.ts) or
// about allocations (allocator.ts, state.ts).
import { parseAddressSpec, type ParsedAddress } from './range.ts';

export const DEFAULT_EIP_ANNOTATION = 'eip.openelb.kubesphere.io/is-default-eip';
/** Answered by ARP/NDP on the pool's segment (src/speaker/layer2-*). */
export const LAYER2_PROTOCOL = 'layer2';
/** Announced as /32 and /128 routes to BgpPeers (src/speaker/bgp-*); OpenELB's default. */
export const BGP_PROTOCOL = 'bgp';
/** Protocols whose Eips hand out addresses; `vip` (keepalived) is not served. */
export const SERVED_PROTOCOLS: readonly string[] = [LAYER2_PROTOCOL, BGP_PROTOCOL];

/** spec.protocol as OpenELB reads it: empty or absent means bgp. */
export function effectiveProtocol(protocol: unknown): string {
  return (typeof protocol === 'string' ? protocol.trim() : '') || BGP_PROTOCOL;
}
/** Go's zero value: an Eip without `priority` ranks first, as in OpenELB (lower number wins). */
export const DEFAULT_PRIORITY = 0;

/** Plain input for one Eip, mapped by the controller from the Kubernetes object. */
export interface EipInput {
  name: string;
  /** metadata.creationTimestamp (RFC 3339). Older Eips win overlap and default conflicts. */
  creationTimestamp?: string;
  annotations?: Record<string, string>;
  /** metadata.deletionTimestamp is set: no new allocations, existing ones are kept. */
  deletionRequested?: boolean;
  spec: {
    address: string;
    protocol?: string;
    interface?: string;
    disable?: boolean;
    priority?: number;
    namespaces?: string[];
    /**
     * OpenELB's CRD has a plain label map here (`{env: prod}`); `{matchLabels: {...}}` is accepted
     * too. Anything else (non-string values, matchExpressions, an empty map) selects NO namespace
     * and is reported (see parseNamespaceSelector): a restricted pool never becomes open.
     */
    namespaceSelector?: unknown;
  };
  /** The Eip's current status.used (IP -> "ns/a;ns/b"), only used to report drift and to attribute IPs. */
  statusUsed?: Record<string, string>;
}

export interface Pool {
  name: string;
  /** ms since epoch; NaN-free (missing/garbage sorts last). */
  created: number;
  spec: EipInput['spec'];
  address: { ok: true; value: ParsedAddress } | { ok: false; reason: 'InvalidAddress'; message: string };
  /** Effective protocol ('' -> 'bgp', OpenELB's default). */
  protocol: string;
  /** layer2 and bgp pools are served; others (vip) are never allocated from. */
  served: boolean;
  interface: string;
  disable: boolean;
  priority: number;
  namespaces: readonly string[];
  /** The labels a namespace must carry; undefined = the selector allows no namespace. */
  namespaceSelector: Readonly<Record<string, string>> | undefined;
  /** Why spec.namespaceSelector selects nothing although it is set (garbage, empty, unsupported form). */
  namespaceSelectorProblem: string | undefined;
  isDefault: boolean;
  deletionRequested: boolean;
  statusUsed: Readonly<Record<string, string>>;
}

const SELECTOR_FIX = 'write it as a label map (namespaceSelector: {env: prod}) or as namespaceSelector: {matchLabels: {env: prod}}';

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function stringMap(m: Record<string, unknown>): { ok: true; labels: Record<string, string> } | { ok: false; key: string } {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string') return { ok: false, key: k };
    labels[k] = v;
  }
  return { ok: true, labels };
}

/**
 * spec.namespaceSelector -> the labels to match, or why it selects nothing. Pure.
 *
 * Why "selects nothing" on doubt: the selector restricts who may draw from a pool. A value we do
 * not understand (a matchExpressions selector, a number where a label value belongs, a map that an
 * older schema pruned to {}) must never be read as "no restriction": OpenELB itself turns an empty
 * map into a match-everything selector, which is exactly how a pruned `{env: prod}` opened a pool
 * to every namespace. An empty selector is therefore refused too, with a message saying how to
 * allow namespaces on purpose.
 */
export function parseNamespaceSelector(
  eip: string,
  sel: unknown,
): { labels: Record<string, string> | undefined; problem: string | undefined } {
  if (sel === undefined || sel === null) return { labels: undefined, problem: undefined };
  const bad = (why: string) => ({
    labels: undefined,
    problem: `Eip ${eip}: spec.namespaceSelector ${why}: it selects no namespace (the pool stays restricted to spec.namespaces, the Service annotation, a requested IP or the default role); ${SELECTOR_FIX}`,
  });
  if (!isPlainObject(sel)) return bad(`is ${Array.isArray(sel) ? 'a list' : `a ${typeof sel}`}, not a label map`);
  let map: Record<string, unknown> = sel;
  if ('matchLabels' in sel || 'matchExpressions' in sel) {
    const others = Object.keys(sel).filter((k) => k !== 'matchLabels');
    if (others.length > 0) {
      return bad(others.includes('matchExpressions')
        ? 'uses matchExpressions, which openelb-ts (like OpenELB) does not evaluate'
        : `mixes matchLabels with plain labels (${others.join(', ')})`);
    }
    if (!isPlainObject(sel.matchLabels)) return bad('has a matchLabels that is not a label map');
    map = sel.matchLabels;
  }
  const parsed = stringMap(map);
  if (!parsed.ok) return bad(`gives label "${parsed.key}" a value that is not a string (quote it: "${parsed.key}": "...")`);
  if (Object.keys(parsed.labels).length === 0) {
    return bad('is empty (an empty selector would open the pool to every namespace, so it is refused; list the namespaces in spec.namespaces, or select them by a label they carry)');
  }
  return { labels: parsed.labels, problem: undefined };
}

export function parseTime(ts: string | undefined): number {
  if (!ts) return Number.MAX_SAFE_INTEGER;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

export function toPool(e: EipInput): Pool {
  const protocol = effectiveProtocol(e.spec.protocol);
  const prio = e.spec.priority;
  const selector = parseNamespaceSelector(e.name, e.spec.namespaceSelector);
  return {
    name: e.name,
    created: parseTime(e.creationTimestamp),
    spec: e.spec,
    address: parseAddressSpec(e.spec.address),
    protocol,
    served: SERVED_PROTOCOLS.includes(protocol),
    interface: e.spec.interface ?? '',
    disable: e.spec.disable === true,
    priority: typeof prio === 'number' && Number.isFinite(prio) ? prio : DEFAULT_PRIORITY,
    namespaces: e.spec.namespaces ?? [],
    namespaceSelector: selector.labels,
    namespaceSelectorProblem: selector.problem,
    isDefault: e.annotations?.[DEFAULT_EIP_ANNOTATION] === 'true',
    deletionRequested: e.deletionRequested === true,
    statusUsed: e.statusUsed ?? {},
  };
}

/** Older first, then by name: the order that decides overlap and default conflicts. */
export function compareAge(a: Pool, b: Pool): number {
  return a.created - b.created || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Whether the pool may be drawn from automatically by a Service in this namespace: named in
 * `namespaces`, or matched by `namespaceSelector`. A pool with neither is NOT namespace-allowed:
 * as in OpenELB, it is used only through the Service annotation, a requested IP, or as the default.
 */
export function allowsNamespace(p: Pool, namespace: string, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (p.namespaces.includes(namespace)) return true;
  const sel = p.namespaceSelector;
  if (sel === undefined || Object.keys(sel).length === 0) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel)) if (l[k] !== v) return false;
  return true;
}
