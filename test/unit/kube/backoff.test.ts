import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, defaultBackoff } from '../../../src/kube/backoff.ts';

const noJitter = { initialMs: 100, maxMs: 5000, factor: 2, jitter: 0 };

test('backoff doubles from the initial delay and stops at the cap', () => {
  const delays = [0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(noJitter, a));
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
});

test('huge attempt counts stay at the cap (no Infinity/NaN)', () => {
  assert.equal(backoffDelay(noJitter, 1e9), 5000);
  assert.equal(backoffDelay(noJitter, Number.MAX_SAFE_INTEGER), 5000);
});

test('negative or fractional attempts are treated as the first retry', () => {
  assert.equal(backoffDelay(noJitter, -3), 100);
  assert.equal(backoffDelay(noJitter, 0.9), 100);
});

test('jitter only shortens, by at most the jitter fraction', () => {
  const p = { ...noJitter, jitter: 0.2 };
  assert.equal(backoffDelay(p, 3, () => 0), 800);
  assert.equal(backoffDelay(p, 3, () => 1), 640);
  assert.equal(backoffDelay(p, 3, () => 0.5), 720);
  assert.equal(backoffDelay(p, 100, () => 0), 5000, 'cap holds with jitter');
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(defaultBackoff, i % 12);
    assert.ok(d >= 0 && d <= defaultBackoff.maxMs, `delay ${d} within [0, max]`);
  }
});
