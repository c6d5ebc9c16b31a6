// One informer per resource per process, started on first use, so the IPAM controller and the
// Layer 2 reconcile loop read the same cache instead of each holding its own watch.
import type { KubernetesObject, V1EndpointSlice, V1Namespace, V1Node, V1Service } from '@kubernetes/client-node';
import type { EipObject, KubeClient } from '../kube/client.ts';
import type { BgpCachedObject } from '../kube/slim.ts';
import {
  type Informer,
  bgpInformer,
  endpointSliceInformer,
  eipInformer,
  namespaceInformer,
  nodeInformer,
  serviceInformer,
} from '../kube/informer.ts';

export type EipInformer = Informer<EipObject & KubernetesObject>;

export class SharedInformers {
  private readonly made = new Map<string, Informer<KubernetesObject>>();

  constructor(private readonly client: KubeClient, private readonly nodeName = '') {}

  services(): Informer<V1Service> {
    return this.once('services', () => serviceInformer(this.client));
  }
  eips(): EipInformer {
    return this.once('eips', () => eipInformer(this.client));
  }
  namespaces(): Informer<V1Namespace> {
    return this.once('namespaces', () => namespaceInformer(this.client));
  }
  nodes(): Informer<V1Node> {
    return this.once('nodes', () => nodeInformer(this.client));
  }
  endpointSlices(): Informer<V1EndpointSlice> {
    return this.once('endpointslices', () => endpointSliceInformer(this.client));
  }

  /** BgpConfs and BgpPeers (started only by the BGP controller), with only this node's status key. */
  bgpConfs(): Informer<BgpCachedObject> {
    return this.once('bgpconfs', () => bgpInformer(this.client, 'bgpconfs', this.nodeName));
  }
  bgpPeers(): Informer<BgpCachedObject> {
    return this.once('bgppeers', () => bgpInformer(this.client, 'bgppeers', this.nodeName));
  }

  /** Names of informers in use that have not listed yet (for /readyz). */
  unsynced(): string[] {
    return [...this.made].filter(([, i]) => !i.hasSynced).map(([name]) => name);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.made.values()].map((i) => i.stop()));
  }

  private once<T extends KubernetesObject>(name: string, make: () => Informer<T>): Informer<T> {
    let i = this.made.get(name) as Informer<T> | undefined;
    if (!i) {
      i = make();
      this.made.set(name, i as unknown as Informer<KubernetesObject>);
      i.start();
    }
    return i;
  }
}
