import assert from 'node:assert/strict';
import { test } from 'node:test';
import { desiredRibOut, diffRibOut, isEmptyDiff, parseRoute, type AdjRibOut } from '../../../src/bgp/rib-out.ts';

const routes = (...texts: string[]) =>
  texts.map((t) => {
    const r = parseRoute(t);
    if ('error' in r) throw new Error(r.error);
    return r;
  });

test('parseRoute: canonical prefixes, bare addresses are host routes, host bits and junk are refused with the fix', () => {
  assert.deepEqual(parseRoute('192.0.2.10/32'), { prefix: { address: '192.0.2.10', length: 32 }, family: 4 });
  assert.deepEqual(parseRoute('2001:DB8:0::A'), { prefix: { address: '2001:db8::a', length: 128 }, family: 6 });
  assert.deepEqual(parseRoute('10.1.0.0/16'), { prefix: { address: '10.1.0.0', length: 16 }, family: 4 });
  assert.deepEqual(parseRoute('10.1.2.0/16'), { error: 'route "10.1.2.0/16": host bits are set; use 10.1.0.0/16' });
  assert.match((parseRoute('10.0.0.1/33') as { error: string }).error, /prefix length must be 0\.\.32/);
  assert.match((parseRoute('nope') as { error: string }).error, /"nope" is not an IP address/);
  assert.match((parseRoute('fe80::1%eth0/128') as { error: string }).error, /not an IP address/);
});

test('desired RIB: only negotiated families, only with a next hop of the family; the rest is explained', () => {
  const r = routes('192.0.2.1', '192.0.2.2', '2001:db8::1');
  const both = desiredRibOut(r, ['ipv4-unicast', 'ipv6-unicast'], { 4: '10.0.0.2', 6: 'fd00::2' });
  assert.deepEqual([...both.rib.keys()], ['192.0.2.1/32', '192.0.2.2/32', '2001:db8::1/128']);
  assert.deepEqual(both.skipped, {});
  const v4only = desiredRibOut(r, ['ipv4-unicast'], { 4: '10.0.0.2', 6: 'fd00::2' });
  assert.deepEqual([...v4only.rib.keys()], ['192.0.2.1/32', '192.0.2.2/32']);
  assert.match(v4only.skipped[6]!, /IPv6 unicast was not negotiated/);
  const noV6Hop = desiredRibOut(r, ['ipv4-unicast', 'ipv6-unicast'], { 4: '10.0.0.2' });
  assert.match(noV6Hop.skipped[6]!, /no IPv6 next hop/);
});

test('diff: new prefixes announced grouped by next hop, gone ones withdrawn, unchanged ones left alone', () => {
  const sent: AdjRibOut = desiredRibOut(routes('192.0.2.1', '192.0.2.2', '2001:db8::1'), ['ipv4-unicast', 'ipv6-unicast'], { 4: '10.0.0.2', 6: 'fd00::2' }).rib;
  const desired = desiredRibOut(routes('192.0.2.2', '192.0.2.3', '2001:db8::2'), ['ipv4-unicast', 'ipv6-unicast'], { 4: '10.0.0.2', 6: 'fd00::2' }).rib;
  const d = diffRibOut(sent, desired);
  assert.deepEqual(d.withdraw, [
    { family: 4, prefixes: [{ address: '192.0.2.1', length: 32 }] },
    { family: 6, prefixes: [{ address: '2001:db8::1', length: 128 }] },
  ]);
  assert.deepEqual(d.announce, [
    { family: 4, nextHop: '10.0.0.2', prefixes: [{ address: '192.0.2.3', length: 32 }] },
    { family: 6, nextHop: 'fd00::2', prefixes: [{ address: '2001:db8::2', length: 128 }] },
  ]);
  assert.ok(isEmptyDiff(diffRibOut(desired, desired)));
});

test('diff: a changed next hop re-announces (implicit withdraw), never withdraws first', () => {
  const sent = desiredRibOut(routes('192.0.2.1'), ['ipv4-unicast'], { 4: '10.0.0.2' }).rib;
  const desired = desiredRibOut(routes('192.0.2.1'), ['ipv4-unicast'], { 4: '10.0.0.3' }).rib;
  assert.deepEqual(diffRibOut(sent, desired), { withdraw: [], announce: [{ family: 4, nextHop: '10.0.0.3', prefixes: [{ address: '192.0.2.1', length: 32 }] }] });
});

test('diff from empty: 1,000 routes in one group (one attribute set, for packing)', () => {
  const many = Array.from({ length: 1000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`);
  const d = diffRibOut(new Map(), desiredRibOut(routes(...many), ['ipv4-unicast'], { 4: '10.0.0.2' }).rib);
  assert.equal(d.announce.length, 1);
  assert.equal(d.announce[0]!.prefixes.length, 1000);
});
