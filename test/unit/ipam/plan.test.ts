import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileAll } from '../../../src/ipam/plan.ts';
import type { ServiceResult } from '../../../src/ipam/state.ts';
import { defaultEip, eip, EIP, IPANN, svc } from './helpers.ts';

function get(m: Map<string, ServiceResult>, k: string): ServiceResult {
  const r = m.get(k);
  assert.ok(r, `no result for ${k}`);
  return r;
}

test('seed walkthrough: layer2-eip 192.168.0.91-100, layer2-svc gets .91, status in OpenELB shape', () => {
  const out = reconcileAll({
    pools: [eip('layer2-eip', '192.168.0.91-192.168.0.100')],
    services: [svc('default/layer2-svc', {}, { [EIP]: 'layer2-eip', 'protocol.openelb.kubesphere.io/v1alpha1': 'layer2' })],
    namespaces: { default: {} },
  });
  const r = get(out.services, 'default/layer2-svc');
  assert.equal(r.state, 'assigned');
  assert.deepEqual(r.ips, ['192.168.0.91']);
  assert.equal(r.eip, 'layer2-eip');
  assert.deepEqual(r.event, { type: 'Normal', reason: 'AssignIP', message: 'Assigned 192.168.0.91 from Eip layer2-eip to Service default/layer2-svc' });
  assert.deepEqual(out.pools.get('layer2-eip'), {
    firstIP: '192.168.0.91',
    lastIP: '192.168.0.100',
    poolSize: 10,
    usage: 1,
    used: { '192.168.0.91': 'default/layer2-svc' },
    occupied: false,
    ready: true,
    v4: true,
    conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'Eip layer2-eip serves 192.168.0.91-192.168.0.100 (10 addresses) on layer2' }],
  });
});

test('pool choice: annotation, then requested IP pool, then namespace pools by priority, then default', () => {
  const pools = [
    eip('named', '10.1.0.0/28'),
    eip('holds', '10.2.0.0/28'),
    eip('ns-low', '10.3.0.0/28', { namespaces: ['team'], priority: 5 }),
    eip('ns-high', '10.4.0.0/28', { namespaces: ['team'], priority: 1 }),
    eip('ns-sel', '10.5.0.0/28', { namespaceSelector: { env: 'prod' }, priority: 3 }),
    defaultEip('def', '10.9.0.0/28'),
  ];
  const out = reconcileAll({
    pools,
    services: [
      svc('team/byname', { loadBalancerIP: '10.2.0.5' }, { [EIP]: 'named' }),
      svc('team/byip', { loadBalancerIP: '10.2.0.5' }),
      svc('team/auto'),
      svc('prodns/auto'),
      svc('other/auto'),
    ],
    namespaces: { team: {}, prodns: { env: 'prod' }, other: {} },
  });
  // annotation names "named" but requested IP is not inside it: refused, nothing else.
  const byname = get(out.services, 'team/byname');
  assert.equal(byname.state, 'failed');
  assert.equal(byname.failure?.reason, 'RequestedIPNotInEip');
  assert.deepEqual(get(out.services, 'team/byip').ips, ['10.2.0.5']);
  assert.equal(get(out.services, 'team/byip').eip, 'holds');
  assert.deepEqual(get(out.services, 'team/auto').ips, ['10.4.0.0'], 'priority 1 beats 5');
  assert.deepEqual(get(out.services, 'prodns/auto').ips, ['10.5.0.0'], 'selector match');
  assert.deepEqual(get(out.services, 'other/auto').ips, ['10.9.0.0'], 'default pool');
});

test('annotation alone picks the named pool even if it is not namespace-allowed', () => {
  const out = reconcileAll({ pools: [eip('p', '10.1.0.0/28', { namespaces: ['x'] })], services: [svc('y/s', {}, { [EIP]: 'p' })], namespaces: {} });
  assert.deepEqual(get(out.services, 'y/s').ips, ['10.1.0.0']);
});

test('priority ties break by name; unset priority is 0 and ranks first; a full pool is skipped', () => {
  const out = reconcileAll({
    pools: [eip('zz', '10.1.0.1', { namespaces: ['n'], priority: 2 }), eip('aa', '10.2.0.1', { namespaces: ['n'], priority: 2 }), eip('unset', '10.3.0.1', { namespaces: ['n'] })],
    services: [svc('n/a'), svc('n/b'), svc('n/c'), svc('n/d')],
    namespaces: { n: {} },
  });
  assert.deepEqual(['n/a', 'n/b', 'n/c'].map((k) => get(out.services, k).ips[0]), ['10.3.0.1', '10.2.0.1', '10.1.0.1']);
  const d = get(out.services, 'n/d');
  assert.equal(d.state, 'failed');
  assert.equal(d.failure?.reason, 'PoolExhausted');
  assert.match(d.failure?.message ?? '', /every IPv4 Eip for namespace n \(unset, aa, zz\) is full/);
});

test('no namespace pool and no default: pending with a message naming the fixes', () => {
  const out = reconcileAll({ pools: [eip('p', '10.1.0.0/28')], services: [svc('ns/s')], namespaces: { ns: {} } });
  const r = get(out.services, 'ns/s');
  assert.equal(r.state, 'failed');
  assert.equal(r.failure?.reason, 'NoPool');
  assert.match(r.failure?.message ?? '', /annotate the Service with eip\.openelb\.kubesphere\.io\/v1alpha2: <eip>.*is-default-eip: "true"/);
  assert.equal(r.event?.reason, 'AssignIPFailed');
  assert.equal(r.event?.type, 'Warning');
});

test('requested IP: annotation beats spec.loadBalancerIP', () => {
  const out = reconcileAll({ pools: [eip('p', '10.1.0.0/28')], services: [svc('ns/s', { loadBalancerIP: '10.1.0.3' }, { [IPANN]: '10.1.0.9' })], namespaces: {} });
  assert.deepEqual(get(out.services, 'ns/s').ips, ['10.1.0.9']);
});

test('requested IP outside every pool, wrong family, or garbage: refused, others unaffected', () => {
  const out = reconcileAll({
    pools: [eip('p', '10.1.0.0/28'), eip('p6', '2001:db8::/120')],
    services: [
      svc('ns/ok', { assigned: ['10.1.0.1'] }),
      svc('ns/outside', { loadBalancerIP: '10.7.7.7' }),
      svc('ns/family', { ipFamilies: ['IPv4'] }, { [IPANN]: '2001:db8::5' }),
      svc('ns/garbage', { loadBalancerIP: 'fe80::1%eth0' }),
      svc('ns/named-wrong-family', { ipFamilies: ['IPv6'] }, { [EIP]: 'p' }),
    ],
    namespaces: {},
  });
  assert.deepEqual(get(out.services, 'ns/ok').ips, ['10.1.0.1']);
  assert.equal(get(out.services, 'ns/ok').event, undefined, 'nothing changed for it, no event');
  const o = get(out.services, 'ns/outside');
  assert.equal(o.failure?.reason, 'RequestedIPNotInPool');
  assert.match(o.failure?.message ?? '', /ns\/outside requests 10\.7\.7\.7 \(spec\.loadBalancerIP\), which is in no Eip/);
  const f = get(out.services, 'ns/family');
  assert.equal(f.failure?.reason, 'FamilyMismatch');
  assert.match(f.failure?.message ?? '', /requests 2001:db8::5 \(IPv6, annotation eip\.openelb\.kubesphere\.io\/v1alpha1\) but its spec\.ipFamilies is \[IPv4\]/);
  assert.equal(get(out.services, 'ns/garbage').failure?.reason, 'InvalidRequestedIP');
  const nw = get(out.services, 'ns/named-wrong-family');
  assert.equal(nw.failure?.reason, 'FamilyMismatch');
  assert.match(nw.failure?.message ?? '', /needs an IPv6 address but annotation .* names no IPv6 Eip \(p is IPv4\)/);
  assert.equal(out.pools.get('p')?.usage, 1);
});

test('annotation naming a missing Eip is refused', () => {
  const out = reconcileAll({ pools: [], services: [svc('ns/s', {}, { [EIP]: 'nope' })], namespaces: {} });
  assert.equal(get(out.services, 'ns/s').failure?.reason, 'EipNotFound');
  assert.match(get(out.services, 'ns/s').failure?.message ?? '', /names Eip nope .* no such Eip: create it or fix the annotation/);
});

test('sharing: same requested IP with distinct ports shares; overlap or Local refuses the later', () => {
  const pools = [eip('p', '10.1.0.0/28')];
  const out = reconcileAll({
    pools,
    services: [
      svc('ns/a', { loadBalancerIP: '10.1.0.5', ports: [{ port: 80 }] }),
      svc('ns/b', { loadBalancerIP: '10.1.0.5', ports: [{ port: 443 }] }),
      svc('ns/c', { loadBalancerIP: '10.1.0.5', ports: [{ port: 80 }] }),
      svc('ns/d', { loadBalancerIP: '10.1.0.5', ports: [{ port: 8080 }], externalTrafficPolicy: 'Local' }),
      svc('ns/auto', {}, { [EIP]: 'p' }),
    ],
    namespaces: {},
  });
  assert.deepEqual(get(out.services, 'ns/b').ips, ['10.1.0.5']);
  const c = get(out.services, 'ns/c');
  assert.equal(c.failure?.reason, 'PortConflict');
  assert.match(c.failure?.message ?? '', /10\.1\.0\.5 is held by Service ns\/a, which already uses port 80\/TCP/);
  assert.equal(get(out.services, 'ns/d').failure?.reason, 'SharingLocalPolicy');
  assert.deepEqual(get(out.services, 'ns/auto').ips, ['10.1.0.0'], 'automatic allocation never lands on a used IP');
  const st = out.pools.get('p');
  assert.equal(st?.usage, 2);
  assert.deepEqual(st?.used, { '10.1.0.0': 'ns/auto', '10.1.0.5': 'ns/a;ns/b' });
});

test('overlap and two defaults are reported without moving existing IPs', () => {
  const old = defaultEip('old', '10.1.0.0/24');
  const dup = defaultEip('dup', '10.1.0.128/25');
  const out = reconcileAll({
    pools: [dup, old],
    services: [svc('ns/x', { assigned: ['10.1.0.200'], assignedEip: 'dup' }), svc('ns/new')],
    namespaces: {},
  });
  assert.deepEqual(get(out.services, 'ns/x').ips, ['10.1.0.200']);
  assert.equal(get(out.services, 'ns/x').eip, 'dup');
  assert.deepEqual(get(out.services, 'ns/new').ips, ['10.1.0.0']);
  const d = out.pools.get('dup');
  assert.equal(d?.ready, false);
  assert.equal(d?.conditions[0]?.reason, 'Overlap');
  assert.match(d?.conditions[0]?.message ?? '', /overlaps the older Eip old.*both marked eip\.openelb\.kubesphere\.io\/is-default-eip/);
  assert.deepEqual(d?.used, { '10.1.0.200': 'ns/x' }, 'existing allocation kept in the losing pool');
  assert.equal(out.pools.get('old')?.ready, true);
});

test('disable stops new allocations only', () => {
  const out = reconcileAll({
    pools: [eip('p', '10.1.0.0/28', { disable: true })],
    services: [svc('ns/old', { assigned: ['10.1.0.3'] }), svc('ns/new', {}, { [EIP]: 'p' })],
    namespaces: {},
  });
  assert.deepEqual(get(out.services, 'ns/old').ips, ['10.1.0.3']);
  const n = get(out.services, 'ns/new');
  assert.equal(n.failure?.reason, 'PoolNotUsable');
  assert.match(n.failure?.message ?? '', /spec\.disable: true: no new allocations, existing ones are kept; set disable: false/);
  assert.equal(out.pools.get('p')?.conditions[0]?.reason, 'Disabled');
  assert.equal(out.pools.get('p')?.usage, 1);
});

test('exhaustion then release: the freed address goes to the waiting Service', () => {
  const out = reconcileAll({ pools: [defaultEip('p', '10.1.0.1-10.1.0.2')], services: [svc('ns/a'), svc('ns/b'), svc('ns/c')], namespaces: {} });
  assert.deepEqual(['ns/a', 'ns/b'].map((k) => get(out.services, k).ips[0]), ['10.1.0.1', '10.1.0.2']);
  const c = get(out.services, 'ns/c');
  assert.equal(c.failure?.reason, 'PoolExhausted');
  assert.match(c.failure?.message ?? '', /Eip p \(10\.1\.0\.1-10\.1\.0\.2, 2 addresses\) has no free address/);
  assert.equal(out.pools.get('p')?.occupied, true);
  const st = out.state;
  assert.deepEqual(st.pendingKeys(), ['ns/c']);
  const rel = st.removeService('ns/a');
  assert.deepEqual(rel.released, ['10.1.0.1']);
  assert.equal(rel.event?.reason, 'ReleaseIP');
  const retried = st.retryPending();
  assert.equal(retried.length, 1);
  assert.deepEqual(retried[0]?.ips, ['10.1.0.1']);
  assert.equal(retried[0]?.event?.reason, 'AssignIP');
  assert.deepEqual(st.eipStatus('p')?.used, { '10.1.0.1': 'ns/c', '10.1.0.2': 'ns/b' });
  assert.deepEqual(st.takeDirtyEips(), ['p']);
  assert.deepEqual(st.takeDirtyEips(), []);
});

test('Eip being deleted keeps its allocations and says who holds them', () => {
  const out = reconcileAll({
    pools: [eip('p', '10.1.0.0/28', {}, { deletionRequested: true })],
    services: [svc('ns/a', { assigned: ['10.1.0.4'] }), svc('ns/b', {}, { [EIP]: 'p' })],
    namespaces: {},
  });
  assert.deepEqual(get(out.services, 'ns/a').ips, ['10.1.0.4']);
  assert.equal(get(out.services, 'ns/b').state, 'failed');
  const c = out.pools.get('p')?.conditions[0];
  assert.equal(c?.reason, 'Deleting');
  assert.match(c?.message ?? '', /still hold addresses from it \(ns\/a\): it is kept until they are deleted or moved/);
  assert.deepEqual(out.state.eipHolders('p'), ['ns/a']);
});

test('changed address with IPs in use outside: kept, AddressInUse reported', () => {
  const out = reconcileAll({
    pools: [eip('p', '10.1.0.0/29')],
    services: [svc('ns/a', { assigned: ['10.1.0.100'], assignedEip: 'p' }), svc('ns/b', {}, { [EIP]: 'p' })],
    namespaces: {},
  });
  assert.deepEqual(get(out.services, 'ns/a').ips, ['10.1.0.100']);
  assert.deepEqual(get(out.services, 'ns/b').ips, ['10.1.0.0']);
  const st = out.pools.get('p');
  assert.equal(st?.ready, true);
  assert.equal(st?.conditions[0]?.reason, 'AddressInUse');
  assert.match(st?.conditions[0]?.message ?? '', /10\.1\.0\.100 \(ns\/a\).*kept until released/);
  assert.equal(st?.usage, 2);
});

test('rebuild never re-draws: assigned IPs are kept even when a lower one is free or the pool is invalid now', () => {
  const out = reconcileAll({
    pools: [eip('p', '10.1.0.0/28'), eip('broken', 'garbage')],
    services: [svc('ns/a', { assigned: ['10.1.0.9'] }, { [EIP]: 'p' }), svc('ns/orphan', { assigned: ['10.200.0.1'], assignedEip: 'gone' })],
    namespaces: {},
  });
  const a = get(out.services, 'ns/a');
  assert.deepEqual(a.ips, ['10.1.0.9']);
  assert.equal(a.event, undefined);
  const o = get(out.services, 'ns/orphan');
  assert.deepEqual(o.ips, ['10.200.0.1']);
  assert.equal(o.warning?.reason, 'NotInPool');
  assert.equal(out.pools.get('broken')?.conditions[0]?.reason, 'InvalidAddress');
  assert.equal(out.pools.get('broken')?.poolSize, 0);
});

test('rebuild: two holders that may not share both keep the IP; the later gets a warning', () => {
  const out = reconcileAll({
    pools: [eip('p', '10.1.0.0/28')],
    services: [svc('ns/a', { assigned: ['10.1.0.1'] }), svc('ns/b', { assigned: ['10.1.0.1'] })],
    namespaces: {},
  });
  assert.deepEqual(get(out.services, 'ns/a').ips, ['10.1.0.1']);
  assert.deepEqual(get(out.services, 'ns/b').ips, ['10.1.0.1']);
  assert.equal(get(out.services, 'ns/b').warning?.reason, 'SharingConflict');
  assert.equal(get(out.services, 'ns/a').warning, undefined);
});

test('a Service changing its own request moves (new first), a failed move keeps the old IP', () => {
  const out = reconcileAll({ pools: [eip('p', '10.1.0.0/28')], services: [svc('ns/a', { assigned: ['10.1.0.1'], loadBalancerIP: '10.1.0.7' })], namespaces: {} });
  const a = get(out.services, 'ns/a');
  assert.deepEqual(a.ips, ['10.1.0.7']);
  assert.deepEqual(a.released, ['10.1.0.1']);
  const out2 = reconcileAll({ pools: [eip('p', '10.1.0.0/28')], services: [svc('ns/a', { assigned: ['10.1.0.1'], loadBalancerIP: '10.9.9.9' })], namespaces: {} });
  const b = get(out2.services, 'ns/a');
  assert.equal(b.state, 'failed');
  assert.deepEqual(b.ips, ['10.1.0.1']);
  assert.match(b.event?.message ?? '', /keeps 10\.1\.0\.1/);
  assert.equal(out2.pools.get('p')?.usage, 1);
});

test('a Service that stops being ours is released only if we managed it', () => {
  const out = reconcileAll({
    pools: [eip('p', '10.1.0.0/28')],
    services: [
      svc('ns/typechange', { type: 'ClusterIP', assigned: ['10.1.0.1'], managed: true }),
      svc('ns/other', { loadBalancerClass: 'metallb.io/x', assigned: ['10.1.0.2'] }),
    ],
    namespaces: {},
  });
  const t = get(out.services, 'ns/typechange');
  assert.equal(t.state, 'released');
  assert.deepEqual(t.released, ['10.1.0.1']);
  assert.equal(t.event?.reason, 'ReleaseIP');
  const o = get(out.services, 'ns/other');
  assert.equal(o.state, 'ignored');
  assert.equal(o.event, undefined);
  assert.equal(out.pools.get('p')?.usage, 0);
});

test('incremental: upsert with no change gives no second event; opt-out releases', () => {
  const { state } = reconcileAll({ pools: [defaultEip('p', '10.1.0.0/28')], services: [], namespaces: {} });
  const s = svc('ns/a');
  const r1 = state.upsertService(s);
  assert.deepEqual(r1.ips, ['10.1.0.0']);
  assert.equal(r1.event?.reason, 'AssignIP');
  const r2 = state.upsertService({ ...s, assigned: ['10.1.0.0'] });
  assert.deepEqual(r2.ips, ['10.1.0.0']);
  assert.equal(r2.event, undefined);
  const r3 = state.upsertService({ ...s, annotations: {}, managed: true });
  assert.equal(r3.state, 'released');
  assert.deepEqual(r3.released, ['10.1.0.0']);
  assert.equal(state.eipStatus('p')?.usage, 0);
});

test('incremental: disabling a pool via setEips keeps allocations; re-enabling serves pending', () => {
  const p = defaultEip('p', '10.1.0.0/28');
  const { state } = reconcileAll({ pools: [{ ...p, spec: { ...p.spec, disable: true } }], services: [svc('ns/a', { assigned: ['10.1.0.3'] }), svc('ns/b')], namespaces: {} });
  assert.deepEqual(state.pendingKeys(), ['ns/b']);
  state.setEips([p]);
  assert.deepEqual(state.eipStatus('p')?.used, { '10.1.0.3': 'ns/a' });
  const r = state.retryPending();
  assert.deepEqual(r[0]?.ips, ['10.1.0.0']);
});

test('namespace labels change via setNamespace', () => {
  const { state } = reconcileAll({ pools: [eip('p', '10.1.0.0/28', { namespaceSelector: { matchLabels: { lb: 'yes' } } })], services: [svc('ns/a')], namespaces: { ns: {} } });
  assert.deepEqual(state.pendingKeys(), ['ns/a']);
  state.setNamespace('ns', { lb: 'yes' });
  assert.deepEqual(state.retryPending()[0]?.ips, ['10.1.0.0']);
});

test('dual-stack: one address per family; Require fails without both, Prefer gives what exists', () => {
  const v4 = defaultEip('v4', '10.1.0.0/28');
  const v6 = defaultEip('v6', '2001:db8::/120');
  const both = reconcileAll({
    pools: [v4, v6],
    services: [svc('ns/req', { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'RequireDualStack' }), svc('ns/single6', { ipFamilies: ['IPv6'] })],
    namespaces: {},
  });
  const req = get(both.services, 'ns/req');
  assert.deepEqual(req.ips, ['2001:db8::', '10.1.0.0']);
  assert.deepEqual(req.eips, ['v6', 'v4']);
  assert.equal(req.eip, 'v6');
  assert.deepEqual(get(both.services, 'ns/single6').ips, ['2001:db8::1']);
  assert.equal(both.pools.get('v6')?.v4, false);

  const only4 = reconcileAll({
    pools: [v4],
    services: [svc('ns/req', { ipFamilyPolicy: 'RequireDualStack' }), svc('ns/pref', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'] })],
    namespaces: {},
  });
  const r = get(only4.services, 'ns/req');
  assert.equal(r.state, 'failed');
  assert.deepEqual(r.ips, []);
  assert.match(r.failure?.message ?? '', /no IPv6 Eip/);
  const p = get(only4.services, 'ns/pref');
  assert.equal(p.state, 'assigned');
  assert.deepEqual(p.ips, ['10.1.0.0']);
  assert.equal(p.warning?.reason, 'NoPool');
  assert.equal(only4.pools.get('v4')?.usage, 1, 'the failed RequireDualStack took nothing');
});

test('dual-stack: requested IP fixes one family, the other follows the chain; annotation may list one Eip per family', () => {
  const out = reconcileAll({
    pools: [eip('a4', '10.1.0.0/28'), eip('a6', '2001:db8::/120'), defaultEip('d6', '2001:db8:1::/120')],
    services: [
      svc('ns/x', { ipFamilyPolicy: 'RequireDualStack', loadBalancerIP: '10.1.0.9' }),
      svc('ns/y', { ipFamilyPolicy: 'RequireDualStack' }, { [EIP]: 'a4, a6' }),
    ],
    namespaces: {},
  });
  assert.deepEqual(get(out.services, 'ns/x').ips, ['10.1.0.9', '2001:db8:1::']);
  assert.deepEqual(get(out.services, 'ns/y').ips, ['10.1.0.0', '2001:db8::']);
});

test('dropping dual-stack releases the second family address', () => {
  const out = reconcileAll({
    pools: [defaultEip('v4', '10.1.0.0/28'), defaultEip('v6', '2001:db8::/120')],
    services: [svc('ns/a', { assigned: ['10.1.0.4', '2001:db8::4'], ipFamilyPolicy: 'SingleStack' })],
    namespaces: {},
  });
  const a = get(out.services, 'ns/a');
  assert.deepEqual(a.ips, ['10.1.0.4']);
  assert.deepEqual(a.released, ['2001:db8::4']);
  assert.equal(out.pools.get('v6')?.usage, 0);
});

test('IPv6 /64 pool: poolSize clamps to MAX_SAFE_INTEGER, allocation works', () => {
  const out = reconcileAll({ pools: [defaultEip('big', '2001:db8::/64')], services: [svc('ns/a', { ipFamilies: ['IPv6'] })], namespaces: {} });
  assert.deepEqual(get(out.services, 'ns/a').ips, ['2001:db8::']);
  const st = out.pools.get('big');
  assert.equal(st?.poolSize, Number.MAX_SAFE_INTEGER);
  assert.equal(st?.lastIP, '2001:db8::ffff:ffff:ffff:ffff');
  assert.equal(st?.occupied, false);
});

test('unsupported protocol (vip) pool is never allocated from, even by annotation', () => {
  const out = reconcileAll({ pools: [eip('v', '10.1.0.0/28', { protocol: 'vip' })], services: [svc('ns/a', {}, { [EIP]: 'v' })], namespaces: {} });
  const a = get(out.services, 'ns/a');
  assert.equal(a.failure?.reason, 'PoolNotUsable');
  assert.match(a.failure?.message ?? '', /protocol "vip", which openelb-ts does not serve/);
  assert.equal(out.pools.get('v')?.conditions[0]?.reason, 'UnsupportedProtocol');
});

test('bgp and empty-protocol Eips are served: allocation, Ready condition "on bgp"; pools shared with layer2', () => {
  const out = reconcileAll({
    pools: [eip('bgp-eip', '172.22.0.2-172.22.0.10', { protocol: '' }), eip('l2', '10.1.0.0/28'), eip('b2', '10.2.0.0/28', { protocol: 'bgp' })],
    services: [
      // Upstream's BGP walkthrough Service (step 6).
      svc('default/bgp-svc', {}, { [EIP]: 'bgp-eip', 'protocol.openelb.kubesphere.io/v1alpha1': 'bgp' }),
      svc('ns/l2', {}, { [EIP]: 'l2' }),
      svc('ns/b2', {}, { [EIP]: 'b2' }),
    ],
    namespaces: {},
  });
  assert.deepEqual(get(out.services, 'default/bgp-svc').ips, ['172.22.0.2']);
  assert.deepEqual(get(out.services, 'ns/l2').ips, ['10.1.0.0']);
  assert.deepEqual(get(out.services, 'ns/b2').ips, ['10.2.0.0']);
  assert.deepEqual(out.pools.get('bgp-eip')?.conditions[0], { type: 'Ready', status: 'True', reason: 'Ready', message: 'Eip bgp-eip serves 172.22.0.2-172.22.0.10 (9 addresses) on bgp' });
});

test('legacy protocol annotation: accepted and ignored, the Eip decides (SPEC.md §1)', () => {
  const P = 'protocol.openelb.kubesphere.io/v1alpha1';
  const pools = [
    eip('l2-team', '10.1.0.0/28', { namespaces: ['team'], priority: 1 }),
    eip('bgp-team', '10.2.0.0/28', { protocol: 'bgp', namespaces: ['team'], priority: 5 }),
    defaultEip('l2-default', '10.3.0.0/28'),
  ];
  const out = reconcileAll({
    pools,
    services: [
      svc('team/any', {}),
      svc('team/bgp', {}, { [P]: 'bgp' }), // priority wins, as without the annotation
      svc('other/bgp', {}, { [P]: 'bgp' }), // the layer2 default serves it
      svc('team/named', {}, { [P]: 'bgp', [EIP]: 'l2-team' }),
      svc('team/ip', {}, { [P]: 'layer2', [IPANN]: '10.2.0.9' }),
      svc('team/garbage', {}, { [P]: 'no-such-protocol' }),
    ],
    namespaces: { team: {}, other: {} },
  });
  assert.deepEqual(get(out.services, 'team/any').ips, ['10.1.0.0']);
  assert.deepEqual(get(out.services, 'team/bgp').ips, ['10.1.0.1']);
  assert.deepEqual(get(out.services, 'other/bgp').ips, ['10.3.0.0']);
  assert.deepEqual(get(out.services, 'team/named').ips, ['10.1.0.2']);
  assert.deepEqual(get(out.services, 'team/ip').ips, ['10.2.0.9']);
  assert.deepEqual(get(out.services, 'team/garbage').ips, ['10.1.0.3']);
  for (const k of ['team/any', 'team/bgp', 'other/bgp', 'team/named', 'team/ip', 'team/garbage']) assert.equal(get(out.services, k).failure, undefined, k);
});

test('legacy protocol annotation added later: an address already held is kept, never re-drawn', () => {
  const P = 'protocol.openelb.kubesphere.io/v1alpha1';
  const out = reconcileAll({
    pools: [eip('l2', '10.1.0.0/28', {}, { statusUsed: { '10.1.0.3': 'ns/a' } })],
    services: [svc('ns/a', { assigned: ['10.1.0.3'], assignedEip: 'l2', managed: true }, { [EIP]: 'l2', [P]: 'bgp' })],
    namespaces: {},
  });
  assert.deepEqual(get(out.services, 'ns/a').ips, ['10.1.0.3']);
});

test('drift between Eip status and Services is repaired towards the Services', () => {
  const p = eip('p', '10.1.0.0/28', {}, { statusUsed: { '10.1.0.1': 'ns/a', '10.1.0.2': 'ns/gone' } });
  const out = reconcileAll({ pools: [p], services: [svc('ns/a', { assigned: ['10.1.0.1'] })], namespaces: {} });
  assert.deepEqual(out.pools.get('p')?.used, { '10.1.0.1': 'ns/a' });
  assert.equal(out.repairs.length, 1);
  assert.deepEqual({ ...out.repairs[0], message: undefined }, { eip: 'p', ip: '10.1.0.2', statusSaid: 'ns/gone', servicesSay: '', message: undefined });
  assert.match(out.repairs[0]?.message ?? '', /10\.1\.0\.2 is used by ns\/gone, Services say nobody/);
});

test('a fresh allocation for a waiting Service is not a repair; an IP a Service shows but the Eip lacks is', () => {
  // ns/a shows 10.1.0.1, the Eip lists nothing: genuine drift. ns/b and ns/c wait for an address
  // and get one in this very plan: new allocations, not entries the Eip "did not list".
  const p = eip('p', '10.1.0.0/28', {}, { statusUsed: {}, annotations: { 'eip.openelb.kubesphere.io/is-default-eip': 'true' } });
  const out = reconcileAll({
    pools: [p],
    services: [svc('ns/a', { assigned: ['10.1.0.1'] }), svc('ns/b'), svc('ns/c')],
    namespaces: {},
  });
  assert.equal(out.services.get('ns/b')?.state, 'assigned');
  assert.equal(out.services.get('ns/c')?.state, 'assigned');
  assert.deepEqual(
    out.repairs.map((r) => (typeof r === 'string' ? r : `${r.eip} ${r.ip} said=${r.statusSaid} services=${r.servicesSay}`)),
    ['p 10.1.0.1 said= services=ns/a'],
  );
});

test('an Eip entry for a Service that opted out and still shows the IP is a release, not a repair', () => {
  const p = eip('p', '10.1.0.0/28', {}, { statusUsed: { '10.1.0.1': 'ns/a' } });
  const out = reconcileAll({ pools: [p], services: [svc('ns/a', { assigned: ['10.1.0.1'], managed: true, type: 'ClusterIP' })], namespaces: {} });
  assert.equal(out.services.get('ns/a')?.state, 'released');
  assert.deepEqual(out.repairs, []);
});

test('determinism: input order does not change the result; creation order decides', () => {
  const pools = [defaultEip('p', '10.1.0.0/28')];
  const services = Array.from({ length: 8 }, (_, i) => svc(`ns/s${i}`));
  const a = reconcileAll({ pools, services, namespaces: {} });
  const b = reconcileAll({ pools, services: [...services].reverse(), namespaces: {} });
  for (let i = 0; i < 8; i++) {
    assert.deepEqual(get(a.services, `ns/s${i}`).ips, [`10.1.0.${i}`]);
    assert.deepEqual(get(b.services, `ns/s${i}`), get(a.services, `ns/s${i}`));
  }
  assert.deepEqual(a.pools, b.pools);
});
