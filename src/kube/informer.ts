// A list+watch cache that never gives up and never forgets, on our own REST layer (rest/):
//   - list (paginated), then watch from the list's resourceVersion with bookmarks, so a
//     reconnect after a cut resumes where it left off; a 410 Gone (as an HTTP status or an
//     ERROR event) relists;
//   - every other failure is retried with capped exponential backoff, forever, until stop();
//   - fail-static: only a successful relist replaces the cache, so while the API is away the
//     last good view stays (SPEC §2 "Fail-static"); it is never cleared because of a
//     connection problem;
//   - "synced" and "connected" signals for /readyz and metrics;
//   - onChange() is coalesced: reconcilers want one call per burst, not one per event;
//   - `slim` trims each object to what the readers use before it is cached (no managedFields,
//     no unused spec/status): the cache is most of a speaker's heap at scale (issue 12).
import type { KubernetesObject, V1EndpointSlice, V1Lease, V1Namespace, V1Node, V1Service } from '@kubernetes/client-node';
import { setImmediate } from 'node:timers';
import { log } from '../log.ts';
import { type BackoffPolicy, backoffDelay, defaultBackoff } from './backoff.ts';
import { EIP_GROUP, EIP_PLURAL, EIP_VERSION, type EipObject, type KubeClient } from './client.ts';
import { classifyError, describeError } from './errors.ts';
import { ApiError } from './rest/api-error.ts';
import { type WatchEvent, watch } from './rest/watch.ts';
import { type BgpCachedObject, slimBgpObject, slimEndpointSlice, slimNamespace, slimNode, slimService, withoutManagedFields } from './slim.ts';

export interface InformerOptions<T extends KubernetesObject> {
  client: KubeClient;
  /** Collection path, e.g. `/api/v1/services`, `/apis/coordination.k8s.io/v1/namespaces/ns/leases`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Name for logs and metrics. */
  name?: string;
  backoff?: BackoffPolicy;
  /** Coalescing window for onChange: 0 (default) = one call per event-loop turn. */
  debounceMs?: number;
  /**
   * Client-side inactivity timeout of the watch stream (default 30 s). A half-open TCP
   * connection (peer gone without RST) is noticed after this long; the watch then resumes from
   * the last resourceVersion without a relist.
   */
  watchInactivityMs?: number;
  /** Trim an object to the fields readers use before caching it (default: keep all). */
  slim?: (obj: T) => T;
  /** Items per list page (default 500). */
  pageSize?: number;
}

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerStatus {
  connected: boolean;
  synced: boolean;
  /** Consecutive failed attempts since the last good connection. */
  failures: number;
  /** Complete lists so far (the first, and every relist after a 410 or a restart). */
  lists: number;
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

export class Informer<T extends KubernetesObject> {
  readonly name: string;
  private readonly o: InformerOptions<T>;
  private readonly backoff: BackoffPolicy;
  private readonly debounceMs: number;
  private readonly inactivityMs: number;
  private readonly changeListeners = new Set<() => void>();
  private readonly eventListeners = new Set<(ev: InformerEvent, obj: T) => void>();
  private readonly statusListeners = new Set<(s: InformerStatus) => void>();
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private syncWaiters: Array<() => void> = [];
  private started = false;
  private stopped = false;
  private readonly stopSignal = new AbortController();
  private loopDone: Promise<void> | undefined;
  private synced = false;
  private isConnected = false;
  private failures = 0;
  private lists = 0;
  private connectedSince = 0;
  private lastError: string | undefined;
  private notifyPending = false;
  private notifyTimer: NodeJS.Timeout | undefined;

  constructor(opts: InformerOptions<T>) {
    this.o = opts;
    this.name = opts.name ?? opts.path;
    this.backoff = opts.backoff ?? defaultBackoff;
    this.debounceMs = opts.debounceMs ?? 0;
    this.inactivityMs = opts.watchInactivityMs ?? 30_000;
  }

  /** Begin list+watch. Returns at once; await `whenSynced()` for the first full list. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.loopDone = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    this.notifyTimer = undefined;
    await this.loopDone;
    this.setConnected(false);
  }

  /** All cached objects (the last good view, also while disconnected). */
  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace ? all.filter((o) => o.metadata?.namespace === namespace) : all;
  }

  /** By `namespace/name` (namespaced) or `name` (cluster-scoped). */
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** The resourceVersion the next watch resumes from ('' = relist first). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
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
      lists: this.lists,
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

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t0 = Date.now();
      let events = 0;
      let opened = false;
      try {
        if (!this.resourceVersion) await this.relist();
        if (this.stopped) break;
        await watch(this.o.client.transport, this.watchPath(), (e) => {
          events++;
          this.onWatchEvent(e);
        }, {
          signal: this.stopSignal.signal,
          inactivityMs: this.inactivityMs,
          onOpen: () => {
            opened = true;
            this.markConnected();
          },
        });
        // The server ended the stream (its timeout): resume at once, unless it keeps closing
        // streams without saying anything, which would be a tight loop.
        if (events === 0 && Date.now() - t0 < 1000) await this.failed(new Error('watch closed at once by the server'));
      } catch (err) {
        if (this.stopped) break;
        const kind = classifyError(err);
        if (kind === 'gone') {
          this.resourceVersion = ''; // too old: relist at once
        } else if (kind === 'timeout' && opened) {
          // Inactivity on an established watch: resume from our resourceVersion at once (the
          // quiet period already throttled us).
        } else {
          await this.failed(err);
        }
      }
    }
  }

  private watchPath(): string {
    const q = new URLSearchParams({ watch: '1', allowWatchBookmarks: 'true', resourceVersion: this.resourceVersion });
    if (this.o.labelSelector) q.set('labelSelector', this.o.labelSelector);
    if (this.o.fieldSelector) q.set('fieldSelector', this.o.fieldSelector);
    return `${this.o.path}?${q}`;
  }

  /** A full (paginated) list; replaces the cache only once complete. */
  private async relist(): Promise<void> {
    const items: T[] = [];
    let cont = '';
    let rv = '';
    let kind: string | undefined;
    let apiVersion: string | undefined;
    do {
      const q = new URLSearchParams({ limit: String(this.o.pageSize ?? 500) });
      if (cont) q.set('continue', cont);
      if (this.o.labelSelector) q.set('labelSelector', this.o.labelSelector);
      if (this.o.fieldSelector) q.set('fieldSelector', this.o.fieldSelector);
      const page = await this.o.client.transport.json<ListPage<T>>({
        method: 'GET',
        path: `${this.o.path}?${q}`,
        timeoutMs: LIST_DEADLINE_MS,
        signal: this.stopSignal.signal,
      });
      // List items lack kind/apiVersion, which watch events carry: fill them in from the list.
      kind ??= typeof page.kind === 'string' && page.kind.endsWith('List') ? page.kind.slice(0, -4) : undefined;
      apiVersion ??= page.apiVersion;
      for (const i of page.items ?? []) {
        if (kind && !i.kind) i.kind = kind;
        if (apiVersion && !i.apiVersion) i.apiVersion = apiVersion;
        items.push(this.slim(i));
      }
      cont = page.metadata?.continue ?? '';
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont && !this.stopped);
    if (this.stopped) return;
    const fresh = new Set<string>();
    for (const i of items) {
      fresh.add(objectKey(i));
      this.put(i);
    }
    for (const [k, old] of this.cache) {
      if (fresh.has(k)) continue;
      this.cache.delete(k);
      this.onObject('delete', old);
    }
    this.resourceVersion = rv;
    this.lists++;
    setImmediate(() => this.afterList());
  }

  private slim(o: T): T {
    return this.o.slim ? this.o.slim(o) : o;
  }

  /** Add or update; an object with the resourceVersion we already hold is no change. */
  private put(o: T): void {
    const k = objectKey(o);
    const old = this.cache.get(k);
    if (old && old.metadata?.resourceVersion !== undefined && old.metadata.resourceVersion === o.metadata?.resourceVersion) return;
    this.cache.set(k, o);
    this.onObject(old ? 'update' : 'add', o);
  }

  private onWatchEvent(e: WatchEvent): void {
    const obj = e.object as unknown as T;
    const rv = (obj.metadata?.resourceVersion as string | undefined) ?? '';
    switch (e.type) {
      case 'ADDED':
      case 'MODIFIED':
        this.put(this.slim(obj));
        break;
      case 'DELETED': {
        const k = objectKey(obj);
        if (this.cache.delete(k)) this.onObject('delete', this.slim(obj));
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        // A metav1.Status; the server ends the stream after it.
        const st = e.object as { code?: number; message?: string };
        throw new ApiError(typeof st.code === 'number' ? st.code : 500, JSON.stringify(st), `watch ${this.o.path}`);
      }
    }
    if (rv) this.resourceVersion = rv;
  }

  /** Count a failure, report it, and wait out the backoff (or until stop()). */
  private async failed(err: unknown): Promise<void> {
    if (this.isConnected && Date.now() - this.connectedSince >= HEALTHY_CONNECTION_MS) this.failures = 0;
    const delay = backoffDelay(this.backoff, this.failures);
    this.failures++;
    this.lastError = describeError(err);
    // The first failure after a good connection is worth a warning; the retries are noise.
    (this.failures === 1 ? log.warn : log.debug)('informer disconnected, retrying', {
      informer: this.name,
      kind: classifyError(err),
      error: this.lastError,
      retryInMs: delay,
      failures: this.failures,
    });
    this.setConnected(false);
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, delay);
      const signal = this.stopSignal.signal;
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
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

interface ListPage<T> {
  kind?: string;
  apiVersion?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
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
  return new Informer<V1Service>({ ...o, client: c, name: 'services', path: '/api/v1/services', slim: slimService });
}

export function nodeInformer(c: KubeClient, o: Common = {}): Informer<V1Node> {
  return new Informer<V1Node>({ ...o, client: c, name: 'nodes', path: '/api/v1/nodes', slim: slimNode });
}

export function namespaceInformer(c: KubeClient, o: Common = {}): Informer<V1Namespace> {
  return new Informer<V1Namespace>({ ...o, client: c, name: 'namespaces', path: '/api/v1/namespaces', slim: slimNamespace });
}

export function endpointSliceInformer(c: KubeClient, o: Common = {}): Informer<V1EndpointSlice> {
  return new Informer<V1EndpointSlice>({
    ...o,
    client: c,
    name: 'endpointslices',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    slim: slimEndpointSlice,
  });
}

export function leaseInformer(
  c: KubeClient,
  namespace: string,
  o: Common & { labelSelector?: string } = {},
): Informer<V1Lease> {
  return new Informer<V1Lease>({
    ...o,
    client: c,
    name: `leases/${namespace}${o.labelSelector ? `?${o.labelSelector}` : ''}`,
    path: `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`,
    slim: withoutManagedFields,
  });
}

export function eipInformer(c: KubeClient, o: Common = {}): Informer<EipObject & KubernetesObject> {
  return new Informer<EipObject & KubernetesObject>({
    ...o,
    client: c,
    name: 'eips',
    path: `/apis/${EIP_GROUP}/${EIP_VERSION}/${EIP_PLURAL}`,
    slim: withoutManagedFields,
  });
}

/** BgpConfs (`kind` bgpconfs) or BgpPeers (bgppeers), keeping only `node`'s status key. */
export function bgpInformer(c: KubeClient, plural: 'bgpconfs' | 'bgppeers', node: string, o: Common = {}): Informer<BgpCachedObject> {
  return new Informer<BgpCachedObject>({
    ...o,
    client: c,
    name: plural,
    path: `/apis/${EIP_GROUP}/${EIP_VERSION}/${plural}`,
    slim: slimBgpObject(node, plural === 'bgpconfs' ? 'nodesConfStatus' : 'nodesPeerStatus'),
  });
}
