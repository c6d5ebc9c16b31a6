import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canShare } from '../../../src/ipam/sharing.ts';
import { isOurs, requestedIPTexts, wantedFamilies } from '../../../src/ipam/service-request.ts';
import { svc } from './helpers.ts';

test('isOurs: type LoadBalancer plus annotation or our class; any other class is never ours', () => {
  assert.equal(isOurs(svc('ns/a')), true);
  assert.equal(isOurs(svc('ns/a', { type: 'ClusterIP' })), false);
  assert.equal(isOurs(svc('ns/a', {}, { 'lb.kubesphere.io/v1alpha1': 'metallb' })), false);
  assert.equal(isOurs(svc('ns/a', { annotations: {}, loadBalancerClass: 'openelb.kubesphere.io/layer2' })), true);
  assert.equal(isOurs(svc('ns/a', { loadBalancerClass: 'metallb.io/metallb' })), false, 'other class wins over the annotation');
  assert.equal(isOurs(svc('ns/a', { annotations: {} })), false);
  assert.equal(isOurs(svc('ns/a', { deleting: true })), false);
});

test('requested IP: annotation wins over spec.loadBalancerIP', () => {
  assert.deepEqual(requestedIPTexts(svc('ns/a', { loadBalancerIP: '10.0.0.5' }, { 'eip.openelb.kubesphere.io/v1alpha1': '10.0.0.7' })).texts, ['10.0.0.7']);
  assert.deepEqual(requestedIPTexts(svc('ns/a', { loadBalancerIP: '10.0.0.5' })).texts, ['10.0.0.5']);
  assert.deepEqual(requestedIPTexts(svc('ns/a')).texts, []);
});

test('families: single-stack follows ipFamilies[0], dual-stack asks for both', () => {
  assert.deepEqual(wantedFamilies(svc('ns/a', { ipFamilies: ['IPv6'] }), []), { families: [6], requireAll: true });
  assert.deepEqual(wantedFamilies(svc('ns/a', { ipFamilies: [] }), []), { families: [4], requireAll: true });
  assert.deepEqual(wantedFamilies(svc('ns/a', { ipFamilies: [], ipFamilyPolicy: undefined }), [{ family: 6, value: 1n }]).families, [6]);
  assert.deepEqual(wantedFamilies(svc('ns/a', { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' }), []), { families: [6, 4], requireAll: false });
  assert.deepEqual(wantedFamilies(svc('ns/a', { ipFamilies: ['IPv4'], ipFamilyPolicy: 'RequireDualStack' }), []), { families: [4, 6], requireAll: true });
});

test('sharing: allowed when ports differ and all use Cluster', () => {
  const a = svc('ns/a', { ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] });
  const b = svc('ns/b', { ports: [{ port: 443, protocol: 'TCP' }, { port: 53, protocol: 'TCP' }] });
  assert.deepEqual(canShare('10.0.0.1', [a], b), { ok: true });
  assert.deepEqual(canShare('10.0.0.1', [], b), { ok: true });
});

test('sharing: refused on port overlap (protocol defaults to TCP), naming holder and port', () => {
  const a = svc('ns/a', { ports: [{ port: 80 }] });
  const b = svc('ns/b', { ports: [{ port: 80, protocol: 'TCP' }] });
  const v = canShare('10.0.0.1', [a], b);
  assert.equal(v.ok, false);
  if (v.ok) return;
  assert.equal(v.reason, 'PortConflict');
  assert.equal(v.message, '10.0.0.1 is held by Service ns/a, which already uses port 80/TCP: change the port of ns/b or request another IP');
});

test('sharing: refused when the candidate or a holder uses Local', () => {
  const a = svc('ns/a', { ports: [{ port: 80 }] });
  const local = svc('ns/b', { ports: [{ port: 81 }], externalTrafficPolicy: 'Local' });
  const v1 = canShare('10.0.0.1', [a], local);
  assert.equal(v1.ok ? '' : v1.reason, 'SharingLocalPolicy');
  assert.match(v1.ok ? '' : v1.message, /held by Service ns\/a; Service ns\/b uses externalTrafficPolicy: Local/);
  const v2 = canShare('10.0.0.1', [local], svc('ns/c', { ports: [{ port: 82 }] }));
  assert.match(v2.ok ? '' : v2.message, /held by Service ns\/b, which uses externalTrafficPolicy: Local/);
});
