import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type BgpPeerFact, checkBgp, checkBgpPeer } from '../../../src/doctor/bgp.ts';

const peer = (over: Partial<BgpPeerFact> = {}): BgpPeerFact => ({
  name: 'bgp-peer', neighborAddress: '192.168.0.5', port: 179, passive: false, md5: false, selected: true,
  entry: { sessionState: 'ESTABLISHED', uptime: '2026-11-29T08:00:00Z', negotiatedHoldTime: '90' }, ...over,
});

test('bgp: a Layer 2-only cluster gets no BGP lines; no API or no CRD neither', () => {
  assert.deepEqual(checkBgp({ kind: 'listed', conf: undefined, peers: [], bgpEips: 0 }), []);
  assert.deepEqual(checkBgp({ kind: 'no-crd' }), []);
  assert.deepEqual(checkBgp({ kind: 'no-api', why: '--offline' }), []);
});

test('bgp: bgp Eips or BgpPeers without BgpConf default is a problem naming the object to create', () => {
  const [c] = checkBgp({ kind: 'listed', conf: undefined, peers: [], bgpEips: 1 });
  assert.equal(c?.status, 'problem');
  assert.match(c?.problem ?? '', /no BgpConf "default"/);
  assert.match(c?.fix ?? '', /create BgpConf default with spec\.as/);
  const [noPeer] = checkBgp({ kind: 'listed', conf: { name: 'default' }, peers: [], bgpEips: 1 });
  assert.equal(noPeer?.status, 'problem');
});

test('bgp peer: established passes with uptime and hold time; a peer not selecting this node passes; no entry cannot tell', () => {
  const ok = checkBgpPeer(peer());
  assert.equal(ok.status, 'ok');
  assert.match(ok.detail, /192\.168\.0\.5 port 179 established since 2026-11-29T08:00:00Z, hold time 90 s/);
  assert.equal(checkBgpPeer(peer({ selected: false })).status, 'ok');
  assert.equal(checkBgpPeer(peer({ entry: undefined })).status, 'unknown');
});

test('bgp peer: a session down is explained by the probe (refused, timeout, MD5, connected, passive)', () => {
  const down = { sessionState: 'ACTIVE', lastError: 'connect ECONNREFUSED' };
  const refused = checkBgpPeer(peer({ entry: down, probe: { kind: 'refused' } }));
  assert.equal(refused.status, 'problem');
  assert.match(refused.problem ?? '', /is ACTIVE \(last error: connect ECONNREFUSED\); 192\.168\.0\.5 port 179 refuses TCP/);
  assert.match(refused.fix ?? '', /lists this node's address as a neighbor/);
  assert.match(checkBgpPeer(peer({ entry: down, probe: { kind: 'timeout', ms: 3000 } })).fix ?? '', /route and firewalls/);
  assert.match(checkBgpPeer(peer({ entry: down, md5: true, probe: { kind: 'timeout', ms: 3000 } })).problem ?? '', /what a wrong password looks like/);
  assert.match(checkBgpPeer(peer({ entry: down, md5: true, probe: { kind: 'connected', ms: 1 } })).fix ?? '', /MD5 password/);
  assert.match(checkBgpPeer(peer({ entry: down, passive: true })).problem ?? '', /passive here/);
});
