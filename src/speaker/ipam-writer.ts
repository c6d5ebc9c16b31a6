// The IPAM controller's API calls, in one place so that every one of them
//   - refuses to start once the leadership term is over (the election's AbortSignal), and is
//     cut off mid-flight when it ends (the signal rides on the request);
//   - is guarded by the resourceVersion of the object it was computed from (PUT, or a merge
//     patch carrying metadata.resourceVersion), so a write based on a stale view gets 409;
//   - is counted in the metrics registry (writes by resource and result, reads by resource).
import {
  Observable,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
  type V1Service,
} from '@kubernetes/client-node';
import { EIP_GROUP, EIP_PLURAL, EIP_VERSION, FIELD_MANAGER, mergePatchOptions, type EipObject, type KubeClient } from '../kube/client.ts';
import { classifyError } from '../kube/errors.ts';
import type { Counter, Registry } from '../observe/metrics.ts';

export class TermOver extends Error {
  constructor() {
    super('IPAM leadership term is over: not writing');
    this.name = 'TermOver';
  }
}

export interface IpamMetrics {
  writes: Counter;
  reads: Counter;
}

export function ipamMetrics(registry: Registry): IpamMetrics {
  return {
    writes: registry.counter('openelb_ipam_api_writes_total', 'API writes by the IPAM controller, by resource and result (ok, conflict, error).'),
    reads: registry.counter('openelb_ipam_api_reads_total', 'API reads (GET/LIST) by the IPAM controller outside the informers, by resource.'),
  };
}

/** Per-call options: the term's signal combined with a deadline, on top of `base` (e.g. merge patch). */
function termOptions(signal: AbortSignal, ms: number, base?: ConfigurationOptions<ObservableMiddleware>): ConfigurationOptions<ObservableMiddleware> {
  const mw: ObservableMiddleware = {
    pre(ctx: RequestContext) {
      ctx.setSignal(AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, Math.ceil(ms)))]));
      return new Observable(Promise.resolve(ctx));
    },
    post(res: ResponseContext) {
      return new Observable(Promise.resolve(res));
    },
  };
  return { ...base, middleware: [...(base?.middleware ?? []), mw], middlewareMergeStrategy: 'append' };
}

const plain = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

export class IpamWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly signal: AbortSignal,
    private readonly metrics: IpamMetrics,
    private readonly timeoutMs = 10_000,
  ) {}

  private async write<T>(resource: string, call: () => Promise<T>): Promise<T> {
    if (this.signal.aborted) throw new TermOver();
    try {
      const r = await call();
      this.metrics.writes.inc({ resource, result: 'ok' });
      return r;
    } catch (err) {
      if (this.signal.aborted) throw new TermOver();
      this.metrics.writes.inc({ resource, result: classifyError(err) === 'conflict' ? 'conflict' : 'error' });
      throw err;
    }
  }

  private async read<T>(resource: string, call: () => Promise<T>): Promise<T> {
    if (this.signal.aborted) throw new TermOver();
    this.metrics.reads.inc({ resource });
    try {
      return await call();
    } catch (err) {
      if (this.signal.aborted) throw new TermOver();
      throw err;
    }
  }

  private opts(base?: ConfigurationOptions<ObservableMiddleware>) {
    return termOptions(this.signal, this.timeoutMs, base);
  }

  /** PUT status.loadBalancer.ingress, guarded by svc's resourceVersion; other status fields kept. */
  async serviceStatus(svc: V1Service, ips: readonly string[]): Promise<V1Service> {
    const body: V1Service = {
      apiVersion: 'v1',
      kind: 'Service',
      ...svc,
      status: { ...svc.status, loadBalancer: { ...svc.status?.loadBalancer, ingress: ips.map((ip) => ({ ip })) } },
    };
    if (ips.length === 0) body.status = { ...svc.status, loadBalancer: {} };
    const r = await this.write('service_status', () =>
      this.client.core.replaceNamespacedServiceStatus(
        { namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '', body, fieldManager: FIELD_MANAGER },
        this.opts(),
      ),
    );
    return plain(r);
  }

  /** Merge patch of metadata (finalizers, labels); the patch carries the resourceVersion guard. */
  async serviceMeta(svc: V1Service, patch: object): Promise<V1Service> {
    const r = await this.write('service_metadata', () =>
      this.client.core.patchNamespacedService(
        { namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '', body: patch, fieldManager: FIELD_MANAGER },
        this.opts(mergePatchOptions()),
      ),
    );
    return plain(r);
  }

  async getService(namespace: string, name: string): Promise<V1Service> {
    return plain(await this.read('service', () => this.client.core.readNamespacedService({ namespace, name }, this.opts())));
  }

  async listServices(): Promise<V1Service[]> {
    const r = await this.read('services', () => this.client.core.listServiceForAllNamespaces({}, termOptions(this.signal, 60_000)));
    return plain(r.items ?? []).map((s) => ({ apiVersion: 'v1', kind: 'Service', ...s }));
  }

  /** PUT the whole Eip status, guarded by eip's resourceVersion: the IPAM commit point. */
  async eipStatus(eip: EipObject, status: Record<string, unknown>): Promise<EipObject> {
    return this.write('eip_status', () => this.client.replaceEipStatus(eip, status, this.opts()));
  }

  /** Merge patch of an Eip's finalizers, guarded by its resourceVersion. */
  async eipFinalizers(eip: EipObject, finalizers: string[]): Promise<EipObject> {
    return this.write('eip_metadata', () =>
      this.client.custom.patchClusterCustomObject(
        {
          group: EIP_GROUP,
          version: EIP_VERSION,
          plural: EIP_PLURAL,
          name: eip.metadata.name,
          body: { metadata: { resourceVersion: eip.metadata.resourceVersion, finalizers } },
          fieldManager: FIELD_MANAGER,
        },
        this.opts(mergePatchOptions()),
      ) as Promise<EipObject>,
    );
  }

  async getEip(name: string): Promise<EipObject> {
    return this.read('eip', () =>
      this.client.custom.getClusterCustomObject({ group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL, name }, this.opts()) as Promise<EipObject>,
    );
  }

  async listEips(): Promise<EipObject[]> {
    const r = (await this.read('eips', () =>
      this.client.custom.listClusterCustomObject({ group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL }, termOptions(this.signal, 60_000)),
    )) as { items?: EipObject[] };
    return r.items ?? [];
  }
}
