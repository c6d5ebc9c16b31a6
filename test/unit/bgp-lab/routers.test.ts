// The BGP lab's pure pieces (scripts/kit/bgp): router configs rendered from one spec, and the
// readers over output captured from the real routers (fixtures/: BIRD 2.0.12, FRR 8.4.4, GoBGP
// 3.37.0, one established session and, for BIRD, one still connecting). The netns test
// (test/netns/bgp-routers.test.ts) runs the same functions against the live daemons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { birdConfig, parseBirdProtocols, parseBirdRoutes } from '../../../scripts/kit/bgp/bird.ts';
import { frrConfig, parseFrrNeighbors, parseFrrRoute } from '../../../scripts/kit/bgp/frr.ts';
import { gobgpConfig, parseGobgpNeighbors, parseGobgpRib } from '../../../scripts/kit/bgp/gobgp.ts';
import { nextHopsFromIpJson } from '../../../scripts/kit/bgp/fib.ts';
import { type RouterSpec, checkSpec, normalizeState } from '../../../scripts/kit/bgp/router.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

const spec: RouterSpec = {
  routerId: '192.168.0.11',
  as: 50001,
  localAddress: '192.168.0.11',
  peers: [
    { name: 'node1', address: '192.168.0.2', as: 50000, port: 17900, password: 's3cret' },
    { name: 'node2', address: '192.168.0.3', as: 50000, port: 17900, passive: true, holdTime: 6 },
  ],
};

test('BIRD: a bgp protocol per peer with port, password, passive and timers; ECMP into the kernel unless multipath is off', () => {
  const c = birdConfig(spec);
  assert.match(c, /protocol bgp node1 \{\n {2}local 192\.168\.0\.11 as 50001;\n {2}neighbor 192\.168\.0\.2 port 17900 as 50000;/);
  assert.match(c, /password "s3cret";/);
  assert.match(c, /protocol bgp node2 \{\n( {2}[^\n]*\n)* {2}hold time 6;\n( {2}[^\n]*\n)* {2}passive on;/);
  assert.match(c, /protocol kernel kernel_ipv4 \{\n {2}ipv4 \{ import none; export where source = RTS_BGP; \};\n {2}merge paths on;/);
  assert.match(birdConfig({ ...spec, multipath: false }), /merge paths off;/);
  assert.doesNotMatch(c, /kernel_ipv6/);
  assert.match(birdConfig({ ...spec, families: ['ipv4', 'ipv6'] }), /protocol kernel kernel_ipv6/);
});

test('FRR: neighbors with port, password, passive; maximum-paths per family, 1 when multipath is off', () => {
  const c = frrConfig(spec);
  for (const line of [
    ' neighbor 192.168.0.2 remote-as 50000',
    ' neighbor 192.168.0.2 port 17900',
    ' neighbor 192.168.0.2 password s3cret',
    ' neighbor 192.168.0.3 passive',
    ' neighbor 192.168.0.3 timers 3 6',
    '  maximum-paths 64',
    '  neighbor 192.168.0.2 activate',
  ]) assert.ok(c.split('\n').includes(line), `missing "${line}" in\n${c}`);
  assert.ok(frrConfig({ ...spec, multipath: false }).split('\n').includes('  maximum-paths 1'));
});

test('GoBGP: TOML neighbors with remote port, auth-password, passive mode and a 1 s idle hold after reset', () => {
  const c = gobgpConfig(spec);
  assert.match(c, /neighbor-address = "192\.168\.0\.2"\n {4}peer-as = 50000\n {4}description = "node1"\n {4}auth-password = "s3cret"/);
  assert.match(c, /remote-port = 17900/);
  assert.match(c, /passive-mode = true/);
  assert.match(c, /idle-hold-time-after-reset = 1/);
});

test('a peer name or password a config could not carry is refused with the field named', () => {
  assert.throws(() => checkSpec({ ...spec, peers: [{ name: 'Node 1', address: '192.0.2.1', as: 1 }] }), /peer name "Node 1"/);
  assert.throws(() => checkSpec({ ...spec, peers: [{ name: 'a', address: '192.0.2.1', as: 1, password: 'x"y' }] }), /password must not contain quotes/);
  assert.throws(() => checkSpec({ ...spec, peers: [spec.peers[0]!, spec.peers[0]!] }), /used twice/);
});

test('BIRD sessions: the established one with its imported route and the one still connecting', () => {
  assert.deepEqual(parseBirdProtocols(fixture('bird-protocols.txt')), [
    { peer: '10.77.0.12', state: 'established', since: '08:14:09.130', prefixesReceived: 1 },
    { peer: '10.77.0.99', state: 'connect', since: '08:14:07.085' },
  ]);
  assert.deepEqual(parseBirdRoutes(fixture('bird-route.txt')), ['10.77.0.12']);
});

test('FRR sessions and RIB paths', () => {
  const [s] = parseFrrNeighbors(fixture('frr-neighbors.json'));
  assert.equal(s?.peer, '10.77.0.12');
  assert.equal(s?.state, 'established');
  assert.equal(s?.notificationsReceived, 0);
  assert.equal(s?.drops, 0);
  assert.equal(s?.lastError, undefined, 'a session that never dropped has no last error (FRR says "Waiting for peer OPEN")');
  assert.deepEqual(parseFrrRoute(fixture('frr-route.json')), ['10.77.0.12']);
});

test('GoBGP sessions (numeric session_state) and RIB next hops', () => {
  const s = parseGobgpNeighbors(fixture('gobgp-neighbors.json'));
  assert.deepEqual(s.map((x) => [x.peer, x.state, x.notificationsReceived]), [['10.77.0.1', 'established', 0], ['10.77.0.2', 'established', 0]]);
  const rib = JSON.stringify({ '192.0.2.20/32': [{ attrs: [{ type: 1, value: 0 }, { type: 3, nexthop: '10.77.0.1' }] }, { attrs: [{ type: 3, nexthop: '10.77.0.2' }] }] });
  assert.deepEqual(parseGobgpRib(rib), ['10.77.0.1', '10.77.0.2']);
  assert.deepEqual(parseGobgpNeighbors(''), []);
});

test('kernel FIB next hops: single path, ECMP, none, and a blackhole is not a route to a node', () => {
  assert.deepEqual(nextHopsFromIpJson('[{"dst":"192.0.2.10","gateway":"10.77.0.12","dev":"eth0","protocol":"bird"}]', '192.0.2.10/32'), ['10.77.0.12']);
  const ecmp = '[{"dst":"172.22.0.2","protocol":"bgp","nexthops":[{"gateway":"192.168.0.4","dev":"eth0"},{"gateway":"192.168.0.2","dev":"eth0"}]}]';
  assert.deepEqual(nextHopsFromIpJson(ecmp, '172.22.0.2/32'), ['192.168.0.2', '192.168.0.4']);
  assert.deepEqual(nextHopsFromIpJson('[]', '172.22.0.2/32'), []);
  assert.deepEqual(nextHopsFromIpJson('[{"type":"blackhole","dst":"172.22.0.2"}]', '172.22.0.2/32'), []);
});

test('state words of the three routers map to RFC 4271 states', () => {
  assert.equal(normalizeState('Established'), 'established');
  assert.equal(normalizeState('OpenSent'), 'opensent');
  assert.equal(normalizeState('Idle (Admin)'), 'idle');
  assert.equal(normalizeState('Down'), 'idle');
});
