import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventDedupe } from '../../../src/kube/event-dedupe.ts';

const svc = { object: 'uid-1', slot: 'AssignIP' };

test('the same (object, slot, message) is emitted once, however often it repeats', () => {
  const d = new EventDedupe();
  const results = Array.from({ length: 5 }, () => d.shouldEmit(svc, 'Normal', 'assigned 10.0.0.1'));
  assert.deepEqual(results, [true, false, false, false, false]);
});

test('a different message is a change, and going back is a change again', () => {
  const d = new EventDedupe();
  assert.equal(d.shouldEmit(svc, 'Normal', 'A'), true);
  assert.equal(d.shouldEmit(svc, 'Normal', 'B'), true);
  assert.equal(d.shouldEmit(svc, 'Normal', 'A'), true);
  assert.equal(d.shouldEmit(svc, 'Normal', 'A'), false);
});

test('type is part of the identity', () => {
  const d = new EventDedupe();
  assert.equal(d.shouldEmit(svc, 'Normal', 'A'), true);
  assert.equal(d.shouldEmit(svc, 'Warning', 'A'), true);
});

test('slots and objects are independent', () => {
  const d = new EventDedupe();
  assert.equal(d.shouldEmit({ object: 'uid-1', slot: 'AssignIP' }, 'Normal', 'A'), true);
  assert.equal(d.shouldEmit({ object: 'uid-1', slot: 'nodeAssigned' }, 'Normal', 'A'), true);
  assert.equal(d.shouldEmit({ object: 'uid-2', slot: 'AssignIP' }, 'Normal', 'A'), true);
  // interleaving two slots on one object does not re-emit either (no ping-pong per resync)
  for (let i = 0; i < 3; i++) {
    assert.equal(d.shouldEmit({ object: 'uid-1', slot: 'AssignIP' }, 'Normal', 'A'), false);
    assert.equal(d.shouldEmit({ object: 'uid-1', slot: 'nodeAssigned' }, 'Normal', 'A'), false);
  }
});

test('forget() lets a failed write be retried; forgetObject drops all slots of an object', () => {
  const d = new EventDedupe();
  assert.equal(d.shouldEmit(svc, 'Normal', 'A'), true);
  d.forget(svc);
  assert.equal(d.shouldEmit(svc, 'Normal', 'A'), true);
  d.shouldEmit({ object: 'uid-1', slot: 'other' }, 'Normal', 'X');
  d.shouldEmit({ object: 'uid-2', slot: 'other' }, 'Normal', 'X');
  d.forgetObject('uid-1');
  assert.equal(d.size, 1);
  assert.equal(d.shouldEmit(svc, 'Normal', 'A'), true);
});

test('memory is bounded (LRU): the least recently used entry goes first', () => {
  const d = new EventDedupe(3);
  for (const o of ['a', 'b', 'c']) d.shouldEmit({ object: o, slot: 's' }, 'Normal', 'm');
  d.shouldEmit({ object: 'a', slot: 's' }, 'Normal', 'm'); // touch a: b is now oldest
  d.shouldEmit({ object: 'd', slot: 's' }, 'Normal', 'm'); // evicts b
  assert.equal(d.size, 3);
  assert.equal(d.shouldEmit({ object: 'a', slot: 's' }, 'Normal', 'm'), false, 'a remembered');
  assert.equal(d.shouldEmit({ object: 'b', slot: 's' }, 'Normal', 'm'), true, 'b was evicted');
  for (let i = 0; i < 1000; i++) d.shouldEmit({ object: `o${i}`, slot: 's' }, 'Normal', 'm');
  assert.equal(d.size, 3);
});
