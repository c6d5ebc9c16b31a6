// The informer caches' cost per object, full versus slim, on objects as the API server returns
// them (test/fixtures/kube: a Service created by `kubectl apply` and then written by the IPAM
// leader, and an EndpointSlice with three endpoints), and what each slim form keeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { V1EndpointSlice, V1Namespace, V1Node, V1Service } from '@kubernetes/client-node';
import { isOurKey, slimBgpObject, slimEndpointSlice, slimNamespace, slimNode, slimService } from '../../../src/kube/slim.ts';
import { nodeFactsFrom, nodeNicAnnotation, readyNodesByService, servicesWithIps } from '../../../src/speaker/layer2-inputs.ts';
import { toServiceRequest } from '../../../src/speaker/ipam-map.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/kube/${name}`, import.meta.url), 'utf8');
const serviceText = fixture('service.json');
const sliceText = fixture('endpointslice.json');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap bytes retained per object when `n` objects are parsed from `text` and kept through `keep`. */
function heapPerObject<T>(text: string, keep: (o: T) => unknown, n = 2000): number {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const held: unknown[] = [];
  for (let i = 0; i < n; i++) held.push(keep(JSON.parse(text) as T));
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  assert.equal(held.length, n);
  return (after - before) / n;
}

test('cache cost per object: Services and EndpointSlices keep only what the speaker reads', (t) => {
  const svcFull = heapPerObject<V1Service>(serviceText, (o) => o);
  const svcSlim = heapPerObject<V1Service>(serviceText, slimService);
  const epsFull = heapPerObject<V1EndpointSlice>(sliceText, (o) => o);
  const epsSlim = heapPerObject<V1EndpointSlice>(sliceText, slimEndpointSlice);
  t.diagnostic(`Service: ${svcFull.toFixed(0)} B full, ${svcSlim.toFixed(0)} B cached`);
  t.diagnostic(`EndpointSlice (3 endpoints): ${epsFull.toFixed(0)} B full, ${epsSlim.toFixed(0)} B cached`);
  t.diagnostic(`per Service (both): ${(svcFull + epsFull).toFixed(0)} B full, ${(svcSlim + epsSlim).toFixed(0)} B cached`);
  assert.ok(svcSlim < svcFull * 0.3, `Service slim ${svcSlim} vs full ${svcFull}`);
  assert.ok(epsSlim < epsFull * 0.25, `EndpointSlice slim ${epsSlim} vs full ${epsFull}`);
  // kubectl's last-applied-configuration annotation (often the biggest thing left once
  // managedFields is gone) is not read, so not kept: the same cost with or without it.
  const bare = JSON.parse(serviceText) as V1Service;
  delete bare.metadata!.annotations!['kubectl.kubernetes.io/last-applied-configuration'];
  const bareSlim = heapPerObject<V1Service>(JSON.stringify(bare), slimService);
  t.diagnostic(`Service without kubectl's annotation: ${bareSlim.toFixed(0)} B cached`);
  assert.ok(Math.abs(bareSlim - svcSlim) < 64, `with ${svcSlim} B, without ${bareSlim} B`);
  // Both caches together, per Service: within the 2 KB per Service goal with room for the rest.
  assert.ok(svcSlim + epsSlim < 1700, `cached bytes per Service ${svcSlim + epsSlim}`);
});

test('a slim Service keeps what IPAM and the controllers read, and the same decisions follow from it', () => {
  const full = JSON.parse(serviceText) as V1Service;
  full.spec!.loadBalancerIP = '192.0.2.10';
  full.spec!.loadBalancerClass = 'openelb.kubesphere.io/layer2';
  full.spec!.externalTrafficPolicy = 'Local';
  full.metadata!.labels!['app.kubernetes.io/name'] = 'web';
  full.metadata!.deletionTimestamp = new Date('2026-11-29T06:00:00Z') as never;
  full.status = { loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }, { hostname: 'lb.example' }] }, conditions: [{ type: 'x', status: 'True' } as never] };
  const slim = slimService(full);
  assert.equal(slim.metadata?.managedFields, undefined);
  assert.ok(full.metadata?.managedFields?.length, 'the input is not modified');
  assert.deepEqual(slim.metadata, {
    name: 'web',
    namespace: 'demo',
    uid: full.metadata!.uid,
    resourceVersion: '211',
    creationTimestamp: full.metadata!.creationTimestamp,
    deletionTimestamp: full.metadata!.deletionTimestamp,
    finalizers: ['finalizer.lb.kubesphere.io/v1alpha1'],
    labels: { 'eip.openelb.kubesphere.io/v1alpha2': 'eip-pool' },
    annotations: { 'eip.openelb.kubesphere.io/v1alpha2': 'eip-pool', 'lb.kubesphere.io/v1alpha1': 'openelb', 'openelb.kubesphere.io/announcer': 'node-1' },
  });
  assert.deepEqual(slim.status, { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } });
  assert.equal((slim.spec as Record<string, unknown>).selector, undefined);
  assert.equal(slim.spec?.clusterIP, undefined);
  // What the pure cores derive from a Service is the same from its slim form.
  // (The request carries the annotations along; the cores read only ours.)
  const ours = (r: ReturnType<typeof toServiceRequest>) => ({ ...r, annotations: Object.fromEntries(Object.entries(r.annotations ?? {}).filter(([k]) => isOurKey(k))) });
  assert.deepEqual(toServiceRequest(slim), ours(toServiceRequest(full)));
  delete full.metadata!.deletionTimestamp;
  delete slim.metadata!.deletionTimestamp;
  const oursOnly = (a: Record<string, string>) => Object.fromEntries(Object.entries(a).filter(([k]) => isOurKey(k)));
  assert.deepEqual(servicesWithIps([slim]), servicesWithIps([full]).map((v) => ({ ...v, annotations: oursOnly(v.annotations) })));
});

test('only the *.kubesphere.io label and annotation domains are ours', () => {
  for (const k of ['lb.kubesphere.io/v1alpha1', 'eip.openelb.kubesphere.io/v1alpha2', 'layer2.openelb.kubesphere.io/announcer-ipv6', 'kubesphere.io/x']) assert.ok(isOurKey(k), k);
  for (const k of ['kubectl.kubernetes.io/last-applied-configuration', 'notkubesphere.io/x', 'kubesphere.io', 'app', 'kubesphere.io.evil.com/x']) assert.ok(!isOurKey(k), k);
});

test('a slim EndpointSlice still says which nodes have ready endpoints', () => {
  const full = JSON.parse(sliceText) as V1EndpointSlice;
  const notReady = structuredClone(full);
  notReady.endpoints![1]!.conditions = { ready: false };
  for (const s of [full, notReady]) {
    assert.deepEqual(readyNodesByService([slimEndpointSlice(s)]), readyNodesByService([s]));
  }
  assert.deepEqual([...(readyNodesByService([slimEndpointSlice(notReady)]).get('demo/web') ?? [])], ['node-1', 'node-3']);
  assert.deepEqual(slimEndpointSlice(notReady).endpoints!.map((e) => e.nodeName), ['node-1', 'node-3']);
});

test('slim Nodes and Namespaces keep what the speaker reads of them', () => {
  const node: V1Node = {
    metadata: {
      name: 'node-1',
      resourceVersion: '7',
      labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' },
      annotations: { 'layer2.openelb.kubesphere.io/v1alpha1': '192.168.0.2' },
      managedFields: [{ manager: 'kubelet', operation: 'Update' }],
    },
    spec: { podCIDR: '10.244.1.0/24', providerID: 'x' },
    status: {
      conditions: [{ type: 'NetworkUnavailable', status: 'True', reason: 'NoRoute', message: 'long text', lastHeartbeatTime: new Date() }],
      images: [{ names: ['registry/image:tag'], sizeBytes: 1 }],
      nodeInfo: { architecture: 'amd64' } as never,
      addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '192.168.0.2' }, { type: 'ExternalIP', address: '203.0.113.2' }, { type: 'InternalIP', address: 'fd00::2' }],
    },
  };
  const slim = slimNode(node);
  // BGP's router id and next hops: the InternalIPs, in order, nothing else.
  assert.deepEqual(slim.status?.addresses, [{ type: 'InternalIP', address: '192.168.0.2' }, { type: 'InternalIP', address: 'fd00::2' }]);
  delete slim.status!.addresses;
  assert.deepEqual(nodeFactsFrom([slim]), nodeFactsFrom([node]));
  assert.equal(nodeNicAnnotation(slim), nodeNicAnnotation(node));
  assert.deepEqual(Object.keys(slim.status ?? {}), ['conditions']);
  assert.equal(slim.spec, undefined);
  const ns: V1Namespace = { metadata: { name: 'team-a', labels: { team: 'a' }, managedFields: [{}] }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
  assert.deepEqual(slimNamespace(ns), { metadata: { name: 'team-a', labels: { team: 'a' } } });
});

test('a slim BgpPeer/BgpConf keeps spec, conditions and only this node\'s status key', () => {
  const peer = {
    apiVersion: 'network.kubesphere.io/v1alpha2',
    kind: 'BgpPeer',
    metadata: { name: 'p', uid: 'u', resourceVersion: '7', generation: 2, creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{}], annotations: { big: 'x'.repeat(1000) } },
    spec: { conf: { peerAs: 65001, neighborAddress: '10.0.0.1' } },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      nodesPeerStatus: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`node-${i}`, { peerState: { sessionState: 'ESTABLISHED' } }])),
    },
  };
  const slim = slimBgpObject('node-7', 'nodesPeerStatus')(peer as never);
  assert.deepEqual(slim, {
    metadata: { name: 'p', uid: 'u', resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z', generation: 2 },
    spec: peer.spec,
    status: { conditions: peer.status.conditions, nodesPeerStatus: { 'node-7': { peerState: { sessionState: 'ESTABLISHED' } } } },
  });
  assert.deepEqual(slimBgpObject('node-x', 'nodesPeerStatus')(peer as never).status, { conditions: peer.status.conditions });
});
