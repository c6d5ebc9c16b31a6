// The IPAM controller's API calls, in one place so that every one of them
//   - refuses to start once the leadership term is over (the election's AbortSignal), and is
//     cut off mid-flight when it ends (the signal rides on the request);
//   - is guarded by the resourceVersion of the object it was computed from (PUT, or a merge
//     patch carrying metadata.resourceVersion), so a write based on a stale view gets 409;
//   - is counted in the metrics registry (writes by resource and result, reads by resource);
//   - answers with Services as the informer caches keep them (no managedFields): the term keeps
//     the newest version of every Service it wrote or listed, and managedFields doubled what the
//     IPAM leader held per Service (issue 12, BENCHMARKS.md "Memory"). Eips are few: kept whole.
import type { V1Service } from '@kubernetes/client-node';
import { type EipObject, type KubeClient, type RequestOptions } from '../kube/client.ts';
import { classifyError } from '../kube/errors.ts';
import { slimService } from '../kube/slim.ts';
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

  /** Per-call options: the term's signal (a request in flight is cut off when the term ends) and a deadline. */
  private opts(timeoutMs = this.timeoutMs): RequestOptions {
    return { signal: this.signal, timeoutMs };
  }

  /**
   * Sets status.loadBalancer.ingress to `ips` (none: removed) by a merge patch of /status that
   * carries svc's resourceVersion, so a Service changed meanwhile answers 409 as a PUT would; the
   * rest of the status (conditions) is the server's, and the cached Service need not be whole.
   */
  async serviceStatus(svc: V1Service, ips: readonly string[]): Promise<V1Service> {
    const patch = {
      metadata: { resourceVersion: svc.metadata?.resourceVersion },
      status: { loadBalancer: { ingress: ips.length ? ips.map((ip) => ({ ip })) : null } },
    };
    return slimService(
      await this.write('service_status', () => this.client.patchServiceStatus(svc.metadata?.namespace ?? '', svc.metadata?.name ?? '', patch, this.opts())),
    );
  }

  /** Merge patch of metadata (finalizers, labels); the patch carries the resourceVersion guard. */
  async serviceMeta(svc: V1Service, patch: object): Promise<V1Service> {
    return slimService(
      await this.write('service_metadata', () => this.client.patchService(svc.metadata?.namespace ?? '', svc.metadata?.name ?? '', patch, this.opts())),
    );
  }

  async getService(namespace: string, name: string): Promise<V1Service> {
    return slimService(await this.read('service', () => this.client.getService(namespace, name, this.opts())));
  }

  async listServices(): Promise<V1Service[]> {
    const r = await this.read('services', () => this.client.listServices(this.opts(60_000)));
    return (r.items ?? []).map((s) => slimService({ apiVersion: 'v1', kind: 'Service', ...s }));
  }

  /** PUT the whole Eip status, guarded by eip's resourceVersion: the IPAM commit point. */
  async eipStatus(eip: EipObject, status: Record<string, unknown>): Promise<EipObject> {
    return this.write('eip_status', () => this.client.replaceEipStatus(eip, status, this.opts()));
  }

  /** Merge patch of an Eip's finalizers, guarded by its resourceVersion. */
  async eipFinalizers(eip: EipObject, finalizers: string[]): Promise<EipObject> {
    return this.write('eip_metadata', () =>
      this.client.patchEip(eip.metadata.name, { metadata: { resourceVersion: eip.metadata.resourceVersion, finalizers } }, this.opts()),
    );
  }

  async getEip(name: string): Promise<EipObject> {
    return this.read('eip', () => this.client.getEip(name, this.opts()));
  }

  async listEips(): Promise<EipObject[]> {
    const r = await this.read('eips', () => this.client.listEips(this.opts(60_000)));
    return r.items ?? [];
  }
}
