import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pollErrorBackoffMs } from '../../../native-bindings/runtime.ts';

test('a first poll error restarts at once; repeated errors back off, doubling, capped at 2 s', () => {
  assert.equal(pollErrorBackoffMs(0), 0);
  assert.equal(pollErrorBackoffMs(1), 0);
  assert.deepEqual([2, 3, 4, 5, 6, 7].map(pollErrorBackoffMs), [50, 100, 200, 400, 800, 1600]);
  assert.equal(pollErrorBackoffMs(8), 2000);
  assert.equal(pollErrorBackoffMs(1000), 2000);
});
