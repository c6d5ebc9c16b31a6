// From Adj-RIB-Out differences to UPDATE messages: packing, attribute choices, End-of-RIB.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeMessage, endOfRibFamily, type UpdateMessage } from '../../../src/bgp/codec/index.ts';
import { desiredRibOut, diffRibOut, parseRoute } from '../../../src/bgp/rib-out.ts';
import { baseAttributes, endOfRibs, updatesForDiff } from '../../../src/bgp/updates.ts';

const EBGP = { localAs: 65001, peerAs: 65000, fourOctetAs: true };

function rib(texts: string[], hops = { 4: '10.0.0.2', 6: 'fd00::2' }) {
  const routes = texts.map((t) => {
    const r = parseRoute(t);
    if ('error' in r) throw new Error(r.error);
    return r;
  });
  return desiredRibOut(routes, ['ipv4-unicast', 'ipv6-unicast'], hops).rib;
}

test('1,000 IPv4 and 1,000 IPv6 host routes: packed into few UPDATEs of at most 4096 bytes, nothing lost', () => {
  const v4 = Array.from({ length: 1000 }, (_, i) => `10.1.${i >> 8}.${i & 255}/32`);
  const v6 = Array.from({ length: 1000 }, (_, i) => `2001:db8::${i.toString(16)}/128`);
  const msgs = updatesForDiff(diffRibOut(new Map(), rib([...v4, ...v6])), EBGP);
  const bytes = msgs.map((m) => encodeMessage(m, { fourOctetAs: true }));
  assert.ok(bytes.every((b) => b.length <= 4096), `sizes ${bytes.map((b) => b.length).join(',')}`);
  // 1000 /32s at 5 bytes each need 2 UPDATEs; 1000 /128s at 17 bytes each need 5.
  assert.equal(msgs.length, 7);
  const back = bytes.map((b) => decodeMessage(b, { fourOctetAs: true }) as UpdateMessage);
  const nlri4 = back.flatMap((m) => m.nlri.map((p) => `${p.address}/${p.length}`));
  const nlri6 = back.flatMap((m) => m.attributes.mpReach?.nlri.map((p) => `${p.address}/${p.length}`) ?? []);
  assert.deepEqual(nlri4, v4);
  assert.deepEqual(nlri6, v6.map((p) => p.replace(/::0\//, '::/')));
  for (const m of back) {
    assert.deepEqual(m.attributes.asPath, [{ type: 2, asns: [65001] }]);
    assert.equal(m.attributes.origin, 0);
    if (m.nlri.length > 0) assert.equal(m.attributes.nextHop, '10.0.0.2');
    else assert.deepEqual(m.attributes.mpReach?.nextHops, ['fd00::2']);
  }
});

test('withdrawals go first, IPv4 in Withdrawn Routes and IPv6 in MP_UNREACH_NLRI; then announcements', () => {
  const sent = rib(['192.0.2.1/32', '2001:db8::1/128']);
  const msgs = updatesForDiff(diffRibOut(sent, rib(['192.0.2.2/32'])), EBGP);
  assert.deepEqual(
    msgs.map((m) => [m.withdrawn.length, m.attributes.mpUnreach?.withdrawn.length ?? 0, m.nlri.length]),
    [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  );
});

test('attributes: eBGP gets our AS in AS_PATH; iBGP an empty AS_PATH and LOCAL_PREF 100; a 2-octet peer sees AS_TRANS', () => {
  assert.deepEqual(baseAttributes(EBGP), { origin: 0, asPath: [{ type: 2, asns: [65001] }] });
  assert.deepEqual(baseAttributes({ localAs: 65001, peerAs: 65001, fourOctetAs: true }), { origin: 0, asPath: [], localPref: 100 });
  assert.deepEqual(baseAttributes({ localAs: 4_200_000_000, peerAs: 65000, fourOctetAs: false }), {
    origin: 0,
    asPath: [{ type: 2, asns: [23456] }],
    as4Path: [{ type: 2, asns: [4_200_000_000] }],
  });
  // And such an UPDATE encodes with 2-octet AS_PATH.
  const [m] = updatesForDiff(diffRibOut(new Map(), rib(['192.0.2.1/32'])), { localAs: 4_200_000_000, peerAs: 65000, fourOctetAs: false });
  const back = decodeMessage(encodeMessage(m!, { fourOctetAs: false }), { fourOctetAs: false }) as UpdateMessage;
  assert.deepEqual(back.attributes.as4Path, [{ type: 2, asns: [4_200_000_000] }]);
});

test('End-of-RIB per family: empty UPDATE for IPv4, empty MP_UNREACH for IPv6', () => {
  const [v4, v6] = endOfRibs(['ipv4-unicast', 'ipv6-unicast']);
  assert.deepEqual(endOfRibFamily(v4!), { afi: 1, safi: 1 });
  assert.deepEqual(endOfRibFamily(v6!), { afi: 2, safi: 1 });
});

test('no change, no message', () => {
  const r = rib(['192.0.2.1/32']);
  assert.deepEqual(updatesForDiff(diffRibOut(r, r), EBGP), []);
});
