// Reliability suite, item 4 (least privilege), API side. test/cluster/rbac.test.ts checks what the
// speaker's ServiceAccount needs and a few denials; this file asks the API server the full matrix
// of what it must NOT do (SelfSubjectAccessReview, the authorizer's own answer), then makes the
// real requests that matter most with the speaker's token: reading Secrets, pods/exec, and
// writing or deleting another namespace's Lease (which must stay unchanged).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { CoordinationV1Api, CoreV1Api, V1MicroTime, type KubeConfig } from '@kubernetes/client-node';
import { type Access, accessAllowed, showAccess } from '../../scripts/kit/access-review.ts';
import { controlPlane, uniqueName } from '../../scripts/kit/control-plane.ts';

const cp = await controlPlane();
after(() => cp.stop());

const speaker = cp.speakerConfig();
const admin = cp.adminConfig();

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

/** The API server's authorizer answer for the speaker's token (SelfSubjectAccessReview). */
const allowed = (a: Access): Promise<boolean> => accessAllowed(speaker, a);
const show = showAccess;

/** A raw request with the given identity (for subresources client-node has no call for). */
function raw(kc: KubeConfig, method: string, path: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const server = new URL(kc.getCurrentCluster()!.server);
    const opts: Record<string, unknown> = { method, hostname: server.hostname, port: server.port, path, headers: {} };
    void kc.applyToHTTPSOptions(opts as never).then(() => {
      const req = request(opts as never, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    }, reject);
  });
}

test('authorizer matrix: on Secrets only get of the beacon key and create in openelb-system; no pods/exec|attach|portforward, no Leases outside openelb-system, no escalation paths', async () => {
  const namespaces = ['openelb-system', 'kube-system', 'kube-node-lease', 'default'];
  const denied: Access[] = [];
  for (const ns of [...namespaces, undefined]) {
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']) {
      // The one exception: the first speaker creates the beacon key Secret in its own namespace
      // (Kubernetes cannot restrict create by name; create reveals nothing).
      if (verb === 'create' && ns === 'openelb-system') continue;
      denied.push({ verb, resource: 'secrets', namespace: ns });
    }
  }
  // The beacon key: get by name only; never list/watch/update/delete it, never read another Secret.
  for (const verb of ['update', 'patch', 'delete']) denied.push({ verb, resource: 'secrets', namespace: 'openelb-system', name: 'openelb-beacon-key' });
  denied.push({ verb: 'get', resource: 'secrets', namespace: 'openelb-system', name: 'some-other-secret' });
  denied.push({ verb: 'get', resource: 'secrets', namespace: 'kube-system', name: 'openelb-beacon-key' });
  for (const ns of namespaces) {
    for (const sub of ['exec', 'attach', 'portforward']) {
      for (const verb of ['create', 'get']) denied.push({ verb, resource: 'pods', subresource: sub, namespace: ns, name: 'any' });
    }
    denied.push({ verb: 'create', resource: 'pods', namespace: ns });
    denied.push({ verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: ns, name: 'openelb-speaker' });
  }
  for (const ns of ['kube-system', 'kube-node-lease', 'default']) {
    for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) {
      denied.push({ verb, group: 'coordination.k8s.io', resource: 'leases', namespace: ns });
    }
  }
  for (const verb of ['create', 'update', 'patch', 'delete']) {
    denied.push({ verb, group: 'coordination.k8s.io', resource: 'leases' }); // cluster-wide (all namespaces)
    denied.push({ verb, resource: 'nodes' });
    denied.push({ verb, group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' });
    denied.push({ verb, group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: 'openelb-system' });
    denied.push({ verb, group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' });
  }
  denied.push({ verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' });
  denied.push({ verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' });
  denied.push({ verb: 'impersonate', resource: 'users' });
  denied.push({ verb: 'impersonate', resource: 'serviceaccounts', namespace: 'kube-system' });
  denied.push({ verb: 'create', resource: 'services' });
  denied.push({ verb: 'delete', resource: 'services', namespace: 'default' });
  denied.push({ verb: 'delete', group: 'network.kubesphere.io', resource: 'eips' });

  // Controls, so a broken review (e.g. always false) cannot pass the test.
  const granted: Access[] = [
    { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'openelb-system' },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'openelb-system' },
    { verb: 'patch', resource: 'services', subresource: 'status', namespace: 'default' },
    { verb: 'watch', resource: 'services' },
    { verb: 'get', resource: 'secrets', namespace: 'openelb-system', name: 'openelb-beacon-key' },
    { verb: 'create', resource: 'secrets', namespace: 'openelb-system' },
  ];

  const results = await Promise.all(denied.map(async (a) => [a, await allowed(a)] as const));
  const leaks = results.filter(([, ok]) => ok).map(([a]) => show(a));
  assert.deepEqual(leaks, [], `the speaker may: ${leaks.join('; ')}`);
  for (const a of granted) assert.equal(await allowed(a), true, `control: the speaker must be allowed to ${show(a)}`);
});

test('real requests: get/watch a Secret, pods/exec and attach are 403 for the speaker (and not for admin)', async () => {
  const secret = uniqueName('oelb-secret');
  const adminCore = admin.makeApiClient(CoreV1Api);
  await adminCore.createNamespacedSecret({ namespace: 'openelb-system', body: { metadata: { name: secret }, stringData: { k: 'v' } } });
  try {
    const core = speaker.makeApiClient(CoreV1Api);
    assert.equal(await status(core.readNamespacedSecret({ namespace: 'openelb-system', name: secret })), 403);
    assert.equal(await status(core.readNamespacedSecret({ namespace: 'kube-system', name: secret })), 403);
    const w = await raw(speaker, 'GET', `/api/v1/namespaces/openelb-system/secrets?watch=1&fieldSelector=metadata.name%3D${secret}&timeoutSeconds=1`);
    assert.equal(w.code, 403, w.body);
    // Control: the same read as admin works (the Secret exists; 403 above is the authorizer).
    assert.equal(await status(adminCore.readNamespacedSecret({ namespace: 'openelb-system', name: secret })), 200);
  } finally {
    await adminCore.deleteNamespacedSecret({ namespace: 'openelb-system', name: secret });
  }
  for (const sub of ['exec', 'attach']) {
    const r = await raw(speaker, 'POST', `/api/v1/namespaces/default/pods/nope/${sub}?command=sh&stdout=true`);
    assert.equal(r.code, 403, `${sub}: ${r.code} ${r.body}`);
    assert.match(r.body, new RegExp(`cannot create resource \\\\"pods/${sub}\\\\"`));
    // Admin gets past authorization (404: no such pod, no kubelet here).
    const a = await raw(admin, 'POST', `/api/v1/namespaces/default/pods/nope/${sub}?command=sh&stdout=true`);
    assert.notEqual(a.code, 403, `admin ${sub}: ${a.body}`);
  }
});

test('real requests: another namespace\'s Lease cannot be renewed, stolen or deleted by the speaker', async () => {
  const adminCoord = admin.makeApiClient(CoordinationV1Api);
  const coord = speaker.makeApiClient(CoordinationV1Api);
  for (const ns of ['kube-node-lease', 'kube-system']) {
    const nsExists = await status(admin.makeApiClient(CoreV1Api).readNamespace({ name: ns }));
    if (nsExists === 404) await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    const name = uniqueName('victim');
    const lease = await adminCoord.createNamespacedLease({
      namespace: ns,
      body: { metadata: { name }, spec: { holderIdentity: 'real-holder', leaseDurationSeconds: 40, renewTime: new V1MicroTime() } },
    });
    try {
      // Reading a Lease elsewhere is not needed either.
      assert.equal(await status(coord.readNamespacedLease({ namespace: ns, name })), 403);
      const stolen = { ...lease, spec: { ...lease.spec, holderIdentity: 'openelb-speaker', renewTime: new V1MicroTime() } };
      assert.equal(await status(coord.replaceNamespacedLease({ namespace: ns, name, body: stolen })), 403);
      assert.equal(await status(coord.deleteNamespacedLease({ namespace: ns, name })), 403);
      assert.equal(await status(coord.deleteCollectionNamespacedLease({ namespace: ns })), 403);
      const after = await adminCoord.readNamespacedLease({ namespace: ns, name });
      assert.equal(after.spec?.holderIdentity, 'real-holder');
      assert.equal(after.metadata?.resourceVersion, lease.metadata?.resourceVersion, `${ns}/${name} was modified`);
    } finally {
      await adminCoord.deleteNamespacedLease({ namespace: ns, name });
    }
  }
});
