import { deadlineOptions, mergePatchOptions } from '../../../scripts/kit/typed-client.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext, HttpMethod } from '@kubernetes/client-node';
import { chooseKubeconfigSource } from '../../../src/kube/client.ts';

test('kubeconfig order: flag, KUBECONFIG, in-cluster, ~/.kube/config', () => {
  const all = { flag: '/f', env: '/e', inCluster: true, homeConfig: '/h' };
  assert.deepEqual(chooseKubeconfigSource(all), { kind: 'file', path: '/f', from: 'flag' });
  assert.deepEqual(chooseKubeconfigSource({ ...all, flag: undefined }), { kind: 'file', path: '/e', from: 'env' });
  assert.deepEqual(chooseKubeconfigSource({ ...all, flag: '', env: '' }), { kind: 'in-cluster' });
  assert.deepEqual(chooseKubeconfigSource({ inCluster: false, homeConfig: '/h' }), { kind: 'file', path: '/h', from: 'home' });
  assert.equal(chooseKubeconfigSource({ inCluster: false }), undefined);
});

async function runPre(opts: ReturnType<typeof mergePatchOptions>): Promise<RequestContext> {
  let ctx = new RequestContext('https://example.invalid/api/v1/namespaces/x/services/y', HttpMethod.PATCH);
  ctx.setHeaderParam('Content-Type', 'application/json-patch+json'); // what client-node picks
  for (const m of opts.middleware ?? []) ctx = await m.pre(ctx).toPromise();
  return ctx;
}

test('mergePatchOptions turns a patch into a JSON merge patch', async () => {
  const ctx = await runPre(mergePatchOptions());
  assert.equal(ctx.getHeaders()['Content-Type'], 'application/merge-patch+json');
});

test('deadlineOptions sets an abort signal that fires after the deadline, keeping other options', async () => {
  const ctx = await runPre(deadlineOptions(20, mergePatchOptions()));
  assert.equal(ctx.getHeaders()['Content-Type'], 'application/merge-patch+json');
  const signal = ctx.getSignal();
  assert.ok(signal, 'signal set');
  assert.equal(signal.aborted, false);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as Error).name, 'TimeoutError');
});

test('fractional deadlines (from performance.now arithmetic) are accepted', async () => {
  const ctx = await runPre(deadlineOptions(12.7));
  assert.ok(ctx.getSignal());
});
