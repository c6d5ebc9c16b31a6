// The Layer 2 decisions, pure: API objects -> claims, NIC plan, owned set with probe flags, and the
// visibility writes (once per change, none in steady state, one writer for unowned IPs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { EipObject } from '../../../src/kube/client.ts';
import type { NicFacts } from '../../../src/l2/interfaces.ts';
import type { NicChoice } from '../../../src/speaker/nic-choice.ts';
import { type Election, electAll } from '../../../src/speaker/election.ts';
import {
  buildClaims,
  layer2Pools,
  nodeFactsFrom,
  nodeNicAnnotation,
  readyNodesByService,
  servicesWithIps,
} from '../../../src/speaker/layer2-inputs.ts';
import {
  ANNOUNCER_ANNOTATION,
  NO_ANNOUNCER,
  announcerAnnotationKey,
  desiredAnnouncements,
  electionMembers,
  isUnownedWriter,
  planNics,
  visibilityActions,
} from '../../../src/speaker/layer2-plan.ts';

const eip = (name: string, address: string, extra: Record<string, unknown> = {}): EipObject => ({
  metadata: { name },
  spec: { address, protocol: 'layer2', ...extra },
});

function svc(name: string, ips: string[], o: { policy?: 'Local' | 'Cluster'; eip?: string; ns?: string; annotations?: Record<string, string>; cls?: string; type?: string } = {}): V1Service {
  return {
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: `uid-${name}`,
      annotations: {
        ...(o.cls ? {} : { 'lb.kubesphere.io/v1alpha1': 'openelb' }),
        ...(o.eip ? { 'eip.openelb.kubesphere.io/v1alpha2': o.eip } : {}),
        ...(o.annotations ?? {}),
      },
    },
    spec: { type: o.type ?? 'LoadBalancer', externalTrafficPolicy: o.policy ?? 'Cluster', ...(o.cls ? { loadBalancerClass: o.cls } : {}) },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
  };
}

const slice = (svcName: string, eps: Array<{ node?: string; ready?: boolean }>, ns = 'default'): V1EndpointSlice => ({
  metadata: { name: `${svcName}-x`, namespace: ns, labels: { 'kubernetes.io/service-name': svcName } },
  addressType: 'IPv4',
  endpoints: eps.map((e, i) => ({
    addresses: [`10.244.0.${i + 1}`],
    ...(e.node ? { nodeName: e.node } : {}),
    ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }),
  })),
});

const node = (name: string, o: { labels?: Record<string, string>; annotations?: Record<string, string>; netUnavailable?: boolean } = {}): V1Node => ({
  metadata: { name, labels: o.labels ?? {}, annotations: o.annotations ?? {} },
  status: { conditions: o.netUnavailable ? [{ type: 'NetworkUnavailable', status: 'True' }] : [] },
});

const eth = (name: string, index: number, mac: string) => ({
  name, index, mac, up: true, adminUp: true, operstate: 'up', enslaved: false, loopback: false, noarp: false, type: 1,
});
// One node: eth0 on 192.168.0.0/24 and fd00:168::/64; kube-ipvs0 (NOARP).
const facts: NicFacts = {
  nics: [
    { ...eth('lo', 1, '00:00:00:00:00:00'), loopback: true, type: 772 },
    eth('eth0', 2, '52:54:22:a3:9a:d9'),
    { ...eth('kube-ipvs0', 3, '02:00:00:00:00:01'), noarp: true },
  ],
  routes: [
    { family: 4, dest: '192.168.0.0', prefixLen: 24, iface: 'eth0', metric: 0, flags: 1 /* RTF_UP */, network: 0xc0a80000n },
  ],
  addresses: [{ family: 4, ip: '192.168.0.2', iface: 'eth0', prefixLen: 24 }],
};

test('layer2Pools: only layer2 Eips with a valid address; bgp/default protocol and garbage skipped', () => {
  const pools = layer2Pools([
    eip('b', '192.168.0.91-192.168.0.100', { interface: 'eth0' }),
    eip('a', 'fd00:168::/120'),
    { metadata: { name: 'bgp' }, spec: { address: '10.0.0.0/24', protocol: 'bgp' } },
    { metadata: { name: 'default-proto' }, spec: { address: '10.0.1.0/24' } },
    eip('bad', '10.0.0.9-10.0.0.1'),
  ]);
  assert.deepEqual(pools.map((p) => [p.name, p.firstIp, p.family, p.interface]), [
    ['a', 'fd00:168::', 6, ''],
    ['b', '192.168.0.91', 4, 'eth0'],
  ]);
});

test('servicesWithIps: opt-in rule, canonical IPs, deleted and foreign-class Services skipped', () => {
  const deleting = svc('gone', ['192.168.0.95']);
  deleting.metadata!.deletionTimestamp = new Date();
  const views = servicesWithIps([
    svc('web', ['192.168.0.91', 'FD00:168:0::91']),
    svc('cls', ['192.168.0.92'], { cls: 'openelb.kubesphere.io/layer2' }),
    svc('other-class', ['192.168.0.93'], { cls: 'example.com/lb' }),
    svc('not-lb', ['192.168.0.94'], { type: 'ClusterIP' }),
    svc('pending', []),
    deleting,
  ]);
  assert.deepEqual(views.map((v) => [v.key, v.ips]), [
    ['default/web', ['192.168.0.91', 'fd00:168::91']],
    ['default/cls', ['192.168.0.92']],
  ]);
});

test('readyNodesByService: ready or unknown endpoints count, not-ready and node-less ones do not', () => {
  const r = readyNodesByService([
    slice('web', [{ node: 'n1' }, { node: 'n2', ready: false }, { node: 'n3', ready: true }, {}]),
    slice('web', [{ node: 'n4' }]),
    slice('db', [{ node: 'n1' }], 'other'),
  ]);
  assert.deepEqual([...(r.get('default/web') ?? [])].sort(), ['n1', 'n3', 'n4']);
  assert.deepEqual([...(r.get('other/db') ?? [])], ['n1']);
});

test('buildClaims: IP -> its layer2 Eip (the named one when pools overlap); shared IPs merge; IPs outside pools reported', () => {
  const pools = layer2Pools([eip('p1', '192.168.0.0/24'), eip('p2', '192.168.0.64/26')]);
  const services = servicesWithIps([
    svc('a', ['192.168.0.70'], { eip: 'p2' }),
    svc('b', ['192.168.0.70']),
    svc('local', ['192.168.0.10'], { policy: 'Local' }),
    svc('stray', ['10.9.9.9']),
  ]);
  const ready = readyNodesByService([slice('local', [{ node: 'n2' }])]);
  const c = buildClaims(services, pools, ready);
  assert.equal(c.eipOf.get('192.168.0.70'), 'p2');
  assert.equal(c.eipOf.get('192.168.0.10'), 'p1');
  assert.deepEqual(c.servicesOf.get('192.168.0.70')!.map((s) => s.key), ['default/a', 'default/b']);
  assert.deepEqual(c.unclaimed, [{ service: 'default/stray', ip: '10.9.9.9', reason: '10.9.9.9 is in no Eip with protocol layer2' }]);
  const local = c.claims.find((x) => x.ip === '192.168.0.10')!;
  assert.deepEqual([...(local.services[0]!.readyNodes ?? [])], ['n2']);

  // Local follows endpoints through the election.
  const members = ['n1', 'n2', 'n3'].map((n) => ({ node: n, cannotServe: new Set<string>() }));
  const nodes = nodeFactsFrom([node('n1'), node('n2'), node('n3')]);
  assert.equal(electAll(c.claims, members, nodes).get('192.168.0.10')?.node, 'n2');
  const moved = buildClaims(services, pools, readyNodesByService([slice('local', [{ node: 'n3' }])]));
  assert.equal(electAll(moved.claims, members, nodes).get('192.168.0.10')?.node, 'n3');
  const none = buildClaims(services, pools, new Map());
  const e = electAll(none.claims, members, nodes).get('192.168.0.10')!;
  assert.equal(e.node, undefined);
  assert.match((e as { reason: string }).reason, /no ready endpoint of default\/local/);
});

test('nodeFactsFrom and nodeNicAnnotation: exclude label (any value), NetworkUnavailable=True, NIC annotation', () => {
  const f = nodeFactsFrom([
    node('a', { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }),
    node('b', { netUnavailable: true }),
    node('c', { annotations: { 'layer2.openelb.kubesphere.io/v1alpha1': ' 192.168.0.2 ' } }),
  ]);
  assert.deepEqual([f.get('a')!.excluded, f.get('b')!.networkUnavailable, f.get('c')!.excluded], [true, true, false]);
  assert.equal(nodeNicAnnotation(node('c', { annotations: { 'layer2.openelb.kubesphere.io/v1alpha1': ' 192.168.0.2 ' } })), '192.168.0.2');
  assert.equal(nodeNicAnnotation(node('d')), undefined);
});

test('planNics: subnet and name choices; a missing NIC or a NOARP one lands in cannotServe', () => {
  const pools = layer2Pools([
    eip('subnet', '192.168.0.91-192.168.0.100'),
    eip('named', '192.168.0.91-192.168.0.100', { interface: 'eth0' }),
    eip('missing', '192.168.0.91-192.168.0.100', { interface: 'eth9' }),
    eip('ipvs', '192.168.0.91-192.168.0.100', { interface: 'kube-ipvs0' }),
    eip('elsewhere', '10.50.0.0/24'),
  ]);
  const plan = planNics(pools, facts, 'master1', undefined);
  assert.deepEqual(plan.cannotServe, ['elsewhere', 'ipvs', 'missing']);
  const ok = plan.byEip.get('subnet')!;
  assert.ok(ok.ok && ok.nic === 'eth0');
  const miss = plan.byEip.get('missing')!;
  assert.ok(!miss.ok && /eth9/.test(miss.message) && /master1/.test(miss.message));
  // The node annotation wins; an IP no NIC holds makes every Eip unservable here.
  const annotated = planNics(pools, facts, 'master1', '192.168.9.9');
  assert.deepEqual(annotated.cannotServe, ['elsewhere', 'ipvs', 'missing', 'named', 'subnet']);
});

test('electionMembers: our own cannot-serve set comes from the local plan, peers from their Leases', () => {
  const m = electionMembers(new Set(['b', 'a']), 'a', ['p1'], (n) => new Set(n === 'b' ? ['p2'] : ['stale']));
  assert.deepEqual(m.map((x) => [x.node, [...x.cannotServe]]), [['a', ['p1']], ['b', ['p2']]]);
});

const E = (ip: string, node: string | undefined): [string, Election] => [ip, node ? { ip, node } : { ip, node: undefined, reason: 'r' }];
const ok = { ok: true as const, nic: 'eth0', index: 2, mac: 'm', source: 'subnet' as const };

test('desiredAnnouncements: exact owned set; probe only for IPs nobody announced before, never on the first round or a takeover', () => {
  const elections = new Map([E('ip-new', 'me'), E('ip-takeover', 'me'), E('ip-was-none', 'me'), E('ip-mine', 'me'), E('ip-other', 'peer'), E('ip-nonic', 'me')]);
  const eipOf = new Map([...elections.keys()].map((ip) => [ip, ip === 'ip-nonic' ? 'bad' : 'pool']));
  const nics = new Map<string, NicChoice>([['pool', ok], ['bad', { ok: false, reason: 'NoInterface', message: 'x' }]]);
  const previous = new Map([E('ip-takeover', 'peer'), E('ip-was-none', undefined), E('ip-mine', 'me')]);
  const d = desiredAnnouncements({ self: 'me', elections, eipOf, nics, previous });
  assert.deepEqual(Object.fromEntries(d), {
    'ip-new': { nic: 'eth0', probe: true },
    'ip-takeover': { nic: 'eth0', probe: false },
    'ip-was-none': { nic: 'eth0', probe: true },
    'ip-mine': { nic: 'eth0', probe: false },
  });
  const first = desiredAnnouncements({ self: 'me', elections, eipOf, nics, previous: undefined });
  assert.ok([...first.values()].every((a) => a.probe === false));
});

test('visibilityActions: the answering owner writes `<node>/<nic>` once; steady state writes nothing', () => {
  const [web] = servicesWithIps([svc('web', ['192.168.0.91'])]);
  const elections = new Map([E('192.168.0.91', 'me')]);
  const servicesOf = new Map([['192.168.0.91', [web!]]]);
  const first = visibilityActions({ self: 'me', elections, servicesOf, answering: new Map([['192.168.0.91', 'eth0']]), unownedWriter: false });
  assert.equal(first.length, 1);
  assert.deepEqual([first[0]!.annotationKey, first[0]!.annotationValue, first[0]!.needsPatch, first[0]!.event.reason], [ANNOUNCER_ANNOTATION, 'me/eth0', true, 'nodeAssigned']);
  // Once the Service carries the value: nothing to do.
  const [written] = servicesWithIps([svc('web', ['192.168.0.91'], { annotations: { [ANNOUNCER_ANNOTATION]: 'me/eth0' } })]);
  const again = visibilityActions({ self: 'me', elections, servicesOf: new Map([['192.168.0.91', [written!]]]), answering: new Map([['192.168.0.91', 'eth0']]), unownedWriter: true });
  assert.deepEqual(again, []);
  // Still probing (not answering yet): nothing true to say.
  assert.deepEqual(visibilityActions({ self: 'me', elections, servicesOf, answering: new Map(), unownedWriter: false }), []);
  // Another node owns it: we never write about it.
  assert.deepEqual(visibilityActions({ self: 'me', elections: new Map([E('192.168.0.91', 'peer')]), servicesOf, answering: new Map(), unownedWriter: true }), []);
});

test('visibilityActions: IPs nobody may announce are reported by the single writer only', () => {
  const [web] = servicesWithIps([svc('web', ['192.168.0.91'])]);
  const elections = new Map<string, Election>([['192.168.0.91', { ip: '192.168.0.91', node: undefined, reason: 'no ready endpoint' }]]);
  const servicesOf = new Map([['192.168.0.91', [web!]]]);
  assert.deepEqual(visibilityActions({ self: 'b', elections, servicesOf, answering: new Map(), unownedWriter: false }), []);
  const w = visibilityActions({ self: 'a', elections, servicesOf, answering: new Map(), unownedWriter: true });
  assert.equal(w.length, 1);
  assert.equal(w[0]!.annotationValue, NO_ANNOUNCER);
  assert.equal(w[0]!.event.type, 'Warning');
  assert.match(w[0]!.event.message, /no node announces 192\.168\.0\.91: no ready endpoint/);
  assert.equal(isUnownedWriter('a', ['c', 'a', 'b']), true);
  assert.equal(isUnownedWriter('b', ['c', 'a', 'b']), false);
});

test('announcerAnnotationKey: first IP uses the plain key, the other family of a dual-stack Service its own', () => {
  const [dual] = servicesWithIps([svc('d', ['192.168.0.91', 'fd00:168::91'])]);
  assert.equal(announcerAnnotationKey(dual!, '192.168.0.91'), ANNOUNCER_ANNOTATION);
  assert.equal(announcerAnnotationKey(dual!, 'fd00:168::91'), `${ANNOUNCER_ANNOTATION}-ipv6`);
});
