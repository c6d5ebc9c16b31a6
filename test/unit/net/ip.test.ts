// src/net/ip.ts: the one parser and canonical text of IP addresses. The last test is the reason it
// exists: an address the IPAM controller hands out and the announcer's frame path key the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address6 } from 'ip-address';
import {
  canonicalIP, formatIPBytes, formatIPv6, inPrefix, ipFromBytes, ipToBytes, ipToString, maskOf, parseIP, parseIPBytes, parseIPv4, parseIPv6,
} from '../../../src/net/ip.ts';
import { reconcileAll } from '../../../src/ipam/plan.ts';
import { respond } from '../../../src/l2/respond.ts';
import { ndpFrame } from '../../../src/l2/ndp.ts';
import { solicitedNodeAddress } from '../../../src/l2/ipv6.ts';
import { parseMac, solicitedNodeMulticastMac } from '../../../src/l2/mac.ts';
import { eip, EIP, svc } from '../ipam/helpers.ts';

const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

test('ipv4: strict dotted decimal, surrounding whitespace ignored', () => {
  assert.equal(toHex(parseIPv4('192.0.2.1')!), 'c0000201');
  assert.equal(toHex(parseIPv4('0.0.0.0')!), '00000000');
  assert.equal(toHex(parseIPv4('255.255.255.255')!), 'ffffffff');
  assert.equal(toHex(parseIPv4(' 192.0.2.1\n')!), 'c0000201');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '192.168.000.1', '1.2.3.-4', '1..3.4', '0x1.2.3.4', '1.2.3.4/32', '1.2 .3.4', '::1'])
    assert.equal(parseIPv4(bad), undefined, bad);
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
    ['::ffff:c000:201', '00000000000000000000ffffc0000201'],
    ['64:ff9b::192.0.2.1', '0064ff9b0000000000000000c0000201'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    [' ::1 ', '00000000000000000000000000000001'],
  ];
  for (const [text, h] of cases) assert.equal(toHex(parseIPv6(text)!), h, text);
  for (const bad of [
    '', ':', ':::', '1:::2', '1::2::3', 'fe80::1%eth0', 'fe80::1%1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::',
    'g::1', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '1.2.3.4::', '::1.2.3', '::256.0.0.1', '1:2:3:4:5:6:7::8', '::1/128',
    '1:2:3:4:5:6:7:1.2.3.4', '1:2:3:4:5:6:7::8:9', '192.0.2.1',
  ])
    assert.equal(parseIPv6(bad), undefined, bad);
  for (const bad of ['fe80::1%eth0', 'eth0', '', '10.0.0.1/32']) {
    assert.equal(parseIP(bad), undefined, bad);
    assert.equal(parseIPBytes(bad), undefined, bad);
    assert.equal(canonicalIP(bad), undefined, bad);
  }
});

test('canonical text: IPv4 dotted, IPv6 RFC 5952, IPv4-mapped as ::ffff:a.b.c.d', () => {
  const cases: [string, string][] = [
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:0DB8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'], // RFC 5952 §5
    ['::FFFF:192.0.2.1', '::ffff:192.0.2.1'],
    ['::c000:201', '::c000:201'], // deprecated IPv4-compatible stays hex
    ['FE80::00FF:FE00:000A', 'fe80::ff:fe00:a'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    [' 10.0.0.1 ', '10.0.0.1'],
  ];
  for (const [text, canon] of cases) {
    assert.equal(canonicalIP(text), canon, text);
    assert.equal(canonicalIP(canon), canon, 'idempotent ' + canon);
    const ip = parseIP(text)!;
    assert.equal(ipToString(ip.family, ip.value), canon, 'number -> text ' + text);
    assert.equal(formatIPBytes(parseIPBytes(text)!), canon, 'bytes -> text ' + text);
  }
  assert.equal(ipToString(4, 0xc0000201n), '192.0.2.1');
  assert.equal(ipToString(4, 0xffffffffn), '255.255.255.255');
  assert.equal(formatIPv6(new Uint8Array([7, 7, ...parseIPv6('2001:db8::2')!]), 2), '2001:db8::2');
});

test('bytes, numbers and text agree over random addresses (and with ip-address outside ::ffff:0:0/96)', () => {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let n = 0; n < 5000; n++) {
    const b = new Uint8Array(16);
    for (let i = 0; i < 16; i++) b[i] = rnd() < 128 ? 0 : rnd();
    if (n % 10 === 0) b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]); // IPv4-mapped
    const text = formatIPv6(b);
    assert.deepEqual(parseIPv6(text), b, text);
    const ip = ipFromBytes(b);
    assert.equal(ipToString(6, ip.value), text, text);
    assert.deepEqual(ipToBytes(6, ip.value), b, text);
    assert.equal(text, text.toLowerCase());
    assert.ok(!/(^|:)0[0-9a-f]/.test(text.replace(/\d+\.\d+\.\d+\.\d+$/, '')), text);
    // ip-address's correctForm is RFC 5952 except for mapped addresses, which it writes in hex.
    if (n % 10 !== 0) assert.equal(text, Address6.fromBigInt(ip.value).correctForm(), text);
  }
  const v4 = ipFromBytes(new Uint8Array([10, 1, 2, 3]));
  assert.deepEqual(v4, { family: 4, value: 0x0a010203n });
  assert.deepEqual(ipToBytes(4, v4.value), new Uint8Array([10, 1, 2, 3]));
});

test('prefixes: masks and membership by family', () => {
  assert.equal(maskOf(4, 24), 0xffffff00n);
  assert.equal(maskOf(4, 0), 0n);
  assert.equal(maskOf(6, 64), 0xffffffffffffffff0000000000000000n);
  assert.ok(inPrefix(parseIP('10.0.0.7')!, 4, parseIP('10.0.0.0')!.value, 24));
  assert.ok(!inPrefix(parseIP('10.0.1.7')!, 4, parseIP('10.0.0.0')!.value, 24));
  assert.ok(!inPrefix(parseIP('::a00:7')!, 4, parseIP('10.0.0.0')!.value, 24), 'other family');
  assert.ok(inPrefix(parseIP('2001:db8::9')!, 6, parseIP('2001:db8::')!.value, 64));
});

test('one key: an IPv4-mapped address the IPAM controller assigns is the key the announcer answers for', () => {
  // The controller side: an Eip of IPv4-mapped IPv6 addresses; the Service gets the first one.
  const out = reconcileAll({
    pools: [eip('mapped', '::ffff:192.0.2.0/126')],
    services: [svc('default/web', { ipFamilies: ['IPv6'] }, { [EIP]: 'mapped' })],
    namespaces: { default: {} },
  });
  const r = out.services.get('default/web')!;
  assert.equal(r.state, 'assigned', JSON.stringify(r));
  // The announcer side: a Neighbor Solicitation for those bytes, keyed by the responder's own
  // formatting of the wire bytes, finds the controller's key in the owned set and is answered.
  const vip = r.ips[0]!;
  assert.equal(canonicalIP(vip), vip);
  const target = parseIPv6(vip)!;
  const asker = parseMac('02:00:00:00:00:0a')!;
  const frame = ndpFrame(solicitedNodeMulticastMac(target), asker, {
    type: 'ns', src: parseIPv6('fd00::2')!, dst: solicitedNodeAddress(target), hopLimit: 255, target, sourceLinkLayer: asker,
  });
  const owned = new Set(r.ips);
  const d = respond(frame, { mac: parseMac('02:00:00:00:00:0b')! }, (ip) => owned.has(ip));
  assert.equal(d.kind, 'reply', `the announcer keyed the VIP differently from the controller: ${JSON.stringify(d)}`);
  assert.equal(d.kind === 'reply' ? d.ip : '', vip);
  // And the text both write (Service status, Eip status, metrics labels) is RFC 5952's.
  assert.deepEqual(r.ips, ['::ffff:192.0.2.0']);
  assert.deepEqual(Object.keys(out.pools.get('mapped')!.used), ['::ffff:192.0.2.0']);
});
