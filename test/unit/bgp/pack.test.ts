// packUpdates / packWithdrawals: every prefix lands in exactly one UPDATE, in order; every UPDATE
// fits the size limit; and each one but the last is full (the next prefix would not have fitted),
// which for prefixes of one length is the fewest UPDATEs possible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIPv4, formatIPv6 } from '../../../src/net/ip.ts';
import {
  type CodecOptions,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
  decodeMessage,
  encodeMessage,
  encodingLength,
  packUpdates,
  packWithdrawals,
} from '../../../src/bgp/codec/index.ts';
import { mulberry32 } from '../seeded-random.ts';

const FOUR: CodecOptions = { fourOctetAs: true };
const v4 = (i: number): Prefix => ({ address: formatIPv4(Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255)), length: 32 });
const v6 = (i: number): Prefix => ({ address: formatIPv6(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(10).fill(0), (i >> 8) & 255, i & 255)), length: 128 });
const ATTRS: PathAttributes = {
  origin: 0,
  asPath: [{ type: 2, asns: [65001] }],
  nextHop: '192.0.2.1',
  communities: [0xfde90064],
  mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: [] },
};

/** A random canonical prefix of either family and any length. */
function randomPrefix(rnd: () => number): Prefix {
  const six = rnd() < 0.5;
  const max = six ? 128 : 32;
  const length = Math.floor(rnd() * (max + 1));
  const b = Uint8Array.from({ length: max / 8 }, () => Math.floor(rnd() * 256));
  for (let bit = length; bit < max; bit++) b[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { address: six ? formatIPv6(b) : formatIPv4(b), length };
}

const routesOf = (u: UpdateMessage) => [...u.nlri, ...(u.attributes.mpReach?.nlri ?? [])];
const withdrawnOf = (u: UpdateMessage) => [...u.withdrawn, ...(u.attributes.mpUnreach?.withdrawn ?? [])];

/** Checks the packing of `prefixes` into `ups` under `max`, given how to grow an UPDATE by one prefix. */
function checkPacking(ups: UpdateMessage[], prefixes: Prefix[], max: number, of: (u: UpdateMessage) => Prefix[], grow: (u: UpdateMessage, p: Prefix) => UpdateMessage): void {
  assert.deepEqual(ups.flatMap(of), prefixes, 'every prefix once, in order');
  ups.forEach((u, i) => {
    const bytes = encodeMessage(u, { ...FOUR, extendedMessages: max > 4096 });
    assert.ok(bytes.length <= max, `UPDATE ${i} is ${bytes.length} > ${max}`);
    assert.deepEqual(decodeMessage(bytes, { ...FOUR, extendedMessages: max > 4096 }), u);
    const next = ups[i + 1] ? of(ups[i + 1]!)[0] : undefined;
    if (next) assert.ok(encodingLength(grow(u, next), FOUR) > max, `UPDATE ${i} had room for one more`);
  });
}

const growNlri = (u: UpdateMessage, p: Prefix): UpdateMessage =>
  p.address.includes(':') ? { ...u, attributes: { ...u.attributes, mpReach: { ...u.attributes.mpReach!, nlri: [...u.attributes.mpReach!.nlri, p] } } } : { ...u, nlri: [...u.nlri, p] };
const growWithdrawn = (u: UpdateMessage, p: Prefix): UpdateMessage =>
  p.address.includes(':') ? { ...u, attributes: { mpUnreach: { ...u.attributes.mpUnreach!, withdrawn: [...u.attributes.mpUnreach!.withdrawn, p] } } } : { ...u, withdrawn: [...u.withdrawn, p] };

test('1,000 IPv4 /32 routes fit in 2 UPDATEs; 1,000 IPv6 /128 in 5 (MP_REACH, no NEXT_HOP)', () => {
  const p4 = Array.from({ length: 1000 }, (_, i) => v4(i));
  const u4 = packUpdates(p4, ATTRS, FOUR);
  assert.equal(u4.length, 2); // (4096 - 19 - 4 - 36 attribute bytes) / 5 bytes per /32 = 807 per UPDATE
  checkPacking(u4, p4, 4096, routesOf, growNlri);
  for (const u of u4) assert.deepEqual({ ...u.attributes }, { origin: 0, asPath: ATTRS.asPath, nextHop: '192.0.2.1', communities: ATTRS.communities });

  const p6 = Array.from({ length: 1000 }, (_, i) => v6(i));
  const u6 = packUpdates(p6, ATTRS, FOUR);
  assert.equal(u6.length, 5); // 17 bytes per /128: 237 per UPDATE
  checkPacking(u6, p6, 4096, routesOf, growNlri);
  for (const u of u6) {
    assert.equal(u.attributes.nextHop, undefined);
    assert.deepEqual(u.attributes.mpReach?.nextHops, ['2001:db8::1', 'fe80::1']);
    assert.deepEqual(u.nlri, []);
  }
});

test('mixed families and withdrawals', () => {
  const mixed = [v4(1), v6(1), v4(2), v6(2)];
  const ups = packUpdates(mixed, ATTRS, FOUR);
  assert.deepEqual(ups.map(routesOf), [
    [v4(1), v4(2)],
    [v6(1), v6(2)],
  ]);
  const wd = packWithdrawals(mixed, FOUR);
  assert.deepEqual(wd, [
    { type: 'update', withdrawn: [v4(1), v4(2)], attributes: {}, nlri: [] },
    { type: 'update', withdrawn: [], attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: [v6(1), v6(2)] } }, nlri: [] },
  ]);
  const many = [...Array.from({ length: 2000 }, (_, i) => v4(i)), ...Array.from({ length: 600 }, (_, i) => v6(i))];
  const packed = packWithdrawals(many, FOUR);
  checkPacking(packed.slice(0, 3), many.slice(0, 2000), 4096, withdrawnOf, growWithdrawn);
  checkPacking(packed.slice(3), many.slice(2000), 4096, withdrawnOf, growWithdrawn);
  assert.deepEqual(packUpdates([], ATTRS, FOUR), []);
  assert.deepEqual(packWithdrawals([], FOUR), []);
});

test('exact at every size, including an MP attribute crossing 255 bytes (Extended Length)', () => {
  const rnd = mulberry32(4724);
  for (let round = 0; round < 150; round++) {
    const max = 120 + Math.floor(rnd() * 1200);
    const prefixes = Array.from({ length: 1 + Math.floor(rnd() * 120) }, () => randomPrefix(rnd));
    const ups = packUpdates(prefixes, ATTRS, FOUR, max);
    const four = prefixes.filter((p) => !p.address.includes(':'));
    const six = prefixes.filter((p) => p.address.includes(':'));
    const n4 = ups.filter((u) => u.nlri.length > 0);
    checkPacking(n4, four, max, routesOf, growNlri);
    checkPacking(ups.slice(n4.length), six, max, routesOf, growNlri);
    const wd = packWithdrawals(prefixes, FOUR, max);
    const w4 = wd.filter((u) => u.withdrawn.length > 0);
    checkPacking(w4, four, max, withdrawnOf, growWithdrawn);
    checkPacking(wd.slice(w4.length), six, max, withdrawnOf, growWithdrawn);
  }
});

test('refusals: a family without its next hop, or no room for one prefix', () => {
  assert.throws(() => packUpdates([v4(1)], { origin: 0, asPath: [] }, FOUR), /nextHop/);
  assert.throws(() => packUpdates([v6(1)], { origin: 0, asPath: [], nextHop: '192.0.2.1' }, FOUR), /mpReach/);
  assert.throws(() => packUpdates([v6(1)], ATTRS, FOUR, 80), /does not fit/);
});
