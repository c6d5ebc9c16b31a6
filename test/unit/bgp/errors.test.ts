// Every malformation gets exactly the NOTIFICATION RFC 4271 §6.1-6.3 prescribes (code, subcode and
// data), or, where RFC 7606 says so, a treat-as-withdraw / attribute-discard result instead of a
// reset; with `strict` the RFC 4271 error is thrown. Messages are built by hand, byte by byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BgpError,
  type CodecOptions,
  type OpenMessage,
  type UpdateMessage,
  decodeMessage,
  encodeMessage,
  frameLength,
} from '../../../src/bgp/codec/index.ts';
import { BIRD, hex } from './fixtures.ts';

const FOUR: CodecOptions = { fourOctetAs: true };
const STRICT: CodecOptions = { fourOctetAs: true, strict: true };
const MARKER = 'ff'.repeat(16);

const h2 = (n: number) => n.toString(16).padStart(4, '0');
const h1 = (n: number) => n.toString(16).padStart(2, '0');
/** A message of `type` with body `bodyHex`, its Length field computed. */
const msg = (type: number, bodyHex: string) => hex(MARKER + h2(19 + bodyHex.length / 2) + h1(type) + bodyHex);
/** One path attribute; Extended Length when flags say so. */
const attr = (flags: number, code: number, valueHex: string) => h1(flags) + h1(code) + (flags & 0x10 ? h2(valueHex.length / 2) : h1(valueHex.length / 2)) + valueHex;
const update = (withdrawnHex: string, attrsHex: string, nlriHex: string) => msg(2, h2(withdrawnHex.length / 2) + withdrawnHex + h2(attrsHex.length / 2) + attrsHex + nlriHex);

const ORIGIN = attr(0x40, 1, '00');
const AS_PATH = attr(0x40, 2, '0201' + '0000fde9');
const NEXT_HOP = attr(0x40, 3, 'c0000201');
const BASE = ORIGIN + AS_PATH + NEXT_HOP;
const NLRI = '20cb00710a'; // 203.0.113.10/32
const MP_REACH = attr(0x80, 14, '0002011020010db8000000000000000000000001' + '00' + '8020010db8000000000000000000000000a'.slice(0, 34));

/** Asserts `f` throws BgpError code/subcode (and data, when given). */
function throwsBgp(f: () => unknown, code: number, subcode: number, data?: string): BgpError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof BgpError, `expected BgpError, got ${String(e)}`);
    assert.deepEqual([e.code, e.subcode], [code, subcode], e.message);
    if (data !== undefined) assert.equal(Buffer.from(e.data).toString('hex'), data, e.message);
    return e;
  }
  assert.fail(`expected BgpError ${code}/${subcode}, nothing thrown`);
}

function decodeUpdate(bytes: Uint8Array, opts: CodecOptions = FOUR): UpdateMessage {
  const m = decodeMessage(bytes, opts);
  assert.equal(m.type, 'update');
  return m as UpdateMessage;
}

/** Revised handling gives treat-as-withdraw with this RFC 4271 error; strict throws it. */
function treatAsWithdraw(bytes: Uint8Array, code: number, subcode: number, data?: string): UpdateMessage {
  const m = decodeUpdate(bytes);
  assert.ok(m.treatAsWithdraw, 'expected treatAsWithdraw');
  assert.deepEqual([m.treatAsWithdraw.code, m.treatAsWithdraw.subcode], [code, subcode], m.treatAsWithdraw.reason);
  if (data !== undefined) assert.equal(Buffer.from(m.treatAsWithdraw.data).toString('hex'), data);
  throwsBgp(() => decodeMessage(bytes, STRICT), code, subcode, data);
  // Whatever was decoded can be sent again (the session may log or re-encode it).
  decodeMessage(encodeMessage(m, FOUR), FOUR);
  return m;
}

test('header: marker 1/1, length 1/2 with the Length field as data, type 1/3 with the type', () => {
  const good = BIRD.keepalive;
  throwsBgp(() => frameLength(hex('ffff00')), 1, 1, ''); // caught as soon as the marker's bytes arrive
  throwsBgp(() => decodeMessage(hex(MARKER.slice(2) + '00' + '0013' + '04'), FOUR), 1, 1);
  throwsBgp(() => frameLength(hex(MARKER + '0012' + '04')), 1, 2, '0012');
  throwsBgp(() => frameLength(hex(MARKER + '1001' + '04')), 1, 2, '1001');
  assert.equal(frameLength(hex(MARKER + '1001' + '04'), 0, 65535), undefined, 'extended messages: 4097 is fine, just incomplete');
  throwsBgp(() => decodeMessage(hex(MARKER + '0014' + '04' + '00'), FOUR), 1, 2, '0014'); // KEEPALIVE must be 19
  throwsBgp(() => decodeMessage(msg(1, '04fde9005a0aff0001'), FOUR), 1, 2, '001c'); // OPEN < 29
  throwsBgp(() => decodeMessage(msg(2, '000000'), FOUR), 1, 2, '0016'); // UPDATE < 23
  throwsBgp(() => decodeMessage(msg(3, '06'), FOUR), 1, 2, '0014'); // NOTIFICATION < 21
  throwsBgp(() => decodeMessage(msg(6, ''), FOUR), 1, 3, '06');
  throwsBgp(() => decodeMessage(msg(0, ''), FOUR), 1, 3, '00');
  throwsBgp(() => decodeMessage(good.subarray(0, 18), FOUR), 1, 2); // a truncated message
  assert.equal(frameLength(good.subarray(0, 18)), undefined);
  assert.equal(frameLength(good), 19);
});

const OPEN_FIXED = (version: number, as: number, hold: number, id: string) => h1(version) + h2(as) + h2(hold) + id;

test('OPEN: version 2/1 (data: our version), peer AS 2/2, BGP id 2/3, optional parameter 2/4, hold time 2/6', () => {
  throwsBgp(() => decodeMessage(msg(1, OPEN_FIXED(3, 65001, 90, '0aff0001') + '00'), FOUR), 2, 1, '0004');
  throwsBgp(() => decodeMessage(msg(1, OPEN_FIXED(4, 0, 90, '0aff0001') + '00'), FOUR), 2, 2, ''); // RFC 7607
  throwsBgp(() => decodeMessage(msg(1, OPEN_FIXED(4, 65001, 90, '0aff0001') + '08' + '0206' + '410400000000'), FOUR), 2, 2); // 4-octet AS 0
  throwsBgp(() => decodeMessage(msg(1, OPEN_FIXED(4, 65001, 90, '00000000') + '00'), FOUR), 2, 3, '');
  throwsBgp(() => decodeMessage(msg(1, OPEN_FIXED(4, 65001, 90, '0aff0001') + '04' + '0102abcd'), FOUR), 2, 4, '');
  for (const hold of [1, 2]) throwsBgp(() => decodeMessage(msg(1, OPEN_FIXED(4, 65001, hold, '0aff0001') + '00'), FOUR), 2, 6, '');
  for (const hold of [0, 3, 65535]) assert.equal((decodeMessage(msg(1, OPEN_FIXED(4, 65001, hold, '0aff0001') + '00'), FOUR) as OpenMessage).holdTime, hold);
});

test('OPEN: lengths inside and around the optional parameters', () => {
  // Opt Parm Len disagrees with the message: the Length field is wrong (1/2).
  throwsBgp(() => decodeMessage(msg(1, OPEN_FIXED(4, 65001, 90, '0aff0001') + '05' + '02020200'), FOUR), 1, 2, '0021');
  // A capability running past its parameter, and a known capability of the wrong size: 2/0.
  throwsBgp(() => decodeMessage(msg(1, OPEN_FIXED(4, 65001, 90, '0aff0001') + '04' + '02024104'), FOUR), 2, 0);
  throwsBgp(() => decodeMessage(msg(1, OPEN_FIXED(4, 65001, 90, '0aff0001') + '07' + '0205' + '4103000001'), FOUR), 2, 0, '4103000001');
  throwsBgp(() => decodeMessage(msg(1, OPEN_FIXED(4, 65001, 90, '0aff0001') + '05' + '0203' + '020100'), FOUR), 2, 0, '020100');
});

test('OPEN: RFC 9072 extended optional parameters, decoded and used by the encoder past 255 bytes', () => {
  // Hand-built extended form: 255, 255, length 0x0008, then type 2 with a 2-byte length 5: route refresh + 4-octet AS... (6 bytes).
  const caps = '0200' + '4104fa56ea01';
  const body = OPEN_FIXED(4, 23456, 90, '0aff0001') + 'ff' + 'ff' + h2(3 + caps.length / 2) + '02' + h2(caps.length / 2) + caps;
  const m = decodeMessage(msg(1, body), FOUR) as OpenMessage;
  assert.deepEqual(m.capabilities, [{ kind: 'route-refresh' }, { kind: 'four-octet-as', as: 4200000001 }]);
  const big: OpenMessage = { ...m, capabilities: Array.from({ length: 40 }, (_, i) => ({ kind: 'unknown' as const, code: 100 + i, data: new Uint8Array(5).fill(i) })) };
  const bytes = encodeMessage(big, FOUR);
  assert.equal(bytes[28], 255, 'Opt Parm Len 255');
  assert.equal(bytes[29], 255, 'extended marker');
  assert.deepEqual(decodeMessage(bytes, FOUR), big);
});

test('OPEN: a capability too big for a standard optional parameter (value 254 or 255 bytes) goes extended', () => {
  for (const n of [253, 254, 255]) {
    const big: OpenMessage = { type: 'open', version: 4, myAs: 65001, holdTime: 90, bgpId: '10.0.0.1', capabilities: [{ kind: 'unknown', code: 200, data: new Uint8Array(n).fill(7) }] };
    assert.deepEqual(decodeMessage(encodeMessage(big, FOUR), FOUR), big, `value of ${n} bytes`);
  }
});

test('UPDATE: section lengths overrunning the message are a Malformed Attribute List (3/1)', () => {
  throwsBgp(() => decodeMessage(msg(2, '0005' + '20cb00710a' + '00'), FOUR), 3, 1, '');
  throwsBgp(() => decodeMessage(msg(2, '0000' + '0010' + BASE.slice(0, 8)), FOUR), 3, 1, '');
});

test('UPDATE: attribute overrunning the attribute list: reset unless an MP attribute was already found (RFC 7606 §4)', () => {
  const overrun = '40010500'; // ORIGIN claiming 5 bytes
  throwsBgp(() => decodeMessage(update('', BASE + overrun, NLRI), FOUR), 3, 1);
  const withMp = update('', attr(0x80, 15, '000201') + BASE + overrun, NLRI);
  treatAsWithdraw(withMp, 3, 1);
  throwsBgp(() => decodeMessage(update('', BASE + '40', NLRI), FOUR), 3, 1); // fewer than 3 bytes left
});

test('UPDATE: repeated attributes: MP is 3/1, others keep the first (RFC 7606 §3(g))', () => {
  const unreach = attr(0x80, 15, '000201');
  throwsBgp(() => decodeMessage(update('', unreach + unreach, ''), FOUR), 3, 1);
  const m = decodeUpdate(update('', BASE + attr(0x40, 1, '02'), NLRI));
  assert.equal(m.attributes.origin, 0);
  assert.equal(m.treatAsWithdraw, undefined);
  assert.equal(m.discarded?.[0]?.subcode, 1);
  throwsBgp(() => decodeMessage(update('', BASE + attr(0x40, 1, '02'), NLRI), STRICT), 3, 1);
});

test('UPDATE: unrecognized well-known attribute 3/2 with the attribute as data, always a reset', () => {
  const bad = attr(0x40, 99, 'abcd');
  throwsBgp(() => decodeMessage(update('', BASE + bad, NLRI), FOUR), 3, 2, bad);
});

test('UPDATE: missing well-known attributes 3/3 with the type code as data, treat-as-withdraw', () => {
  treatAsWithdraw(update('', AS_PATH + NEXT_HOP, NLRI), 3, 3, '01');
  treatAsWithdraw(update('', ORIGIN + NEXT_HOP, NLRI), 3, 3, '02');
  treatAsWithdraw(update('', ORIGIN + AS_PATH, NLRI), 3, 3, '03');
  treatAsWithdraw(update('', MP_REACH, ''), 3, 3, '01'); // MP_REACH NLRI needs ORIGIN and AS_PATH too
  // NEXT_HOP is not needed for MP_REACH alone, and nothing is needed without NLRI.
  assert.equal(decodeUpdate(update('', ORIGIN + AS_PATH + MP_REACH, '')).treatAsWithdraw, undefined);
  assert.equal(decodeUpdate(update('20cb00710a', '', '')).treatAsWithdraw, undefined);
});

test('UPDATE: attribute flags 3/4, length 3/5, ORIGIN 3/6, NEXT_HOP 3/8: treat-as-withdraw', () => {
  const optionalOrigin = attr(0xc0, 1, '00');
  treatAsWithdraw(update('', optionalOrigin + AS_PATH + NEXT_HOP, NLRI), 3, 4, optionalOrigin);
  const transitiveMed = attr(0xc0, 4, '00000001');
  treatAsWithdraw(update('', BASE + transitiveMed, NLRI), 3, 4, transitiveMed);
  // The Partial bit is not judged: a well-known attribute with it set is accepted.
  assert.equal(decodeUpdate(update('', attr(0x60, 1, '00') + AS_PATH + NEXT_HOP, NLRI)).treatAsWithdraw, undefined);
  const longOrigin = attr(0x40, 1, '0000');
  treatAsWithdraw(update('', longOrigin + AS_PATH + NEXT_HOP, NLRI), 3, 5, longOrigin);
  const shortMed = attr(0x80, 4, '000001');
  treatAsWithdraw(update('', BASE + shortMed, NLRI), 3, 5, shortMed);
  const shortPref = attr(0x40, 5, '0001');
  treatAsWithdraw(update('', BASE + shortPref, NLRI), 3, 5, shortPref);
  const badCommunities = attr(0xc0, 8, 'fde900');
  treatAsWithdraw(update('', BASE + badCommunities, NLRI), 3, 5, badCommunities);
  const origin3 = attr(0x40, 1, '03');
  treatAsWithdraw(update('', origin3 + AS_PATH + NEXT_HOP, NLRI), 3, 6, origin3);
  for (const hop of ['00000000', 'e0000001', 'ffffffff']) {
    const nh = attr(0x40, 3, hop);
    treatAsWithdraw(update('', ORIGIN + AS_PATH + nh, NLRI), 3, 8, nh);
  }
  const shortHop = attr(0x40, 3, 'c00002');
  treatAsWithdraw(update('', ORIGIN + AS_PATH + shortHop, NLRI), 3, 5, shortHop);
});

test('UPDATE: malformed AS_PATH 3/11 (bad segment type, empty segment, overrun; width follows CodecOptions)', () => {
  for (const path of ['0501' + '0000fde9', '0200', '0202' + '0000fde9', '02']) {
    treatAsWithdraw(update('', ORIGIN + attr(0x40, 2, path) + NEXT_HOP, NLRI), 3, 11, '');
  }
  // The same 6 bytes are one 4-octet ASN, or an overrun with 2-octet ones ('0201' + 2 ASNs of 2 bytes = 6 bytes: two ASNs needed).
  const m2 = decodeUpdate(update('', ORIGIN + attr(0x40, 2, '0202fde9fdea') + NEXT_HOP, NLRI), { fourOctetAs: false });
  assert.deepEqual(m2.attributes.asPath, [{ type: 2, asns: [65001, 65002] }]);
  const m4 = decodeUpdate(update('', ORIGIN + attr(0x40, 2, '0202fde9fdea') + NEXT_HOP, NLRI), FOUR);
  assert.equal(m4.treatAsWithdraw?.subcode, 11);
});

test('UPDATE: MP_REACH_NLRI errors reset (3/9), a next hop of the wrong size too (RFC 7606 §7.11: it locates the NLRI)', () => {
  throwsBgp(() => decodeMessage(update('', BASE + attr(0x80, 14, '000201'), NLRI), FOUR), 3, 9);
  throwsBgp(() => decodeMessage(update('', BASE + attr(0x80, 14, '00020120' + '00'), NLRI), FOUR), 3, 9);
  throwsBgp(() => decodeMessage(update('', BASE + attr(0xc0, 14, '0002010000'), NLRI), FOUR), 3, 4); // flags on MP: reset
  for (const hop of ['04c0000201', '00', '0c' + '00'.repeat(12)]) {
    const bad = attr(0x80, 14, '000201' + hop + '00' + '8020010db8000000000000000000000000');
    throwsBgp(() => decodeMessage(update('', ORIGIN + AS_PATH + bad, ''), FOUR), 3, 9, bad);
  }
});

test('UPDATE: invalid network field 3/10 (prefix too long, host bits set, prefix overrun), in NLRI, withdrawn and MP', () => {
  throwsBgp(() => decodeMessage(update('', BASE, '21cb00710a00'), FOUR), 3, 10, '');
  throwsBgp(() => decodeMessage(update('', BASE, '18cb00710a'.slice(0, 8) + '01'), FOUR), 3, 10); // 203.0.113.1/24
  throwsBgp(() => decodeMessage(update('', BASE, '20cb0071'), FOUR), 3, 10);
  throwsBgp(() => decodeMessage(update('1fcb00710b', '', ''), FOUR), 3, 10); // 203.0.113.11/31
  throwsBgp(() => decodeMessage(update('', ORIGIN + AS_PATH + attr(0x80, 14, '0002011020010db8000000000000000000000001' + '00' + '81' + '20010db8000000000000000000000000' + '0a'), ''), FOUR), 3, 10);
  throwsBgp(() => decodeMessage(update('', attr(0x80, 15, '000201' + '7f20010db8000000000000000000000001'), ''), FOUR), 3, 10);
});

test('UPDATE: attribute discard for ATOMIC_AGGREGATE, AGGREGATOR and AS4_PATH (RFC 7606 §7.6, §7.7; RFC 6793 §6)', () => {
  for (const bad of [attr(0x40, 6, '00'), attr(0xc0, 7, '0000fde90aff00'), attr(0xc0, 17, '0200'), attr(0x80, 7, '0000fde90aff0001')]) {
    const m = decodeUpdate(update('', BASE + bad, NLRI));
    assert.equal(m.treatAsWithdraw, undefined);
    assert.equal(m.discarded?.length, 1);
    assert.deepEqual(m.nlri, [{ address: '203.0.113.10', length: 32 }]);
    assert.equal(m.attributes.atomicAggregate ?? m.attributes.aggregator ?? m.attributes.as4Path, undefined);
    assert.throws(() => decodeMessage(update('', BASE + bad, NLRI), STRICT), BgpError);
  }
  const good = decodeUpdate(update('', BASE + attr(0x40, 6, '') + attr(0xc0, 7, '0000fde90aff0001') + attr(0xc0, 17, '0201fa56ea01'), NLRI));
  assert.deepEqual(
    [good.attributes.atomicAggregate, good.attributes.aggregator, good.attributes.as4Path],
    [true, { as: 65001, address: '10.255.0.1' }, [{ type: 2, asns: [4200000001] }]],
  );
});

test('UPDATE: unknown optional attributes are kept with their flags (Partial, Extended Length) and re-encoded as they came', () => {
  const large = attr(0xf0, 32, '0000fde9'.repeat(3)); // optional transitive partial, extended length
  const nonTransitive = attr(0x80, 9, '0aff0001'); // ORIGINATOR_ID
  const bytes = update('', BASE + nonTransitive + large, NLRI);
  const m = decodeUpdate(bytes);
  assert.deepEqual(m.attributes.unknown, [
    { flags: 0x80, code: 9, data: hex('0aff0001') },
    { flags: 0xf0, code: 32, data: hex('0000fde9'.repeat(3)) },
  ]);
  assert.deepEqual(encodeMessage(m, FOUR), bytes);
  // The low four flag bits are ignored on receipt (RFC 4271 §4.3).
  assert.equal(decodeUpdate(update('', BASE + attr(0xcf, 32, '00'), NLRI)).attributes.unknown?.[0]?.flags, 0xc0);
});

test('UPDATE: MP attributes of families we do not parse are kept as data', () => {
  const vpn = attr(0x80, 14, '000180' + '0c' + '00'.repeat(12) + '00' + '70' + '00'.repeat(14));
  const bytes = update('', vpn + ORIGIN + AS_PATH, ''); // MP first, as we (and RFC 7606 §5.1) order them
  const m = decodeUpdate(bytes);
  assert.equal(m.attributes.mpReach, undefined);
  assert.equal(m.attributes.unknown?.[0]?.code, 14);
  assert.deepEqual(encodeMessage(m, FOUR), bytes);
});

test('ROUTE-REFRESH of the wrong length: 7/1 with the whole message (RFC 7313 §5)', () => {
  const long = msg(5, '0001000100');
  throwsBgp(() => decodeMessage(long, FOUR), 7, 1, Buffer.from(long).toString('hex'));
  assert.deepEqual(decodeMessage(msg(5, '00010101'), FOUR), { type: 'route-refresh', afi: 1, safi: 1, subtype: 1 });
});

test('the encoder refuses values it cannot represent (RangeError, never bad bytes)', () => {
  const u = (attributes: UpdateMessage['attributes'], nlri = [{ address: '203.0.113.10', length: 32 }]): UpdateMessage => ({ type: 'update', withdrawn: [], attributes, nlri });
  const base = { origin: 0 as const, asPath: [{ type: 2 as const, asns: [65001] }], nextHop: '192.0.2.1' };
  const cases: [string, () => unknown][] = [
    ['host bits', () => encodeMessage(u(base, [{ address: '203.0.113.10', length: 24 }]), FOUR)],
    ['IPv6 in body NLRI', () => encodeMessage(u(base, [{ address: '2001:db8::', length: 32 }]), FOUR)],
    ['4-octet ASN on a 2-octet session', () => encodeMessage(u({ ...base, asPath: [{ type: 2, asns: [4200000001] }] }), { fourOctetAs: false })],
    ['empty segment', () => encodeMessage(u({ ...base, asPath: [{ type: 2, asns: [] }] }), FOUR)],
    ['empty COMMUNITIES', () => encodeMessage(u({ ...base, communities: [] }), FOUR)],
    ['NEXT_HOP 0.0.0.0', () => encodeMessage(u({ ...base, nextHop: '0.0.0.0' }), FOUR)],
    ['unknown with a known code', () => encodeMessage(u({ ...base, unknown: [{ flags: 0xc0, code: 8, data: new Uint8Array(4) }] }), FOUR)],
    ['unknown well-known', () => encodeMessage(u({ ...base, unknown: [{ flags: 0x40, code: 99, data: new Uint8Array(1) }] }), FOUR)],
    ['hold time 2', () => encodeMessage({ type: 'open', version: 4, myAs: 65001, holdTime: 2, bgpId: '10.0.0.1', capabilities: [] }, FOUR)],
    ['BGP id 0', () => encodeMessage({ type: 'open', version: 4, myAs: 65001, holdTime: 90, bgpId: '0.0.0.0', capabilities: [] }, FOUR)],
    ['MP_REACH without a next hop', () => encodeMessage(u({ ...base, mpReach: { afi: 2, safi: 1, nextHops: [], nlri: [] } }), FOUR)],
    ['too big', () => encodeMessage(u(base, Array.from({ length: 1000 }, (_, i) => ({ address: `10.0.${i >> 8}.${i & 255}`, length: 32 }))), FOUR)],
  ];
  for (const [what, f] of cases) assert.throws(f, RangeError, what);
});
