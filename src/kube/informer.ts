// A list+watch cache that never gives up and never forgets.
//
// Built on client-node's ListWatch (the object behind makeInformer), which does the list, the
// watch from a resourceVersion, the 410 relist and the per-object add/update/delete diffing. What
// it lacks, and this file adds:
//   - It stops for good on any error except 410 (DESIGN.md). We restart it on every error, with
//     capped exponential backoff, forever, until stop().
//   - Fail-static: its cache lives in the ListWatch instance and only a successful relist changes
//     it, so restarting the same instance keeps the last good view while the API is away. We never
//     clear it because of a connection problem (SPEC §2 "Fail-static").
//   - No "synced" or "connected" signals. We learn both from a Watch subclass (watch established /
//     done) and from wrapping the list function.
//   - One callback per event. Reconcilers want one call per burst: onChange() is coalesced.
//   - List results are typed class instances (Date objects) while watch events are plain JSON
//     (strings); we turn list items into plain JSON so the cache holds one shape.
import {
  CoordinationV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  type V1EndpointSlice,
  type V1Lease,
  type V1Namespace,
  type V1Node,
  type V1Service,
  Watch,
} from '@kubernetes/client-node';
import { setImmediate } from 'node:timers';
import { log } from '../log.ts';
import { type BackoffPolicy, backoffDelay, defaultBackoff } from './backoff.ts';
import { EIP_GROUP, EIP_PLURAL, EIP_VERSION, type EipObject, type KubeClient, deadlineOptions } from './client.ts';
import { classifyError, describeError } from './errors.ts';

export type ListFn<T extends KubernetesObject> = () => Promise<KubernetesListObject<T>>;

export interface InformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** Watch path, e.g. `/api/v1/services`, `/apis/coordination.k8s.io/v1/namespaces/ns/leases`. */
  path: string;
  /** The matching list call (same resource, same selectors). */
  list: ListFn<T>;
  labelSelector?: string;
  fieldSelector?: string;
  /** Name for logs and metrics. */
  name?: string;
  backoff?: BackoffPolicy;
  /** Coalescing window for onChange: 0 (default) = one call per event-loop turn. */
  debounceMs?: number;
  /**
   * Client-side inactivity timeout of the watch stream (client-node default 30 s). A half-open
   * TCP connection (peer gone without RST) is noticed after this long; the watch then resumes
   * from the last resourceVersion without a relist.
   */
  watchInactivityMs?: number;
}

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerStatus {
  connected: boolean;
  synced: boolean;
  /** Consecutive failed attempts since the last good connection. */
  failures: number;
  lastError?: string;
}

/** The cache key client-go uses: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

// A connection that lived at least this long counts as good: the next failure starts the
// backoff from the beginning instead of continuing to grow it.
const HEALTHY_CONNECTION_MS = 10_000;

/**
 * Watch that tells us when a stream is established and when it ends, and that turns a throw
 * before the request (auth plugin, bad URL) into a normal `done(err)` instead of an unhandled
 * rejection inside ListWatch.
 */
class ReportingWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly hooks: { established(): void; isStopped(): boolean },
  ) {
    super(kc);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the signature client-node's Watch declares
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- idem
    done: (err: any) => void,
  ): Promise<AbortController> {
    // ListWatch may reach here after stop() (it re-checks `stopped` before its reconnect delay,
    // not after): do not open a stream nobody will close.
    if (this.hooks.isStopped()) return new AbortController();
    let finished = false;
    const onDone = (err: unknown) => {
      finished = true;
      done(err);
    };
    try {
      const ctrl = await super.watch(path, queryParams, callback, onDone);
      if (!finished) this.hooks.established();
      return ctrl;
    } catch (err) {
      if (!finished) onDone(err);
      return new AbortController();
    }
  }
}

export class Informer<T extends KubernetesObject> {
  readonly name: string;
  private readonly lw: ListWatch<T>;
  private readonly backoff: BackoffPolicy;
  private readonly debounceMs: number;
  private readonly changeListeners = new Set<() => void>();
  private readonly eventListeners = new Set<(ev: InformerEvent, obj: T) => void>();
  private readonly statusListeners = new Set<(s: InformerStatus) => void>();
  private syncWaiters: Array<() => void> = [];
  private started = false;
  private stopped = false;
  private synced = false;
  private isConnected = false;
  private failures = 0;
  private connectedSince = 0;
  private lastError: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private notifyPending = false;
  private notifyTimer: NodeJS.Timeout | undefined;

  constructor(opts: InformerOptions<T>) {
    this.name = opts.name ?? opts.path;
    this.backoff = opts.backoff ?? defaultBackoff;
    this.debounceMs = opts.debounceMs ?? 0;
    const watch = new ReportingWatch(opts.kc, {
      established: () => this.markConnected(),
      isStopped: () => this.stopped,
    });
    // The field is public in client-node's JS but private in its typings.
    if (opts.watchInactivityMs !== undefined) {
      (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = opts.watchInactivityMs;
    }
    // Bookmarks keep our resourceVersion fresh on quiet resources, so a reconnect after an
    // outage can usually resume instead of relisting (410). ListWatch builds its own query
    // string, so the flag rides on the path.
    const path = opts.path + (opts.path.includes('?') ? '&' : '?') + 'allowWatchBookmarks=true';
    const list: ListFn<T> = async () => {
      const res = await opts.list();
      // Typed lists carry Date objects where watch events carry strings: store one shape.
      // List items also lack kind/apiVersion, which watch events carry: fill them in from the list.
      const kind = typeof res.kind === 'string' && res.kind.endsWith('List') ? res.kind.slice(0, -4) : undefined;
      const items = (res.items ?? []).map((i) => {
        const plain = JSON.parse(JSON.stringify(i)) as T;
        if (kind && !plain.kind) plain.kind = kind;
        if (res.apiVersion && !plain.apiVersion) plain.apiVersion = res.apiVersion;
        return plain;
      });
      // ListWatch applies the list to its cache synchronously right after this promise
      // resolves; by the next macrotask the cache is complete.
      setImmediate(() => this.afterList());
      return { ...res, items };
    };
    this.lw = new ListWatch<T>(path, watch, list, false, opts.labelSelector, opts.fieldSelector);
    this.lw.on('add', (o) => this.onObject('add', o));
    this.lw.on('update', (o) => this.onObject('update', o));
    this.lw.on('delete', (o) => this.onObject('delete', o));
    this.lw.on('error', (err) => this.onError(err));
  }

  /** Begin list+watch. Returns at once; await `whenSynced()` for the first full list. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    this.restartTimer = undefined;
    this.notifyTimer = undefined;
    await this.lw.stop();
    this.setConnected(false);
  }

  /** All cached objects (the last good view, also while disconnected). */
  list(namespace?: string): T[] {
    return [...this.lw.list(namespace)];
  }

  /** By `namespace/name` (namespaced) or `name` (cluster-scoped). */
  get(key: string): T | undefined {
    const slash = key.indexOf('/');
    return slash < 0 ? this.lw.get(key) : this.lw.get(key.slice(slash + 1), key.slice(0, slash));
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Watch stream (or last list) is up. False while reconnecting: for /readyz and metrics. */
  get connected(): boolean {
    return this.isConnected;
  }

  status(): InformerStatus {
    return {
      connected: this.isConnected,
      synced: this.synced,
      failures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Resolves after the first complete list (rejects only if `signal` aborts first). */
  whenSynced(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        reject(signal?.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(done);
    });
  }

  /**
   * Called once per burst of changes (and once when the first list completes). The callback
   * reads list()/get(); it gets no arguments on purpose: reconcile from the whole state, not from
   * deltas. Returns an unsubscribe function.
   */
  onChange(cb: () => void): () => void {
    this.changeListeners.add(cb);
    return () => this.changeListeners.delete(cb);
  }

  /** Per-object events, uncoalesced, for consumers that need each one. */
  onEvent(cb: (ev: InformerEvent, obj: T) => void): () => void {
    this.eventListeners.add(cb);
    return () => this.eventListeners.delete(cb);
  }

  /** Connected/synced changes. */
  onStatus(cb: (s: InformerStatus) => void): () => void {
    this.statusListeners.add(cb);
    return () => this.statusListeners.delete(cb);
  }

  private run(): void {
    if (this.stopped) return;
    // ListWatch.start() resumes from its last resourceVersion (or relists if it has none) and
    // reports failures through the 'error' callback; a rejection here is the same thing.
    this.lw.start().catch((err) => this.onError(err));
  }

  private onError(err: unknown): void {
    if (this.stopped) return; // stop() aborts the stream, which ListWatch reports as an error
    if (this.restartTimer) return; // already scheduled
    if (this.isConnected && Date.now() - this.connectedSince >= HEALTHY_CONNECTION_MS) this.failures = 0;
    const delay = backoffDelay(this.backoff, this.failures);
    this.failures++;
    this.lastError = describeError(err);
    const kind = classifyError(err);
    // The first failure after a good connection is worth a warning; the retries are noise.
    (this.failures === 1 ? log.warn : log.debug)('informer disconnected, retrying', {
      informer: this.name,
      kind,
      error: this.lastError,
      retryInMs: delay,
      failures: this.failures,
    });
    this.setConnected(false);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.run();
    }, delay);
  }

  private afterList(): void {
    if (this.stopped) return;
    this.markConnected();
    if (!this.synced) {
      this.synced = true;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w();
      this.emitStatus();
      this.scheduleNotify();
    }
  }

  private markConnected(): void {
    if (this.stopped) return;
    if (!this.isConnected && this.failures > 0) {
      log.info('informer reconnected', { informer: this.name, afterFailures: this.failures });
    }
    this.setConnected(true);
  }

  private setConnected(c: boolean): void {
    if (c === this.isConnected) return;
    this.isConnected = c;
    if (c) this.connectedSince = Date.now();
    this.emitStatus();
  }

  private emitStatus(): void {
    const s = this.status();
    for (const cb of this.statusListeners) safeCall(cb, s, this.name);
  }

  private onObject(ev: InformerEvent, obj: T): void {
    for (const cb of this.eventListeners) safeCall(() => cb(ev, obj), undefined, this.name);
    // Changes before the first list completes are part of that list: one notify after sync.
    if (this.synced) this.scheduleNotify();
  }

  private scheduleNotify(): void {
    if (this.notifyPending || this.stopped) return;
    this.notifyPending = true;
    const fire = () => {
      this.notifyPending = false;
      this.notifyTimer = undefined;
      if (this.stopped) return;
      for (const cb of this.changeListeners) safeCall(cb, undefined, this.name);
    };
    if (this.debounceMs > 0) this.notifyTimer = setTimeout(fire, this.debounceMs);
    else setImmediate(fire);
  }
}

function safeCall<A>(cb: (a: A) => void, arg: A, informer: string): void {
  try {
    cb(arg);
  } catch (err) {
    // A throwing listener must not break the cache or the other listeners.
    log.error('informer listener threw', { informer, error: String((err as Error)?.stack ?? err) });
  }
}

// --- Ready-made informers for what the speaker and the IPAM controller watch ------------------
// Path and list call must agree (same resource, same selector); these keep them together.

type Common = Pick<InformerOptions<KubernetesObject>, 'backoff' | 'debounceMs' | 'watchInactivityMs'>;
const LIST_DEADLINE_MS = 60_000; // a full list of a big cluster may take a while

export function serviceInformer(c: KubeClient, o: Common = {}): Informer<V1Service> {
  return new Informer<V1Service>({
    ...o,
    kc: c.kc,
    name: 'services',
    path: '/api/v1/services',
    list: () => c.core.listServiceForAllNamespaces({}, deadlineOptions(LIST_DEADLINE_MS)),
  });
}

export function nodeInformer(c: KubeClient, o: Common = {}): Informer<V1Node> {
  return new Informer<V1Node>({
    ...o,
    kc: c.kc,
    name: 'nodes',
    path: '/api/v1/nodes',
    list: () => c.core.listNode({}, deadlineOptions(LIST_DEADLINE_MS)),
  });
}

export function namespaceInformer(c: KubeClient, o: Common = {}): Informer<V1Namespace> {
  return new Informer<V1Namespace>({
    ...o,
    kc: c.kc,
    name: 'namespaces',
    path: '/api/v1/namespaces',
    list: () => c.core.listNamespace({}, deadlineOptions(LIST_DEADLINE_MS)),
  });
}

export function endpointSliceInformer(c: KubeClient, o: Common = {}): Informer<V1EndpointSlice> {
  return new Informer<V1EndpointSlice>({
    ...o,
    kc: c.kc,
    name: 'endpointslices',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    list: () => c.discovery.listEndpointSliceForAllNamespaces({}, deadlineOptions(LIST_DEADLINE_MS)),
  });
}

export function leaseInformer(
  c: KubeClient,
  namespace: string,
  o: Common & { labelSelector?: string } = {},
): Informer<V1Lease> {
  const coordination: CoordinationV1Api = c.coordination;
  return new Informer<V1Lease>({
    ...o,
    kc: c.kc,
    name: `leases/${namespace}${o.labelSelector ? `?${o.labelSelector}` : ''}`,
    path: `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`,
    list: () =>
      coordination.listNamespacedLease(
        { namespace, ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}) },
        deadlineOptions(LIST_DEADLINE_MS),
      ),
  });
}

export function eipInformer(c: KubeClient, o: Common = {}): Informer<EipObject & KubernetesObject> {
  return new Informer<EipObject & KubernetesObject>({
    ...o,
    kc: c.kc,
    name: 'eips',
    path: `/apis/${EIP_GROUP}/${EIP_VERSION}/${EIP_PLURAL}`,
    list: () =>
      c.custom.listClusterCustomObject(
        { group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL },
        deadlineOptions(LIST_DEADLINE_MS),
      ) as Promise<KubernetesListObject<EipObject & KubernetesObject>>,
  });
}
