import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetSet, RangeAllocator } from '../../../src/ipam/allocator.ts';
import { parseAddressSpec } from '../../../src/ipam/range.ts';

function range(spec: string) {
  const r = parseAddressSpec(spec);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

test('OffsetSet finds the first gap and matches a naive model under random operations', () => {
  const s = new OffsetSet();
  const model = new Set<bigint>();
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 5000; i++) {
    const o = BigInt(Math.floor(rnd() * 300));
    if (rnd() < 0.6) {
      assert.equal(s.add(o), !model.has(o));
      model.add(o);
    } else {
      assert.equal(s.delete(o), model.has(o));
      model.delete(o);
    }
    let want = 0n;
    while (model.has(want)) want++;
    assert.equal(s.firstFree(), want);
    assert.equal(s.size, model.size);
  }
  const vals = s.values();
  for (let i = 1; i < vals.length; i++) assert.ok((vals[i - 1] as bigint) < (vals[i] as bigint));
});

test('RangeAllocator hands out the lowest free address, exhausts, and reuses released ones', () => {
  const a = new RangeAllocator(range('192.168.0.91-192.168.0.93'));
  const first = a.range.first;
  assert.equal(a.nextFree(), first);
  a.markUsed(first);
  a.markUsed(first + 2n);
  assert.equal(a.nextFree(), first + 1n);
  a.markUsed(first + 1n);
  assert.equal(a.nextFree(), undefined);
  assert.equal(a.full(), true);
  a.markFree(first + 1n);
  assert.equal(a.nextFree(), first + 1n);
  a.markUsed(first + 100n); // outside: ignored
  assert.equal(a.inUse, 2);
});

test('RangeAllocator works at the end of an IPv6 /64 without scanning', () => {
  const r = range('2001:db8::/64');
  const a = new RangeAllocator(r);
  for (let i = 0n; i < 1000n; i++) a.markUsed(r.first + i);
  assert.equal(a.nextFree(), r.first + 1000n);
  a.markUsed(r.last);
  assert.equal(a.isUsed(r.last), true);
  assert.equal(a.nextFree(), r.first + 1000n);
});

test('OffsetSet keeps offsets above 2^53 exactly and apart from the first-gap search', () => {
  const s = new OffsetSet();
  const big = 2n ** 63n + 5n;
  assert.equal(s.add(big), true);
  assert.equal(s.add(big + 1n), true);
  assert.equal(s.add(big), false);
  assert.equal(s.has(big + 1n), true);
  assert.equal(s.has(big + 2n), false);
  assert.equal(s.firstFree(), 0n);
  s.add(0n);
  s.add(2n ** 53n - 1n);
  assert.equal(s.firstFree(), 1n);
  assert.deepEqual(s.values(), [0n, 2n ** 53n - 1n, big, big + 1n]);
  assert.equal(s.delete(big), true);
  assert.equal(s.delete(big), false);
  assert.equal(s.size, 3);
});
