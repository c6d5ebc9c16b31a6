// What the informer caches keep of each object: the fields the speaker reads, nothing else. The
// caches are most of a speaker's heap at scale (one Service and one EndpointSlice per Service),
// and managedFields alone is often half of an object's JSON. Pure; test/unit/kube/slim.test.ts
// shows the cost per object before and after.
//
// Objects the speaker writes back from its cache (Eips' status PUTs, Lease PUTs) keep everything
// but managedFields: a PUT without managedFields leaves the server's record of them unchanged,
// while a PUT without, say, a status condition would remove it. Every other object keeps only what
// is read; the writes to it are merge patches of the fields they change:
//   Service        kind, identity, creation and deletion time, finalizers (a merge patch replaces the
//                  list), labels and annotations of the *.kubesphere.io domains (the only ones read:
//                  opt-in, pool, requested IP, announcer, the IPAM label), spec's type, ports (port and
//                  protocol), class, loadBalancerIP, IP families and policy, externalTrafficPolicy,
//                  and status.loadBalancer.ingress (the IPAM leader writes it by a merge patch of
//                  /status guarded by the resourceVersion, so the rest of the object is not needed)
//   Node           labels (exclude label, BGP rack), annotations (NIC choice), conditions' type
//                  and status, InternalIP addresses (BGP router id and next hop)
//   BgpConf/Peer   spec, finalizers, conditions, and of the per-node status maps only this node's key (the
//                  maps grow with the nodes; a node writes and reads only its own entry)
//   Namespace      labels (Eip namespaceSelector)
//   EndpointSlice  the service-name label, and the nodes of its endpoints that are not unready
import type { KubernetesObject, V1Endpoint, V1EndpointSlice, V1Namespace, V1Node, V1ObjectMeta, V1Service, V1ServiceSpec } from '@kubernetes/client-node';

/** metadata without managedFields (and without undefined keys). */
function metaWithoutManagedFields(m: V1ObjectMeta | undefined): V1ObjectMeta | undefined {
  if (!m) return m;
  const { managedFields: _drop, ...rest } = m;
  return rest;
}

/** Identity fields every cached object keeps. */
function identity(m: V1ObjectMeta | undefined): V1ObjectMeta {
  const out: V1ObjectMeta = {};
  if (m?.name !== undefined) out.name = m.name;
  if (m?.namespace !== undefined) out.namespace = m.namespace;
  if (m?.uid !== undefined) out.uid = m.uid;
  if (m?.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
  return out;
}

/** A label or annotation key the speaker reads: one of OpenELB's *.kubesphere.io prefixes. */
export function isOurKey(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? '' : key.slice(0, slash);
  return prefix === 'kubesphere.io' || prefix.endsWith('.kubesphere.io');
}

function ourKeys(m: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!m) return undefined;
  let out: Record<string, string> | undefined;
  for (const k in m) if (isOurKey(k)) (out ??= {})[k] = m[k]!;
  return out;
}

export function slimService(s: V1Service): V1Service {
  const m = s.metadata;
  const metadata = identity(m);
  if (m?.creationTimestamp !== undefined) metadata.creationTimestamp = m.creationTimestamp;
  if (m?.deletionTimestamp !== undefined) metadata.deletionTimestamp = m.deletionTimestamp;
  if (m?.finalizers !== undefined) metadata.finalizers = m.finalizers;
  const labels = ourKeys(m?.labels);
  if (labels) metadata.labels = labels;
  const annotations = ourKeys(m?.annotations);
  if (annotations) metadata.annotations = annotations;
  const out: V1Service = s.kind !== undefined ? { apiVersion: s.apiVersion, kind: s.kind, metadata } : { metadata };
  const sp = s.spec;
  if (sp) {
    const spec: V1ServiceSpec = {};
    if (sp.type !== undefined) spec.type = sp.type;
    if (sp.ports) spec.ports = sp.ports.map((p) => (p.protocol !== undefined ? { port: p.port, protocol: p.protocol } : { port: p.port }));
    if (sp.loadBalancerClass !== undefined) spec.loadBalancerClass = sp.loadBalancerClass;
    if (sp.loadBalancerIP !== undefined) spec.loadBalancerIP = sp.loadBalancerIP;
    if (sp.ipFamilies !== undefined) spec.ipFamilies = sp.ipFamilies;
    if (sp.ipFamilyPolicy !== undefined) spec.ipFamilyPolicy = sp.ipFamilyPolicy;
    if (sp.externalTrafficPolicy !== undefined) spec.externalTrafficPolicy = sp.externalTrafficPolicy;
    out.spec = spec;
  }
  const ingress = s.status?.loadBalancer?.ingress;
  const ips = ingress?.filter((i) => i.ip !== undefined).map((i) => ({ ip: i.ip }));
  if (ips?.length) out.status = { loadBalancer: { ingress: ips } };
  return out;
}

/** The whole object but managedFields: for objects written back whole (Eip, Lease). */
export function withoutManagedFields<T extends KubernetesObject>(o: T): T {
  if (!o.metadata?.managedFields) return o;
  return { ...o, metadata: metaWithoutManagedFields(o.metadata) };
}

export function slimNode(n: V1Node): V1Node {
  const metadata = identity(n.metadata);
  if (n.metadata?.labels) metadata.labels = n.metadata.labels;
  if (n.metadata?.annotations) metadata.annotations = n.metadata.annotations;
  const out: V1Node = { metadata };
  const conditions = n.status?.conditions?.map((c) => ({ type: c.type, status: c.status }));
  if (conditions) out.status = { conditions };
  const internal = n.status?.addresses?.filter((a) => a.type === 'InternalIP').map((a) => ({ type: a.type, address: a.address }));
  if (internal?.length) out.status = { ...out.status, addresses: internal };
  return out;
}

/** A BgpConf or BgpPeer as the BGP controller reads it (untyped spec and status). */
export interface BgpCachedObject extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string };
  spec?: unknown;
  status?: { conditions?: unknown[] } & Record<string, unknown>;
}

/**
 * BgpConf/BgpPeer for node `node`: identity, creationTimestamp and generation, spec, status
 * conditions, and only `node`'s key of the per-node map `mapKey` (nodesConfStatus/nodesPeerStatus).
 */
export function slimBgpObject(node: string, mapKey: string): (o: BgpCachedObject) => BgpCachedObject {
  return (o) => {
    const metadata = identity(o.metadata) as BgpCachedObject['metadata'];
    if (o.metadata?.creationTimestamp !== undefined) metadata.creationTimestamp = o.metadata.creationTimestamp;
    if (o.metadata?.generation !== undefined) metadata.generation = o.metadata.generation;
    // Read to lift OpenELB's finalizer off objects being deleted after an upgrade.
    if (o.metadata?.deletionTimestamp !== undefined) metadata.deletionTimestamp = o.metadata.deletionTimestamp;
    if (o.metadata?.finalizers !== undefined) metadata.finalizers = o.metadata.finalizers;
    const out: BgpCachedObject = { metadata };
    if (o.spec !== undefined) out.spec = o.spec;
    const status: BgpCachedObject['status'] = {};
    if (Array.isArray(o.status?.conditions)) status.conditions = o.status.conditions;
    const map = o.status?.[mapKey] as Record<string, unknown> | undefined;
    if (map && typeof map === 'object' && map[node] !== undefined) status[mapKey] = { [node]: map[node] };
    if (Object.keys(status).length > 0) out.status = status;
    return out;
  };
}

export function slimNamespace(ns: V1Namespace): V1Namespace {
  const metadata = identity(ns.metadata);
  if (ns.metadata?.labels) metadata.labels = ns.metadata.labels;
  return { metadata };
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

// Required by the type, never read: one shared empty list instead of one per endpoint.
const NO_ADDRESSES: string[] = [];

export function slimEndpointSlice(s: V1EndpointSlice): V1EndpointSlice {
  const metadata: V1ObjectMeta = {};
  if (s.metadata?.name !== undefined) metadata.name = s.metadata.name;
  if (s.metadata?.namespace !== undefined) metadata.namespace = s.metadata.namespace;
  if (s.metadata?.resourceVersion !== undefined) metadata.resourceVersion = s.metadata.resourceVersion;
  const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (svc !== undefined) metadata.labels = { [SERVICE_NAME_LABEL]: svc };
  // Only endpoints that count (on a node, not known unready) are kept, so `ready` need not be.
  const endpoints: V1Endpoint[] = [];
  for (const e of s.endpoints ?? []) {
    if (e.nodeName !== undefined && e.conditions?.ready !== false) endpoints.push({ addresses: NO_ADDRESSES, nodeName: e.nodeName });
  }
  return { metadata, addressType: s.addressType, endpoints };
}
