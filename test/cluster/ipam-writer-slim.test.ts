// The IPAM leader keeps the newest version of every Service it wrote or listed (IpamTerm), so what
// its writer answers with is what it holds: slim Services, as the informer caches keep them (issue
// 12: managedFields alone doubled the leader's memory per Service). Against the real API server,
// which sends whole objects, so the test fails when the writer passes them through.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KubeClient } from '../../src/kube/client.ts';
import { isConflict } from '../../src/kube/errors.ts';
import { Registry } from '../../src/observe/metrics.ts';
import { IpamWriter, ipamMetrics } from '../../src/speaker/ipam-writer.ts';
import { controlPlane, testNamespace, type ControlPlane } from '../../scripts/kit/control-plane.ts';
import { admin, createService } from '../../scripts/kit/ipam-helpers.ts';

let cp: ControlPlane;
let ns: string;

before(async () => {
  cp = await controlPlane();
  ns = await testNamespace(cp, 'oelb-slim');
});
after(async () => {
  await cp?.stop();
});

test('every Service the IPAM writer answers with is slim: what IPAM reads, no managedFields, no foreign labels', async () => {
  const c = admin(cp);
  await createService(c, ns, 'slim-a', { noNodePorts: true });
  const raw = await c.core.readNamespacedService({ namespace: ns, name: 'slim-a' });
  assert.ok(raw.metadata?.managedFields?.length, 'the API server sends managedFields (else this test proves nothing)');
  assert.ok(raw.spec?.clusterIP, 'and a clusterIP');

  const client = new KubeClient(cp.speakerConfig());
  const writer = new IpamWriter(client, new AbortController().signal, ipamMetrics(new Registry()));
  const got = await writer.getService(ns, 'slim-a');
  const label = 'eip.openelb.kubesphere.io/v1alpha2';
  const meta = await writer.serviceMeta(got, { metadata: { resourceVersion: got.metadata?.resourceVersion, labels: { [label]: 'pool', team: 'a' } } });
  const status = await writer.serviceStatus(meta, ['192.0.2.10']);
  const listed = (await writer.listServices()).find((s) => s.metadata?.name === 'slim-a' && s.metadata.namespace === ns);
  for (const [what, s] of Object.entries({ getService: got, serviceMeta: meta, serviceStatus: status, listServices: listed })) {
    assert.ok(s?.metadata?.name === 'slim-a', `${what} answered the Service`);
    assert.equal(s.metadata.managedFields, undefined, `${what} kept managedFields`);
    assert.equal(s.spec?.clusterIP, undefined, `${what} kept spec.clusterIP`);
    assert.equal(s.spec?.type, 'LoadBalancer', `${what} lost spec.type`);
  }
  assert.equal(status.status?.loadBalancer?.ingress?.[0]?.ip, '192.0.2.10', 'the status written is in the answer');
  assert.deepEqual(status.metadata?.labels, { [label]: 'pool' }, 'our label kept, another dropped');
  // Written by a merge patch: the server keeps what the slim copy does not hold.
  const after = await c.core.readNamespacedService({ namespace: ns, name: 'slim-a' });
  assert.equal(after.metadata?.labels?.team, 'a');
  assert.equal(after.spec?.clusterIP, raw.spec?.clusterIP);
  // Guarded by the resourceVersion the decision was made on.
  await assert.rejects(writer.serviceStatus(meta, ['192.0.2.11']), (err) => isConflict(err));
  const released = await writer.serviceStatus(status, []);
  assert.equal(released.status, undefined);
  assert.equal((await c.core.readNamespacedService({ namespace: ns, name: 'slim-a' })).status?.loadBalancer?.ingress, undefined);
  client.transport.close();
});
