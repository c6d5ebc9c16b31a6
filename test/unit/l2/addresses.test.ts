import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  broadcastMac, formatMac, ipv6MulticastMac, isMulticastMac, isZeroMac, macEquals, parseMac, solicitedNodeMulticastMac, zeroMac,
} from '../../../src/l2/mac.ts';
import { allNodesAddress, isSolicitedNodeAddress, solicitedNodeAddress } from '../../../src/l2/ipv6.ts';
import { formatIPv6, isIPv6Multicast, isIPv6Unspecified, parseIPv6 } from '../../../src/net/ip.ts';
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
