import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Lease } from '@kubernetes/client-node';
import { leaseForCreate, leaseForUpdate, leaseRecordOf, leaseSpecOf } from '../../../src/kube/lease-object.ts';

const t = new Date('2026-03-04T05:06:07.891Z');

test('written times serialise as MicroTime with exactly 6 fractional digits', () => {
  const json = JSON.parse(JSON.stringify(leaseSpecOf({ holder: 'n1', renewTime: t, acquireTime: t, leaseDurationSeconds: 2, transitions: 3 })));
  assert.equal(json.renewTime, '2026-03-04T05:06:07.891000Z');
  assert.equal(json.acquireTime, '2026-03-04T05:06:07.891000Z');
  assert.equal(json.holderIdentity, 'n1');
  assert.equal(json.leaseDurationSeconds, 2);
  assert.equal(json.leaseTransitions, 3);
});

test('a released record writes an empty holder (not a missing one)', () => {
  assert.equal(leaseSpecOf({ holder: '' }).holderIdentity, '');
  assert.equal(leaseSpecOf({}).holderIdentity, '');
});

test('records read from string times (watch, client-node reads) and Date times alike', () => {
  const fromWire: V1Lease = {
    metadata: { name: 'l', resourceVersion: '42' },
    spec: { holderIdentity: 'n2', renewTime: '2026-03-04T05:06:07.891234Z' as never, leaseDurationSeconds: 1, leaseTransitions: 0 },
  };
  const r = leaseRecordOf(fromWire);
  assert.equal(r.holder, 'n2');
  assert.equal(r.resourceVersion, '42');
  assert.equal(r.renewTime?.toISOString(), '2026-03-04T05:06:07.891Z');
  assert.equal(r.transitions, 0);
  const fromDate = leaseRecordOf({ metadata: {}, spec: { renewTime: t as never } });
  assert.equal(fromDate.renewTime?.getTime(), t.getTime());
  assert.equal(leaseRecordOf({ metadata: {}, spec: { holderIdentity: '' } }).holder, undefined);
  assert.equal(leaseRecordOf({ metadata: {}, spec: { renewTime: 'garbage' as never } }).renewTime, undefined);
});

test('updates keep metadata (labels, annotations) and carry the record resourceVersion', () => {
  const base: V1Lease = {
    metadata: { name: 'l', namespace: 'ns', resourceVersion: '1', labels: { a: 'b' }, annotations: { x: 'y' } },
    spec: { holderIdentity: 'old', leaseDurationSeconds: 5 },
  };
  const u = leaseForUpdate(base, { holder: 'me', resourceVersion: '7', renewTime: t });
  assert.equal(u.metadata?.resourceVersion, '7');
  assert.deepEqual(u.metadata?.labels, { a: 'b' });
  assert.deepEqual(u.metadata?.annotations, { x: 'y' });
  assert.equal(u.spec?.holderIdentity, 'me');
  assert.equal(u.spec?.leaseDurationSeconds, 5, 'fields the record does not set are kept');
  const withAnn = leaseForUpdate(base, { holder: 'me' }, { k: 'v' });
  assert.deepEqual(withAnn.metadata?.annotations, { k: 'v' });
  const c = leaseForCreate('ns', 'l2', { holder: 'me' }, { app: 'x' }, {});
  assert.deepEqual(c.metadata, { name: 'l2', namespace: 'ns', labels: { app: 'x' } });
});
