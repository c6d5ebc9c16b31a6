import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkUpstream, isUpstreamWorkload, type WorkloadFact } from '../../../src/doctor/upstream.ts';

const w = (name: string, image: string, command = ''): WorkloadFact => ({ kind: 'Deployment', namespace: 'openelb-system', name, images: [image], commands: [command] });

test('upstream images and commands are recognised; ours are not', () => {
  assert.equal(isUpstreamWorkload(w('openelb-controller', 'kubesphere/openelb-controller:v0.6.0')), true);
  assert.equal(isUpstreamWorkload(w('x', 'registry.local/kubesphere/openelb-speaker@sha256:abc')), true);
  assert.equal(isUpstreamWorkload(w('porter', 'kubesphere/porter-manager:v0.4')), true);
  assert.equal(isUpstreamWorkload(w('x', 'my/mirror:1', 'openelb-speaker')), true);
  assert.equal(isUpstreamWorkload(w('openelb-speaker', 'openelb-ts:0.1.0', 'openelb-ts')), false);
  assert.equal(isUpstreamWorkload(w('metallb', 'quay.io/metallb/speaker:v0.14')), false);
});

test('findings name each object and the command that removes it; unreadable lists say cannot tell', () => {
  const r = checkUpstream(
    { kind: 'listed', items: [w('openelb-controller', 'kubesphere/openelb-controller:v0.6.0')] },
    { kind: 'listed', items: [{ kind: 'ValidatingWebhookConfiguration', name: 'openelb-admission', hooks: ['validate.eip.network.kubesphere.io'] }, { kind: 'ValidatingWebhookConfiguration', name: 'other', hooks: ['x.example.com'] }] },
  );
  assert.equal(r.status, 'problem');
  assert.match(r.problem ?? '', /Deployment openelb-system\/openelb-controller, ValidatingWebhookConfiguration openelb-admission/);
  assert.doesNotMatch(r.problem ?? '', /other/);
  assert.match(r.fix ?? '', /kubectl -n openelb-system delete deployment openelb-controller; kubectl delete validatingwebhookconfiguration openelb-admission/);
  const unknown = checkUpstream({ kind: 'failed', message: 'forbidden' }, { kind: 'listed', items: [] });
  assert.equal(unknown.status, 'unknown');
  assert.equal(checkUpstream({ kind: 'listed', items: [] }, { kind: 'listed', items: [] }).status, 'ok');
});
