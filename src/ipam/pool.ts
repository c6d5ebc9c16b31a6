// The pool model: what one Eip says, normalised, with nothing about other Eips (validate.ts) or
// about allocations (allocator.ts, state.ts).
import { parseAddressSpec, type ParsedAddress } from './range.ts';

export const DEFAULT_EIP_ANNOTATION = 'eip.openelb.kubesphere.io/is-default-eip';
export const SERVED_PROTOCOL = 'layer2';
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
     * OpenELB's CRD has a plain label map here; a `{ matchLabels: {...} }` form is accepted too.
     * An explicit empty selector ({}) matches every namespace (Kubernetes selector semantics, and
     * what OpenELB does); leave it undefined for "no selector".
     */
    namespaceSelector?: Record<string, string> | { matchLabels?: Record<string, string> };
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
  /** Only layer2 pools are served; others are never allocated from. */
  served: boolean;
  interface: string;
  disable: boolean;
  priority: number;
  namespaces: readonly string[];
  namespaceSelector: Readonly<Record<string, string>> | undefined;
  isDefault: boolean;
  deletionRequested: boolean;
  statusUsed: Readonly<Record<string, string>>;
}

function selectorLabels(sel: EipInput['spec']['namespaceSelector']): Record<string, string> | undefined {
  if (sel === undefined || sel === null) return undefined;
  const ml = (sel as { matchLabels?: unknown }).matchLabels;
  if (ml !== undefined && typeof ml === 'object' && ml !== null) return { ...(ml as Record<string, string>) };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(sel)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function parseTime(ts: string | undefined): number {
  if (!ts) return Number.MAX_SAFE_INTEGER;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

export function toPool(e: EipInput): Pool {
  const protocol = (e.spec.protocol ?? '').trim() || 'bgp';
  const prio = e.spec.priority;
  return {
    name: e.name,
    created: parseTime(e.creationTimestamp),
    spec: e.spec,
    address: parseAddressSpec(e.spec.address),
    protocol,
    served: protocol === SERVED_PROTOCOL,
    interface: e.spec.interface ?? '',
    disable: e.spec.disable === true,
    priority: typeof prio === 'number' && Number.isFinite(prio) ? prio : DEFAULT_PRIORITY,
    namespaces: e.spec.namespaces ?? [],
    namespaceSelector: selectorLabels(e.spec.namespaceSelector),
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
  if (sel === undefined) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel)) if (l[k] !== v) return false;
  return true;
}
