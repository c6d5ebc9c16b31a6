// Client setup: where the kubeconfig comes from, typed API clients with a per-request deadline,
// and the patch/status helpers the controllers need. client-node 2.0 quirks handled here so no
// caller has to know them:
//   - PATCH defaults to JSON Patch (a list of ops); we always want merge patch, which needs the
//     Content-Type overridden per call through a middleware option.
//   - Requests have no deadline by default: against a black-holed API server a call would hang
//     forever and a Lease holder would never notice it missed its renew deadline. Every client
//     built here aborts a request after `requestTimeoutMs` unless the caller passes its own signal.
//   - The stock makeApiClient() is fine otherwise; we build the same Configuration plus our
//     timeout middleware.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  Observable,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  setHeaderOptions,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
  type CoreV1Event,
  type V1Lease,
  type V1Service,
  type V1ServiceStatus,
} from '@kubernetes/client-node';
import { isNotFound } from './errors.ts';
import type { LeaseApi } from './lease-store.ts';

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

/**
 * Middleware that gives a request a deadline. The client-wide one (`override` false) runs first
 * and leaves a signal alone; a per-call one (deadlineOptions) runs after it and replaces it.
 */
function deadlineMiddleware(ms: number, override = false): ObservableMiddleware {
  // AbortSignal.timeout() throws on a fractional delay (and deadlines come from performance.now()).
  ms = Math.max(1, Math.ceil(ms));
  return {
    pre(ctx: RequestContext) {
      if (override || !ctx.getSignal()) ctx.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(ctx));
    },
    post(res: ResponseContext) {
      return new Observable(Promise.resolve(res));
    },
  };
}

function headerMiddleware(key: string, value: string): ObservableMiddleware {
  return {
    pre(ctx: RequestContext) {
      ctx.setHeaderParam(key, value);
      return new Observable(Promise.resolve(ctx));
    },
    post(res: ResponseContext) {
      return new Observable(Promise.resolve(res));
    },
  };
}

/** Per-call options that turn a client-node `patch*` call into a JSON merge patch (RFC 7386). */
export function mergePatchOptions(): ConfigurationOptions<ObservableMiddleware> {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}

/** Per-call options with a deadline of our choosing (e.g. a Lease renew that must beat the renew deadline). */
export function deadlineOptions(
  ms: number,
  base?: ConfigurationOptions<ObservableMiddleware>,
): ConfigurationOptions<ObservableMiddleware> {
  return {
    ...base,
    middleware: [...(base?.middleware ?? []), deadlineMiddleware(ms, true)],
    middlewareMergeStrategy: 'append',
  };
}

export interface KubeClientOptions {
  /** Deadline for every request that does not bring its own. Default 10 s. */
  requestTimeoutMs?: number;
  /** User-Agent, so API audit logs name us. */
  userAgent?: string;
}

type ApiCtor<T> = new (config: ReturnType<typeof createConfiguration>) => T;

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

/**
 * One connection's worth of typed clients. Cheap to create; the speaker makes one per process.
 * Tests make one per identity (admin, the speaker's ServiceAccount).
 */
export class KubeClient implements LeaseApi {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly custom: CustomObjectsApi;
  readonly requestTimeoutMs: number;

  constructor(kc: KubeConfig, opts: KubeClientOptions = {}) {
    this.kc = kc;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.core = this.make(CoreV1Api, opts);
    this.coordination = this.make(CoordinationV1Api, opts);
    this.discovery = this.make(DiscoveryV1Api, opts);
    this.custom = this.make(CustomObjectsApi, opts);
  }

  /** Load credentials (see chooseKubeconfigSource) and build the clients. */
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

  /** Build any other client-node API class with the same deadline and User-Agent. */
  make<T>(ctor: ApiCtor<T>, opts: KubeClientOptions = {}): T {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const config = createConfiguration({
      baseServer: new ServerConfiguration<Record<string, string>>(cluster.server, {}),
      authMethods: { default: this.kc },
      middleware: [
        headerMiddleware('User-Agent', opts.userAgent ?? 'openelb-ts'),
        deadlineMiddleware(opts.requestTimeoutMs ?? this.requestTimeoutMs),
      ],
    });
    return new ctor(config);
  }

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '';
  }

  // --- Services ---------------------------------------------------------------------------

  /** Merge-patch a Service (metadata: finalizers, labels, annotations). */
  patchService(namespace: string, name: string, patch: object): Promise<V1Service> {
    return this.core.patchNamespacedService({ namespace, name, body: patch, fieldManager: FIELD_MANAGER }, mergePatchOptions());
  }

  /** Merge-patch the Service's status subresource (e.g. `{status: {loadBalancer: {ingress: [...]}}}`). */
  patchServiceStatus(namespace: string, name: string, patch: object): Promise<V1Service> {
    return this.core.patchNamespacedServiceStatus(
      { namespace, name, body: patch, fieldManager: FIELD_MANAGER },
      mergePatchOptions(),
    );
  }

  /**
   * PUT the status subresource of `svc` with `status`. The server checks svc.metadata.resourceVersion:
   * a 409 (isConflict) means someone wrote in between; re-read and decide again.
   */
  replaceServiceStatus(svc: V1Service, status: V1ServiceStatus): Promise<V1Service> {
    const namespace = svc.metadata?.namespace ?? '';
    const name = svc.metadata?.name ?? '';
    return this.core.replaceNamespacedServiceStatus({
      namespace,
      name,
      body: { ...svc, status },
      fieldManager: FIELD_MANAGER,
    });
  }

  // --- Leases (LeaseStore's calls) -------------------------------------------------------

  async getLease(namespace: string, name: string, timeoutMs: number): Promise<V1Lease | undefined> {
    try {
      return await this.coordination.readNamespacedLease({ namespace, name }, deadlineOptions(timeoutMs));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  createLease(namespace: string, lease: V1Lease, timeoutMs: number): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace, body: lease, fieldManager: FIELD_MANAGER }, deadlineOptions(timeoutMs));
  }

  replaceLease(namespace: string, name: string, lease: V1Lease, timeoutMs: number): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease(
      { namespace, name, body: lease, fieldManager: FIELD_MANAGER },
      deadlineOptions(timeoutMs),
    );
  }

  // --- Eips -------------------------------------------------------------------------------

  getEip(name: string): Promise<EipObject> {
    return this.custom.getClusterCustomObject({ group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL, name });
  }

  listEips(): Promise<{ metadata?: { resourceVersion?: string }; items: EipObject[] }> {
    return this.custom.listClusterCustomObject({ group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL });
  }

  /**
   * Merge-patch an Eip's main resource (finalizers, annotations). Include
   * `metadata.resourceVersion` in the patch to make it conditional (409 if stale): merge patch
   * replaces lists whole, so a finalizer edit without it could drop someone else's finalizer.
   */
  patchEip(name: string, patch: object): Promise<EipObject> {
    return this.custom.patchClusterCustomObject(
      { group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL, name, body: patch, fieldManager: FIELD_MANAGER },
      mergePatchOptions(),
    );
  }

  /** Merge-patch the Eip's /status subresource: `patch` is `{status: {...}}`. */
  patchEipStatus(name: string, patch: { status: EipStatus; metadata?: { resourceVersion?: string } }): Promise<EipObject> {
    return this.custom.patchClusterCustomObjectStatus(
      { group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL, name, body: patch, fieldManager: FIELD_MANAGER },
      mergePatchOptions(),
    );
  }

  /**
   * PUT the Eip's /status with `status` and the resourceVersion `eip` carries: a 409 means the Eip
   * changed since it was read. Use this when the whole status is recomputed (e.g. `used` lost an
   * entry: a merge patch cannot remove a map key without an explicit null).
   */
  replaceEipStatus(eip: EipObject, status: EipStatus, options?: ConfigurationOptions<ObservableMiddleware>): Promise<EipObject> {
    return this.custom.replaceClusterCustomObjectStatus(
      {
        group: EIP_GROUP,
        version: EIP_VERSION,
        plural: EIP_PLURAL,
        name: eip.metadata.name,
        body: { apiVersion: `${EIP_GROUP}/${EIP_VERSION}`, kind: 'Eip', ...eip, status },
        fieldManager: FIELD_MANAGER,
      },
      options,
    ) as Promise<EipObject>;
  }

  // --- Events -----------------------------------------------------------------------------

  /** Create a core/v1 Event (RBAC: events create). */
  createEvent(namespace: string, body: CoreV1Event): Promise<CoreV1Event> {
    return this.core.createNamespacedEvent({ namespace, body, fieldManager: FIELD_MANAGER });
  }

  /** Merge-patch an Event we created: count, message, lastTimestamp (RBAC: events patch). */
  patchEvent(namespace: string, name: string, patch: object): Promise<CoreV1Event> {
    return this.core.patchNamespacedEvent({ namespace, name, body: patch, fieldManager: FIELD_MANAGER }, mergePatchOptions());
  }
}
