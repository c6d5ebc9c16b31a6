// Client setup: where the credentials come from, and the API calls the speaker makes, on our own
// small REST layer (rest/transport.ts: one keep-alive agent, one TLS context). client-node
// provides KubeConfig (credential loading) and TypeScript types only: its generated API classes
// and ObjectSerializer are not loaded at run time (they cost a speaker ~60 MB RSS; issue 12).
//   - Every request has a deadline (`requestTimeoutMs` unless the call brings its own): against a
//     black-holed API server a call would otherwise hang forever and a Lease holder would never
//     notice it missed its renew deadline.
//   - Writes record FIELD_MANAGER in managedFields.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import type { CoreV1Event, V1ConfigMap, V1Lease, V1Node, V1Service } from '@kubernetes/client-node';
// KubeConfig from its own module, not the package index: the index re-exports the generated API
// classes and their ObjectSerializer, which a bundle would then load (scripts/build.ts).
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { isNotFound } from './errors.ts';
import type { LeaseApi } from './lease-store.ts';
import { type RequestOptions, Transport } from './rest/transport.ts';

/** The Eip custom resource (OpenELB's API, see SPEC §1). Cluster-scoped. */
export const EIP_GROUP = 'network.kubesphere.io';
export const EIP_VERSION = 'v1alpha2';
export const EIP_PLURAL = 'eips';
/** Field manager recorded in managedFields for every write we make. */
export const FIELD_MANAGER = 'openelb-ts';

const SA_ROOT = '/var/run/secrets/kubernetes.io/serviceaccount';

export type KubeconfigSource =
  | { kind: 'file'; path: string; from: 'flag' | 'env' | 'home' }
  | { kind: 'in-cluster' };

/**
 * Where to load credentials from, in this order: the `--kubeconfig` flag, `KUBECONFIG`, the pod's
 * service account (in-cluster), `~/.kube/config`. In-cluster wins over the home file on purpose
 * (client-node's loadFromDefault does the opposite): a DaemonSet pod with hostPath mounts must
 * never pick up an admin's kubeconfig by accident. Pure so the order is unit-tested.
 */
export function chooseKubeconfigSource(input: {
  flag?: string | undefined;
  env?: string | undefined;
  inCluster: boolean;
  homeConfig?: string | undefined;
}): KubeconfigSource | undefined {
  if (input.flag) return { kind: 'file', path: input.flag, from: 'flag' };
  if (input.env) return { kind: 'file', path: input.env, from: 'env' };
  if (input.inCluster) return { kind: 'in-cluster' };
  if (input.homeConfig) return { kind: 'file', path: input.homeConfig, from: 'home' };
  return undefined;
}

export function loadKubeConfig(flag?: string): { kc: KubeConfig; source: KubeconfigSource } {
  const home = join(homedir(), '.kube', 'config');
  const source = chooseKubeconfigSource({
    flag,
    env: process.env.KUBECONFIG,
    inCluster: Boolean(process.env.KUBERNETES_SERVICE_HOST) && existsSync(`${SA_ROOT}/token`),
    homeConfig: existsSync(home) ? home : undefined,
  });
  if (!source) {
    throw new Error(
      'no Kubernetes credentials: pass --kubeconfig <file>, set KUBECONFIG, run in a pod with a service account, or create ~/.kube/config',
    );
  }
  const kc = new KubeConfig();
  if (source.kind === 'in-cluster') {
    kc.loadFromCluster();
  } else if (source.from === 'env') {
    // KUBECONFIG may be a list of files; client-node merges them the way kubectl does.
    kc.loadFromDefault();
  } else {
    kc.loadFromFile(source.path);
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig from ${describeSource(source)} has no current cluster`);
  return { kc, source };
}

export function describeSource(s: KubeconfigSource): string {
  return s.kind === 'in-cluster' ? 'in-cluster service account' : `${s.from} ${s.path}`;
}

export interface KubeClientOptions {
  /** Deadline for every request that does not bring its own. Default 10 s. */
  requestTimeoutMs?: number;
  /** User-Agent, so API audit logs name us. */
  userAgent?: string;
}

/** Eip status as we write it (SPEC §1); kept loose because the CRD allows more. */
export type EipStatus = Record<string, unknown>;
/** An Eip as returned by CustomObjectsApi (untyped JSON). */
export interface EipObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: EipStatus;
}

export type { RequestOptions } from './rest/transport.ts';

/** A list answer. */
export interface ObjectList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

const enc = encodeURIComponent;
const servicePath = (ns: string, name: string) => `/api/v1/namespaces/${enc(ns)}/services/${enc(name)}`;
const eipPath = (name?: string) => `/apis/${EIP_GROUP}/${EIP_VERSION}/${EIP_PLURAL}${name !== undefined ? `/${enc(name)}` : ''}`;
const leasePath = (ns: string, name?: string) =>
  `/apis/coordination.k8s.io/v1/namespaces/${enc(ns)}/leases${name !== undefined ? `/${enc(name)}` : ''}`;
const MERGE_PATCH = 'application/merge-patch+json';
const withFieldManager = (path: string) => `${path}${path.includes('?') ? '&' : '?'}fieldManager=${FIELD_MANAGER}`;

/**
 * The API calls a speaker makes, over one connection pool. Cheap to create; the speaker makes one
 * per process. Tests make one per identity (admin, the speaker's ServiceAccount).
 */
export class KubeClient implements LeaseApi {
  readonly kc: KubeConfig;
  readonly transport: Transport;
  readonly requestTimeoutMs: number;

  constructor(kc: KubeConfig, opts: KubeClientOptions = {}) {
    this.kc = kc;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.transport = new Transport(kc, opts.userAgent ?? 'openelb-ts');
  }

  /** Load credentials (see chooseKubeconfigSource) and build the client. */
  static load(flag?: string, opts: KubeClientOptions = {}): { client: KubeClient; source: KubeconfigSource } {
    const { kc, source } = loadKubeConfig(flag);
    return { client: new KubeClient(kc, opts), source };
  }

  /** A client for a kubeconfig file (tests: admin vs. the speaker's ServiceAccount). */
  static fromFile(path: string, opts: KubeClientOptions = {}): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new KubeClient(kc, opts);
  }

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '';
  }

  // --- generic verbs ----------------------------------------------------------------------

  private opts(o?: RequestOptions): RequestOptions {
    return { timeoutMs: o?.timeoutMs ?? this.requestTimeoutMs, ...(o?.signal ? { signal: o.signal } : {}) };
  }

  get<T>(path: string, o?: RequestOptions): Promise<T> {
    return this.transport.json<T>({ method: 'GET', path, ...this.opts(o) });
  }

  create<T>(path: string, body: unknown, o?: RequestOptions): Promise<T> {
    return this.transport.json<T>({ method: 'POST', path: withFieldManager(path), body, ...this.opts(o) });
  }

  /** PUT; `body.metadata.resourceVersion`, when set, is the precondition (409 when stale). */
  replace<T>(path: string, body: unknown, o?: RequestOptions): Promise<T> {
    return this.transport.json<T>({ method: 'PUT', path: withFieldManager(path), body, ...this.opts(o) });
  }

  /** JSON merge patch (RFC 7386): maps merge, lists are replaced whole, null deletes a key. */
  mergePatch<T>(path: string, patch: unknown, o?: RequestOptions): Promise<T> {
    return this.transport.json<T>({ method: 'PATCH', path: withFieldManager(path), body: patch, contentType: MERGE_PATCH, ...this.opts(o) });
  }

  /** JSON patch (RFC 6902): a list of operations, e.g. a `test` op as a precondition. */
  jsonPatch<T>(path: string, ops: ReadonlyArray<Record<string, unknown>>, o?: RequestOptions): Promise<T> {
    return this.transport.json<T>({ method: 'PATCH', path: withFieldManager(path), body: ops, contentType: 'application/json-patch+json', ...this.opts(o) });
  }

  // --- Services ---------------------------------------------------------------------------

  getService(namespace: string, name: string, o?: RequestOptions): Promise<V1Service> {
    return this.get<V1Service>(servicePath(namespace, name), o);
  }

  listServices(o?: RequestOptions): Promise<ObjectList<V1Service>> {
    return this.get<ObjectList<V1Service>>('/api/v1/services', o);
  }

  /** Merge-patch a Service (metadata: finalizers, labels, annotations). */
  patchService(namespace: string, name: string, patch: object, o?: RequestOptions): Promise<V1Service> {
    return this.mergePatch<V1Service>(servicePath(namespace, name), patch, o);
  }

  /** Merge-patch the Service's status subresource (e.g. `{status: {loadBalancer: {ingress: [...]}}}`). */
  patchServiceStatus(namespace: string, name: string, patch: object, o?: RequestOptions): Promise<V1Service> {
    return this.mergePatch<V1Service>(`${servicePath(namespace, name)}/status`, patch, o);
  }

  // --- Leases (LeaseStore's calls) -------------------------------------------------------

  async getLease(namespace: string, name: string, timeoutMs: number): Promise<V1Lease | undefined> {
    try {
      return await this.get<V1Lease>(leasePath(namespace, name), { timeoutMs });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  createLease(namespace: string, lease: V1Lease, timeoutMs: number): Promise<V1Lease> {
    return this.create<V1Lease>(leasePath(namespace), lease, { timeoutMs });
  }

  replaceLease(namespace: string, name: string, lease: V1Lease, timeoutMs: number): Promise<V1Lease> {
    return this.replace<V1Lease>(leasePath(namespace, name), lease, { timeoutMs });
  }

  // --- Eips -------------------------------------------------------------------------------

  getEip(name: string, o?: RequestOptions): Promise<EipObject> {
    return this.get<EipObject>(eipPath(name), o);
  }

  listEips(o?: RequestOptions): Promise<ObjectList<EipObject>> {
    return this.get<ObjectList<EipObject>>(eipPath(), o);
  }

  /**
   * Merge-patch an Eip's main resource (finalizers, annotations). Include
   * `metadata.resourceVersion` in the patch to make it conditional (409 if stale): merge patch
   * replaces lists whole, so a finalizer edit without it could drop someone else's finalizer.
   */
  patchEip(name: string, patch: object, o?: RequestOptions): Promise<EipObject> {
    return this.mergePatch<EipObject>(eipPath(name), patch, o);
  }

  /** Merge-patch the Eip's /status subresource: `patch` is `{status: {...}}`. */
  patchEipStatus(name: string, patch: { status: EipStatus; metadata?: { resourceVersion?: string } }, o?: RequestOptions): Promise<EipObject> {
    return this.mergePatch<EipObject>(`${eipPath(name)}/status`, patch, o);
  }

  /**
   * PUT the Eip's /status with `status` and the resourceVersion `eip` carries: a 409 means the Eip
   * changed since it was read. Use this when the whole status is recomputed (e.g. `used` lost an
   * entry: a merge patch cannot remove a map key without an explicit null).
   */
  replaceEipStatus(eip: EipObject, status: EipStatus, o?: RequestOptions): Promise<EipObject> {
    return this.replace<EipObject>(
      `${eipPath(eip.metadata.name)}/status`,
      { apiVersion: `${EIP_GROUP}/${EIP_VERSION}`, kind: 'Eip', ...eip, status },
      o,
    );
  }

  // --- Events, and what doctor reads ------------------------------------------------------

  /** Create a core/v1 Event (RBAC: events create). */
  createEvent(namespace: string, event: CoreV1Event, o?: RequestOptions): Promise<CoreV1Event> {
    return this.create<CoreV1Event>(`/api/v1/namespaces/${enc(namespace)}/events`, { apiVersion: 'v1', kind: 'Event', ...event }, o);
  }

  /** Merge-patch an Event we created: count, message, lastTimestamp (RBAC: events patch). */
  patchEvent(namespace: string, name: string, patch: object, o?: RequestOptions): Promise<CoreV1Event> {
    return this.mergePatch<CoreV1Event>(`/api/v1/namespaces/${enc(namespace)}/events/${enc(name)}`, patch, o);
  }

  getNode(name: string, o?: RequestOptions): Promise<V1Node> {
    return this.get<V1Node>(`/api/v1/nodes/${enc(name)}`, o);
  }

  getConfigMap(namespace: string, name: string, o?: RequestOptions): Promise<V1ConfigMap> {
    return this.get<V1ConfigMap>(`/api/v1/namespaces/${enc(namespace)}/configmaps/${enc(name)}`, o);
  }

  getVersion(o?: RequestOptions): Promise<{ gitVersion?: string }> {
    return this.get<{ gitVersion?: string }>('/version', o);
  }

  /** Close pooled connections. */
  close(): void {
    this.transport.close();
  }
}
