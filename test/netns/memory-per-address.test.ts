// What one announced address costs in live heap (issue 12: growth per Service ≤ 2 KB per speaker),
// and a bound that fails if it grows back. Measured, not timed: the real Announcer on a real
// AF_PACKET socket in a namespace, 2,000 then 4,000 addresses in one process, forced full
// collections, the difference per address (scripts/bench/memory-per-address-child.ts). The figure
// moves by a few bytes between runs; before the per-address metric series were read at scrape
// time and the frames built per send it was 2.7 KB (IPv4) / 3.1-3.3 KB (IPv6), after 1.0 / 1.3 KB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../../scripts/kit/netns.ts';
import { addressHeap } from '../../scripts/kit/address-heap.ts';

test('an announced address costs at most 1.25 KB (IPv4) / 1.6 KB (IPv6) of live heap', async (t) => {
  const lab = await Lab.create(t);
  const r = await addressHeap(lab, 2000);
  t.diagnostic(`live heap per announced address: IPv4 ${r.ipv4} B, IPv6 ${r.ipv6} B`);
  assert.ok(r.ipv4 > 0 && r.ipv6 > 0, `a measurement, not noise: ${JSON.stringify(r)}`);
  assert.ok(r.ipv4 <= 1280, `IPv4: ${r.ipv4} B per address (bound 1280)`);
  assert.ok(r.ipv6 <= 1640, `IPv6: ${r.ipv6} B per address (bound 1640)`);
});
