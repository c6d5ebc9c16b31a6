import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_REST_MS, REST_PER_ROUND_MS, reconcileDelayMs } from '../../../src/speaker/reconcile-pacing.ts';

test('the first round runs at once', () => {
  assert.equal(reconcileDelayMs(5, -Infinity, 0), 0);
});

test('a cheap round (small cluster) barely delays the next: a withdrawal right after an unrelated round is not held back', () => {
  // Round started at t=1000 and took 2 ms; the EndpointSlice event arrives at t=1003.
  const d = reconcileDelayMs(1003, 1000, 2);
  assert.equal(d, 2 + REST_PER_ROUND_MS * 2 - 3);
  assert.ok(d < 10, `delay ${d} ms`);
  assert.equal(reconcileDelayMs(1020, 1000, 2), 0);
});

test('an expensive round (a burst over 1,000 Services) rests in proportion, capped', () => {
  assert.equal(reconcileDelayMs(1030, 1000, 30), 30 + 90 - 30, 'rest 3x the 30 ms round after it ends');
  assert.equal(reconcileDelayMs(1500, 1000, 500), 500 + MAX_REST_MS - 500, 'rest capped');
  // Reconcile share of the CPU during back-to-back rounds of cost c: c / (c + rest) <= 1/4 below the cap.
  for (const c of [1, 5, 20, 33]) {
    const start = 0;
    const next = start + reconcileDelayMs(start, start, c);
    assert.ok(c / next <= 1 / (1 + REST_PER_ROUND_MS) + 1e-9, `cost ${c}: next at ${next}`);
  }
});

test('never negative; long after the last round it runs at once', () => {
  assert.equal(reconcileDelayMs(10_000, 1000, 5), 0);
  assert.equal(reconcileDelayMs(1000, 1000, -5), 0, 'a negative duration counts as 0');
});
