// The IPAM leader keeps the newest version of every Service it wrote or listed (IpamTerm), so what
// its writer answers with is what it holds: Services without managedFields, as the informer caches
// keep them (issue 12: managedFields doubled the leader's memory per Service). Against the real API
// server, which does send managedFields, so the test fails when the writer passes them through.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KubeClient } from '../../src/kube/client.ts';
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

test('every Service the IPAM writer answers with comes without managedFields', async () => {
  const c = admin(cp);
  await createService(c, ns, 'slim-a', { noNodePorts: true });
  const raw = await c.core.readNamespacedService({ namespace: ns, name: 'slim-a' });
  assert.ok(raw.metadata?.managedFields?.length, 'the API server sends managedFields (else this test proves nothing)');

  const client = new KubeClient(cp.speakerConfig());
  const writer = new IpamWriter(client, new AbortController().signal, ipamMetrics(new Registry()));
  const got = await writer.getService(ns, 'slim-a');
  const meta = await writer.serviceMeta(got, { metadata: { resourceVersion: got.metadata?.resourceVersion, labels: { x: 'y' } } });
  const status = await writer.serviceStatus(meta, ['192.0.2.10']);
  const listed = (await writer.listServices()).find((s) => s.metadata?.name === 'slim-a' && s.metadata.namespace === ns);
  for (const [what, s] of Object.entries({ getService: got, serviceMeta: meta, serviceStatus: status, listServices: listed })) {
    assert.ok(s?.metadata?.name === 'slim-a', `${what} answered the Service`);
    assert.equal(s.metadata.managedFields, undefined, `${what} kept managedFields`);
  }
  assert.equal(status.status?.loadBalancer?.ingress?.[0]?.ip, '192.0.2.10', 'the rest of the object is kept');
  assert.equal(meta.metadata?.labels?.x, 'y');
  client.transport.close();
});
