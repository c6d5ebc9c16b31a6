// The BgpConf and BgpPeer CRDs as a real API server serves them: upstream OpenELB's examples (the
// BGP walkthrough and configuration docs, config/samples in v1alpha1 and v1alpha2) apply unchanged
// with kubectl's default strict field validation, nothing written as v1alpha1 is lost when stored
// as v1alpha2, bad objects are rejected with a message that names the field and the fix, and the
// speaker's ServiceAccount can merge-patch its own node's key into status.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { controlPlane, uniqueName } from '../../scripts/kit/control-plane.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { DOCS_BGPCONF, DOCS_BGPPEER, DOCS_BGPPEER_FULL } from '../fixtures/openelb-bgp-docs.ts';

const cp = await controlPlane();
const created: string[] = [];
after(async () => {
  if (created.length) await cp.kubectl(['delete', '--ignore-not-found', '--wait=false', ...created]);
  await cp.stop();
});

async function apply(manifest: string, ...names: string[]) {
  created.push(...names);
  return cp.kubectl(['apply', '-f', '-'], { input: manifest });
}

// Upstream config/samples, verbatim (names changed only where two samples share one).
const SAMPLE_V1A1_BGPCONF = `apiVersion: network.kubesphere.io/v1alpha1
kind: BgpConf
metadata:
  name: bgpconf-sample
spec:
  # Add fields here
  as : 65000
  router-id : 192.168.0.2
  port: 17900

`;
const SAMPLE_V1A1_BGPPEER = `apiVersion: network.kubesphere.io/v1alpha1
kind: BgpPeer
metadata:
  name: bgppeer-sample-v1
spec:
  # Add fields here
  config:
    peer-as : 65001
    neighbor-address: 192.168.0.6
  add-paths:
    config:
      send-max: 10
`;
const SAMPLE_V1A1_BGPPEER_DOCKER = `apiVersion: network.kubesphere.io/v1alpha1
kind: BgpPeer
metadata:
  name: bgppeer-sample2
spec:
  conf:
    description: "测试用BGPPeer"
    peerAs: 65002
    neighborAddress: 192.168.98.8


`;
const SAMPLE_V1A2_BGPCONF = `apiVersion: network.kubesphere.io/v1alpha2
kind: BgpConf
metadata:
  #The porter only recognizes configurations with default names;
  #configurations with other names are ignored.
  name: default
spec:
  as: 50001
  listenPort: 17900
  #Modify the router id as you see fit, if it is not specified
  #then the porter will use the node ip as the router id.
  routerId: 172.22.0.10

`;
const SAMPLE_V1A2_BGPPEER = `apiVersion: network.kubesphere.io/v1alpha2
kind: BgpPeer
metadata:
  name: bgppeer-sample-v2
spec:
  conf:
    peerAs: 50000
    neighborAddress: 172.22.0.2
  #afiSafis:
  #  - config:
  #      family:
  #        afi: AFI_IP
  #        safi: SAFI_UNICAST
  #      enabled: true
  #    addPaths:
  #      config:
  #        sendMax: 10

`;

async function getJson(resource: string, version = 'v1alpha2'): Promise<{ spec: Record<string, unknown>; apiVersion: string }> {
  const r = await cp.kubectl(['get', `${resource.split('/')[0]}.${version}.network.kubesphere.io/${resource.split('/')[1]}`, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('upstream docs: BgpConf default and both BgpPeers apply unchanged; kubectl get shows the columns', async () => {
  for (const [m, name] of [[DOCS_BGPCONF, 'bgpconf/default'], [DOCS_BGPPEER, 'bgppeer/bgp-peer'], [DOCS_BGPPEER_FULL, 'bgppeer/bgppeer-sample']] as const) {
    const r = await apply(m, name);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
  }
  const conf = await getJson('bgpconf/default');
  assert.deepEqual(conf.spec, { as: 50000, listenPort: 17900, routerId: '192.168.0.2' });
  const peer = await getJson('bgppeer/bgppeer-sample');
  assert.deepEqual((peer.spec as { nodeSelector: unknown }).nodeSelector, { matchLabels: { 'openelb.kubesphere.io/rack': 'leaf1' } });
  assert.deepEqual((peer.spec as { afiSafis: unknown }).afiSafis, [
    { config: { family: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' }, enabled: true }, addPaths: { config: { sendMax: 10 } } },
  ]);
  const get = await cp.kubectl(['get', 'bgppeer', 'bgp-peer']);
  assert.equal(get.code, 0, get.stderr);
  const [header, row] = get.stdout.trimEnd().split('\n');
  assert.deepEqual(header?.split(/\s+/), ['NAME', 'NEIGHBOR', 'PEER-AS', 'READY', 'AGE']);
  assert.deepEqual(row?.split(/\s+/).slice(0, 3), ['bgp-peer', '192.168.0.5', '50001']);
  const gc = await cp.kubectl(['get', 'bgpconf', 'default']);
  assert.deepEqual(gc.stdout.split('\n')[0]?.split(/\s+/), ['NAME', 'AS', 'ROUTER-ID', 'LISTEN-PORT', 'READY', 'AGE']);
  const cat = await cp.kubectl(['get', 'networking', '-o', 'name']);
  assert.match(cat.stdout, /bgppeer\.network\.kubesphere\.io\/bgp-peer/);
});

test('upstream config/samples (v1alpha1 and v1alpha2) apply unchanged; v1alpha1 fields survive storage as v1alpha2', async () => {
  const samples = [
    [SAMPLE_V1A1_BGPCONF, 'bgpconf/bgpconf-sample'],
    [SAMPLE_V1A1_BGPPEER, 'bgppeer/bgppeer-sample-v1'],
    [SAMPLE_V1A1_BGPPEER_DOCKER, 'bgppeer/bgppeer-sample2'],
    [SAMPLE_V1A2_BGPCONF, 'bgpconf/default'],
    [SAMPLE_V1A2_BGPPEER, 'bgppeer/bgppeer-sample-v2'],
  ] as const;
  for (const [m, name] of samples) {
    const r = await apply(m, name);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
  }
  // Read back in the stored version: nothing pruned.
  assert.deepEqual((await getJson('bgpconf/bgpconf-sample')).spec, { as: 65000, 'router-id': '192.168.0.2', port: 17900 });
  assert.deepEqual((await getJson('bgppeer/bgppeer-sample-v1')).spec, {
    config: { 'peer-as': 65001, 'neighbor-address': '192.168.0.6' },
    'add-paths': { config: { 'send-max': 10 } },
  });
  const docker = await getJson('bgppeer/bgppeer-sample2', 'v1alpha1');
  assert.equal(docker.apiVersion, 'network.kubesphere.io/v1alpha1');
  assert.deepEqual(docker.spec, { conf: { description: '测试用BGPPeer', peerAs: 65002, neighborAddress: '192.168.98.8' } });
});

async function rejected(manifest: string): Promise<string> {
  const r = await cp.kubectl(['apply', '-f', '-'], { input: manifest });
  assert.notEqual(r.code, 0, `expected a rejection, got: ${r.stdout}`);
  return r.stderr;
}

const conf = (spec: string, name = uniqueName('bad')) => `apiVersion: network.kubesphere.io/v1alpha2\nkind: BgpConf\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const peer = (spec: string, name = uniqueName('bad')) => `apiVersion: network.kubesphere.io/v1alpha2\nkind: BgpPeer\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

test('invalid BgpConfs are rejected with a message naming the field and the fix', async () => {
  assert.match(await rejected(conf('  as: 0\n')), /spec\.as.*greater than or equal to 1/);
  assert.match(await rejected(conf('  as: 4294967296\n')), /spec\.as.*less than or equal to 4294967295/);
  assert.match(await rejected(conf('  listenPort: 179\n')), /spec\.as is required/);
  assert.match(await rejected(conf('  as: 65000\n  routerId: 2001:db8::1\n')), /spec\.routerId.*must be an IPv4 address/);
  assert.match(await rejected(conf('  as: 65000\n  routerId: router-1\n')), /spec\.routerId.*must be an IPv4 address/);
  assert.match(await rejected(conf('  as: 65000\n  listenPort: 0\n')), /spec\.listenPort.*must be -1 \(do not listen\) or a TCP port 1\.\.65535/);
  assert.match(await rejected(conf('  as: 65000\n  listenPort: 70000\n')), /spec\.listenPort/);
  assert.match(await rejected(conf('  as: 65000\n  listenAddresses: [10.0.0.1, not-an-ip]\n')), /spec\.listenAddresses\[1\].*must be an IP address/);
  assert.match(await rejected(conf('  as: 65000\n  asPerRack: {leaf1: 0}\n')), /spec\.asPerRack\.leaf1.*greater than or equal to 1/);
  assert.match(await rejected(conf('  as: 65000\n  gracefulRestart: {enabled: true, restartTime: 5000}\n')), /spec\.gracefulRestart\.restartTime.*4095/);
  // -1 (do not listen) and a 4-octet AS are fine.
  const name = uniqueName('ok');
  const r = await apply(conf('  as: 4200000000\n  listenPort: -1\n', name), `bgpconf/${name}`);
  assert.equal(r.code, 0, r.stderr);
});

test('invalid BgpPeers are rejected with a message naming the field and the fix', async () => {
  assert.match(await rejected(peer('  conf:\n    peerAs: 65001\n')), /spec\.conf\.neighborAddress is required/);
  assert.match(await rejected(peer('  conf:\n    neighborAddress: 192.168.0.5\n')), /spec\.conf\.peerAs is required/);
  assert.match(await rejected(peer('  conf:\n    neighborAddress: 192.168.0.300\n    peerAs: 65001\n')), /spec\.conf\.neighborAddress.*must be an IP address/);
  assert.match(await rejected(peer('  conf:\n    neighborAddress: fe80::1%eth0\n    peerAs: 65001\n')), /must be an IP address/);
  assert.match(await rejected(peer('  conf:\n    neighborAddress: 192.168.0.5\n    peerAs: 0\n')), /spec\.conf\.peerAs.*greater than or equal to 1/);
  assert.match(await rejected(peer(`  conf:\n    neighborAddress: 192.168.0.5\n    peerAs: 65001\n    authPassword: ${'x'.repeat(81)}\n`)), /spec\.conf\.authPassword.*80/);
  assert.match(await rejected(peer('  conf:\n    neighborAddress: 192.168.0.5\n    peerAs: 65001\n  timers:\n    config:\n      holdTime: "2"\n')), /spec\.timers\.config\.holdTime.*0 \(no keepalives\) or 3\.\.65535/);
  assert.match(await rejected(peer('  conf:\n    neighborAddress: 192.168.0.5\n    peerAs: 65001\n  timers:\n    config:\n      keepaliveInterval: "ten"\n')), /spec\.timers\.config\.keepaliveInterval.*whole number of seconds/);
  assert.match(await rejected(peer('  conf:\n    neighborAddress: 192.168.0.5\n    peerAs: 65001\n  transport:\n    remotePort: 0\n')), /spec\.transport\.remotePort/);
  assert.match(await rejected(peer('  conf:\n    neighborAddress: 192.168.0.5\n    peerAs: 65001\n  ebgpMultihop:\n    enabled: true\n    multihopTtl: 256\n')), /spec\.ebgpMultihop\.multihopTtl/);
  assert.match(await rejected(peer('  conf:\n    neighborAddress: 192.168.0.5\n    peerAs: 65001\n  nodeSelector:\n    matchExpressions:\n    - {key: rack, operator: In}\n')), /In and NotIn need values/);
  assert.match(await rejected(peer('  conf:\n    neighborAddress: 192.168.0.5\n    peerAs: 65001\n  nodeSelector:\n    matchExpressions:\n    - {key: rack, operator: Has}\n')), /operator.*supported values/);
  // IPv6 neighbours, passive mode and a selector with expressions are fine.
  const name = uniqueName('ok');
  const r = await apply(peer('  conf:\n    neighborAddress: 2001:db8::5\n    peerAs: 65001\n  transport:\n    passiveMode: true\n  nodeSelector:\n    matchExpressions:\n    - {key: rack, operator: Exists}\n', name), `bgppeer/${name}`);
  assert.equal(r.code, 0, r.stderr);
});

test('status: the speaker ServiceAccount merge-patches its own node key; other nodes\' keys stay', async () => {
  const name = uniqueName('status');
  assert.equal((await apply(peer('  conf:\n    neighborAddress: 192.168.0.7\n    peerAs: 65001\n', name), `bgppeer/${name}`)).code, 0);
  const speaker = new KubeClient(cp.speakerConfig());
  const path = `/apis/network.kubesphere.io/v1alpha2/bgppeers/${name}/status`;
  const entry = (node: string, state: string) => ({
    [node]: {
      peerState: { neighborAddress: '192.168.0.7', peerAs: 65001, localAs: 65000, sessionState: state, adminState: 'UP', messages: { received: { update: '3', total: '9' }, sent: { update: '1', total: '7' } } },
      timersState: { uptime: '2026-01-01T00:00:00Z', negotiatedHoldTime: '90' },
    },
  });
  try {
    await speaker.mergePatch(path, { status: { nodesPeerStatus: entry('node-a', 'ESTABLISHED') } });
    await speaker.mergePatch(path, { status: { nodesPeerStatus: entry('node-b', 'ACTIVE') } });
    const got = (await speaker.get<{ status: { nodesPeerStatus: Record<string, { peerState: { sessionState: string } }> } }>(`/apis/network.kubesphere.io/v1alpha2/bgppeers/${name}`).catch(() => undefined));
    // get is not granted to the speaker (it reads through its informer): read as admin.
    assert.equal(got, undefined);
    const adm = await getJson(`bgppeer/${name}`) as unknown as { status: { nodesPeerStatus: Record<string, { peerState: { sessionState: string }; timersState: { negotiatedHoldTime: string } }> } };
    assert.deepEqual(Object.keys(adm.status.nodesPeerStatus).sort(), ['node-a', 'node-b']);
    assert.equal(adm.status.nodesPeerStatus['node-a']?.peerState.sessionState, 'ESTABLISHED');
    assert.equal(adm.status.nodesPeerStatus['node-a']?.timersState.negotiatedHoldTime, '90');
    // A node drops only its own key.
    await speaker.mergePatch(path, { status: { nodesPeerStatus: { 'node-a': null } } });
    const after1 = await getJson(`bgppeer/${name}`) as unknown as { status: { nodesPeerStatus: Record<string, unknown> } };
    assert.deepEqual(Object.keys(after1.status.nodesPeerStatus), ['node-b']);
    const confName = uniqueName('status');
    assert.equal((await apply(conf('  as: 65000\n', confName), `bgpconf/${confName}`)).code, 0);
    await speaker.mergePatch(`/apis/network.kubesphere.io/v1alpha2/bgpconfs/${confName}/status`, { status: { nodesConfStatus: { 'node-a': { routerId: '10.0.0.1', as: 65000 } } } });
    const c = await getJson(`bgpconf/${confName}`) as unknown as { status: unknown };
    assert.deepEqual(c.status, { nodesConfStatus: { 'node-a': { routerId: '10.0.0.1', as: 65000 } } });
  } finally {
    speaker.close();
  }
});
