import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REJECT_REASONS, type RejectReason, type Decoded } from '../../../src/l2/result.ts';
import * as ethernet from '../../../src/l2/ethernet.ts';
import { type EthernetFrame } from '../../../src/l2/ethernet.ts';
import * as arp from '../../../src/l2/arp.ts';
import { arpProbeFrame, arpReplyFrame, arpRequestFrame, gratuitousArpReplyFrame, gratuitousArpRequestFrame, type ArpPacket } from '../../../src/l2/arp.ts';
import * as ipv6 from '../../../src/l2/ipv6.ts';
import { type Ipv6Packet, solicitedNodeAddress } from '../../../src/l2/ipv6.ts';
import { icmpv6Checksum } from '../../../src/l2/icmpv6.ts';
import * as ndp from '../../../src/l2/ndp.ts';
import { ndpFrame, type NdpMessage } from '../../../src/l2/ndp.ts';
import { parseMac, formatMac, solicitedNodeMulticastMac } from '../../../src/l2/mac.ts';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../../../src/net/ip.ts';
import {
  CAP_ARP_PROBE, CAP_ARP_REPLY, CAP_ARP_REQUEST, CAP_DAD_NS, CAP_GARP_REPLY, CAP_GARP_REQUEST, CAP_NA, CAP_NS, CAP_RS,
  CAP_UNSOLICITED_NA, CLIENT_MAC, HOST_MAC, ALL_CAPTURES, hex, padded, toHex,
} from './fixtures.ts';
import { assertRoundTrip } from './round-trip.ts';

const A = parseMac(CLIENT_MAC)!;
const B = parseMac(HOST_MAC)!;
const ip4 = (s: string) => parseIPv4(s)!;
const ip6 = (s: string) => parseIPv6(s)!;

function value<T>(d: Decoded<T>): T {
  if (!d.ok) assert.fail(`expected ok, got reason ${d.reason}`);
  return d.value;
}

// Every reason a test below produced; the last test checks that none is left untested.
const seen = new Set<RejectReason>();
function rejects<T>(d: Decoded<T>, reason: RejectReason, what = ''): void {
  assert.equal(d.ok, false, `${what}: expected rejection ${reason}`);
  if (!d.ok) assert.equal(d.reason, reason, what);
  seen.add(reason);
}

// ---------- golden bytes (hand-written from RFC 826 / RFC 4861 layouts, cross-checked with captures)

test('golden: ethernet header layout', () => {
  const f: EthernetFrame = { dst: parseMac('ff:ff:ff:ff:ff:ff')!, src: A, ethertype: 0x0806, payload: new Uint8Array([1, 2, 3]) };
  assert.equal(toHex(ethernet.encode(f)), 'ffffffffffff' + '02000000000a' + '0806' + '010203');
  const d = value(ethernet.decode(CAP_NA));
  assert.equal(formatMac(d.dst), CLIENT_MAC);
  assert.equal(formatMac(d.src), HOST_MAC);
  assert.equal(d.ethertype, 0x86dd);
  assert.equal(d.payload.length, CAP_NA.length - 14);
});

test('golden: ARP request (target MAC zero; arping puts ff.. there, otherwise identical to the capture)', () => {
  const ours = arpRequestFrame(A, ip4('192.0.2.1'), ip4('192.0.2.2'));
  const hand =
    'ffffffffffff' + '02000000000a' + '0806' + // ethernet: broadcast, from A, ARP
    '0001' + '0800' + '06' + '04' + '0001' + // htype Ethernet, ptype IPv4, hlen, plen, op request
    '02000000000a' + 'c0000201' + '000000000000' + 'c0000202';
  assert.equal(toHex(ours), hand);
  const cap = CAP_ARP_REQUEST.slice();
  cap.fill(0, 32, 38);
  assert.equal(toHex(ours), toHex(cap));
});

test('golden: ARP reply equals the kernel reply byte for byte', () => {
  const ours = arpReplyFrame(B, ip4('192.0.2.2'), A, ip4('192.0.2.1'));
  assert.equal(toHex(ours), '02000000000a02000000000b0806' + '0001080006040002' + '02000000000bc0000202' + '02000000000ac0000201');
  assert.equal(toHex(ours), toHex(CAP_ARP_REPLY));
});

test('golden: ARP probe (RFC 5227: sender IP zero, target MAC zero)', () => {
  const ours = arpProbeFrame(A, ip4('192.0.2.2'));
  assert.equal(toHex(ours), 'ffffffffffff02000000000a0806' + '0001080006040001' + '02000000000a00000000' + '000000000000c0000202');
  const cap = CAP_ARP_PROBE.slice();
  cap.fill(0, 32, 38);
  assert.equal(toHex(ours), toHex(cap));
});

test('golden: gratuitous ARP request and reply', () => {
  const req = gratuitousArpRequestFrame(A, ip4('192.0.2.1'));
  assert.equal(toHex(req), 'ffffffffffff02000000000a0806' + '0001080006040001' + '02000000000ac0000201' + '000000000000c0000201');
  const cap = CAP_GARP_REQUEST.slice();
  cap.fill(0, 32, 38);
  assert.equal(toHex(req), toHex(cap));
  const rep = gratuitousArpReplyFrame(A, ip4('192.0.2.1'));
  assert.equal(toHex(rep), 'ffffffffffff02000000000a0806' + '0001080006040002' + '02000000000ac0000201' + '02000000000ac0000201');
  assert.equal(toHex(rep), toHex(CAP_GARP_REPLY)); // same as `arping -A`
});

test('golden: Neighbor Solicitation matches the ndisc6 capture (flow label aside)', () => {
  const ns: NdpMessage = {
    type: 'ns', src: ip6('fe80::ff:fe00:a'), dst: ip6('ff02::1:ff00:2'), hopLimit: 255, target: ip6('2001:db8::2'), sourceLinkLayer: A,
  };
  const ours = ndpFrame(solicitedNodeMulticastMac(ip6('2001:db8::2')), A, ns);
  const hand =
    '3333ff000002' + '02000000000a' + '86dd' +
    '60000000' + '0020' + '3a' + 'ff' + // version 6, payload 32, next header 58, hop limit 255
    'fe80000000000000000000fffe00000a' + 'ff0200000000000000000001ff000002' +
    '87' + '00' + '4c4d' + '00000000' + '20010db8000000000000000000000002' + // type 135, code, checksum, reserved, target
    '01' + '01' + '02000000000a'; // source link-layer address option
  assert.equal(toHex(ours), hand);
  const cap = CAP_NS.slice();
  cap.set([0x60, 0, 0, 0], 14); // ndisc6 set a flow label; it is outside the checksum
  assert.equal(toHex(ours), toHex(cap));
});

test('golden: solicited Neighbor Advertisement equals the kernel NA byte for byte', () => {
  const na: NdpMessage = {
    type: 'na', src: ip6('2001:db8::2'), dst: ip6('fe80::ff:fe00:a'), hopLimit: 255, target: ip6('2001:db8::2'),
    router: false, solicited: true, override: true, targetLinkLayer: B,
  };
  const ours = ndpFrame(A, B, na);
  const hand = '02000000000a02000000000b86dd' + '6000000000203aff' + '20010db8000000000000000000000002' +
    'fe80000000000000000000fffe00000a' + '8800ba97' + '60000000' + '20010db8000000000000000000000002' + '0201' + '02000000000b';
  assert.equal(toHex(ours), hand);
  assert.equal(toHex(ours), toHex(CAP_NA));
});

test('golden: DAD probe and unsolicited NA', () => {
  const dad: NdpMessage = {
    type: 'ns', src: ip6('::'), dst: solicitedNodeAddress(ip6('2001:db8::5')), hopLimit: 255, target: ip6('2001:db8::5'), sourceLinkLayer: null,
  };
  // checksum 0x4ce5 computed independently (Python, RFC 4443 §2.3)
  assert.equal(
    toHex(ndpFrame(solicitedNodeMulticastMac(ip6('2001:db8::5')), A, dad)),
    '3333ff00000502000000000a86dd' + '6000000000183aff' + '0'.repeat(32) + 'ff0200000000000000000001ff000005' +
      '87004ce5' + '00000000' + '20010db8000000000000000000000005',
  );
  const una: NdpMessage = {
    type: 'na', src: ip6('2001:db8::5'), dst: ip6('ff02::1'), hopLimit: 255, target: ip6('2001:db8::5'),
    router: false, solicited: false, override: true, targetLinkLayer: A,
  };
  assert.equal(toHex(ndpFrame(parseMac('33:33:00:00:00:01')!, A, una)), toHex(CAP_UNSOLICITED_NA));
});

// ---------- decoding real captures

test('decode: captured ARP frames, padded to the Ethernet minimum', () => {
  const eth = value(ethernet.decode(padded(CAP_ARP_REQUEST)));
  assert.equal(eth.payload.length, 46);
  const a = value(arp.decode(eth.payload));
  assert.equal(a.op, 1);
  assert.equal(formatMac(a.senderMac), CLIENT_MAC);
  assert.equal(formatIPv4(a.senderIp), '192.0.2.1');
  assert.equal(formatMac(a.targetMac), 'ff:ff:ff:ff:ff:ff');
  assert.equal(formatIPv4(a.targetIp), '192.0.2.2');
  const r = value(arp.decode(value(ethernet.decode(CAP_ARP_REPLY)).payload));
  assert.equal(r.op, 2);
  assert.equal(formatMac(r.senderMac), HOST_MAC);
  const p = value(arp.decode(value(ethernet.decode(CAP_ARP_PROBE)).payload));
  assert.equal(formatIPv4(p.senderIp), '0.0.0.0');
});

test('decode: captured NS, NA, DAD NS (unknown nonce option skipped), unsolicited NA', () => {
  const ns = value(ndp.decode(value(ethernet.decode(CAP_NS)).payload));
  assert.equal(ns.type, 'ns');
  assert.equal(formatIPv6(ns.src), 'fe80::ff:fe00:a');
  assert.equal(formatIPv6(ns.dst), 'ff02::1:ff00:2');
  assert.equal(formatIPv6(ns.target), '2001:db8::2');
  assert.equal(ns.type === 'ns' && ns.sourceLinkLayer && formatMac(ns.sourceLinkLayer), CLIENT_MAC);
  const na = value(ndp.decode(value(ethernet.decode(CAP_NA)).payload));
  assert.ok(na.type === 'na' && na.solicited && na.override && !na.router);
  assert.equal(na.type === 'na' && na.targetLinkLayer && formatMac(na.targetLinkLayer), HOST_MAC);
  const dad = value(ndp.decode(value(ethernet.decode(CAP_DAD_NS)).payload));
  assert.ok(dad.type === 'ns' && dad.sourceLinkLayer === null);
  assert.equal(formatIPv6(dad.src), '::');
  const una = value(ndp.decode(value(ethernet.decode(CAP_UNSOLICITED_NA)).payload));
  assert.ok(una.type === 'na' && !una.solicited && una.override && !una.router);
  const ip = value(ipv6.decode(value(ethernet.decode(CAP_NS)).payload));
  assert.equal(ip.flowLabel, 0x3109d);
  assert.equal(ip.trafficClass, 0);
  assert.equal(ip.hopLimit, 255);
});

test('icmpv6 checksum: captured messages verify to 0', () => {
  for (const f of [CAP_NS, CAP_NA, CAP_DAD_NS, CAP_UNSOLICITED_NA, CAP_RS]) {
    const ip = value(ipv6.decode(f.subarray(14)));
    assert.equal(icmpv6Checksum(ip.src, ip.dst, ip.payload), 0);
  }
  // odd length is padded with a zero byte on the right
  const src = ip6('::1');
  // ::1 words 1 + 1, length 1, next header 58, data 0x0100 => sum 0x013d, complement 0xfec2
  assert.equal(icmpv6Checksum(src, src, new Uint8Array([1])), 0xfec2);
});

// ---------- round trips

test('round trip: ethernet', () => {
  const f: EthernetFrame = { dst: A, src: B, ethertype: 0x1234, payload: new Uint8Array([9, 8, 7, 6]) };
  const bytes = ethernet.encode(f);
  assert.equal(bytes.length, ethernet.encodingLength(f));
  const d = value(ethernet.decode(bytes));
  assert.deepEqual({ ...d }, { ...f });
  assert.equal(toHex(ethernet.encode(d)), toHex(bytes));
  const buf = new Uint8Array(100).fill(0xee);
  assert.equal(toHex(ethernet.encode(f, buf, 10)), toHex(bytes));
  assert.throws(() => ethernet.encode(f, new Uint8Array(5)), RangeError);
});

test('round trip: ARP, both ops; and each capture decode→encode', () => {
  for (const op of [1, 2] as const) {
    const p: ArpPacket = { op, senderMac: A, senderIp: ip4('10.0.0.1'), targetMac: B, targetIp: ip4('10.0.0.2') };
    const bytes = arp.encode(p);
    assert.equal(bytes.length, arp.encodingLength(p));
    const d = value(arp.decode(bytes));
    assert.deepEqual(d, { ...p, senderMac: d.senderMac, targetMac: d.targetMac, senderIp: d.senderIp, targetIp: d.targetIp });
    assert.equal(toHex(d.senderMac) + toHex(d.targetIp), toHex(A) + toHex(ip4('10.0.0.2')));
    assert.equal(toHex(arp.encode(d)), toHex(bytes));
    assert.equal(toHex(arp.encode(p, new Uint8Array(40), 5)), toHex(bytes));
  }
  for (const cap of [CAP_ARP_REQUEST, CAP_ARP_REPLY, CAP_ARP_PROBE, CAP_GARP_REQUEST, CAP_GARP_REPLY]) {
    const eth = value(ethernet.decode(padded(cap)));
    assert.equal(toHex(arp.encode(value(arp.decode(eth.payload)))), toHex(cap.subarray(14)));
  }
  assert.throws(() => arp.encode({ op: 1, senderMac: A, senderIp: new Uint8Array(16), targetMac: B, targetIp: ip4('1.2.3.4') }), RangeError);
});

test('round trip: IPv6 header with traffic class and flow label', () => {
  const p: Ipv6Packet = {
    trafficClass: 0xab, flowLabel: 0xcdef1, nextHeader: 17, hopLimit: 64, src: ip6('2001:db8::1'), dst: ip6('2001:db8::2'),
    payload: new Uint8Array([1, 2, 3]),
  };
  const bytes = ipv6.encode(p);
  assert.equal(bytes.length, ipv6.encodingLength(p));
  assert.equal(toHex(bytes.subarray(0, 8)), '6abcdef100031140');
  const d = value(ipv6.decode(bytes));
  assert.equal(d.trafficClass, 0xab);
  assert.equal(d.flowLabel, 0xcdef1);
  assert.equal(toHex(ipv6.encode(d)), toHex(bytes));
  // trailing bytes (padding) are not part of the payload
  const longer = new Uint8Array(bytes.length + 5);
  longer.set(bytes);
  assert.equal(value(ipv6.decode(longer)).payload.length, 3);
});

test('round trip: NDP, every flag combination, with and without link-layer options', () => {
  const msgs: NdpMessage[] = [];
  for (const ll of [A, null]) {
    msgs.push({ type: 'ns', src: ip6('2001:db8::1'), dst: ip6('ff02::1:ff00:2'), hopLimit: 255, target: ip6('2001:db8::2'), sourceLinkLayer: ll });
    for (let f = 0; f < 8; f++) {
      const solicited = (f & 2) !== 0;
      msgs.push({
        type: 'na', src: ip6('2001:db8::2'), dst: solicited ? ip6('2001:db8::1') : ip6('ff02::1'), hopLimit: 255, target: ip6('2001:db8::2'),
        router: (f & 1) !== 0, solicited, override: (f & 4) !== 0, targetLinkLayer: ll,
      });
    }
  }
  msgs.push({ type: 'ns', src: ip6('::'), dst: ip6('ff02::1:ff00:2'), hopLimit: 255, target: ip6('2001:db8::2'), sourceLinkLayer: null });
  for (const m of msgs) {
    const bytes = ndp.encode(m);
    assert.equal(bytes.length, ndp.encodingLength(m));
    const d = value(ndp.decode(bytes));
    assert.equal(d.type, m.type);
    // The decoded value also carries what a hand-built one may leave out (options, reserved bits,
    // traffic class, flow label); the fields the value gave come back as they were.
    const norm = (x: NdpMessage, keys: string[]) =>
      JSON.stringify(x, (k, v) => (k !== '' && !keys.includes(k) ? undefined : v instanceof Uint8Array ? toHex(v) : v));
    assert.equal(norm(d, Object.keys(m)), norm(m, Object.keys(m)));
    assert.deepEqual(d.options?.map((o) => o.type), m.type === 'ns' ? (m.sourceLinkLayer ? [1] : []) : m.targetLinkLayer ? [2] : []);
    assert.equal(toHex(ndp.encode(d)), toHex(bytes));
    // into a dirty reused buffer at an offset: still identical (reserved bytes are cleared)
    assert.equal(toHex(ndp.encode(m, new Uint8Array(200).fill(0xff), 7)), toHex(bytes));
  }
});

test('round trip: every capture, bare and padded, comes back byte for byte as round-trip.ts defines', () => {
  for (const [name, f] of Object.entries(ALL_CAPTURES)) {
    const accepted = assertRoundTrip(f);
    assert.ok(accepted.includes('arp') || accepted.includes('ndp') || name === 'CAP_RS', `${name}: ${accepted.join(',')}`);
    assert.deepEqual(assertRoundTrip(padded(f)), accepted, `${name} padded`);
  }
  // The ndisc6 NS keeps its flow label; the DAD NS keeps its nonce option (type 14) in place.
  const ns = value(ndp.decode(value(ethernet.decode(CAP_NS)).payload));
  assert.notEqual(ns.flowLabel, 0);
  const dad = value(ndp.decode(value(ethernet.decode(CAP_DAD_NS)).payload));
  assert.deepEqual(dad.options?.map((o) => o.type), [14]);
});

test('round trip: options in any order, unknown ones, reserved bits, an SLLA in an NA', () => {
  const cases: Uint8Array[] = [
    icmpPacket(body(135, '2001:db8::2', [14, 1, 1, 2, 3, 4, 5, 6, ...SLLA, 1, 1, ...B])), // unknown first, then two SLLAs
    icmpPacket(body(136, '2001:db8::2', [1, 1, ...A, 2, 1, ...B, 99, 2, ...new Array<number>(14).fill(7)], { flags: 0x60 }), { dst: 'fe80::2' }),
    (() => { const b = body(135, '2001:db8::2', SLLA); b.set([0xde, 0xad, 0xbe, 0xef], 4); return icmpPacket(b); })(), // reserved bits
    (() => { const b = body(136, '2001:db8::2', [], { flags: 0xbf }); b.set([0x12, 0x34, 0x56], 5); return icmpPacket(b, { dst: 'fe80::2' }); })(),
  ];
  for (const pkt of cases) {
    const m = value(ndp.decode(pkt));
    assert.equal(toHex(ndp.encode(m)), toHex(pkt));
    assert.deepEqual(assertRoundTrip(ndpFrame(A, B, m)), ['ethernet', 'ipv6', 'ndp']);
  }
  const na = value(ndp.decode(cases[1]!));
  assert.ok(na.type === 'na' && na.solicited && na.override && !na.router && formatMac(na.targetLinkLayer!) === HOST_MAC);
  // A value whose link-layer field disagrees with its options cannot be written faithfully.
  assert.throws(() => ndp.encode({ ...na, targetLinkLayer: A }), /disagrees/);
  assert.throws(() => ndp.encode({ ...na, targetLinkLayer: null }), /disagrees/);
  assert.throws(() => ndp.encode({ ...na, options: [{ type: 99, value: new Uint8Array(5) }], targetLinkLayer: null }), /multiples of 8/);
});

test('round trip: the checksum 0xffff standing for 0x0000 verifies and comes back as 0x0000', () => {
  // Find a target whose NS sums to 0xffff (checksum 0x0000), then write it as 0xffff.
  for (let i = 0; i < 0x10000; i++) {
    const pkt = icmpPacket(body(135, `2001:db8::${i.toString(16)}`, SLLA));
    if (pkt[42] !== 0 || pkt[43] !== 0) continue;
    pkt[42] = 0xff;
    pkt[43] = 0xff;
    const m = value(ndp.decode(pkt)); // accepted, as the kernel accepts it
    const again = ndp.encode(m);
    assert.equal(toHex(again.subarray(42, 44)), '0000');
    assert.equal(toHex(again.subarray(44)), toHex(pkt.subarray(44)));
    assertRoundTrip(ndpFrame(A, B, m));
    const frame = new Uint8Array(14 + pkt.length);
    frame.set(ndpFrame(A, B, m).subarray(0, 14));
    frame.set(pkt, 14);
    assert.deepEqual(assertRoundTrip(frame), ['ethernet', 'ipv6', 'ndp']);
    return;
  }
  assert.fail('no target with checksum 0x0000 found');
});

// ---------- every rejection reason

/** An IPv6 packet around `icmp` with a correct checksum unless told otherwise. */
function icmpPacket(icmp: Uint8Array, o: { src?: string; dst?: string; hop?: number; nh?: number; badSum?: boolean } = {}): Uint8Array {
  const src = ip6(o.src ?? 'fe80::1');
  const dst = ip6(o.dst ?? 'ff02::1:ff00:2');
  const msg = icmp.slice();
  msg[2] = 0;
  msg[3] = 0;
  const sum = icmpv6Checksum(src, dst, msg) ^ (o.badSum ? 0x0101 : 0);
  msg[2] = sum >> 8;
  msg[3] = sum & 0xff;
  return ipv6.encode({ trafficClass: 0, flowLabel: 0, nextHeader: o.nh ?? 58, hopLimit: o.hop ?? 255, src, dst, payload: msg });
}

/** ICMPv6 NS/NA body: type, code, flags, target, then raw option bytes. */
function body(type: number, target: string, opts: number[] = [], o: { code?: number; flags?: number } = {}): Uint8Array {
  return new Uint8Array([type, o.code ?? 0, 0, 0, o.flags ?? 0, 0, 0, 0, ...ip6(target), ...opts]);
}
const SLLA = [1, 1, ...A];

test('reject: truncated at every layer', () => {
  rejects(ethernet.decode(new Uint8Array(13)), 'truncated', 'ethernet');
  rejects(arp.decode(CAP_ARP_REQUEST.subarray(14, 41)), 'truncated', 'arp');
  rejects(ipv6.decode(new Uint8Array(39).fill(0x60)), 'truncated', 'ipv6 header');
  const ns = icmpPacket(body(135, '2001:db8::2', SLLA));
  rejects(ndp.decode(ns.subarray(0, ns.length - 1)), 'truncated', 'ipv6 payload length beyond the data');
  rejects(ndp.decode(icmpPacket(new Uint8Array([135, 0, 0]))), 'truncated', 'icmp header');
});

test('reject: VLAN tags', () => {
  for (const t of [0x8100, 0x88a8, 0x9100]) {
    const f = CAP_ARP_REQUEST.slice();
    f[12] = t >> 8;
    f[13] = t & 0xff;
    rejects(ethernet.decode(f), 'vlan-tagged', t.toString(16));
  }
});

test('reject: ARP field validation', () => {
  const packet = CAP_ARP_REQUEST.subarray(14);
  const mut = (i: number, v: number) => {
    const b = packet.slice();
    b[i] = v;
    return arp.decode(b);
  };
  rejects(mut(1, 6), 'bad-hardware-type'); // IEEE 802 hardware type
  rejects(mut(2, 0x86), 'bad-protocol-type');
  rejects(mut(4, 8), 'bad-hardware-length');
  rejects(mut(5, 16), 'bad-protocol-length');
  rejects(mut(7, 3), 'bad-opcode'); // RARP request
  rejects(mut(6, 1), 'bad-opcode'); // op 257
  rejects(mut(7, 0), 'bad-opcode');
});

test('reject: IPv6 and ICMPv6 framing', () => {
  const v4 = icmpPacket(body(135, '2001:db8::2'));
  v4[0] = 0x45;
  rejects(ipv6.decode(v4), 'bad-ip-version');
  rejects(ndp.decode(v4), 'bad-ip-version');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2'), { nh: 0 })), 'not-icmpv6', 'hop-by-hop header');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2'), { nh: 17 })), 'not-icmpv6', 'udp');
  rejects(ndp.decode(CAP_RS.subarray(14)), 'not-ndp', 'router solicitation');
  rejects(ndp.decode(icmpPacket(new Uint8Array([128, 0, 0, 0, 0, 1, 0, 1]))), 'not-ndp', 'echo request');
});

test('reject: RFC 4861 §7.1.1 / §7.1.2 validation', () => {
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2', SLLA), { hop: 254 })), 'hop-limit-not-255', 'forwarded NS');
  rejects(ndp.decode(icmpPacket(body(136, '2001:db8::2'), { hop: 64, dst: 'fe80::2' })), 'hop-limit-not-255', 'NA');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2', SLLA, { code: 1 }))), 'bad-code');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2').subarray(0, 20))), 'icmp-too-short');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2', SLLA), { badSum: true })), 'bad-checksum');
  const flipped = CAP_NS.slice(14);
  flipped[flipped.length - 1]! ^= 1; // one bit of the option, checksum unchanged
  rejects(ndp.decode(flipped), 'bad-checksum', 'captured NS with one bit flipped');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2', SLLA), { src: 'ff02::1' })), 'source-multicast');
  rejects(ndp.decode(icmpPacket(body(135, 'ff02::1', SLLA))), 'target-multicast', 'NS');
  rejects(ndp.decode(icmpPacket(body(136, 'ff02::1:ff00:2'), { dst: 'ff02::1' })), 'target-multicast', 'NA');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2', [...SLLA, 14, 0, 0, 0, 0, 0, 0, 0]))), 'option-length-zero');
  rejects(ndp.decode(icmpPacket(body(136, '2001:db8::2', [14, 0, 0, 0, 0, 0, 0, 0]), { dst: 'fe80::2' })), 'option-length-zero', 'NA');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2', [1, 2, ...A]))), 'option-truncated', 'declared 16, 8 present');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2', [...SLLA, 1]))), 'option-truncated', 'one stray byte');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2', [1, 2, ...A, 0, 0, 0, 0, 0, 0, 0, 0]))), 'bad-lladdr-option', 'SLLA of 16 bytes');
  rejects(ndp.decode(icmpPacket(body(136, '2001:db8::2', [2, 2, ...A, 0, 0, 0, 0, 0, 0, 0, 0]), { dst: 'fe80::2' })), 'bad-lladdr-option', 'TLLA');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2', SLLA), { src: '::' })), 'dad-with-source-lladdr');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2'), { src: '::', dst: 'ff02::1' })), 'dad-dst-not-solicited-node');
  rejects(ndp.decode(icmpPacket(body(135, '2001:db8::2'), { src: '::', dst: '2001:db8::2' })), 'dad-dst-not-solicited-node', 'unicast');
  rejects(ndp.decode(icmpPacket(body(136, '2001:db8::2', [], { flags: 0x40 }), { dst: 'ff02::1' })), 'na-solicited-to-multicast');
  // the accepting side of the same rules
  value(ndp.decode(icmpPacket(body(135, '2001:db8::2'), { src: '::' })));
  value(ndp.decode(icmpPacket(body(136, '2001:db8::2', [], { flags: 0x20 }), { dst: 'ff02::1' })));
  value(ndp.decode(icmpPacket(body(135, '2001:db8::2', [14, 1, 1, 2, 3, 4, 5, 6, ...SLLA])))); // unknown option first
  value(ndp.decode(icmpPacket(body(136, '2001:db8::2', [1, 2, ...A, 0, 0, 0, 0, 0, 0, 0, 0]), { dst: 'fe80::2' }))); // SLLA in NA: not ours to judge
});

test('every reason in REJECT_REASONS is produced by some test above', () => {
  assert.deepEqual([...REJECT_REASONS].filter((r) => !seen.has(r)), []);
});

test('hex fixture helper rejects garbage', () => {
  assert.throws(() => hex('abc'));
  assert.equal(formatIPv4(ip4('1.2.3.4')), '1.2.3.4');
});
