// The pure BGP plan: BgpConf/BgpPeer + this node + Services -> PeerConfig[], RouteSpec[], findings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EipObject } from '../../../src/kube/client.ts';
import type { BgpNode, BgpObject } from '../../../src/speaker/bgp-config.ts';
import { bgpPlan, bgpRoutes, bgpWanted, type BgpPlanInput } from '../../../src/speaker/bgp-plan.ts';
import { matchSelector } from '../../../src/speaker/label-selector.ts';
import type { ServiceView } from '../../../src/speaker/layer2-inputs.ts';

let t = Date.parse('2026-01-01T00:00:00Z');
function obj(name: string, spec: unknown): BgpObject {
  t += 1000;
  return { metadata: { name, creationTimestamp: new Date(t).toISOString() }, spec };
}
const node = (labels: Record<string, string> = {}, internalIPs = ['192.168.0.3', 'fd00::3'], name = 'worker-p001'): BgpNode => ({ name, labels, internalIPs });
// Upstream's walkthrough (docs, steps 2-4).
const DOCS_CONF = obj('default', { as: 50000, listenPort: 17900, routerId: '192.168.0.2' });
const DOCS_PEER = obj('bgp-peer', { conf: { peerAs: 50001, neighborAddress: '192.168.0.5' } });
const BGP_EIP: EipObject = { metadata: { name: 'bgp-eip' }, spec: { address: '172.22.0.2-172.22.0.10' } };
const L2_EIP: EipObject = { metadata: { name: 'l2' }, spec: { address: '192.168.0.91-192.168.0.100', protocol: 'layer2' } };
const svc = (key: string, ips: string[], policy: 'Cluster' | 'Local' = 'Cluster', annotations: Record<string, string> = {}): ServiceView => {
  const [namespace, name] = key.split('/') as [string, string];
  return { key, namespace, name, externalTrafficPolicy: policy, ips, annotations };
};

function plan(over: Partial<BgpPlanInput> = {}) {
  return bgpPlan({ confs: [DOCS_CONF], peers: [DOCS_PEER], node: node(), services: [], eips: [BGP_EIP, L2_EIP], readyNodes: new Map(), ...over });
}

test('upstream walkthrough: one peer, the conf\'s AS and router id, listen on 17900', () => {
  const p = plan({ services: [svc('default/bgp-svc', ['172.22.0.2'])] });
  assert.deepEqual(p.global, { as: 50000, routerId: '192.168.0.2', listen: { port: 17900, addresses: [] }, families: undefined, gracefulRestart: undefined });
  assert.deepEqual(p.peers, [{ name: 'bgp-peer', neighborAddress: '192.168.0.5', peerAs: 50001, localAs: 50000, routerId: '192.168.0.2', families: ['ipv4-unicast'] }]);
  assert.deepEqual(p.routes, [{ prefix: '172.22.0.2/32' }]);
  assert.deepEqual(p.confStatus, { routerId: '192.168.0.2', as: 50000 });
  assert.deepEqual(p.findings, []);
  assert.deepEqual(p.nextHops, { 4: '192.168.0.3', 6: 'fd00::3' });
});

test('global config: router id, AS per rack, listen port and families (table)', () => {
  const cases: Array<{ what: string; spec: unknown; labels?: Record<string, string>; ips?: string[]; want: { as: number; routerId: string; port: number } | string }> = [
    { what: 'routerId empty -> the node\'s first IPv4 InternalIP', spec: { as: 65000 }, ips: ['fd00::3', '192.168.0.3', '10.0.0.3'], want: { as: 65000, routerId: '192.168.0.3', port: 179 } },
    { what: 'no IPv4 InternalIP and no routerId', spec: { as: 65000 }, ips: ['fd00::3'], want: 'NoRouterId' },
    { what: 'rack with an AS: that AS and the node\'s own address', spec: { as: 65000, routerId: '1.1.1.1', asPerRack: { leaf1: 65101 } }, labels: { 'openelb.kubesphere.io/rack': 'leaf1' }, want: { as: 65101, routerId: '192.168.0.3', port: 179 } },
    { what: 'rack without an entry: spec.as, still the node\'s address (upstream)', spec: { as: 65000, routerId: '1.1.1.1', asPerRack: { leaf2: 65102 } }, labels: { 'openelb.kubesphere.io/rack': 'leaf1' }, want: { as: 65000, routerId: '192.168.0.3', port: 179 } },
    { what: 'asPerRack but no rack label: spec.as and spec.routerId', spec: { as: 65000, routerId: '1.1.1.1', asPerRack: { leaf1: 65101 } }, want: { as: 65000, routerId: '1.1.1.1', port: 179 } },
    { what: 'only asPerRack, node in another rack', spec: { asPerRack: { leaf2: 65102 } }, labels: { 'openelb.kubesphere.io/rack': 'leaf1' }, want: 'NoAS' },
    { what: 'v1alpha1 spelling (router-id, port)', spec: { as: 65000, 'router-id': '192.168.0.2', port: 17900 }, want: { as: 65000, routerId: '192.168.0.2', port: 17900 } },
    { what: 'v1alpha1 routerID', spec: { as: 65000, routerID: '10.1.1.1' }, want: { as: 65000, routerId: '10.1.1.1', port: 179 } },
    { what: 'listenPort -1: do not listen', spec: { as: 65000, listenPort: -1 }, want: { as: 65000, routerId: '192.168.0.3', port: -1 } },
    { what: 'IPv6 router id (stored before validation)', spec: { as: 65000, routerId: '2001:db8::1' }, want: 'InvalidRouterId' },
    { what: '4-octet AS', spec: { as: 4200000000 }, want: { as: 4200000000, routerId: '192.168.0.3', port: 179 } },
  ];
  for (const c of cases) {
    const p = plan({ confs: [obj('default', c.spec)], node: node(c.labels ?? {}, c.ips ?? ['192.168.0.3']) });
    if (typeof c.want === 'string') {
      assert.equal(p.global, undefined, c.what);
      assert.deepEqual(p.peers, [], c.what);
      assert.ok(p.findings.some((f) => f.reason === c.want && f.severity === 'error' && f.message.startsWith('BgpConf default: ')), `${c.what}: ${JSON.stringify(p.findings)}`);
    } else {
      assert.deepEqual({ as: p.global?.as, routerId: p.global?.routerId, port: p.global?.listen.port }, c.want, c.what);
      assert.equal(p.peers[0]?.localAs, c.want.as, c.what);
      assert.equal(p.peers[0]?.routerId, c.want.routerId, c.what);
    }
  }
});

test('findings: no BgpConf default, other names ignored, policy not applied', () => {
  const none = plan({ confs: [obj('other', { as: 65000 })] });
  assert.deepEqual(none.peers, []);
  assert.deepEqual(none.findings.map((f) => [f.kind, f.name, f.reason, f.scope]), [
    ['BgpConf', 'other', 'NotDefault', 'object'],
    ['BgpPeer', 'bgp-peer', 'NoBgpConf', 'object'],
  ]);
  assert.match(none.findings[1]!.message, /^BgpPeer bgp-peer is not used: there is no BgpConf named default .* create one/);
  const policy = plan({ confs: [obj('default', { as: 65000, policy: 'my-policy', families: [65537, 99] })] });
  assert.deepEqual(policy.findings.map((f) => [f.reason, f.severity]), [['UnsupportedFamily', 'warning'], ['PolicyIgnored', 'warning']]);
  assert.deepEqual(policy.global?.families, ['ipv4-unicast']);
});

test('peers: every upstream field mapped (table)', () => {
  const cases: Array<{ what: string; spec: unknown; want: Record<string, unknown> }> = [
    { what: 'v1alpha1 kebab-case sample', spec: { config: { 'peer-as': 65001, 'neighbor-address': '192.168.0.6' }, 'add-paths': { config: { 'send-max': 10 } } }, want: { neighborAddress: '192.168.0.6', peerAs: 65001 } },
    { what: 'v1alpha1 config', spec: { config: { peerAs: 65001, neighborAddress: '192.168.0.6' } }, want: { neighborAddress: '192.168.0.6', peerAs: 65001 } },
    { what: 'timers (strings), passive, remote port, MD5, multihop, GR, adminDown, localAs', spec: {
      conf: { peerAs: 65001, neighborAddress: '10.9.0.1', authPassword: 's3cret', adminDown: true, localAs: 64512 },
      timers: { config: { holdTime: '9', keepaliveInterval: '3', connectRetry: '5' } },
      transport: { passiveMode: true, remotePort: 1790 },
      ebgpMultihop: { enabled: true, multihopTtl: 4 },
      gracefulRestart: { enabled: true, restartTime: 30 },
    }, want: { neighborAddress: '10.9.0.1', peerAs: 65001, localAs: 64512, holdTime: 9, keepaliveInterval: 3, connectRetry: 5, passive: true, remotePort: 1790, authPassword: 's3cret', ebgpMultihopTtl: 4, gracefulRestart: { restartTime: 30 }, adminDown: true } },
    { what: 'multihop enabled without TTL: 255; disabled: none', spec: { conf: { peerAs: 65001, neighborAddress: '10.9.0.1' }, ebgpMultihop: { enabled: true } }, want: { ebgpMultihopTtl: 255 } },
    { what: 'IPv6 neighbour: IPv6 unicast by default', spec: { conf: { peerAs: 65001, neighborAddress: '2001:db8::5' } }, want: { families: ['ipv6-unicast'] } },
    { what: 'afiSafis both families (docs form)', spec: { conf: { peerAs: 65001, neighborAddress: '10.9.0.1' }, afiSafis: [
      { config: { family: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' }, enabled: true }, addPaths: { config: { sendMax: 10 } } },
      { config: { family: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' }, enabled: true } },
    ] }, want: { families: ['ipv4-unicast', 'ipv6-unicast'] } },
    { what: 'afiSafis entry without config: the neighbour\'s family (upstream)', spec: { conf: { peerAs: 65001, neighborAddress: '10.9.0.1' }, afiSafis: [{ addPaths: { config: { sendMax: 10 } } }] }, want: { families: ['ipv4-unicast'] } },
  ];
  for (const c of cases) {
    const p = plan({ peers: [obj('p', c.spec)] });
    assert.equal(p.peers.length, 1, `${c.what}: ${JSON.stringify(p.findings)}`);
    const got = p.peers[0] as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k], v, `${c.what}: ${k}`);
  }
  // The BgpConf's graceful restart applies to peers without their own.
  const gr = plan({ confs: [obj('default', { as: 65000, gracefulRestart: { enabled: true } })] });
  assert.deepEqual(gr.peers[0]?.gracefulRestart, { restartTime: 120 });
});

test('peers: problems are findings naming the object and the fix (table)', () => {
  const cases: Array<{ what: string; spec: unknown; reason: string; scope: 'object' | 'node'; message: RegExp }> = [
    { what: 'no neighbour', spec: { conf: { peerAs: 65001 } }, reason: 'NoNeighborAddress', scope: 'object', message: /^BgpPeer bad: spec\.conf\.neighborAddress is missing: set it/ },
    { what: 'unnumbered', spec: { conf: { peerAs: 65001, neighborInterface: 'eth1' } }, reason: 'NeighborInterfaceNotServed', scope: 'object', message: /not served by openelb-ts: give the router's address/ },
    { what: 'bad address', spec: { conf: { peerAs: 65001, neighborAddress: '10.0.0.300' } }, reason: 'InvalidNeighborAddress', scope: 'object', message: /"10\.0\.0\.300" is not an IP address/ },
    { what: 'no peer AS', spec: { conf: { neighborAddress: '10.0.0.1' } }, reason: 'NoPeerAS', scope: 'object', message: /peerAs is missing/ },
    { what: 'only an unserved family', spec: { conf: { peerAs: 65001, neighborAddress: '10.0.0.1' }, afiSafis: [{ config: { family: { afi: 'AFI_L2VPN', safi: 'SAFI_EVPN' } } }] }, reason: 'NoFamily', scope: 'object', message: /enable AFI_IP and\/or AFI_IP6/ },
    { what: 'selector with a bad operator', spec: { conf: { peerAs: 65001, neighborAddress: '10.0.0.1' }, nodeSelector: { matchExpressions: [{ key: 'a', operator: 'Has' }] } }, reason: 'InvalidNodeSelector', scope: 'object', message: /uses operator "Has" .* so it selects no node/ },
    { what: 'neighbour is this node', spec: { conf: { peerAs: 65001, neighborAddress: '192.168.0.3' } }, reason: 'NeighborIsThisNode', scope: 'node', message: /address of node worker-p001 itself/ },
  ];
  for (const c of cases) {
    const p = plan({ peers: [obj('bad', c.spec)] });
    assert.deepEqual(p.peers, [], c.what);
    const f = p.findings.find((x) => x.reason === c.reason);
    assert.ok(f, `${c.what}: ${JSON.stringify(p.findings)}`);
    assert.equal(f.scope, c.scope, c.what);
    assert.match(f.message, c.message, c.what);
    assert.equal(p.notConfigured.has('bad'), c.scope === 'node', `${c.what}: only node-scoped problems go to this node's status entry`);
  }
});

test('peers: nodeSelector picks nodes; the older of two BgpPeers for one router wins on a node', () => {
  const rack1 = obj('rack1', { conf: { peerAs: 65001, neighborAddress: '10.0.0.1' }, nodeSelector: { matchLabels: { 'openelb.kubesphere.io/rack': 'leaf1' } } });
  const all = obj('all', { conf: { peerAs: 65002, neighborAddress: '10.0.0.2' } });
  const dup = obj('dup', { conf: { peerAs: 65002, neighborAddress: '10.0.0.2' } });
  const leaf1 = plan({ peers: [dup, rack1, all], node: node({ 'openelb.kubesphere.io/rack': 'leaf1' }) });
  assert.deepEqual(leaf1.peers.map((p) => p.name), ['all', 'rack1']);
  assert.equal(leaf1.findings.find((f) => f.reason === 'DuplicateNeighbor')?.name, 'dup');
  assert.match(leaf1.notConfigured.get('dup') ?? '', /already peers with 10\.0\.0\.2 through the older BgpPeer all/);
  const leaf2 = plan({ peers: [rack1, all], node: node({ 'openelb.kubesphere.io/rack': 'leaf2' }) });
  assert.deepEqual(leaf2.peers.map((p) => p.name), ['all']);
  assert.deepEqual(leaf2.findings, []);
});

test('a node where BgpConf default is unusable tells only the BgpPeers that select it', () => {
  const rack1 = obj('rack1', { conf: { peerAs: 65001, neighborAddress: '10.0.0.1' }, nodeSelector: { matchLabels: { rack: 'leaf1' } } });
  const everyNode = obj('every', { conf: { peerAs: 65002, neighborAddress: '10.0.0.2' } });
  const p = plan({ confs: [obj('default', { as: 65000 })], peers: [rack1, everyNode], node: node({ rack: 'leaf2' }, ['fd00::3']) });
  assert.equal(p.global, undefined);
  assert.deepEqual([...p.notConfigured.keys()], ['every']);
  assert.match(p.notConfigured.get('every') ?? '', /^BgpConf default is not usable on node worker-p001: BgpConf default: node worker-p001 has no IPv4 InternalIP/);
  // An object-level problem (the same on every node) is the object's condition, not every node's key.
  const bad = plan({ confs: [obj('default', { as: 65000, families: [99] })], peers: [everyNode] });
  assert.equal(bad.global, undefined);
  assert.deepEqual([...bad.notConfigured.keys()], []);
});

test('objects being deleted are gone: no peer, and no BgpConf default', () => {
  const deleting = (o: BgpObject): BgpObject => ({ ...o, metadata: { ...o.metadata, deletionTimestamp: '2026-01-02T00:00:00Z' } });
  assert.deepEqual(plan({ peers: [deleting(DOCS_PEER)] }).peers, []);
  const noConf = plan({ confs: [deleting(DOCS_CONF)] });
  assert.equal(noConf.global, undefined);
  assert.deepEqual(noConf.findings.map((f) => f.reason), ['NoBgpConf']);
});

test('label selector: matchLabels AND matchExpressions; {} matches all (table)', () => {
  const labels = { rack: 'leaf1', zone: 'a' };
  const cases: Array<[unknown, boolean | string]> = [
    [{}, true],
    [{ matchLabels: { rack: 'leaf1' } }, true],
    [{ matchLabels: { rack: 'leaf2' } }, false],
    [{ matchExpressions: [{ key: 'rack', operator: 'In', values: ['leaf1', 'leaf2'] }] }, true],
    [{ matchExpressions: [{ key: 'rack', operator: 'NotIn', values: ['leaf1'] }] }, false],
    [{ matchExpressions: [{ key: 'gpu', operator: 'NotIn', values: ['x'] }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, false],
    [{ matchLabels: { rack: 'leaf1' }, matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'In' }] }, 'without values'],
    [{ matchLabels: { rack: 1 } }, 'not a string'],
    ['rack=leaf1', 'not an object'],
  ];
  for (const [sel, want] of cases) {
    const r = matchSelector(sel, labels);
    if (typeof want === 'boolean') assert.deepEqual(r, { ok: true, matches: want }, JSON.stringify(sel));
    else assert.ok(!r.ok && r.problem.includes(want), `${JSON.stringify(sel)}: ${JSON.stringify(r)}`);
  }
});

test('routes: bgp Eips only; Cluster on every node, Local only with a ready endpoint here (table)', () => {
  const eips: EipObject[] = [BGP_EIP, L2_EIP, { metadata: { name: 'v6' }, spec: { address: '2001:db8::/120', protocol: 'bgp' } }, { metadata: { name: 'vip' }, spec: { address: '10.5.0.0/24', protocol: 'vip' } }];
  const ready = new Map([['ns/local', new Set(['worker-p001'])], ['ns/local-elsewhere', new Set(['worker-p002'])]]);
  const cases: Array<[string, ServiceView, string[]]> = [
    ['Cluster, bgp Eip (empty protocol)', svc('ns/a', ['172.22.0.2']), ['172.22.0.2/32']],
    ['layer2 Eip: never routed', svc('ns/b', ['192.168.0.91']), []],
    ['vip Eip: never routed', svc('ns/v', ['10.5.0.1']), []],
    ['IP in no Eip', svc('ns/c', ['10.77.0.1']), []],
    ['IPv6 bgp Eip: /128', svc('ns/d', ['2001:db8::a']), ['2001:db8::a/128']],
    ['dual-stack', svc('ns/e', ['172.22.0.3', '2001:db8::b']), ['172.22.0.3/32', '2001:db8::b/128']],
    ['Local with a ready endpoint here', svc('ns/local', ['172.22.0.4'], 'Local'), ['172.22.0.4/32']],
    ['Local with endpoints elsewhere only', svc('ns/local-elsewhere', ['172.22.0.5'], 'Local'), []],
    ['Local without endpoints', svc('ns/local-none', ['172.22.0.6'], 'Local'), []],
  ];
  for (const [what, s, want] of cases) {
    assert.deepEqual(bgpRoutes('worker-p001', [s], eips, ready).map((r) => r.prefix), want, what);
  }
  // Shared IP: announced once, if any Service holding it wants it here.
  const shared = bgpRoutes('worker-p001', [svc('ns/x', ['172.22.0.7'], 'Local'), svc('ns/y', ['172.22.0.7'])], eips, ready);
  assert.deepEqual(shared, [{ prefix: '172.22.0.7/32' }]);
  // A node excluded from load balancers announces nothing but keeps its sessions.
  const ex = plan({ services: [svc('ns/a', ['172.22.0.2'])], node: node({ 'node.kubernetes.io/exclude-from-external-load-balancers': '' }) });
  assert.deepEqual(ex.routes, []);
  assert.equal(ex.peers.length, 1);
});

test('bgpWanted: BgpConf or BgpPeer objects, or an Eip of protocol bgp or empty', () => {
  assert.equal(bgpWanted(0, 0, [L2_EIP]), false);
  assert.equal(bgpWanted(0, 0, [L2_EIP, { metadata: { name: 'v' }, spec: { address: '10.0.0.1', protocol: 'vip' } }]), false);
  assert.equal(bgpWanted(0, 0, [L2_EIP, BGP_EIP]), true);
  assert.equal(bgpWanted(1, 0, []), true);
  assert.equal(bgpWanted(0, 1, []), true);
});
