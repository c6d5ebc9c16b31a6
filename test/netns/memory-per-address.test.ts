// What one announced address costs in live heap (issue 12: growth per Service ≤ 2 KB per speaker),
// and a bound that fails if it grows back. Measured, not timed: the real Announcer on a real
// AF_PACKET socket in a namespace, 2,000 then 4,000 addresses in one process, forced full
// collections, the difference per address (scripts/bench/memory-per-address-child.ts). The figure
// moves by a few bytes between runs. Before issue 12's work it was 2.7 KB (IPv4) / 3.1-3.3 KB
// (IPv6); with the per-address metric series read at scrape time and the frames built per send
// 1.0 / 1.3 KB; with one schedule per announcer instead of a Node timer per address 0.37 / 0.71 KB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../../scripts/kit/netns.ts';
import { addressHeap } from '../../scripts/kit/address-heap.ts';

test('an announced address costs at most 0.5 KB (IPv4) / 0.9 KB (IPv6) of live heap', async (t) => {
  const lab = await Lab.create(t);
  const r = await addressHeap(lab, 2000);
  t.diagnostic(`live heap per announced address: IPv4 ${r.ipv4} B, IPv6 ${r.ipv6} B`);
  assert.ok(r.ipv4 > 0 && r.ipv6 > 0, `a measurement, not noise: ${JSON.stringify(r)}`);
  assert.ok(r.ipv4 <= 512, `IPv4: ${r.ipv4} B per address (bound 512)`);
  assert.ok(r.ipv6 <= 920, `IPv6: ${r.ipv6} B per address (bound 920)`);
});
