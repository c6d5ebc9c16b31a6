// What the speaker relies on in @kubernetes/client-node, against a real API
// server: an informer on Services sees create/update/delete, and a Lease is
// created and renewed with MicroTime timestamps (6 fractional digits).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CoordinationV1Api,
  CoreV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  type V1Service,
} from '@kubernetes/client-node';
import { controlPlane, testNamespace, uniqueName } from '../../scripts/kit/control-plane.ts';

const cp = await controlPlane();
after(() => cp.stop());

/** Resolves when pred holds for some event, or rejects after ms. */
function waitFor<T>(events: T[], pred: (e: T) => boolean, ms = 10_000): Promise<T> {
  return new Promise((res, rej) => {
    const t0 = Date.now();
    const tick = () => {
      const hit = events.find(pred);
      if (hit) return res(hit);
      if (Date.now() - t0 > ms) return rej(new Error(`timed out; saw ${JSON.stringify(events).slice(0, 500)}`));
      setTimeout(tick, 25);
    };
    tick();
  });
}

test('a Service informer sees add, update and delete', async (t) => {
  const ns = await testNamespace(cp);
  const kc = cp.adminConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Service>(kc, `/api/v1/namespaces/${ns}/services`, () =>
    core.listNamespacedService({ namespace: ns }),
  );
  const seen: { verb: string; name?: string; ann?: string }[] = [];
  for (const verb of ['add', 'update', 'delete'] as const) {
    informer.on(verb, (s) =>
      seen.push({ verb, name: s.metadata?.name, ann: s.metadata?.annotations?.['lb.kubesphere.io/v1alpha1'] }),
    );
  }
  const errors: unknown[] = [];
  informer.on('error', (e) => errors.push(e));
  await informer.start();
  t.after(() => informer.stop());

  const name = uniqueName('svc');
  await core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
    },
  });
  await waitFor(seen, (e) => e.verb === 'add' && e.name === name);

  await core.patchNamespacedService(
    { namespace: ns, name, body: { metadata: { annotations: { 'lb.kubesphere.io/v1alpha1': 'openelb' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await waitFor(seen, (e) => e.verb === 'update' && e.name === name && e.ann === 'openelb');
  // The cache reflects the update too.
  assert.equal(informer.get(name, ns)?.metadata?.annotations?.['lb.kubesphere.io/v1alpha1'], 'openelb');

  await core.deleteNamespacedService({ namespace: ns, name });
  await waitFor(seen, (e) => e.verb === 'delete' && e.name === name);
  assert.equal(informer.get(name, ns), undefined);
  assert.deepEqual(errors, []);
});

test('a Lease is created and renewed with MicroTime (6 fractional digits)', async () => {
  const kc = cp.adminConfig();
  const coord = kc.makeApiClient(CoordinationV1Api);
  const namespace = 'openelb-system';
  const name = uniqueName('oelb-lease');
  const acquire = new V1MicroTime();
  const created = await coord.createNamespacedLease({
    namespace,
    body: {
      metadata: { name },
      spec: { holderIdentity: 'node-a', leaseDurationSeconds: 2, acquireTime: acquire, renewTime: acquire, leaseTransitions: 0 },
    },
  });
  try {
    assert.equal(created.spec?.holderIdentity, 'node-a');
    // The wire format is RFC 3339 with microseconds: read it raw.
    const raw = await cp.kubectl(['get', 'lease', '-n', namespace, name, '-o', 'jsonpath={.spec.renewTime}']);
    assert.match(raw.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    await new Promise((r) => setTimeout(r, 20));
    const renew = new V1MicroTime();
    const renewed = await coord.replaceNamespacedLease({
      namespace,
      name,
      body: { ...created, spec: { ...created.spec, renewTime: renew } },
    });
    // Known client-node 2.0.1 quirk: its deserializer has no case for
    // V1MicroTime, so times read back are the raw strings despite the Date
    // type. Readers must go through new Date(...). If this starts failing,
    // client-node fixed it and the workaround can go.
    const back: unknown = renewed.spec?.renewTime;
    assert.equal(typeof back, 'string');
    assert.match(back as string, /\.\d{6}Z$/);
    assert.equal(new Date(back as string).getTime(), renew.getTime());
    assert.ok(new Date(back as string).getTime() > acquire.getTime());

    // A write with the stale resourceVersion loses (optimistic concurrency is
    // what the election relies on).
    await assert.rejects(
      coord.replaceNamespacedLease({
        namespace,
        name,
        body: { ...created, spec: { ...created.spec, holderIdentity: 'node-b' } },
      }),
      (e: { code?: number }) => e.code === 409,
    );
  } finally {
    await coord.deleteNamespacedLease({ namespace, name });
  }
});
