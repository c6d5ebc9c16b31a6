import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipToString, parseIP } from '../../../src/net/ip.ts';
import { formatRange, parseAddressSpec, rangeContains, rangesOverlap } from '../../../src/ipam/range.ts';

function ok(spec: string) {
  const r = parseAddressSpec(spec);
  assert.ok(r.ok, `expected ${spec} to parse: ${r.ok ? '' : r.message}`);
  return r.value;
}
function bad(spec: string): string {
  const r = parseAddressSpec(spec);
  assert.equal(r.ok, false, `expected ${spec} to be rejected`);
  if (r.ok) throw new Error('unreachable');
  assert.equal(r.reason, 'InvalidAddress');
  return r.message;
}

test('single IPv4 and IPv6 addresses', () => {
  const a = ok('192.168.0.100');
  assert.deepEqual([a.family, a.size, ipToString(4, a.first)], [4, 1n, '192.168.0.100']);
  const b = ok('2001:DB8::0:1');
  assert.deepEqual([b.family, b.size, ipToString(6, b.first)], [6, 1n, '2001:db8::1']);
});

test('seed range 192.168.0.91-192.168.0.100 has 10 addresses, spaces around the dash allowed', () => {
  const r = ok('192.168.0.91-192.168.0.100');
  assert.equal(r.size, 10n);
  assert.equal(ipToString(4, r.first), '192.168.0.91');
  assert.equal(ipToString(4, r.last), '192.168.0.100');
  assert.equal(ok('192.168.0.91 - 192.168.0.100').size, 10n);
  assert.equal(ok('192.168.50.50-192.168.50.60').size, 11n);
});

test('CIDR counts every address, network and broadcast included', () => {
  const r = ok('192.168.0.0/24');
  assert.equal(r.size, 256n);
  assert.equal(ipToString(4, r.first), '192.168.0.0');
  assert.equal(ipToString(4, r.last), '192.168.0.255');
  assert.equal(ok('10.0.0.5/32').size, 1n);
  const v6 = ok('2001:db8::/120');
  assert.equal(v6.size, 256n);
  assert.equal(ipToString(6, v6.last), '2001:db8::ff');
});

test('IPv6 /64 is 2^64 addresses, /0 works for both families', () => {
  const r = ok('2001:db8:1:2::/64');
  assert.equal(r.size, 2n ** 64n);
  assert.equal(ipToString(6, r.last), '2001:db8:1:2:ffff:ffff:ffff:ffff');
  assert.equal(ok('0.0.0.0/0').size, 2n ** 32n);
  assert.equal(ok('::/0').size, 2n ** 128n);
  assert.equal(ipToString(6, ok('::/0').last), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
});

test('CIDR with host bits is normalised to its network, with a note', () => {
  const r = ok('192.168.0.77/24');
  assert.equal(ipToString(4, r.first), '192.168.0.0');
  assert.equal(r.size, 256n);
  assert.match(r.note ?? '', /host bits set.*192\.168\.0\.0\/24/);
  assert.equal(ok('192.168.0.0/24').note, undefined);
});

test('zone ids are rejected', () => {
  assert.match(bad('fe80::1%eth0'), /zone id/);
  assert.match(bad('fe80::1%eth0-fe80::5'), /zone id/);
  assert.equal(parseIP('fe80::1%eth0'), undefined);
});

test('mixed-family ranges are rejected naming both families', () => {
  const m = bad('10.0.0.1-2001:db8::1');
  assert.match(m, /mixes IPv4 \(10\.0\.0\.1\) and IPv6 \(2001:db8::1\)/);
  assert.match(m, /one Eip per family/);
});

test('reversed ranges are rejected with the corrected range', () => {
  assert.equal(bad('10.0.0.9-10.0.0.1'), 'range 10.0.0.9-10.0.0.1 is reversed: write the lower address first (10.0.0.1-10.0.0.9)');
  assert.match(bad('2001:db8::9-2001:db8::1'), /\(2001:db8::1-2001:db8::9\)/);
});

test('garbage is rejected with a hint', () => {
  for (const s of ['', '   ', 'abc', '1.2.3', '1.2.3.256', '010.0.0.1', '1.2.3.4/33', '1.2.3.4/', '2001:db8::/129', '1.2.3.4/x', '10.0.0.0/24-10.0.1.0', '1.1.1.1-2.2.2.2-3.3.3.3', ':::1']) {
    const m = bad(s);
    assert.ok(m.length > 10, s);
  }
  assert.match(bad('abc'), /"abc" is not an IPv4 or IPv6 address; write one IP/);
  assert.match(bad('1.2.3.4/33'), /0 to 32/);
  assert.match(bad(''), /empty/);
});

test('range helpers', () => {
  const a = ok('10.0.0.0/30');
  const b = ok('10.0.0.3-10.0.0.9');
  const c = ok('10.0.0.4-10.0.0.9');
  assert.equal(rangesOverlap(a, b), true);
  assert.equal(rangesOverlap(a, c), false);
  assert.equal(rangesOverlap(a, ok('::/0')), false);
  assert.equal(rangeContains(a, { family: 4, value: a.last }), true);
  assert.equal(rangeContains(a, { family: 6, value: a.last }), false);
  assert.equal(formatRange(a), '10.0.0.0-10.0.0.3');
  assert.equal(formatRange(ok('10.0.0.1')), '10.0.0.1');
});
