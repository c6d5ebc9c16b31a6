// BgpSpeaker's handling of bad configuration and bad routes, without any socket: peers that cannot
// start (invalid fields, a second peer on one address) and administratively down peers are
// reported in status with the BgpPeer's name and the fix; nothing dials.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BgpSpeaker, type PeerConfig } from '../../../src/bgp/speaker.ts';

const P: PeerConfig = { name: 'tor1', neighborAddress: '192.0.2.1', peerAs: 65000, localAs: 65001, routerId: '192.0.2.2', families: ['ipv4-unicast'], adminDown: true };

function quietSpeaker(): { speaker: BgpSpeaker; warnings: string[] } {
  const warnings: string[] = [];
  const log = { debug: () => undefined, info: () => undefined, warn: (m: string, f?: Record<string, unknown>) => warnings.push(`${m} ${JSON.stringify(f)}`), error: (m: string) => warnings.push(m) };
  return { speaker: new BgpSpeaker({ listen: { port: -1, addresses: [] }, nextHop: () => undefined, log }), warnings };
}

test('invalid peers are not started; status names the BgpPeer and the fix', async () => {
  const { speaker, warnings } = quietSpeaker();
  const changes: string[] = [];
  speaker.onChange((s) => changes.push(s.name));
  speaker.setPeers([P, { ...P, name: 'bad', neighborAddress: '192.0.2.300', holdTime: 1 }, { ...P, name: 'twin' }]);
  const st = new Map(speaker.status().map((s) => [s.name, s]));
  assert.equal(st.get('tor1')!.state, 'idle');
  assert.equal(st.get('tor1')!.lastError, 'administratively down (adminDown: true)');
  assert.match(st.get('bad')!.lastError!, /BgpPeer bad: neighborAddress "192\.0\.2\.300" is not an IP address; BgpPeer bad: holdTime 1 must be 0 or 3\.\.65535 seconds/);
  assert.match(st.get('twin')!.lastError!, /BgpPeer twin: neighborAddress 192\.0\.2\.1 is also used by BgpPeer tor1; one peer per address/);
  assert.ok(changes.includes('bad') && changes.includes('twin') && changes.includes('tor1'));
  assert.equal(warnings.filter((w) => w.startsWith('BGP peer not started')).length, 2);
  await speaker.close();
});

test('bad routes are ignored with a warning naming the route and the fix', async () => {
  const { speaker, warnings } = quietSpeaker();
  speaker.setRoutes([{ prefix: '192.0.2.10/32' }, { prefix: '192.0.2.10' }, { prefix: '10.0.0.1/8' }, { prefix: 'x' }]);
  assert.deepEqual(
    warnings.map((w) => JSON.parse(w.slice(w.indexOf('{'))) as { error: string }).map((w) => w.error),
    ['route "10.0.0.1/8": host bits are set; use 10.0.0.0/8', 'route "x": "x" is not an IP address'],
  );
  await speaker.close();
});

test('a changed or removed peer is replaced or dropped; an unchanged one is kept', async () => {
  const { speaker } = quietSpeaker();
  speaker.setPeers([P, { ...P, name: 'tor2', neighborAddress: '192.0.2.5' }]);
  speaker.setPeers([{ ...P, name: 'tor2', neighborAddress: '192.0.2.6' }]);
  assert.deepEqual(
    speaker.status().map((s) => [s.name, s.neighborAddress]),
    [['tor2', '192.0.2.6']],
  );
  await speaker.close();
});
