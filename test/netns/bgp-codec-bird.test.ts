// The BGP codec against a real router: BIRD 2 in a namespace talks to a peer built on our codec
// (scripts/kit/bgp-capture.ts). BIRD must bring the session up with our OPEN, install the routes
// of our UPDATEs (IPv4 NLRI and IPv6 MP_REACH_NLRI, 2- and 4-octet AS paths), send ROUTE-REFRESH
// when asked, and answer a broken marker with NOTIFICATION 1/1; every byte BIRD sends must decode
// and encode again to what it sent (the one exception is noted in test/unit/bgp/golden.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureBird, SCENARIOS } from '../../scripts/kit/bgp-capture.ts';
import { listNamespaces } from '../../scripts/kit/netns.ts';
import { type BgpMessage, type OpenMessage, decodeMessage, encodeMessage } from '../../src/bgp/codec/index.ts';

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

test('BIRD accepts what the codec sends, and the codec reads all BIRD sends', async (t) => {
  const before = new Set(await listNamespaces());
  const captures = await captureBird(SCENARIOS, t);
  assert.equal(captures.length, SCENARIOS.length);
  for (const [i, cap] of captures.entries()) {
    const sc = SCENARIOS[i]!;
    for (const r of sc.expectRoutes) assert.ok(cap.routes.includes(r), `${cap.scenario}: BIRD lists ${r}\n${cap.routes}`);
    assert.match(cap.routes, /BGP\.as_path: (65002|4200000002)/, `${cap.scenario}: our AS_PATH as BIRD read it`);
    const birdOpen = decodeMessage(fromHex(cap.in[0]!), { fourOctetAs: false }) as OpenMessage;
    assert.equal(birdOpen.type, 'open');
    const opts = { fourOctetAs: sc.peer.fourOctetAs && birdOpen.capabilities.some((c) => c.kind === 'four-octet-as') };
    const got: BgpMessage[] = cap.in.map((h) => decodeMessage(fromHex(h), opts));
    for (const m of got) assert.deepEqual(decodeMessage(encodeMessage(m, opts), opts), m);
    assert.ok(got.some((m) => m.type === 'update' && (m.nlri.length > 0 || (m.attributes.mpReach?.nlri.length ?? 0) > 0)), `${cap.scenario}: BIRD announced routes`);
    assert.ok(got.some((m) => m.type === 'route-refresh'), `${cap.scenario}: ROUTE-REFRESH after birdc reload in`);
    const last = got.at(-1);
    assert.deepEqual(last, { type: 'notification', code: 1, subcode: 1, data: new Uint8Array(0) }, `${cap.scenario}: BIRD's answer to a broken marker`);
  }
  const left = (await listNamespaces()).filter((n) => !before.has(n));
  assert.deepEqual(left, [], 'namespaces removed');
});
