import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIPBytes } from '../../../src/net/ip.ts';
import { peerConfigProblems, peerTtl, type PeerConfig } from '../../../src/bgp/peer-config.ts';

const P: PeerConfig = { name: 'tor1', neighborAddress: '10.0.0.1', peerAs: 65000, localAs: 65001, routerId: '10.0.0.2', families: ['ipv4-unicast'] };

test('a usable peer has no problems; each bad field is named with its BgpPeer and the fix', () => {
  assert.deepEqual(peerConfigProblems(P, parseIPBytes), []);
  const bad = peerConfigProblems(
    { ...P, neighborAddress: '10.0.0', peerAs: 0, holdTime: 2, authPassword: 'x'.repeat(81), ebgpMultihopTtl: 256, families: [] },
    parseIPBytes,
  );
  assert.deepEqual(
    bad.map((s) => s.split(':')[0]),
    new Array(6).fill('BgpPeer tor1'),
  );
  assert.match(bad.join('\n'), /neighborAddress "10\.0\.0" is not an IP address/);
  assert.match(bad.join('\n'), /holdTime 2 must be 0 or 3\.\.65535/);
  assert.match(bad.join('\n'), /longer than the 80 bytes/);
  assert.match(bad.join('\n'), /add ipv4-unicast and\/or ipv6-unicast/);
});

test('TTL: 1 for eBGP, 64 for iBGP, the multihop value when set', () => {
  assert.equal(peerTtl(P), 1);
  assert.equal(peerTtl({ ...P, peerAs: 65001 }), 64);
  assert.equal(peerTtl({ ...P, ebgpMultihopTtl: 3 }), 3);
});
