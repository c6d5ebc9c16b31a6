// SPEC.md §1 / §3 IPAM rules that need the API server, against one speaker CLI process
// (`speaker --enable-layer2=false`, the speaker's ServiceAccount). Each test uses its own
// namespace and its own address block, and deletes its Services and Eips while the speaker runs.
import { type TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import { controlPlane, testNamespace, uniqueName, type ControlPlane } from '../../scripts/kit/control-plane.ts';
import {
  admin,
  cleanup,
  createEip,
  createService,
  eventsFor,
  getEip,
  getService,
  ips,
  sleep,
  startSpeaker,
  waitEvent,
  waitFor,
  waitIPs,
  waitLeader,
  type EipSpecIn,
  type SpeakerProcess,
  type SvcOpts,
} from '../../scripts/kit/ipam-helpers.ts';

let cp: ControlPlane;
let c: TypedKubeClient;
let speaker: SpeakerProcess;
// One /16 per run of this file, one /24 per test: no overlap with anything else in the cluster.
const B = `10.${randomInt(100, 250)}`;
let block = 0;

before(async () => {
  cp = await controlPlane();
  c = admin(cp);
  speaker = startSpeaker(cp, uniqueName('rules'));
  await waitLeader(c, speaker.node, 30_000, speaker);
});

after(async () => {
  await speaker.stop();
});

/** A test's world: a namespace, a /24, and what it created (deleted at the end, also on failure). */
async function world(t: { after(fn: () => Promise<void>): void }) {
  const ns = await testNamespace(cp, 'ipam-rules');
  const net = `${B}.${++block}`;
  const svcs: Array<[string, string]> = [];
  const eips: string[] = [];
  t.after(() => cleanup(c, svcs, eips));
  return {
    ns,
    net,
    eip: async (spec: EipSpecIn, annotations: Record<string, string> = {}) => {
      const name = uniqueName('eip');
      eips.push(name);
      await createEip(c, name, spec, annotations);
      return name;
    },
    svc: async (o: SvcOpts = {}, namespace = ns) => {
      const name = uniqueName('svc');
      svcs.push([namespace, name]);
      await createService(c, namespace, name, o);
      return name;
    },
    track: (namespace: string, name: string) => svcs.push([namespace, name]),
  };
}

const named = (eip: string) => ({ 'eip.openelb.kubesphere.io/v1alpha2': eip });
const wantIP = (ip: string) => ({ 'eip.openelb.kubesphere.io/v1alpha1': ip });

async function readyCondition(name: string) {
  const e = await getEip(c, name);
  return ((e?.status?.conditions ?? []) as Array<{ type: string; status: string; reason: string; message: string }>).find((x) => x.type === 'Ready');
}

async function waitCondition(name: string, reason: string) {
  return waitFor(`Eip ${name} Ready reason ${reason}`, async () => {
    const r = await readyCondition(name);
    return r?.reason === reason ? r : false;
  });
}

test('requested IP: by annotation, by spec.loadBalancerIP, and the annotation wins over spec.loadBalancerIP', async (t) => {
  const w = await world(t);
  await w.eip({ address: `${w.net}.0/28` });
  const a = await w.svc({ loadBalancerIP: `${w.net}.5` });
  const b = await w.svc({ annotations: wantIP(`${w.net}.7`), loadBalancerIP: `${w.net}.9` });
  await waitIPs(c, w.ns, a, [`${w.net}.5`]);
  await waitIPs(c, w.ns, b, [`${w.net}.7`]);
  // An IP outside every Eip is refused with an event that names it; nothing else moves.
  const out = await w.svc({ annotations: wantIP(`${B}.254.254`) });
  const ev = await waitEvent(c, w.ns, out, 'AssignIPFailed');
  assert.match(ev.message, new RegExp(`${B}\\.254\\.254.*in no Eip`));
  assert.deepEqual(ips(await getService(c, w.ns, out)), []);
  assert.deepEqual(ips(await getService(c, w.ns, a)), [`${w.net}.5`]);
});

test('pool choice: the annotation names the Eip; else namespace-allowed Eips by priority (lower wins); namespaceSelector', async (t) => {
  const w = await world(t);
  const named1 = await w.eip({ address: `${w.net}.0/28` });
  const low = await w.eip({ address: `${w.net}.16/28`, namespaces: [w.ns], priority: 5 });
  const high = await w.eip({ address: `${w.net}.32/28`, namespaces: [w.ns], priority: 1 });
  const a = await w.svc({ annotations: named(named1) });
  await waitIPs(c, w.ns, a, [`${w.net}.0`]);
  const b = await w.svc();
  await waitIPs(c, w.ns, b, [`${w.net}.32`]);
  const svcB = await getService(c, w.ns, b);
  assert.equal(svcB?.metadata?.labels?.['eip.openelb.kubesphere.io/v1alpha2'], high);
  // The pool that lost on priority gave nothing out: its status lists no address in use (a choice
  // by creation order or by name would have drawn from it, created before `high`).
  const lowStatus = await waitFor('the losing pool\'s status', async () => {
    const x = (await getEip(c, low))?.status as { used?: Record<string, string>; usage?: number; poolSize?: number } | undefined;
    return x?.poolSize !== undefined ? x : false;
  });
  assert.equal(lowStatus.usage ?? 0, 0, `Eip ${low} (priority 5) lost to priority 1: ${JSON.stringify(lowStatus)}`);
  assert.deepEqual(Object.keys(lowStatus.used ?? {}), []);

  // namespaceSelector: a labelled namespace draws from the pool that selects it.
  const team = uniqueName('team');
  const ns2 = await testNamespace(cp, 'ipam-sel');
  await c.core.patchNamespace({ name: ns2, body: { metadata: { labels: { team } } } }, (await import('../../scripts/kit/typed-client.ts')).mergePatchOptions());
  const sel = await w.eip({ address: `${w.net}.48/28`, namespaceSelector: { team } });
  const s = await w.svc({}, ns2);
  await waitIPs(c, ns2, s, [`${w.net}.48`]);
  assert.equal((await getService(c, ns2, s))?.metadata?.labels?.['eip.openelb.kubesphere.io/v1alpha2'], sel);
});

test('default pool: used when nothing else applies; a second default Eip is refused with a condition and event', async (t) => {
  const w = await world(t);
  const d1 = await w.eip({ address: `${w.net}.0/29` }, { 'eip.openelb.kubesphere.io/is-default-eip': 'true' });
  await sleep(1100); // creationTimestamp has 1 s resolution: make d2 clearly newer
  const d2 = await w.eip({ address: `${w.net}.8/29` }, { 'eip.openelb.kubesphere.io/is-default-eip': 'true' });
  // A warning, not a block: d2 still serves Services that name it, it is just not the default.
  const cond = await waitCondition(d2, 'MultipleDefaults');
  assert.equal(cond.status, 'True');
  assert.match(cond.message, new RegExp(d1));
  const ev = await waitEvent(c, 'default', d2, 'MultipleDefaults');
  assert.equal(ev.type, 'Warning');
  assert.equal((await readyCondition(d1))?.status, 'True');
  const s = await w.svc();
  await waitIPs(c, w.ns, s, [`${w.net}.0`]);
});

test('sharing: same IP for non-overlapping ports with Cluster policy; refused for overlapping ports or Local policy', async (t) => {
  const w = await world(t);
  const e = await w.eip({ address: `${w.net}.0/28` });
  const ip = `${w.net}.3`;
  const a = await w.svc({ annotations: wantIP(ip), ports: [{ port: 80 }] });
  await waitIPs(c, w.ns, a, [ip]);
  const b = await w.svc({ annotations: wantIP(ip), ports: [{ port: 443 }, { port: 53, protocol: 'UDP' }] });
  await waitIPs(c, w.ns, b, [ip]);
  const clash = await w.svc({ annotations: wantIP(ip), ports: [{ port: 80 }] });
  const ev = await waitEvent(c, w.ns, clash, 'AssignIPFailed');
  assert.match(ev.message, /80/);
  const local = await w.svc({ annotations: wantIP(ip), ports: [{ port: 8443 }], externalTrafficPolicy: 'Local' });
  const ev2 = await waitEvent(c, w.ns, local, 'AssignIPFailed');
  assert.match(ev2.message, /Local/);
  assert.deepEqual(ips(await getService(c, w.ns, clash)), []);
  assert.deepEqual(ips(await getService(c, w.ns, local)), []);
  const st = await waitFor('shared used entry', async () => {
    const x = (await getEip(c, e))?.status as { used?: Record<string, string>; usage?: number } | undefined;
    return x?.used?.[ip]?.includes(';') ? x : false;
  });
  assert.equal(st.used?.[ip], [`${w.ns}/${a}`, `${w.ns}/${b}`].sort().join(';'));
  assert.equal(st.usage, 1);
});

test('exhausted pool: the extra Service waits with AssignIPFailed; a release gives it the freed IP', async (t) => {
  const w = await world(t);
  const e = await w.eip({ address: `${w.net}.0/30` });
  const names: string[] = [];
  for (let i = 0; i < 4; i++) {
    names.push(await w.svc({ annotations: named(e) }));
    await sleep(20);
  }
  for (const [i, n] of names.entries()) await waitIPs(c, w.ns, n, [`${w.net}.${i}`]);
  const extra = await w.svc({ annotations: named(e) });
  const ev = await waitEvent(c, w.ns, extra, 'AssignIPFailed');
  assert.match(ev.message, /no free address/);
  const st = (await getEip(c, e))?.status as Record<string, unknown>;
  assert.equal(st.occupied, true);
  assert.equal(st.usage, 4);
  await c.core.deleteNamespacedService({ namespace: w.ns, name: names[2] as string });
  await waitIPs(c, w.ns, extra, [`${w.net}.2`]);
  await waitEvent(c, w.ns, names[2] as string, 'ReleaseIP');
  // The others never moved.
  for (const i of [0, 1, 3]) assert.deepEqual(ips(await getService(c, w.ns, names[i] as string)), [`${w.net}.${i}`]);
});

test('overlapping pools: the newer Eip is refused (Overlap), the older keeps serving', async (t) => {
  const w = await world(t);
  const older = await w.eip({ address: `${w.net}.0/28` });
  const a = await w.svc({ annotations: named(older) });
  await waitIPs(c, w.ns, a, [`${w.net}.0`]);
  await sleep(1100);
  const newer = await w.eip({ address: `${w.net}.8-${w.net}.20` });
  const cond = await waitCondition(newer, 'Overlap');
  assert.match(cond.message, new RegExp(older));
  await waitEvent(c, 'default', newer, 'Overlap');
  const b = await w.svc({ annotations: named(newer) });
  const ev = await waitEvent(c, w.ns, b, 'AssignIPFailed');
  assert.match(ev.message, new RegExp(newer));
  assert.equal((await readyCondition(older))?.status, 'True');
  assert.deepEqual(ips(await getService(c, w.ns, a)), [`${w.net}.0`]);
});

test('unsupported protocol (vip): condition and event; never allocated from', async (t) => {
  const w = await world(t);
  const vip = await w.eip({ address: `${w.net}.0/28`, protocol: 'vip' });
  const cond = await waitCondition(vip, 'UnsupportedProtocol');
  assert.equal(cond.status, 'False');
  assert.match(cond.message, /layer2 and bgp/);
  const s = await w.svc({ annotations: named(vip) });
  await waitEvent(c, w.ns, s, 'AssignIPFailed');
  assert.deepEqual(ips(await getService(c, w.ns, s)), []);
});

test('bgp and empty-protocol Eips are served; the legacy protocol annotation is accepted and ignored', async (t) => {
  const w = await world(t);
  const bgp = await w.eip({ address: `${w.net}.0/29`, protocol: 'bgp' });
  const empty = await w.eip({ address: `${w.net}.8/29`, protocol: '' });
  const l2 = await w.eip({ address: `${w.net}.16/29` });
  assert.equal((await waitCondition(bgp, 'Ready')).status, 'True');
  assert.equal((await waitCondition(empty, 'Ready')).status, 'True');
  // Upstream's walkthrough Service: protocol annotation bgp + the Eip by name.
  const a = await w.svc({ annotations: { ...named(bgp), 'protocol.openelb.kubesphere.io/v1alpha1': 'bgp' } });
  const b = await w.svc({ annotations: named(empty) });
  await waitIPs(c, w.ns, a, [`${w.net}.0`]);
  await waitIPs(c, w.ns, b, [`${w.net}.8`]);
  // The Eip's protocol decides (SPEC.md §1): annotated bgp, named a layer2 Eip, served from it.
  const m = await w.svc({ annotations: { ...named(l2), 'protocol.openelb.kubesphere.io/v1alpha1': 'bgp' } });
  await waitIPs(c, w.ns, m, [`${w.net}.16`]);
});

test('disable: true stops new allocations only', async (t) => {
  const w = await world(t);
  const e = await w.eip({ address: `${w.net}.0/28` });
  const a = await w.svc({ annotations: named(e) });
  await waitIPs(c, w.ns, a, [`${w.net}.0`]);
  await c.custom.patchClusterCustomObject(
    { group: 'network.kubesphere.io', version: 'v1alpha2', plural: 'eips', name: e, body: { spec: { disable: true } } },
    (await import('../../scripts/kit/typed-client.ts')).mergePatchOptions(),
  );
  await waitCondition(e, 'Disabled');
  const b = await w.svc({ annotations: named(e) });
  await waitEvent(c, w.ns, b, 'AssignIPFailed');
  assert.deepEqual(ips(await getService(c, w.ns, a)), [`${w.net}.0`]);
});

test('not ours: another loadBalancerClass, no opt-in, or not a LoadBalancer is never touched; our class opts in', async (t) => {
  const w = await world(t);
  await w.eip({ address: `${w.net}.0/28`, namespaces: [w.ns] });
  const other = await w.svc({ loadBalancerClass: 'example.com/other' });
  const plain = await w.svc({ noOptIn: true });
  const ours = await w.svc({ noOptIn: true, loadBalancerClass: 'openelb.kubesphere.io/layer2' });
  await waitIPs(c, w.ns, ours, [`${w.net}.0`]);
  await sleep(500);
  for (const n of [other, plain]) {
    const s = await getService(c, w.ns, n);
    assert.deepEqual(ips(s), [], n);
    assert.equal(s?.metadata?.finalizers, undefined, n);
    assert.equal(s?.metadata?.labels?.['eip.openelb.kubesphere.io/v1alpha2'], undefined, n);
    assert.deepEqual(await eventsFor(c, w.ns, n), [], n);
  }
});

test('type change away from LoadBalancer releases the IP (ReleaseIP, finalizer and label removed)', async (t) => {
  const w = await world(t);
  await w.eip({ address: `${w.net}.0/28`, namespaces: [w.ns] });
  const s = await w.svc();
  await waitIPs(c, w.ns, s, [`${w.net}.0`]);
  await c.core.patchNamespacedService(
    { namespace: w.ns, name: s, body: { spec: { type: 'ClusterIP', externalTrafficPolicy: null, ports: [{ name: 'p0', port: 80, targetPort: 8080, nodePort: null }] } } },
    (await import('../../scripts/kit/typed-client.ts')).mergePatchOptions(),
  );
  await waitEvent(c, w.ns, s, 'ReleaseIP');
  const got = await waitFor('finalizer removed', async () => {
    const x = await getService(c, w.ns, s);
    return x?.metadata?.finalizers === undefined || x.metadata.finalizers.length === 0 ? x : false;
  });
  assert.deepEqual(ips(got), []);
  assert.equal(got.metadata?.labels?.['eip.openelb.kubesphere.io/v1alpha2'], undefined);
  // And the IP is free again.
  const next = await w.svc();
  await waitIPs(c, w.ns, next, [`${w.net}.0`]);
});

test('family mismatch: an IPv6 request on an IPv4-only Service is refused with an event', async (t) => {
  const w = await world(t);
  const v6 = `fd00:${randomInt(1, 0xffff).toString(16)}::`;
  await w.eip({ address: `${v6}/120` });
  const s = await w.svc({ annotations: wantIP(`${v6}5`), ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' });
  const ev = await waitEvent(c, w.ns, s, 'AssignIPFailed');
  assert.match(ev.message, /IPv6.*ipFamilies/);
  assert.deepEqual(ips(await getService(c, w.ns, s)), []);
});

test('dual-stack: a PreferDualStack Service gets one IPv4 and one IPv6 address, each from a pool of its family', async (t) => {
  const w = await world(t);
  const v6 = `fd00:${randomInt(1, 0xffff).toString(16)}::`;
  await w.eip({ address: `${w.net}.0/28`, namespaces: [w.ns] });
  await w.eip({ address: `${v6}/120`, namespaces: [w.ns] });
  const s = await w.svc({ ipFamilyPolicy: 'PreferDualStack' });
  const got = await waitIPs(c, w.ns, s, (x) => x.length === 2);
  assert.deepEqual(got, [`${w.net}.0`, `${v6}`]);
});
