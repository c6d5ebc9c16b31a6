import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  broadcastMac, formatMac, ipv6MulticastMac, isMulticastMac, isZeroMac, macEquals, parseMac, solicitedNodeMulticastMac, zeroMac,
} from '../../../src/l2/mac.ts';
import {
  allNodesAddress, canonicalIP, formatIP, formatIPv6, isIPv6Multicast, isIPv6Unspecified, isSolicitedNodeAddress, parseIP,
  parseIPv4, parseIPv6, solicitedNodeAddress,
} from '../../../src/l2/ip-bytes.ts';
import { toHex } from './fixtures.ts';

test('mac: parse and format', () => {
  assert.equal(toHex(parseMac('02:00:00:00:00:0A')!), '02000000000a');
  assert.equal(toHex(parseMac('aa-bb-cc-dd-ee-ff')!), 'aabbccddeeff');
  for (const bad of ['', '02:00:00:00:00', '02:00:00:00:00:00:00', '2:0:0:0:0:0', 'zz:00:00:00:00:00', '02:00:00:00:00:0g', '02:00-00:00:00:00'])
    assert.equal(parseMac(bad), null, bad);
  assert.equal(formatMac(new Uint8Array([0x02, 0, 0xab, 0xcd, 0xef, 1])), '02:00:ab:cd:ef:01');
  assert.equal(formatMac(new Uint8Array([9, 9, 1, 2, 3, 4, 5, 6]), 2), '01:02:03:04:05:06');
  assert.equal(formatMac(broadcastMac()), 'ff:ff:ff:ff:ff:ff');
  assert.equal(formatMac(zeroMac()), '00:00:00:00:00:00');
  assert.ok(isMulticastMac(broadcastMac()) && isMulticastMac(parseMac('33:33:00:00:00:01')!));
  assert.ok(!isMulticastMac(parseMac('02:00:00:00:00:01')!));
  assert.ok(isZeroMac(zeroMac()) && !isZeroMac(broadcastMac()));
  assert.ok(macEquals(parseMac('02:00:00:00:00:0a')!, new Uint8Array([9, 9, 2, 0, 0, 0, 0, 0x0a]), 0, 2));
  assert.ok(!macEquals(parseMac('02:00:00:00:00:0a')!, parseMac('02:00:00:00:00:0b')!));
  // constants are fresh copies: mutating one cannot poison the next
  broadcastMac()[0] = 0;
  assert.equal(formatMac(broadcastMac()), 'ff:ff:ff:ff:ff:ff');
});

test('mac: IPv6 multicast mappings (RFC 2464 §7)', () => {
  const ip = parseIPv6('2001:db8::12:3456')!;
  assert.equal(formatMac(solicitedNodeMulticastMac(ip)), '33:33:ff:12:34:56');
  assert.equal(formatMac(ipv6MulticastMac(allNodesAddress())), '33:33:00:00:00:01');
  assert.equal(formatMac(ipv6MulticastMac(parseIPv6('ff02::1:ff12:3456')!)), '33:33:ff:12:34:56');
});

test('ipv4: strict dotted decimal', () => {
  assert.equal(toHex(parseIPv4('192.0.2.1')!), 'c0000201');
  assert.equal(toHex(parseIPv4('0.0.0.0')!), '00000000');
  assert.equal(toHex(parseIPv4('255.255.255.255')!), 'ffffffff');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-4', '1..3.4', '0x1.2.3.4', '1.2.3.4/32'])
    assert.equal(parseIPv4(bad), null, bad);
});

test('ipv6: parse forms of RFC 4291 §2.2, reject zones and junk', () => {
  const cases: [string, string][] = [
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:DB8::2', '20010db8000000000000000000000002'],
    ['2001:db8:0:0:0:0:0:2', '20010db8000000000000000000000002'],
    ['ff02::1:ff00:5', 'ff0200000000000000000001ff000005'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['64:ff9b::192.0.2.1', '0064ff9b0000000000000000c0000201'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ];
  for (const [text, h] of cases) assert.equal(toHex(parseIPv6(text)!), h, text);
  for (const bad of [
    '', ':', ':::', '1:::2', '1::2::3', 'fe80::1%eth0', 'fe80::1%1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::',
    'g::1', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '1.2.3.4::', '::1.2.3', '::256.0.0.1', '1:2:3:4:5:6:7::8', ' ::1',
    '1:2:3:4:5:6:7:1.2.3.4',
  ])
    assert.equal(parseIPv6(bad), null, bad);
});

test('ipv6: RFC 5952 canonical text', () => {
  const cases: [string, string][] = [
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'],
    ['::c000:201', '::c000:201'], // deprecated IPv4-compatible stays hex
    ['FE80::00FF:FE00:000A', 'fe80::ff:fe00:a'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ];
  for (const [text, canon] of cases) {
    assert.equal(canonicalIP(text), canon, text);
    assert.equal(canonicalIP(canon), canon, 'idempotent ' + canon);
  }
  assert.equal(canonicalIP('192.0.2.1'), '192.0.2.1');
  assert.equal(canonicalIP('fe80::1%eth0'), null);
  assert.equal(canonicalIP('nonsense'), null);
  assert.equal(formatIP(parseIP('10.1.2.3')!), '10.1.2.3');
  assert.equal(formatIPv6(new Uint8Array([7, 7, ...parseIPv6('2001:db8::2')!]), 2), '2001:db8::2');
});

test('ipv6: format/parse round trip over random addresses with zero runs', () => {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let n = 0; n < 5000; n++) {
    const b = new Uint8Array(16);
    for (let i = 0; i < 16; i++) b[i] = rnd() < 128 ? 0 : rnd();
    const text = formatIPv6(b);
    assert.deepEqual(parseIPv6(text), b, text);
    assert.equal(text, text.toLowerCase());
    assert.ok(!/(^|:)0[0-9a-f]/.test(text.replace(/\d+\.\d+\.\d+\.\d+$/, '')), text);
  }
});

test('ipv6: solicited-node and predicates', () => {
  const a = parseIPv6('2001:db8::abcd:1234:5678')!;
  assert.equal(formatIPv6(solicitedNodeAddress(a)), 'ff02::1:ff34:5678');
  assert.ok(isSolicitedNodeAddress(solicitedNodeAddress(a)));
  assert.ok(!isSolicitedNodeAddress(allNodesAddress()));
  assert.ok(!isSolicitedNodeAddress(parseIPv6('ff02::2:ff34:5678')!));
  assert.ok(isIPv6Multicast(allNodesAddress()) && !isIPv6Multicast(a));
  assert.ok(isIPv6Unspecified(parseIPv6('::')!) && !isIPv6Unspecified(parseIPv6('::1')!));
  assert.equal(formatIPv6(allNodesAddress()), 'ff02::1');
});
