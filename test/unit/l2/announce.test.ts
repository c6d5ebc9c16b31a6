import { test } from 'node:test';
import assert from 'node:assert/strict';
import { announcementFrames, arpProbe, dadProbe, gratuitousArp, probeAnswered, probeFrame, unsolicitedNa } from '../../../src/l2/announce.ts';
import { arpRequestFrame, arpFrame } from '../../../src/l2/arp.ts';
import { ndpFrame } from '../../../src/l2/ndp.ts';
import { parseMac } from '../../../src/l2/mac.ts';
import { parseIPv4, parseIPv6 } from '../../../src/net/ip.ts';
import { solicitedNodeAddress } from '../../../src/l2/ipv6.ts';
import {
  CAP_ARP_PROBE, CAP_ARP_PROBE_REPLY, CAP_ARP_REQUEST, CAP_DAD_NS, CAP_GARP_REPLY, CAP_NA, CAP_NS, CAP_RS, CAP_UNSOLICITED_NA,
  CLIENT_MAC, HOST_MAC, toHex,
} from './fixtures.ts';

const A = parseMac(CLIENT_MAC)!;
const B = parseMac(HOST_MAC)!;
const C = parseMac('02:00:00:00:00:0c')!;
const ip6 = (s: string) => parseIPv6(s)!;

test('gratuitousArp: RFC 5227 announcement request + broadcast reply (as arping -A)', () => {
  const [req, rep, ...rest] = gratuitousArp('192.0.2.1', CLIENT_MAC);
  assert.equal(rest.length, 0);
  assert.equal(toHex(req!), 'ffffffffffff02000000000a0806' + '0001080006040001' + '02000000000ac0000201' + '000000000000c0000201');
  assert.equal(toHex(rep!), toHex(CAP_GARP_REPLY));
  assert.deepEqual(gratuitousArp('192.0.2.1', A), [req, rep]); // MAC as bytes or text
});

test('unsolicitedNa equals the kernel’s unsolicited NA byte for byte', () => {
  assert.equal(toHex(unsolicitedNa('2001:db8::5', CLIENT_MAC)), toHex(CAP_UNSOLICITED_NA));
  assert.equal(toHex(unsolicitedNa('2001:DB8:0::5', A)), toHex(CAP_UNSOLICITED_NA)); // any valid spelling
});

test('arpProbe and dadProbe', () => {
  assert.equal(toHex(arpProbe('192.0.2.2', CLIENT_MAC)), 'ffffffffffff02000000000a0806' + '0001080006040001' + '02000000000a00000000' + '000000000000c0000202');
  // the kernel's DAD probe minus its nonce option; checksum 0x4ce5 computed independently
  assert.equal(
    toHex(dadProbe('2001:db8::5', CLIENT_MAC)),
    '3333ff00000502000000000a86dd' + '6000000000183aff' + '0'.repeat(32) + 'ff0200000000000000000001ff000005' + '87004ce5' + '00000000' + '20010db8000000000000000000000005',
  );
});

test('family dispatch and input errors', () => {
  assert.equal(announcementFrames('192.0.2.1', A).length, 2);
  assert.deepEqual(announcementFrames('2001:db8::5', A), [unsolicitedNa('2001:db8::5', A)]);
  assert.deepEqual(probeFrame('192.0.2.2', A), arpProbe('192.0.2.2', A));
  assert.deepEqual(probeFrame('2001:db8::5', A), dadProbe('2001:db8::5', A));
  assert.throws(() => gratuitousArp('2001:db8::1', A), TypeError);
  assert.throws(() => unsolicitedNa('192.0.2.1', A), TypeError);
  assert.throws(() => arpProbe('192.0.2.256', A), TypeError);
  assert.throws(() => dadProbe('fe80::1%eth0', A), TypeError);
  assert.throws(() => gratuitousArp('192.0.2.1', 'nope'), TypeError);
  assert.throws(() => gratuitousArp('192.0.2.1', new Uint8Array(4)), TypeError);
  assert.throws(() => probeAnswered(CAP_NA, 'x', A), TypeError);
});

test('probeAnswered: ARP', () => {
  assert.equal(probeAnswered(CAP_ARP_PROBE_REPLY, '192.0.2.2', A), HOST_MAC, 'the owner answers our probe');
  assert.equal(probeAnswered(CAP_ARP_PROBE, '192.0.2.2', A), false, 'our own probe looping back');
  assert.equal(probeAnswered(CAP_ARP_PROBE, '192.0.2.2', C), CLIENT_MAC, 'a simultaneous probe from another host');
  assert.equal(probeAnswered(CAP_ARP_REQUEST, '192.0.2.1', C), CLIENT_MAC, 'another host using the IP as its sender');
  assert.equal(probeAnswered(CAP_ARP_REQUEST, '192.0.2.2', C), false, 'someone merely asking for it');
  assert.equal(probeAnswered(CAP_ARP_REQUEST, '192.0.2.7', C), false, 'unrelated');
  assert.equal(probeAnswered(CAP_ARP_REQUEST, '2001:db8::1', C), false, 'other family');
  // sender MAC ours behind another Ethernet source: still ours
  assert.equal(probeAnswered(arpFrame(B, C, { op: 2, senderMac: A, senderIp: parseIPv4('192.0.2.2')!, targetMac: A, targetIp: new Uint8Array(4) }), '192.0.2.2', A), false);
  assert.equal(probeAnswered(arpRequestFrame(C, parseIPv4('192.0.2.2')!, parseIPv4('192.0.2.3')!), '192.0.2.2', A), '02:00:00:00:00:0c');
  const bad = CAP_ARP_PROBE_REPLY.slice();
  bad[15] = 9;
  assert.equal(probeAnswered(bad, '192.0.2.2', A), false, 'malformed');
  assert.equal(probeAnswered(new Uint8Array(3), '192.0.2.2', A), false, 'garbage');
});

test('probeAnswered: NDP', () => {
  assert.equal(probeAnswered(CAP_NA, '2001:db8::2', A), HOST_MAC, 'NA with another lladdr');
  assert.equal(probeAnswered(CAP_NA, '2001:db8::2', B), false, 'our own NA');
  assert.equal(probeAnswered(CAP_NA, '2001:db8::3', A), false, 'NA for another target');
  assert.equal(probeAnswered(CAP_DAD_NS, '2001:db8::5', B), CLIENT_MAC, 'another host’s DAD for the same address');
  assert.equal(probeAnswered(CAP_DAD_NS, '2001:db8::5', A), false, 'our own DAD probe');
  assert.equal(probeAnswered(CAP_NS, '2001:db8::2', C), false, 'an ordinary NS asking for it');
  assert.equal(probeAnswered(CAP_NS, 'fe80::ff:fe00:a', C), CLIENT_MAC, 'an NS sent from the address');
  assert.equal(probeAnswered(CAP_RS, 'fe80::ff:fe00:b', C), false, 'not NDP');
  const noTlla = ndpFrame(A, C, {
    type: 'na', src: ip6('2001:db8::5'), dst: ip6('fe80::1'), hopLimit: 255, target: ip6('2001:db8::5'),
    router: false, solicited: true, override: true, targetLinkLayer: null,
  });
  assert.equal(probeAnswered(noTlla, '2001:db8::5', A), '02:00:00:00:00:0c', 'NA without lladdr: its Ethernet source');
  const badHop = ndpFrame(A, C, {
    type: 'ns', src: ip6('::'), dst: solicitedNodeAddress(ip6('2001:db8::5')), hopLimit: 1, target: ip6('2001:db8::5'), sourceLinkLayer: null,
  });
  assert.equal(probeAnswered(badHop, '2001:db8::5', A), false, 'invalid NDP never counts');
});
