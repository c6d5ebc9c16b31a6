import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChurnMap } from '../../../src/ipam/churn-map.ts';

test('ChurnMap behaves like a Map under churn, across compactions', () => {
  const c = new ChurnMap<string, number>();
  const m = new Map<string, number>();
  let seed = 3;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 20000; i++) {
    const k = `k${Math.floor(rnd() * 200)}`;
    if (rnd() < 0.5) {
      c.set(k, i);
      m.set(k, i);
    } else {
      assert.equal(c.delete(k), m.delete(k));
    }
    assert.equal(c.size, m.size);
    assert.equal(c.get(k), m.get(k));
    assert.equal(c.has(k), m.has(k));
  }
  assert.deepEqual([...c.entries()].sort(), [...m.entries()].sort());
  assert.deepEqual([...c.keys()].sort(), [...m.keys()].sort());
  assert.deepEqual([...c.values()].sort(), [...m.values()].sort());
});
