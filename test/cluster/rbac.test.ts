// The speaker's ServiceAccount (deploy/rbac.yaml) can do its job and no more.
// Real requests with the TokenRequest-issued token, not just `auth can-i`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { type Access, accessAllowed, showAccess } from '../../scripts/kit/access-review.ts';
import { controlPlane, testNamespace, uniqueName } from '../../scripts/kit/control-plane.ts';

const cp = await controlPlane();
after(() => cp.stop());

const speaker = cp.speakerConfig();
const core = speaker.makeApiClient(CoreV1Api);
const coord = speaker.makeApiClient(CoordinationV1Api);
const custom = speaker.makeApiClient(CustomObjectsApi);
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (typeof code !== 'number') throw e;
    return code;
  }
}

test('the speaker kubeconfig authenticates as the ServiceAccount', async () => {
  const r = await cp.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], {
    kubeconfig: cp.speakerKubeconfig,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'system:serviceaccount:openelb-system:openelb-speaker');
});

test('allowed: list/watch Services, Eips, Nodes, Namespaces, EndpointSlices cluster-wide', async () => {
  assert.equal(await status(core.listServiceForAllNamespaces()), 200);
  assert.equal(
    await status(custom.listClusterCustomObject({ group: 'network.kubesphere.io', version: 'v1alpha2', plural: 'eips' })),
    200,
  );
  assert.equal(await status(core.listNode()), 200);
  assert.equal(await status(core.listNamespace()), 200);
  assert.equal(await status(speaker.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces()), 200);
});

test('allowed: create and renew Leases in openelb-system; patching or deleting one is not', async () => {
  const name = uniqueName('oelb-member');
  const now = new V1MicroTime();
  const lease = await coord.createNamespacedLease({
    namespace: 'openelb-system',
    body: { metadata: { name }, spec: { holderIdentity: 'node-a', leaseDurationSeconds: 2, renewTime: now } },
  });
  const renewed = await coord.replaceNamespacedLease({
    namespace: 'openelb-system',
    name,
    body: { ...lease, spec: { ...lease.spec, renewTime: new V1MicroTime() } },
  });
  assert.notEqual(renewed.metadata?.resourceVersion, lease.metadata?.resourceVersion);
  assert.equal(await status(coord.patchNamespacedLease({ namespace: 'openelb-system', name, body: { spec: { holderIdentity: 'x' } } }, merge)), 403);
  assert.equal(await status(coord.deleteNamespacedLease({ namespace: 'openelb-system', name })), 403);
  await cp.adminConfig().makeApiClient(CoordinationV1Api).deleteNamespacedLease({ namespace: 'openelb-system', name });
});

test('allowed: patch Services and their status, PUT Eip status, create and patch Events; update/replace of each is not', async () => {
  const ns = await testNamespace(cp);
  const name = uniqueName('svc');
  const admin = cp.adminConfig().makeApiClient(CoreV1Api);
  await admin.createNamespacedService({
    namespace: ns,
    body: { metadata: { name }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
  });
  const svc = await core.readNamespacedService({ namespace: ns, name });
  // The IPAM writer adds its finalizer and label with a merge patch, never a PUT of the Service.
  const patched = await core.patchNamespacedService(
    { namespace: ns, name, body: { metadata: { finalizers: ['finalizer.lb.kubesphere.io/v1alpha1'] } } },
    merge,
  );
  assert.deepEqual(patched.metadata?.finalizers, ['finalizer.lb.kubesphere.io/v1alpha1']);
  assert.equal(await status(core.replaceNamespacedService({ namespace: ns, name, body: patched })), 403);
  // Its status too, guarded by the resourceVersion it decided on; a PUT of the status is not allowed.
  const withStatus = await core.patchNamespacedServiceStatus(
    { namespace: ns, name, body: { metadata: { resourceVersion: patched.metadata?.resourceVersion }, status: { loadBalancer: { ingress: [{ ip: '192.168.0.91' }] } } } },
    merge,
  );
  assert.equal(withStatus.status?.loadBalancer?.ingress?.[0]?.ip, '192.168.0.91');
  assert.equal(await status(core.replaceNamespacedServiceStatus({ namespace: ns, name, body: withStatus })), 403);
  assert.ok(svc.metadata?.uid);

  const ev = await core.createNamespacedEvent({
    namespace: ns,
    body: {
      metadata: { generateName: `${name}.` },
      involvedObject: { kind: 'Service', namespace: ns, name, apiVersion: 'v1' },
      reason: 'IPConflict',
      message: 'test',
      type: 'Warning',
      count: 1,
      source: { component: 'openelb-ts' },
    },
  });
  const evName = ev.metadata?.name ?? '';
  const folded = await core.patchNamespacedEvent({ namespace: ns, name: evName, body: { count: 2, message: 'test 2' } }, merge);
  assert.equal(folded.count, 2);
  assert.equal(await status(core.replaceNamespacedEvent({ namespace: ns, name: evName, body: folded })), 403);
  assert.equal(await status(core.deleteNamespacedEvent({ namespace: ns, name: evName })), 403);

  const eip = uniqueName('oelb-rbac');
  const r = await cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'network.kubesphere.io/v1alpha2', kind: 'Eip', metadata: { name: eip }, spec: { address: '10.99.0.0/30' } }),
  });
  assert.equal(r.code, 0, r.stderr);
  const eipApi = { group: 'network.kubesphere.io', version: 'v1alpha2', plural: 'eips', name: eip };
  try {
    const obj = (await custom.getClusterCustomObject(eipApi)) as { metadata: Record<string, unknown>; status?: Record<string, unknown> };
    obj.status = { poolSize: 4, usage: 0, firstIP: '10.99.0.0', lastIP: '10.99.0.3', v4: true, ready: true };
    const st = (await custom.replaceClusterCustomObjectStatus({ ...eipApi, body: obj })) as typeof obj;
    assert.equal((st as { status?: { poolSize?: number } }).status?.poolSize, 4);
    assert.equal(await status(custom.patchClusterCustomObjectStatus({ ...eipApi, body: { status: { usage: 1 } } }, merge)), 403);
    // The IPAM finalizer goes on with a merge patch; a PUT of the whole Eip is not needed.
    const fin = (await custom.patchClusterCustomObject(
      { ...eipApi, body: { metadata: { finalizers: ['finalizer.ipam.kubesphere.io/v1alpha1'], resourceVersion: (st.metadata as { resourceVersion?: string }).resourceVersion } } },
      merge,
    )) as typeof obj;
    assert.deepEqual(fin.metadata.finalizers, ['finalizer.ipam.kubesphere.io/v1alpha1']);
    assert.equal(await status(custom.replaceClusterCustomObject({ ...eipApi, body: fin })), 403);
    await custom.patchClusterCustomObject({ ...eipApi, body: { metadata: { finalizers: null } } }, merge);
  } finally {
    await cp.kubectl(['delete', 'eip', eip, '--wait=false']);
  }
});

const allowed = (a: Access): Promise<boolean> => accessAllowed(speaker, a);
const show = showAccess;

// Every verb the code uses (grep src/ for the API calls: informers list+watch; IPAM get after a
// 409, merge patches, Eip status PUTs; Leases get/create/update; Events create/patch; doctor reads
// its Node), and every verb the roles once granted that no code uses.
const USED: Access[] = [
  ...['get', 'list', 'watch', 'patch'].map((verb) => ({ verb, resource: 'services', namespace: 'default' })),
  { verb: 'patch', resource: 'services', subresource: 'status', namespace: 'default' },
  ...['get', 'list', 'watch', 'patch'].map((verb) => ({ verb, group: 'network.kubesphere.io', resource: 'eips' })),
  { verb: 'update', group: 'network.kubesphere.io', resource: 'eips', subresource: 'status' },
  ...['list', 'watch', 'patch'].map((verb) => ({ verb, group: 'network.kubesphere.io', resource: 'bgpconfs' })),
  ...['list', 'watch', 'patch'].map((verb) => ({ verb, group: 'network.kubesphere.io', resource: 'bgppeers' })),
  { verb: 'patch', group: 'network.kubesphere.io', resource: 'bgpconfs', subresource: 'status' },
  { verb: 'patch', group: 'network.kubesphere.io', resource: 'bgppeers', subresource: 'status' },
  ...['get', 'list', 'watch'].map((verb) => ({ verb, resource: 'nodes' })),
  ...['list', 'watch'].map((verb) => ({ verb, resource: 'namespaces' })),
  ...['list', 'watch'].map((verb) => ({ verb, group: 'discovery.k8s.io', resource: 'endpointslices' })),
  ...['create', 'patch'].map((verb) => ({ verb, resource: 'events', namespace: 'default' })),
  ...['get', 'list', 'watch', 'create', 'update'].map((verb) => ({ verb, group: 'coordination.k8s.io', resource: 'leases', namespace: 'openelb-system' })),
];
const REMOVED: Access[] = [
  { verb: 'update', resource: 'services', namespace: 'default' },
  { verb: 'update', resource: 'services', subresource: 'status', namespace: 'default' },
  { verb: 'update', group: 'network.kubesphere.io', resource: 'eips' },
  { verb: 'get', group: 'network.kubesphere.io', resource: 'eips', subresource: 'status' },
  { verb: 'patch', group: 'network.kubesphere.io', resource: 'eips', subresource: 'status' },
  { verb: 'update', group: 'network.kubesphere.io', resource: 'eips', subresource: 'finalizers' },
  { verb: 'get', resource: 'namespaces' },
  // BGP objects are configuration: read through the informers; written are status and, on an
  // object being deleted, OpenELB's finalizer (patch). Never created, replaced or deleted.
  ...['get', 'create', 'update', 'delete'].map((verb) => ({ verb, group: 'network.kubesphere.io', resource: 'bgpconfs' })),
  ...['get', 'create', 'update', 'delete'].map((verb) => ({ verb, group: 'network.kubesphere.io', resource: 'bgppeers' })),
  ...['get', 'update'].map((verb) => ({ verb, group: 'network.kubesphere.io', resource: 'bgpconfs', subresource: 'status' })),
  ...['get', 'update'].map((verb) => ({ verb, group: 'network.kubesphere.io', resource: 'bgppeers', subresource: 'status' })),
  { verb: 'get', group: 'discovery.k8s.io', resource: 'endpointslices', namespace: 'default' },
  { verb: 'update', resource: 'events', namespace: 'default' },
  ...['create', 'patch', 'update'].map((verb) => ({ verb, group: 'events.k8s.io', resource: 'events', namespace: 'default' })),
  ...['patch', 'delete'].map((verb) => ({ verb, group: 'coordination.k8s.io', resource: 'leases', namespace: 'openelb-system' })),
];

test('authorizer: every verb the code uses is allowed, every verb no code uses is denied', async () => {
  const used = await Promise.all(USED.map(async (a) => [a, await allowed(a)] as const));
  assert.deepEqual(used.filter(([, ok]) => !ok).map(([a]) => show(a)), [], 'needed but denied');
  const removed = await Promise.all(REMOVED.map(async (a) => [a, await allowed(a)] as const));
  assert.deepEqual(removed.filter(([, ok]) => ok).map(([a]) => show(a)), [], 'granted but unused');
});

test('denied: Secrets, creating Pods, Leases outside openelb-system, other ConfigMaps, creating Eips', async () => {
  assert.equal(await status(core.listNamespacedSecret({ namespace: 'openelb-system' })), 403);
  assert.equal(await status(core.listSecretForAllNamespaces()), 403);
  assert.equal(
    await status(
      core.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name: uniqueName('pod') }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      }),
    ),
    403,
  );
  assert.equal(
    await status(coord.createNamespacedLease({ namespace: 'default', body: { metadata: { name: uniqueName('l') }, spec: {} } })),
    403,
  );
  assert.equal(await status(core.readNamespacedConfigMap({ namespace: 'kube-system', name: 'coredns' })), 403);
  // kube-proxy's ConfigMap is readable (doctor); none exists here, so 404 not 403.
  assert.equal(await status(core.readNamespacedConfigMap({ namespace: 'kube-system', name: 'kube-proxy' })), 404);
  assert.equal(
    await status(
      custom.createClusterCustomObject({
        group: 'network.kubesphere.io',
        version: 'v1alpha2',
        plural: 'eips',
        body: { apiVersion: 'network.kubesphere.io/v1alpha2', kind: 'Eip', metadata: { name: uniqueName('e') }, spec: { address: '10.98.0.1' } },
      }),
    ),
    403,
  );
  assert.equal(await status(core.deleteNamespacedService({ namespace: 'default', name: 'kubernetes' })), 403);
});
