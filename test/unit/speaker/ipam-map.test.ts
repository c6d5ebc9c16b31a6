import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import type { EipStatus, ServiceResult } from '../../../src/ipam/index.ts';
import type { EipObject } from '../../../src/kube/client.ts';
import {
  adoptions,
  desiredEipStatus,
  desiredServiceWrite,
  eipFinalizerChange,
  newerRV,
  serviceMetaPatch,
  serviceWriteNeeds,
  toEipInput,
  toServiceRequest,
} from '../../../src/speaker/ipam-map.ts';

const FIN = 'finalizer.lb.kubesphere.io/v1alpha1';
const LABEL = 'eip.openelb.kubesphere.io/v1alpha2';

function svc(name: string, o: { ips?: string[]; annotations?: Record<string, string>; finalizers?: string[]; labels?: Record<string, string>; cls?: string; deleting?: boolean } = {}): V1Service {
  return {
    metadata: {
      name,
      namespace: 'ns',
      resourceVersion: '10',
      creationTimestamp: new Date('2024-01-01T00:00:00Z'),
      annotations: o.annotations ?? { 'lb.kubesphere.io/v1alpha1': 'openelb' },
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], externalTrafficPolicy: 'Cluster', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', ...(o.cls ? { loadBalancerClass: o.cls } : {}) },
    status: { loadBalancer: { ingress: (o.ips ?? []).map((ip) => ({ ip })) } },
  };
}

function eip(name: string, used: Record<string, string>, extra: Partial<EipObject['metadata']> = {}): EipObject {
  return { metadata: { name, resourceVersion: '5', ...extra }, spec: { address: '10.0.0.0/28', protocol: 'layer2' }, status: { used } };
}

test('toServiceRequest: fields, canonical ingress IPs, managed from finalizer or label, reserved IPs appended', () => {
  const r = toServiceRequest(svc('a', { ips: ['2001:DB8::1', 'not-an-ip'], finalizers: [FIN] }), ['10.0.0.3', '2001:db8::1']);
  assert.equal(r.key, 'ns/a');
  assert.equal(r.creationTimestamp, '2024-01-01T00:00:00.000Z');
  assert.deepEqual(r.assigned, ['2001:db8::1', '10.0.0.3']);
  assert.equal(r.managed, true);
  assert.equal(r.deleting, false);
  assert.deepEqual(r.ports, [{ port: 80, protocol: 'TCP' }]);
  assert.equal(toServiceRequest(svc('b', { labels: { [LABEL]: 'e' } })).assignedEip, 'e');
  assert.equal(toServiceRequest(svc('b', { labels: { [LABEL]: 'e' } })).managed, true);
  assert.equal(toServiceRequest(svc('c')).managed, false);
  assert.equal(toServiceRequest(svc('d', { deleting: true })).deleting, true);
});

test('toEipInput: spec fields, deletion, status.used', () => {
  const e = toEipInput({ metadata: { name: 'e', deletionTimestamp: '2024-01-01T00:00:00Z', annotations: { x: 'y' } }, spec: { address: '10.0.0.0/30', protocol: 'layer2', disable: true, priority: 3, namespaces: ['a', 1] }, status: { used: { '10.0.0.1': 'ns/a', bad: 3 } } });
  assert.equal(e.deletionRequested, true);
  assert.deepEqual(e.spec, { address: '10.0.0.0/30', protocol: 'layer2', disable: true, priority: 3, namespaces: ['a'] });
  assert.deepEqual(e.statusUsed, { '10.0.0.1': 'ns/a' });
  assert.deepEqual(e.annotations, { x: 'y' });
});

test('adoptions: a committed entry for a live Service of ours that does not show it yet is completed', () => {
  const services = [svc('a'), svc('b', { ips: ['10.0.0.2'] }), svc('c', { annotations: {} }), svc('d'), svc('e')];
  const eips = [eip('p', { '10.0.0.1': 'ns/a', '10.0.0.2': 'ns/d', '10.0.0.3': 'ns/c', '10.0.0.4': 'ns/gone', '10.0.0.5': 'ns/e;ns/a' })];
  const got = adoptions(services, eips);
  // a: .1 and (shared) .5; e: .5. d's .2 is shown by b (status wins); c is not ours; gone is gone.
  assert.deepEqual(Object.fromEntries(got), { 'ns/a': ['10.0.0.1', '10.0.0.5'], 'ns/e': ['10.0.0.5'] });
});

const result = (state: ServiceResult['state'], ips: string[] = [], eipName = 'p'): ServiceResult => ({ key: 'ns/a', state, ips, eips: ips.map(() => eipName), eip: ips.length ? eipName : '', released: [] });

test('desiredServiceWrite: assigned, failed (keeps or leaves alone), released (deleting: finalizer only), ignored', () => {
  assert.deepEqual(desiredServiceWrite(result('assigned', ['10.0.0.1']), false), { ingress: ['10.0.0.1'], finalizer: true, label: 'p' });
  assert.deepEqual(desiredServiceWrite(result('failed', ['10.0.0.1']), false), { ingress: ['10.0.0.1'], finalizer: true, label: 'p' });
  assert.equal(desiredServiceWrite(result('failed'), false), undefined);
  assert.deepEqual(desiredServiceWrite(result('released'), false), { ingress: [], finalizer: false, label: null });
  assert.deepEqual(desiredServiceWrite(result('released'), true), { finalizer: false, label: null });
  assert.equal(desiredServiceWrite(result('ignored'), false), undefined);
});

test('serviceWriteNeeds and serviceMetaPatch: only what differs; other finalizers kept; guarded by resourceVersion', () => {
  const s = svc('a', { ips: ['10.0.0.1'], finalizers: ['other/f', FIN], labels: { [LABEL]: 'p' } });
  assert.deepEqual(serviceWriteNeeds(s, { ingress: ['10.0.0.1'], finalizer: true, label: 'p' }), { status: false, meta: false });
  assert.deepEqual(serviceWriteNeeds(s, { ingress: ['10.0.0.2'], finalizer: true, label: 'p' }), { status: true, meta: false });
  assert.deepEqual(serviceWriteNeeds(s, { finalizer: false, label: null }), { status: false, meta: true });
  assert.deepEqual(serviceMetaPatch(s, { finalizer: false, label: null }), { metadata: { resourceVersion: '10', finalizers: ['other/f'], labels: { [LABEL]: null } } });
  assert.deepEqual(serviceMetaPatch(svc('b'), { finalizer: true, label: 'q' }), { metadata: { resourceVersion: '10', finalizers: [FIN], labels: { [LABEL]: 'q' } } });
});

const status = (used: Record<string, string>, reason = 'Ready', st: 'True' | 'False' = 'True', message = 'ok'): EipStatus => ({
  firstIP: '10.0.0.0', lastIP: '10.0.0.15', poolSize: 16, usage: Object.keys(used).length, used, occupied: false, ready: st === 'True', v4: true,
  conditions: [{ type: 'Ready', status: st, reason, message }],
});

test('desiredEipStatus: no write when only key order differs; transition time kept; condition change reported once', () => {
  const t1 = new Date('2024-01-01T00:00:00Z');
  const t2 = new Date('2024-01-02T00:00:00Z');
  const e0 = eip('p', {}, { generation: 1 });
  e0.status = {};
  const first = desiredEipStatus(e0, status({ '10.0.0.2': 'ns/b', '10.0.0.10': 'ns/a' }), t1);
  assert.equal(first.write, true);
  assert.equal(first.conditionChanged?.reason, 'Ready');
  // The API server hands maps back with sorted keys: same content, no write, no event.
  const e1 = { ...e0, status: JSON.parse(JSON.stringify({ ...first.status, used: { '10.0.0.10': 'ns/a', '10.0.0.2': 'ns/b' } })) };
  const again = desiredEipStatus(e1, status({ '10.0.0.2': 'ns/b', '10.0.0.10': 'ns/a' }), t2);
  assert.equal(again.write, false);
  assert.equal(again.conditionChanged, undefined);
  // A usage change writes, but the condition (and its lastTransitionTime) stays.
  const more = desiredEipStatus(e1, status({ '10.0.0.2': 'ns/b' }), t2);
  assert.equal(more.write, true);
  assert.equal(more.conditionChanged, undefined);
  assert.equal((more.status.conditions as Array<{ lastTransitionTime: string }>)[0]?.lastTransitionTime, '2024-01-01T00:00:00Z');
  // A new reason is news.
  const bad = desiredEipStatus(e1, status({}, 'Overlap', 'False', 'overlaps q'), t2);
  assert.equal(bad.conditionChanged?.reason, 'Overlap');
  assert.equal(bad.conditionChanged?.lastTransitionTime, '2024-01-02T00:00:00Z');
});

test('eipFinalizerChange: add while holding, remove only when deleting and empty', () => {
  const fin = ['finalizer.ipam.kubesphere.io/v1alpha1'];
  assert.equal(eipFinalizerChange(eip('p', {}), 1), 'add');
  assert.equal(eipFinalizerChange(eip('p', {}, { finalizers: fin }), 1), undefined);
  assert.equal(eipFinalizerChange(eip('p', {}, { finalizers: fin }), 0), undefined);
  assert.equal(eipFinalizerChange(eip('p', {}, { finalizers: fin, deletionTimestamp: 'x' }), 0), 'remove');
  assert.equal(eipFinalizerChange(eip('p', {}, { finalizers: fin, deletionTimestamp: 'x' }), 2), undefined);
  assert.equal(eipFinalizerChange(eip('p', {}), 0), undefined);
});

test('newerRV: numeric comparison of etcd revisions, unknown forms count as newer', () => {
  assert.equal(newerRV('10', '9'), true);
  assert.equal(newerRV('9', '10'), false);
  assert.equal(newerRV('10', '10'), false);
  assert.equal(newerRV('123456789012345678901', '123456789012345678900'), true);
  assert.equal(newerRV('a', 'b'), true);
  assert.equal(newerRV('5', undefined), true);
  assert.equal(newerRV(undefined, '5'), false);
});
