// The speaker's ServiceAccount (deploy/rbac.yaml) can do its job and no more.
// Real requests with the TokenRequest-issued token, not just `auth can-i`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  V1MicroTime,
} from '@kubernetes/client-node';
import { controlPlane, testNamespace, uniqueName } from '../../scripts/kit/control-plane.ts';

const cp = await controlPlane();
after(() => cp.stop());

const speaker = cp.speakerConfig();
const core = speaker.makeApiClient(CoreV1Api);
const coord = speaker.makeApiClient(CoordinationV1Api);
const custom = speaker.makeApiClient(CustomObjectsApi);

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

test('allowed: create, renew and delete Leases in openelb-system', async () => {
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
  assert.equal(await status(coord.deleteNamespacedLease({ namespace: 'openelb-system', name })), 200);
});

test('allowed: update Services and their status, write Eip status, emit Events', async () => {
  const ns = await testNamespace(cp);
  const name = uniqueName('svc');
  const admin = cp.adminConfig().makeApiClient(CoreV1Api);
  await admin.createNamespacedService({
    namespace: ns,
    body: { metadata: { name }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
  });
  const svc = await core.readNamespacedService({ namespace: ns, name });
  svc.metadata!.finalizers = ['finalizer.lb.kubesphere.io/v1alpha1'];
  const updated = await core.replaceNamespacedService({ namespace: ns, name, body: svc });
  updated.status = { loadBalancer: { ingress: [{ ip: '192.168.0.91' }] } };
  const withStatus = await core.replaceNamespacedServiceStatus({ namespace: ns, name, body: updated });
  assert.equal(withStatus.status?.loadBalancer?.ingress?.[0]?.ip, '192.168.0.91');
  assert.equal(
    await status(
      core.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { generateName: `${name}.` },
          involvedObject: { kind: 'Service', namespace: ns, name, apiVersion: 'v1' },
          reason: 'AssignIP',
          message: 'test',
          type: 'Normal',
          source: { component: 'openelb-ts' },
        },
      }),
    ),
    200,
  );

  const eip = uniqueName('oelb-rbac');
  const r = await cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'network.kubesphere.io/v1alpha2', kind: 'Eip', metadata: { name: eip }, spec: { address: '10.99.0.0/30' } }),
  });
  assert.equal(r.code, 0, r.stderr);
  try {
    const obj = (await custom.getClusterCustomObject({ group: 'network.kubesphere.io', version: 'v1alpha2', plural: 'eips', name: eip })) as {
      status?: Record<string, unknown>;
    };
    obj.status = { poolSize: 4, usage: 0, firstIP: '10.99.0.0', lastIP: '10.99.0.3', v4: true, ready: true };
    const st = await custom.replaceClusterCustomObjectStatus({
      group: 'network.kubesphere.io',
      version: 'v1alpha2',
      plural: 'eips',
      name: eip,
      body: obj,
    });
    assert.equal((st as { status?: { poolSize?: number } }).status?.poolSize, 4);
  } finally {
    await cp.kubectl(['delete', 'eip', eip, '--wait=false']);
  }
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
