// The informer against a real kube-apiserver, as the speaker's ServiceAccount, reached through a
// loopback TCP proxy so the connection can be cut and the API made unreachable. What must hold:
// it sees creates/updates/deletes, coalesces bursts, survives cuts and outages by itself, keeps
// its last good cache while the API is away (fail-static), and catches up afterwards.
import { TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';

import { Informer, eipInformer, serviceInformer } from '../../src/kube/informer.ts';
import { isConflict } from '../../src/kube/errors.ts';
import { controlPlane, testNamespace, uniqueName } from '../../scripts/kit/control-plane.ts';
import { TcpProxy, serverAddress, viaProxy } from '../../scripts/kit/tcp-proxy.ts';

const cp = await controlPlane();
after(() => cp.stop());
const admin = new TypedKubeClient(cp.adminConfig());
const fastBackoff = { initialMs: 50, maxMs: 400, factor: 2, jitter: 0.1 };

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

function lbService(ns: string, name: string, labels: Record<string, string> = {}): V1Service {
  return {
    metadata: { name, namespace: ns, labels, annotations: { 'lb.kubesphere.io/v1alpha1': 'openelb' } },
    spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
  };
}

/** The speaker's ServiceAccount, reaching the API server only through a loopback TCP proxy. */
async function speakerViaProxy(t: { after(fn: () => unknown): void }): Promise<{ proxy: TcpProxy; speaker: TypedKubeClient }> {
  const { host, port } = serverAddress(cp.speakerConfig());
  const proxy = await TcpProxy.start(host, port);
  t.after(() => proxy.close());
  return { proxy, speaker: new TypedKubeClient(viaProxy(cp.speakerConfig(), proxy)) };
}

const names = (inf: Informer<V1Service>, ns: string) =>
  inf
    .list(ns)
    .map((s) => s.metadata?.name ?? '')
    .sort();

test('service informer (speaker SA via proxy): create/update/delete, coalesced bursts, survives cuts and outages with its cache intact', async (t) => {
  const ns = await testNamespace(cp);
  const { proxy, speaker } = await speakerViaProxy(t);
  const inf = serviceInformer(speaker, { backoff: fastBackoff, debounceMs: 100 });
  t.after(() => inf.stop());
  let changes = 0;
  inf.onChange(() => changes++);
  const statuses: boolean[] = [];
  inf.onStatus((s) => statuses.push(s.connected));

  await admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, 'pre-existing') });
  assert.equal(inf.hasSynced, false);
  inf.start();
  await inf.whenSynced(AbortSignal.timeout(10_000));
  assert.equal(inf.hasSynced, true);
  assert.equal(inf.connected, true);
  assert.deepEqual(names(inf, ns), ['pre-existing'], 'initial list is in the cache at sync');
  // The list result is stored as plain JSON, like watch events (no Date objects).
  assert.equal(typeof inf.get(`${ns}/pre-existing`)?.metadata?.creationTimestamp, 'string');
  assert.equal(inf.get(`${ns}/pre-existing`)?.kind, 'Service', 'listed items get kind like watched ones');
  assert.equal(inf.get(`${ns}/pre-existing`)?.apiVersion, 'v1');
  await waitFor(() => changes >= 1, 2000, 'onChange after sync');

  // create / update / delete
  await admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, 'a') });
  await waitFor(() => inf.get(`${ns}/a`) !== undefined, 5000, 'create seen');
  // (A label the speaker reads: the cache keeps only the *.kubesphere.io ones, src/kube/slim.ts.)
  const label = 'eip.openelb.kubesphere.io/v1alpha2';
  await admin.patchService(ns, 'a', { metadata: { labels: { [label]: 'blue', color: 'blue' } } });
  await waitFor(() => inf.get(`${ns}/a`)?.metadata?.labels?.[label] === 'blue', 5000, 'update seen');
  assert.equal(inf.get(`${ns}/a`)?.metadata?.labels?.color, undefined, 'a label nobody reads is not cached');
  await admin.core.deleteNamespacedService({ namespace: ns, name: 'a' });
  await waitFor(() => inf.get(`${ns}/a`) === undefined, 5000, 'delete seen');

  // A burst of 10 creates is a handful of onChange calls, not 10.
  await new Promise((r) => setTimeout(r, 300));
  const before = changes;
  await Promise.all(
    Array.from({ length: 10 }, (_, i) => admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, `burst-${i}`) })),
  );
  await waitFor(() => inf.list(ns).length === 11, 5000, 'burst seen');
  await new Promise((r) => setTimeout(r, 300));
  const burstCalls = changes - before;
  assert.ok(burstCalls >= 1 && burstCalls <= 3, `burst of 10 events gave ${burstCalls} onChange calls`);

  // Connection cut: the informer reconnects by itself and sees what happens afterwards.
  const accepted = proxy.acceptedConnections;
  proxy.cut();
  await waitFor(() => proxy.acceptedConnections > accepted && inf.connected, 5000, 'reconnect after cut');
  await admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, 'after-cut') });
  await waitFor(() => inf.get(`${ns}/after-cut`) !== undefined, 5000, 'change after cut seen');

  // Outage: API unreachable for a while. The cache keeps the last good view (nothing cleared),
  // the informer says it is disconnected, and it keeps retrying (it did not give up).
  const cached = names(inf, ns);
  proxy.pause();
  await waitFor(() => !inf.connected, 5000, 'disconnected');
  await new Promise((r) => setTimeout(r, 300)); // let the last debounced onChange (if any) fire
  const changesAtPause = changes;
  await admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, 'during-outage') });
  await admin.core.deleteNamespacedService({ namespace: ns, name: 'burst-0' });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(inf.connected, false);
  assert.deepEqual(names(inf, ns), cached, 'cache kept unchanged while the API is unreachable');
  assert.equal(changes, changesAtPause, 'no spurious onChange while disconnected');
  assert.ok(inf.status().failures >= 2, `kept retrying (${inf.status().failures} failures)`);
  assert.ok(inf.status().lastError, 'last error reported');

  proxy.resume();
  await waitFor(
    () => inf.connected && inf.get(`${ns}/during-outage`) !== undefined && inf.get(`${ns}/burst-0`) === undefined,
    8000,
    'catch-up after the outage',
  );
  assert.ok(statuses.includes(false) && statuses.at(-1) === true, `status transitions ${statuses}`);
  assert.equal(inf.hasSynced, true);
});

test('eip informer and Eip status helpers: status patch (admin), stale replace gets 409 (speaker SA)', async (t) => {
  const speaker = new TypedKubeClient(cp.speakerConfig());
  const name = uniqueName('oelb-kube-eip');
  await admin.custom.createClusterCustomObject({
    group: 'network.kubesphere.io',
    version: 'v1alpha2',
    plural: 'eips',
    body: {
      apiVersion: 'network.kubesphere.io/v1alpha2',
      kind: 'Eip',
      metadata: { name },
      spec: { address: '192.0.2.10-192.0.2.19', protocol: 'layer2', interface: 'eth0' },
    },
  });
  t.after(() => admin.custom.deleteClusterCustomObject({ group: 'network.kubesphere.io', version: 'v1alpha2', plural: 'eips', name }));
  const inf = eipInformer(speaker, { backoff: fastBackoff });
  t.after(() => inf.stop());
  inf.start();
  await inf.whenSynced(AbortSignal.timeout(10_000));
  assert.ok(inf.get(name), 'cluster-scoped Eip found by name');

  const read = await speaker.getEip(name);
  // The speaker only PUTs Eip status (RBAC: eips/status update); the merge patch is the admin's.
  const patched = await admin.patchEipStatus(name, { status: { poolSize: 10, usage: 0, v4: true, firstIP: '192.0.2.10', lastIP: '192.0.2.19' } });
  assert.equal(patched.status?.poolSize, 10);
  await waitFor(() => inf.get(name)?.status?.poolSize === 10, 5000, 'status change seen by the informer');
  // spec is untouched by a status write
  assert.equal((patched.spec as { address?: string }).address, '192.0.2.10-192.0.2.19');

  // PUT /status with the resourceVersion from before the patch: someone wrote since, so 409.
  await assert.rejects(speaker.replaceEipStatus(read, { poolSize: 99 }), (err) => isConflict(err));
  // With a fresh read it goes through and replaces the whole status (usedIPs gone, not merged).
  const fresh = await speaker.getEip(name);
  const replaced = await speaker.replaceEipStatus(fresh, { poolSize: 10, usage: 1, used: { '192.0.2.10': 'ns/svc' } });
  assert.deepEqual(replaced.status, { poolSize: 10, usage: 1, used: { '192.0.2.10': 'ns/svc' } });
});

test('service status helpers: a merge patch of the status, guarded by the resourceVersion (speaker SA)', async () => {
  const ns = await testNamespace(cp);
  const speaker = new TypedKubeClient(cp.speakerConfig());
  await admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, 's') });
  const before = await speaker.core.readNamespacedService({ namespace: ns, name: 's' });
  // The speaker only merge-patches Service status (RBAC: services/status patch).
  const guard = (s: V1Service) => ({ resourceVersion: s.metadata?.resourceVersion });
  const p = await speaker.patchServiceStatus(ns, 's', { metadata: guard(before), status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } });
  assert.equal(p.status?.loadBalancer?.ingress?.[0]?.ip, '192.0.2.10');
  // A decision made on the older version is refused, as a PUT with it would be.
  await assert.rejects(
    speaker.patchServiceStatus(ns, 's', { metadata: guard(before), status: { loadBalancer: { ingress: [{ ip: '192.0.2.11' }] } } }),
    (err) => isConflict(err),
  );
  const r = await speaker.patchServiceStatus(ns, 's', { metadata: guard(p), status: { loadBalancer: { ingress: null } } });
  assert.deepEqual(r.status?.loadBalancer?.ingress ?? [], []);
  // Finalizer and label through a merge patch on the main resource.
  const m = await speaker.patchService(ns, 's', {
    metadata: { finalizers: ['finalizer.lb.kubesphere.io/v1alpha1'], labels: { 'eip.openelb.kubesphere.io/v1alpha2': 'pool' } },
  });
  assert.deepEqual(m.metadata?.finalizers, ['finalizer.lb.kubesphere.io/v1alpha1']);
  await speaker.patchService(ns, 's', { metadata: { finalizers: null } });
});

test('paginated list; after an outage the watch resumes from its resourceVersion: changes missed meanwhile arrive, deletes too, without a relist', async (t) => {
  const ns = await testNamespace(cp);
  const { proxy, speaker } = await speakerViaProxy(t);
  // A small page size so the relist also walks list pagination (limit/continue).
  const inf = new Informer<V1Service>({ client: speaker, name: 'svc-410', path: `/api/v1/namespaces/${ns}/services`, backoff: fastBackoff, pageSize: 2 });
  t.after(() => inf.stop());
  for (const n of ['k1', 'k2', 'k3', 'gone']) await admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, n) });
  inf.start();
  await inf.whenSynced(AbortSignal.timeout(10_000));
  assert.deepEqual(names(inf, ns), ['gone', 'k1', 'k2', 'k3'], 'a paginated list (pages of 2) is complete');
  const deleted: string[] = [];
  inf.onEvent((ev, o) => ev === 'delete' && deleted.push(o.metadata?.name ?? ''));
  assert.equal(inf.status().lists, 1);

  // Cut the stream and change things meanwhile.
  proxy.pause();
  await waitFor(() => !inf.connected, 5000, 'disconnected');
  const rv = inf.lastResourceVersion;
  await admin.core.deleteNamespacedService({ namespace: ns, name: 'gone' });
  await admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, 'new') });
  proxy.resume();
  await waitFor(() => inf.get(`${ns}/new`) !== undefined && inf.get(`${ns}/gone`) === undefined, 10_000, 'catch-up after the outage');
  assert.deepEqual(names(inf, ns), ['k1', 'k2', 'k3', 'new']);
  assert.deepEqual(deleted, ['gone'], 'the object deleted while we could not watch is reported deleted');
  assert.ok(Number(inf.lastResourceVersion) > Number(rv), 'resourceVersion moved on');
  assert.equal(inf.status().lists, 1, 'resumed from the resourceVersion, no relist');
});

test('one keep-alive connection pool: many requests from one client reuse few TCP connections', async (t) => {
  const ns = await testNamespace(cp);
  const { proxy, speaker } = await speakerViaProxy(t);
  await admin.core.createNamespacedService({ namespace: ns, body: lbService(ns, 'ka') });
  for (let i = 0; i < 20; i++) await speaker.getService(ns, 'ka');
  assert.ok(proxy.acceptedConnections <= 2, `20 sequential GETs opened ${proxy.acceptedConnections} connections`);
  speaker.close();
});
