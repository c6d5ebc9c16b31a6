// Pure translation between API objects and the pure IPAM core (src/ipam), and the "what would we
// write" rules the IPAM controller uses to skip writes that would change nothing. No I/O here:
// everything is unit-tested in test/unit/speaker/ipam-map.test.ts.
import type { V1Service } from '@kubernetes/client-node';
import { canonicalIP } from '../net/ip.ts';
import {
  EIP_ANNOTATION,
  EIP_FINALIZER,
  isOurs,
  SERVICE_FINALIZER,
  type EipInput,
  type EipStatus,
  type IPFamilyName,
  type IPFamilyPolicy,
  type ServiceRequest,
  type ServiceResult,
} from '../ipam/index.ts';
import type { EipObject } from '../kube/client.ts';
import { setCondition, type Condition } from '../kube/objects.ts';

export const keyOfService = (s: V1Service): string => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;

/** IPs in status.loadBalancer.ingress (canonical text; hostnames and garbage dropped). */
export function ingressIPs(s: V1Service): string[] {
  const out: string[] = [];
  for (const i of s.status?.loadBalancer?.ingress ?? []) {
    const c = i.ip ? canonicalIP(i.ip) : undefined;
    if (c && !out.includes(c)) out.push(c);
  }
  return out;
}

function timeText(t: unknown): string | undefined {
  if (t === undefined || t === null) return undefined;
  if (t instanceof Date) return t.toISOString();
  return String(t);
}

/**
 * A Service as the pure core sees it. `reserved` are IPs that an Eip's committed status.used gives
 * this Service while its own status does not show them yet (see adoptions()): they are restored
 * like assigned ones, so an allocation committed by another writer is completed, never re-drawn.
 */
export function toServiceRequest(s: V1Service, reserved: readonly string[] = []): ServiceRequest {
  const meta = s.metadata ?? {};
  const spec = s.spec ?? {};
  const assigned = ingressIPs(s);
  for (const r of reserved) if (!assigned.includes(r)) assigned.push(r);
  const labelEip = meta.labels?.[EIP_ANNOTATION];
  const managed = (meta.finalizers ?? []).includes(SERVICE_FINALIZER) || labelEip !== undefined;
  const req: ServiceRequest = {
    key: keyOfService(s),
    namespace: meta.namespace ?? '',
    type: spec.type ?? 'ClusterIP',
    ports: (spec.ports ?? []).map((p) => ({ port: p.port, ...(p.protocol ? { protocol: p.protocol } : {}) })),
    assigned,
    managed,
    deleting: Boolean(meta.deletionTimestamp),
  };
  const created = timeText(meta.creationTimestamp);
  if (created) req.creationTimestamp = created;
  if (meta.annotations) req.annotations = meta.annotations;
  if (spec.loadBalancerClass) req.loadBalancerClass = spec.loadBalancerClass;
  if (spec.loadBalancerIP) req.loadBalancerIP = spec.loadBalancerIP;
  if (spec.ipFamilies) req.ipFamilies = spec.ipFamilies as IPFamilyName[];
  if (spec.ipFamilyPolicy) req.ipFamilyPolicy = spec.ipFamilyPolicy as IPFamilyPolicy;
  if (spec.externalTrafficPolicy === 'Local' || spec.externalTrafficPolicy === 'Cluster') req.externalTrafficPolicy = spec.externalTrafficPolicy;
  if (labelEip) req.assignedEip = labelEip;
  return req;
}

export function toEipInput(e: EipObject): EipInput {
  const spec = (e.spec ?? {}) as Record<string, unknown>;
  const out: EipInput = {
    name: e.metadata.name,
    deletionRequested: Boolean(e.metadata.deletionTimestamp),
    spec: {
      address: typeof spec.address === 'string' ? spec.address : '',
      ...(typeof spec.protocol === 'string' ? { protocol: spec.protocol } : {}),
      ...(typeof spec.interface === 'string' ? { interface: spec.interface } : {}),
      ...(typeof spec.disable === 'boolean' ? { disable: spec.disable } : {}),
      ...(typeof spec.priority === 'number' ? { priority: spec.priority } : {}),
      ...(Array.isArray(spec.namespaces) ? { namespaces: spec.namespaces.filter((x): x is string => typeof x === 'string') } : {}),
      // Passed on as stored, whatever its shape: parseNamespaceSelector decides, and anything it
      // does not understand selects no namespace (never "every namespace").
      ...(spec.namespaceSelector !== undefined && spec.namespaceSelector !== null ? { namespaceSelector: spec.namespaceSelector } : {}),
    },
    statusUsed: usedOf(e),
  };
  const created = timeText(e.metadata.creationTimestamp);
  if (created) out.creationTimestamp = created;
  if (e.metadata.annotations) out.annotations = e.metadata.annotations;
  return out;
}

/** status.used of an Eip (empty when missing or malformed). */
export function usedOf(e: EipObject | undefined): Record<string, string> {
  const u = e?.status?.used;
  if (!u || typeof u !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(u as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Committed reservations to complete: for each IP an Eip's status.used gives to Services that do
 * not show it in their own status, and that no Service shows in its status (status wins: an IP a
 * Service visibly holds is never handed to someone else by this rule). Result: Service key -> IPs.
 *
 * Why: the Eip status write is the commit point (see ipam-controller.ts). A writer that committed
 * `used[X] = ns/a` may be paused or killed before it writes Service a's status; whoever rebuilds
 * next must treat X as a's, or it could give X to another Service while the old writer is still
 * about to write a's status.
 */
export function adoptions(services: readonly V1Service[], eips: readonly EipObject[]): Map<string, string[]> {
  const shown = new Set<string>();
  const live = new Map<string, V1Service>();
  for (const s of services) {
    live.set(keyOfService(s), s);
    for (const ip of ingressIPs(s)) shown.add(ip);
  }
  const out = new Map<string, string[]>();
  for (const e of eips) {
    for (const [ipText, who] of Object.entries(usedOf(e))) {
      const ip = canonicalIP(ipText);
      if (!ip || shown.has(ip)) continue;
      for (const key of who.split(';')) {
        const s = live.get(key);
        if (!s) continue;
        const req = toServiceRequest(s);
        if (!isOurs(req)) continue;
        const list = out.get(key) ?? [];
        if (!list.includes(ip)) list.push(ip);
        out.set(key, list);
      }
    }
  }
  return out;
}

// ---- what to write to a Service ----

export interface ServiceWrite {
  /** New status.loadBalancer.ingress IPs, or undefined to leave status alone. */
  ingress?: string[];
  /** Finalizer wanted (true), unwanted (false). */
  finalizer: boolean;
  /** Label value wanted, or null to remove it. */
  label: string | null;
}

/** What a ServiceResult asks to be written, or undefined for "leave this Service alone". */
export function desiredServiceWrite(r: ServiceResult, deleting: boolean): ServiceWrite | undefined {
  switch (r.state) {
    case 'assigned':
      return { ingress: r.ips, finalizer: true, label: r.eip || null };
    case 'failed':
      // Keeps what it held (a failed move); a Service that holds nothing is left as it is.
      return r.ips.length > 0 ? { ingress: r.ips, finalizer: true, label: r.eip || null } : undefined;
    case 'released':
      // A Service being deleted needs only its finalizer gone; clearing status would be a wasted write.
      return deleting ? { finalizer: false, label: null } : { ingress: [], finalizer: false, label: null };
    default:
      return undefined;
  }
}

/** Which parts of `w` differ from the Service as it is. */
export function serviceWriteNeeds(s: V1Service, w: ServiceWrite): { status: boolean; meta: boolean } {
  const status = w.ingress !== undefined && !sameList(ingressIPs(s), w.ingress);
  const hasFin = (s.metadata?.finalizers ?? []).includes(SERVICE_FINALIZER);
  const label = s.metadata?.labels?.[EIP_ANNOTATION] ?? null;
  return { status, meta: hasFin !== w.finalizer || label !== w.label };
}

/** Merge patch for finalizer + label, conditional on resourceVersion (merge patch replaces lists whole). */
export function serviceMetaPatch(s: V1Service, w: ServiceWrite): object {
  const fins = (s.metadata?.finalizers ?? []).filter((f) => f !== SERVICE_FINALIZER);
  if (w.finalizer) fins.push(SERVICE_FINALIZER);
  return {
    metadata: {
      resourceVersion: s.metadata?.resourceVersion,
      finalizers: fins,
      labels: { [EIP_ANNOTATION]: w.label },
    },
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// ---- what to write to an Eip ----

/**
 * The full Eip status to PUT: the core's status with metav1 condition timestamps carried over from
 * the current object (lastTransitionTime moves only when the status flips), or undefined when the
 * Eip already shows exactly this (no write).
 */
export function desiredEipStatus(e: EipObject, s: EipStatus, now: Date): { status: Record<string, unknown>; write: boolean; conditionChanged: Condition | undefined } {
  const current = (e.status ?? {}) as Record<string, unknown>;
  let conds = (Array.isArray(current.conditions) ? current.conditions : []) as Condition[];
  let conditionChanged: Condition | undefined;
  for (const c of s.conditions) {
    const r = setCondition(conds, { ...c, ...(e.metadata.generation !== undefined ? { observedGeneration: e.metadata.generation } : {}) }, now);
    if (r.changed) {
      const prev = conds.find((x) => x.type === c.type);
      // Only a new status/reason/message is news for an event; a new observedGeneration is not.
      if (!prev || prev.status !== c.status || prev.reason !== c.reason || prev.message !== c.message) {
        conditionChanged = r.conditions.find((x) => x.type === c.type);
      }
    }
    conds = r.conditions;
  }
  const status: Record<string, unknown> = {
    ...(s.firstIP !== undefined ? { firstIP: s.firstIP } : {}),
    ...(s.lastIP !== undefined ? { lastIP: s.lastIP } : {}),
    poolSize: s.poolSize,
    usage: s.usage,
    used: s.used,
    occupied: s.occupied,
    ready: s.ready,
    v4: s.v4,
    conditions: conds,
  };
  const fields = ['firstIP', 'lastIP', 'poolSize', 'usage', 'used', 'occupied', 'ready', 'v4', 'conditions'];
  const write = fields.some((f) => stable(normalizeEmpty(current[f])) !== stable(normalizeEmpty(status[f])));
  return { status, write, conditionChanged };
}

// The API server drops an empty `used` map on some paths; {} and missing mean the same.
function normalizeEmpty(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return undefined;
  return v;
}

/** JSON with sorted object keys (the API server re-encodes maps in key order). */
export function stable(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** The Eip finalizer change wanted: add while it holds allocations, drop once deleting and empty. */
export function eipFinalizerChange(e: EipObject, holders: number): 'add' | 'remove' | undefined {
  const has = (e.metadata.finalizers ?? []).includes(EIP_FINALIZER);
  if (holders > 0 && !has) return 'add';
  if (holders === 0 && has && e.metadata.deletionTimestamp) return 'remove';
  return undefined;
}

/**
 * Is `a` newer than `b`? resourceVersions are opaque in the API contract but are etcd revisions
 * (decimal integers) on every real server; anything else counts as newer (take what arrived).
 */
export function newerRV(a: string | undefined, b: string | undefined): boolean {
  if (!b) return true;
  if (!a) return false;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

export function sameUsed(a: Record<string, string>, b: Record<string, string>): boolean {
  return stable(a) === stable(b);
}
