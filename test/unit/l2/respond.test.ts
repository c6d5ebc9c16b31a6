import { test } from 'node:test';
import assert from 'node:assert/strict';
import { respond, IGNORE_REASONS, type Decision, type IgnoreReason, type NicIdentity } from '../../../src/l2/respond.ts';
import * as arp from '../../../src/l2/arp.ts';
import { arpFrame, arpRequestFrame } from '../../../src/l2/arp.ts';
import * as ndp from '../../../src/l2/ndp.ts';
import { ndpFrame, type NdpMessage } from '../../../src/l2/ndp.ts';
import * as ethernet from '../../../src/l2/ethernet.ts';
import { parseMac, broadcastMac } from '../../../src/l2/mac.ts';
import { parseIPv4, parseIPv6 } from '../../../src/net/ip.ts';
import * as ipv6 from '../../../src/l2/ipv6.ts';
import { solicitedNodeAddress } from '../../../src/l2/ipv6.ts';
import {
  CAP_ARP_PROBE, CAP_ARP_PROBE_REPLY, CAP_ARP_REPLY, CAP_ARP_REQUEST, CAP_DAD_NS, CAP_GARP_REPLY, CAP_GARP_REQUEST, CAP_NA, CAP_NS,
  CAP_RS, CAP_UNSOLICITED_NA, CLIENT_MAC, HOST_MAC, padded, toHex,
} from './fixtures.ts';

const A = parseMac(CLIENT_MAC)!; // the asker
const B = parseMac(HOST_MAC)!; // us
const C = parseMac('02:00:00:00:00:0c')!; // a third host
const nicB: NicIdentity = { mac: B };
const ip4 = (s: string) => parseIPv4(s)!;
const ip6 = (s: string) => parseIPv6(s)!;
const owns = (...ips: string[]) => {
  const set = new Set(ips);
  return (ip: string) => set.has(ip);
};
const OWNED = owns('192.0.2.2', '2001:db8::2', '2001:db8::5');

const ignoredSeen = new Set<IgnoreReason>();
function ignored(d: Decision, reason: IgnoreReason): void {
  assert.deepEqual(d, { kind: 'ignore', reason });
  ignoredSeen.add(reason);
}
function reply(d: Decision): Extract<Decision, { kind: 'reply' }> {
  assert.equal(d.kind, 'reply', JSON.stringify(d));
  return d as Extract<Decision, { kind: 'reply' }>;
}

// ---------- ARP

test('ARP request for an owned IP: unicast reply identical to the kernel', () => {
  const d = reply(respond(padded(CAP_ARP_REQUEST), nicB, OWNED));
  assert.equal(d.ip, '192.0.2.2');
  assert.equal(d.why, 'arp-request');
  assert.equal(toHex(d.frame), toHex(CAP_ARP_REPLY)); // eth dst = asker, sender = our MAC + VIP, target = asker
});

test('ARP probe (sender 0.0.0.0) for an owned IP: unicast reply to the prober, target IP 0.0.0.0', () => {
  const d = reply(respond(CAP_ARP_PROBE, nicB, OWNED));
  assert.equal(d.why, 'arp-probe');
  assert.equal(toHex(d.frame), toHex(CAP_ARP_PROBE_REPLY));
});

test('answers with the receiving NIC’s MAC, whatever NIC that is', () => {
  const d = reply(respond(CAP_ARP_REQUEST, { mac: C }, OWNED));
  const a = arp.decode(d.frame.subarray(14));
  assert.ok(a.ok && toHex(a.value.senderMac) === toHex(C));
  assert.equal(toHex(d.frame.subarray(6, 12)), toHex(C));
});

test('ARP: not owned, replies, own frames, frames for other hosts, bad asker MAC', () => {
  ignored(respond(CAP_ARP_REQUEST, nicB, owns()), 'not-owned');
  // an ARP reply (broadcast, so it reaches us) whose sender IP is not ours
  ignored(respond(CAP_GARP_REPLY, nicB, OWNED), 'arp-reply');
  ignored(respond(CAP_ARP_REPLY, { mac: A }, owns()), 'arp-reply'); // unicast to us, about 192.0.2.2 which we do not own
  // frames sent by our own MAC (our replies looping back on the socket)
  ignored(respond(CAP_ARP_REQUEST, { mac: A }, OWNED), 'own-frame');
  const spoofedEth = CAP_ARP_REQUEST.slice();
  spoofedEth.set(C, 6); // eth src C, ARP sender MAC still A
  ignored(respond(spoofedEth, { mac: A }, OWNED), 'own-frame');
  // unicast to another MAC (promiscuous capture)
  const other = arpFrame(C, A, { op: 1, senderMac: A, senderIp: ip4('192.0.2.1'), targetMac: new Uint8Array(6), targetIp: ip4('192.0.2.2') });
  ignored(respond(other, nicB, OWNED), 'not-for-us');
  // unicast to us is fine (unicast ARP refresh)
  const toUs = arpFrame(B, A, { op: 1, senderMac: A, senderIp: ip4('192.0.2.1'), targetMac: B, targetIp: ip4('192.0.2.2') });
  assert.equal(reply(respond(toUs, nicB, OWNED)).why, 'arp-request');
  // asker claims a multicast / zero MAC: nobody to unicast to
  const mc = arpFrame(broadcastMac(), A, { op: 1, senderMac: broadcastMac(), senderIp: ip4('192.0.2.1'), targetMac: new Uint8Array(6), targetIp: ip4('192.0.2.2') });
  ignored(respond(mc, nicB, OWNED), 'bad-sender-mac');
  const zero = arpFrame(broadcastMac(), A, { op: 1, senderMac: new Uint8Array(6), senderIp: ip4('192.0.2.1'), targetMac: new Uint8Array(6), targetIp: ip4('192.0.2.2') });
  ignored(respond(zero, nicB, OWNED), 'bad-sender-mac');
});

test('ARP conflicts: another MAC using an owned IP as sender', () => {
  assert.deepEqual(respond(CAP_GARP_REPLY, nicB, owns('192.0.2.1')), { kind: 'conflict', ip: '192.0.2.1', mac: CLIENT_MAC, why: 'arp-reply' });
  assert.deepEqual(respond(CAP_GARP_REQUEST, nicB, owns('192.0.2.1')), { kind: 'conflict', ip: '192.0.2.1', mac: CLIENT_MAC, why: 'arp-gratuitous' });
  assert.deepEqual(respond(arpRequestFrame(A, ip4('192.0.2.1'), ip4('192.0.2.9')), nicB, owns('192.0.2.1')), {
    kind: 'conflict', ip: '192.0.2.1', mac: CLIENT_MAC, why: 'arp-sender-ip',
  });
  // the conflict wins even when the target is owned too
  assert.equal(respond(CAP_ARP_REQUEST, nicB, owns('192.0.2.1', '192.0.2.2')).kind, 'conflict');
});

test('VLAN-tagged, other ethertypes and malformed frames', () => {
  const arp = CAP_ARP_REQUEST.subarray(14);
  for (const tpid of [0x8100, 0x88a8]) {
    const tagged = ethernet.encode({ dst: broadcastMac(), src: A, ethertype: tpid, payload: new Uint8Array([0, 5, 0x08, 0x06, ...arp]) });
    ignored(respond(tagged, nicB, OWNED), 'vlan-tagged');
  }
  ignored(respond(ethernet.encode({ dst: broadcastMac(), src: A, ethertype: 0x0800, payload: new Uint8Array(40) }), nicB, OWNED), 'ethertype');
  assert.deepEqual(respond(new Uint8Array(10), nicB, OWNED), { kind: 'malformed', reason: 'truncated' });
  assert.deepEqual(respond(CAP_ARP_REQUEST.subarray(0, 40), nicB, OWNED), { kind: 'malformed', reason: 'truncated' });
  const badHw = CAP_ARP_REQUEST.slice();
  badHw[15] = 6;
  assert.deepEqual(respond(badHw, nicB, OWNED), { kind: 'malformed', reason: 'bad-hardware-type' });
  const badOp = CAP_ARP_REQUEST.slice();
  badOp[21] = 9;
  assert.deepEqual(respond(badOp, nicB, OWNED), { kind: 'malformed', reason: 'bad-opcode' });
});

// ---------- NDP

const ns = (o: Partial<Extract<NdpMessage, { type: 'ns' }>>): NdpMessage => ({
  type: 'ns', src: ip6('2001:db8::1'), dst: solicitedNodeAddress(ip6('2001:db8::2')), hopLimit: 255, target: ip6('2001:db8::2'), sourceLinkLayer: A, ...o,
});
const SOL_MAC = parseMac('33:33:ff:00:00:02')!;

test('NS (multicast) for an owned target: solicited NA identical to the kernel', () => {
  const d = reply(respond(CAP_NS, nicB, OWNED));
  assert.equal(d.why, 'ns');
  assert.equal(d.ip, '2001:db8::2');
  assert.equal(toHex(d.frame), toHex(CAP_NA));
});

test('NS unicast (NUD): solicited NA to the asker, hand-computed bytes', () => {
  const d = reply(respond(ndpFrame(B, A, ns({ dst: ip6('2001:db8::2') })), nicB, OWNED));
  assert.equal(d.why, 'ns-nud');
  assert.equal(
    toHex(d.frame),
    '02000000000a02000000000b86dd' + '6000000000203aff' + '20010db8000000000000000000000002' + '20010db8000000000000000000000001' +
      '88008a68' + '60000000' + '20010db8000000000000000000000002' + '0201' + '02000000000b',
  );
});

test('NS without a source link-layer option: reply goes to the frame’s Ethernet source', () => {
  const d = reply(respond(ndpFrame(SOL_MAC, C, ns({ sourceLinkLayer: null })), nicB, OWNED));
  assert.equal(toHex(d.frame.subarray(0, 6)), toHex(C));
  // with the option, the option wins over the Ethernet source
  const d2 = reply(respond(ndpFrame(SOL_MAC, C, ns({})), nicB, OWNED));
  assert.equal(toHex(d2.frame.subarray(0, 6)), toHex(A));
});

test('DAD probe for an owned target: defend with NA to ff02::1, S=0 O=1', () => {
  const d = reply(respond(CAP_DAD_NS, nicB, OWNED));
  assert.equal(d.why, 'ns-dad');
  assert.equal(d.ip, '2001:db8::5');
  assert.equal(
    toHex(d.frame),
    '33330000000102000000000b86dd' + '6000000000203aff' + '20010db8000000000000000000000005' + 'ff020000000000000000000000000001' +
      '8800f918' + '20000000' + '20010db8000000000000000000000005' + '0201' + '02000000000b',
  );
});

test('NS: not owned, not for us, own frames; other ICMPv6 and IPv6', () => {
  ignored(respond(CAP_NS, nicB, owns()), 'not-owned');
  ignored(respond(CAP_DAD_NS, nicB, owns()), 'not-owned');
  ignored(respond(CAP_NS, { mac: A }, OWNED), 'own-frame');
  ignored(respond(ndpFrame(C, A, ns({ dst: ip6('2001:db8::2') })), nicB, OWNED), 'not-for-us');
  ignored(respond(CAP_RS, { mac: C }, OWNED), 'not-ndp');
  const udp = ipv6.encode({ trafficClass: 0, flowLabel: 0, nextHeader: 17, hopLimit: 64, src: ip6('2001:db8::1'), dst: ip6('2001:db8::2'), payload: new Uint8Array(8) });
  ignored(respond(ethernet.encode({ dst: B, src: A, ethertype: 0x86dd, payload: udp }), nicB, OWNED), 'not-icmpv6');
  ignored(respond(ndpFrame(SOL_MAC, A, ns({ sourceLinkLayer: parseMac('33:33:00:00:00:01')! })), nicB, OWNED), 'bad-sender-mac');
});

test('NS whose source link-layer option is our own MAC: not answered (the NA would go to ourselves)', () => {
  // From another Ethernet source (a spoofer, or our own NS looped back by a bridge that rewrote it):
  // the fast path (ndp-fast.ts) declines it, and respond() must not answer it either.
  ignored(respond(ndpFrame(SOL_MAC, A, ns({ sourceLinkLayer: B })), nicB, OWNED), 'own-frame');
  ignored(respond(ndpFrame(B, A, ns({ dst: ip6('2001:db8::2'), sourceLinkLayer: B })), nicB, OWNED), 'own-frame');
  // Even from an owned source address: it agrees with us, so it is no conflict either.
  ignored(respond(ndpFrame(SOL_MAC, A, ns({ src: ip6('2001:db8::5'), sourceLinkLayer: B })), nicB, OWNED), 'own-frame');
});

test('NS: malformed ones are counted, never answered', () => {
  const cases: [Uint8Array, string][] = [
    [ndpFrame(SOL_MAC, A, ns({ hopLimit: 64 })), 'hop-limit-not-255'],
    [(() => { const f = CAP_NS.slice(); f[57]! ^= 0xff; return f; })(), 'bad-checksum'],
    [ndpFrame(SOL_MAC, A, ns({ target: ip6('ff02::1') })), 'target-multicast'],
    [ndpFrame(SOL_MAC, A, ns({ src: ip6('::') })), 'dad-with-source-lladdr'],
    [ndpFrame(SOL_MAC, A, ns({ src: ip6('::'), dst: ip6('ff02::1'), sourceLinkLayer: null })), 'dad-dst-not-solicited-node'],
    [CAP_NS.subarray(0, 70), 'truncated'],
  ];
  for (const [frame, reason] of cases) assert.deepEqual(respond(frame, nicB, OWNED), { kind: 'malformed', reason }, reason);
});

test('NS from an owned source address by another host is a conflict', () => {
  assert.deepEqual(respond(ndpFrame(SOL_MAC, C, ns({ src: ip6('2001:db8::5'), sourceLinkLayer: C })), nicB, OWNED), {
    kind: 'conflict', ip: '2001:db8::5', mac: '02:00:00:00:00:0c', why: 'ns-source',
  });
});

test('NA for an owned target from another host is a conflict; agreeing NAs are ignored', () => {
  assert.deepEqual(respond(CAP_UNSOLICITED_NA, nicB, OWNED), { kind: 'conflict', ip: '2001:db8::5', mac: CLIENT_MAC, why: 'na' });
  ignored(respond(CAP_UNSOLICITED_NA, nicB, owns()), 'not-owned');
  const agree = ndpFrame(parseMac('33:33:00:00:00:01')!, C, {
    type: 'na', src: ip6('2001:db8::5'), dst: ip6('ff02::1'), hopLimit: 255, target: ip6('2001:db8::5'),
    router: false, solicited: false, override: true, targetLinkLayer: B,
  });
  ignored(respond(agree, nicB, OWNED), 'na');
  const noTlla = ndpFrame(B, C, {
    type: 'na', src: ip6('2001:db8::5'), dst: ip6('2001:db8::9'), hopLimit: 255, target: ip6('2001:db8::5'),
    router: false, solicited: true, override: false, targetLinkLayer: null,
  });
  assert.deepEqual(respond(noTlla, nicB, OWNED), { kind: 'conflict', ip: '2001:db8::5', mac: '02:00:00:00:00:0c', why: 'na' });
});

test('replies never alias the received frame and always decode cleanly with hop limit 255', () => {
  for (const f of [CAP_ARP_REQUEST, CAP_ARP_PROBE, CAP_NS, CAP_DAD_NS]) {
    const frame = f.slice();
    const d = reply(respond(frame, nicB, OWNED));
    const before = toHex(d.frame);
    frame.fill(0xaa);
    assert.equal(toHex(d.frame), before);
    const eth = ethernet.decode(d.frame);
    assert.ok(eth.ok);
    if (eth.value.ethertype === 0x86dd) {
      const m = ndp.decode(eth.value.payload);
      assert.ok(m.ok && m.value.hopLimit === 255 && m.value.type === 'na' && m.value.override && !m.value.router);
    } else assert.ok(arp.decode(eth.value.payload).ok);
  }
});

test('every IGNORE_REASONS entry is produced by a test above', () => {
  assert.deepEqual([...IGNORE_REASONS].filter((r) => !ignoredSeen.has(r)), []);
});
