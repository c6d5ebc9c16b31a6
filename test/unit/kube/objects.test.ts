import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  annotation,
  conditionStatus,
  findCondition,
  hasFinalizer,
  isDeleting,
  keyOf,
  label,
  setCondition,
  withFinalizer,
  withoutFinalizer,
} from '../../../src/kube/objects.ts';

test('metadata reads never throw on missing fields', () => {
  assert.equal(annotation(undefined, 'a'), undefined);
  assert.equal(annotation({}, 'a'), undefined);
  assert.equal(annotation({ metadata: { annotations: { a: '1' } } }, 'a'), '1');
  assert.equal(label({ metadata: {} }, 'x'), undefined);
  assert.equal(hasFinalizer({}, 'f'), false);
  assert.equal(isDeleting({ metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } }), true);
  assert.equal(keyOf({ metadata: { namespace: 'ns', name: 'a' } }), 'ns/a');
  assert.equal(keyOf({ metadata: { name: 'eip' } }), 'eip');
});

test('finalizer lists for merge patches', () => {
  const o = { metadata: { finalizers: ['other'] } };
  assert.deepEqual(withFinalizer(o, 'mine'), ['other', 'mine']);
  assert.deepEqual(withFinalizer({ metadata: { finalizers: ['mine'] } }, 'mine'), ['mine']);
  assert.deepEqual(withoutFinalizer({ metadata: { finalizers: ['other', 'mine'] } }, 'mine'), ['other']);
  assert.deepEqual(withoutFinalizer({}, 'mine'), []);
});

test('setCondition: same condition is no change; transition time moves only with status', () => {
  const t1 = new Date('2026-01-01T00:00:00.123Z');
  const t2 = new Date('2026-01-02T00:00:00Z');
  const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Overlap', message: 'overlaps eip b' }, t1);
  assert.equal(a.changed, true);
  assert.equal(a.conditions[0]?.lastTransitionTime, '2026-01-01T00:00:00Z');
  const same = setCondition(a.conditions, { type: 'Ready', status: 'False', reason: 'Overlap', message: 'overlaps eip b' }, t2);
  assert.equal(same.changed, false);
  const msg = setCondition(a.conditions, { type: 'Ready', status: 'False', reason: 'Overlap', message: 'overlaps eip c' }, t2);
  assert.equal(msg.changed, true);
  assert.equal(msg.conditions[0]?.lastTransitionTime, '2026-01-01T00:00:00Z', 'status unchanged: time kept');
  const flip = setCondition(msg.conditions, { type: 'Ready', status: 'True', reason: 'Ready', message: '' }, t2);
  assert.equal(flip.conditions[0]?.lastTransitionTime, '2026-01-02T00:00:00Z');
  assert.equal(flip.conditions.length, 1);
  assert.equal(findCondition(flip.conditions, 'Ready')?.status, 'True');
  const other = setCondition(flip.conditions, { type: 'Other', status: 'Unknown', reason: 'X', message: '' }, t2);
  assert.equal(other.conditions.length, 2);
  assert.equal(flip.conditions.length, 1, 'input not mutated');
  assert.equal(conditionStatus([{ type: 'NetworkUnavailable', status: 'True' }], 'NetworkUnavailable'), 'True');
  assert.equal(conditionStatus(undefined, 'Ready'), undefined);
});
