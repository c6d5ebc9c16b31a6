// NIC facts parsers and chooseNic over real texts captured with test/netns/fixtures/nic-facts.ts:
// host.json from this machine's host namespace, netns.json from a namespace with
//   up0  veth up        10.20.0.2/24 2001:db8:20::2/64   (default routes v4+v6 via .1)
//   dn0  veth DOWN      10.30.0.2/24 2001:db8:30::2/64
//   br0  bridge up      10.40.0.2/24 2001:db8:40::2/64   (172.16.0.0/16, 2001:db8:99::/48 via it)
//   port0 veth enslaved to br0
//   na0  veth up, arp off 10.50.0.2/24
//   10.60.0.0/16 via up0 metric 100 and via br0 metric 50
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  type NicFacts,
  type ProcTexts,
  type SysNicFiles,
  nicFactsFrom,
  parseFibTrieLocal,
  parseIfInet6,
  parseSysNic,
} from '../../../src/l2/interfaces.ts';
import { type NicChoiceInput, chooseNic } from '../../../src/speaker/nic-choice.ts';
import { parseIpv6RouteTable, parseRouteTable, RTF_LOCAL } from '../../../src/l2/routes.ts';


interface Captured {
  sys: Record<string, SysNicFiles>;
  proc: ProcTexts;
}
const load = (name: string): Captured =>
  JSON.parse(readFileSync(new URL(`./fixtures/nic-facts/${name}.json`, import.meta.url), 'utf8')) as Captured;
const factsOf = (c: Captured): NicFacts =>
  nicFactsFrom(
    Object.entries(c.sys).map(([n, f]) => parseSysNic(n, f)),
    c.proc,
  );

const ns = load('netns');
const host = load('host');
const nsFacts = factsOf(ns);
const hostFacts = factsOf(host);

const base = (o: Partial<NicChoiceInput>): NicChoiceInput => ({
  eipName: 'eip-a',
  poolFirstIp: '10.20.0.100',
  poolFamily: 4,
  node: 'node-1',
  ...o,
});
function nicOf(input: Partial<NicChoiceInput>, facts = nsFacts): string {
  const c = chooseNic(base(input), facts);
  assert.ok(c.ok, `expected a NIC for ${JSON.stringify(input)}, got: ${c.ok ? '' : c.message}`);
  return c.nic;
}
function failureOf(input: Partial<NicChoiceInput>, facts = nsFacts): string {
  const c = chooseNic(base(input), facts);
  assert.ok(!c.ok, `expected a refusal for ${JSON.stringify(input)}, got ${c.ok ? c.nic : ''}`);
  assert.equal(c.reason, 'NoInterface');
  assert.match(c.message, /Eip eip-a/);
  return c.message;
}

test('parseSysNic reads flags, operstate and master', () => {
  const nics = new Map(Object.entries(ns.sys).map(([n, f]) => [n, parseSysNic(n, f)]));
  assert.deepEqual(
    { ...nics.get('port0'), mac: '', index: 0 },
    { name: 'port0', index: 0, mac: '', up: true, adminUp: true, operstate: 'up', enslaved: true, master: 'br0', loopback: false, noarp: false, type: 1 },
  );
  assert.equal(nics.get('dn0')?.up, false);
  assert.equal(nics.get('dn0')?.adminUp, false);
  assert.equal(nics.get('lo')?.loopback, true);
  assert.equal(nics.get('lo')?.up, true); // operstate "unknown" while IFF_UP
  assert.equal(nics.get('na0')?.noarp, true);
  assert.equal(nics.get('up0')?.up, true);
  assert.match(nics.get('up0')?.mac ?? '', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  // a bond port's master link is two levels up in sysfs
  const bonded = parseSysNic('eth1', { ifindex: '7\n', address: 'AA:BB:CC:00:00:01\n', operstate: 'up\n', flags: '0x1803\n', type: '1\n', masterLink: '../../../virtual/net/bond0' });
  assert.equal(bonded.master, 'bond0');
  assert.equal(bonded.mac, 'aa:bb:cc:00:00:01');
});

test('parseRouteTable decodes host-order hex, masks and metrics', () => {
  const r = parseRouteTable(ns.proc.route);
  assert.equal(r.length, 7);
  const simple = r.map(({ iface, dest, prefixLen, gateway, metric }) => ({ iface, dest, prefixLen, gateway, metric }));
  assert.deepEqual(simple[0], { iface: 'up0', dest: '0.0.0.0', prefixLen: 0, gateway: '10.20.0.1', metric: 0 });
  assert.deepEqual(simple[1], { iface: 'up0', dest: '10.20.0.0', prefixLen: 24, gateway: undefined, metric: 0 });
  assert.ok(simple.some((x) => x.iface === 'br0' && x.dest === '10.60.0.0' && x.prefixLen === 16 && x.gateway === '10.40.0.1' && x.metric === 50));
  assert.ok(simple.some((x) => x.iface === 'br0' && x.dest === '172.16.0.0' && x.prefixLen === 16));
  const h = parseRouteTable(host.proc.route);
  assert.deepEqual(
    h.map((x) => `${x.iface} ${x.dest}/${x.prefixLen} ${x.gateway ?? '-'}`),
    ['eth0 0.0.0.0/0 192.0.2.1', 'eth0 192.0.2.0/24 -'],
  );
  assert.deepEqual(parseRouteTable('Iface\tDestination\n'), []);
});

test('parseIpv6RouteTable keeps local and reject entries with their flags', () => {
  const r = parseIpv6RouteTable(ns.proc.ipv6Route);
  const def = r.find((x) => x.prefixLen === 0 && x.iface === 'up0');
  assert.equal(def?.gateway, '2001:db8:20::1');
  assert.equal(def?.dest, '::');
  const via = r.find((x) => x.dest === '2001:db8:99::');
  assert.equal(via?.prefixLen, 48);
  assert.equal(via?.iface, 'br0');
  assert.equal(via?.metric, 1024);
  const local = r.find((x) => x.dest === '2001:db8:20::2');
  assert.ok(local && (local.flags & RTF_LOCAL) !== 0 && local.prefixLen === 128);
  assert.ok(r.some((x) => x.iface === 'lo' && x.prefixLen === 0 && (x.flags & 0x200) !== 0));
});

test('parseIfInet6 and parseFibTrieLocal give the addresses per NIC', () => {
  const v6 = parseIfInet6(ns.proc.ifInet6);
  assert.ok(v6.some((a) => a.ip === '2001:db8:20::2' && a.iface === 'up0' && a.prefixLen === 64 && a.scope === 0));
  assert.ok(v6.some((a) => a.ip === '::1' && a.iface === 'lo' && a.prefixLen === 128));
  assert.ok(v6.some((a) => a.ip.startsWith('fe80::') && a.iface === 'br0' && a.scope === 0x20));
  // dn0 is down: its /32 LOCAL entry stays, but its connected route is gone, so its NIC is unknown
  assert.deepEqual(parseFibTrieLocal(ns.proc.fibTrie), ['10.20.0.2', '10.30.0.2', '10.40.0.2', '10.50.0.2', '127.0.0.1']);
  assert.deepEqual(nsFacts.unattributedV4, ['10.30.0.2']);
  assert.deepEqual(parseFibTrieLocal(host.proc.fibTrie), ['127.0.0.1', '192.0.2.2']);
  const v4 = nsFacts.addresses.filter((a) => a.family === 4).map((a) => `${a.ip}@${a.iface}`);
  assert.deepEqual(v4, ['10.20.0.2@up0', '10.40.0.2@br0', '10.50.0.2@na0', '127.0.0.1@lo']);
});

test('chooseNic by name: accepts up Ethernet NICs, refuses missing, down, enslaved, loopback, NOARP', () => {
  assert.equal(nicOf({ interface: 'up0' }), 'up0');
  assert.equal(nicOf({ interface: ' br0 ' }), 'br0');
  const c = chooseNic(base({ interface: 'up0' }), nsFacts);
  assert.ok(c.ok && c.source === 'name' && c.index > 0 && /^[0-9a-f:]{17}$/.test(c.mac));
  assert.match(failureOf({ interface: 'eth9' }), /NIC eth9 .*does not exist on node node-1 \(NICs: .*up0.*\); fix spec.interface/);
  assert.match(failureOf({ interface: 'dn0' }), /dn0 .*is down \(operstate down\)/);
  const enslaved = failureOf({ interface: 'port0' });
  assert.match(enslaved, /port0 .*enslaved to br0/);
  assert.match(enslaved, /set the Eip's spec.interface to br0/);
  assert.match(failureOf({ interface: 'lo' }), /lo .*loopback/);
  assert.match(failureOf({ interface: 'na0' }), /na0 .*NOARP/);
});

test('chooseNic can_reach: longest prefix, lowest metric, default route, never lo', () => {
  assert.equal(nicOf({ interface: 'can_reach:10.20.0.1' }), 'up0');
  assert.equal(nicOf({ interface: 'can_reach:172.16.5.5' }), 'br0');
  assert.equal(nicOf({ interface: 'can_reach:8.8.8.8' }), 'up0'); // default route
  assert.equal(nicOf({ interface: 'can_reach:10.60.1.1' }), 'br0'); // metric 50 beats 100
  assert.equal(nicOf({ interface: 'can_reach:10.40.0.2' }), 'br0'); // our own address: its subnet's NIC, not lo
  assert.equal(nicOf({ interface: 'can_reach:2001:db8:99::5' }), 'br0');
  assert.equal(nicOf({ interface: 'can_reach:2001:DB8:FFFF::1' }), 'up0');
  assert.equal(nicOf({ interface: 'can_reach:2001:db8:40::77' }), 'br0');
  assert.match(failureOf({ interface: 'can_reach:127.0.0.1' }), /loopback address/);
  assert.match(failureOf({ interface: 'can_reach:::1' }), /loopback address/);
  assert.match(failureOf({ interface: 'can_reach:10.0.0' }), /not hold a valid IP/);
  assert.match(failureOf({ interface: 'can_reach:10.50.0.1' }), /na0 .*NOARP/);
  // the host fixture: fd00::/64 connected on eth0, IPv6 default via fd00::1
  assert.equal(nicOf({ interface: 'can_reach:fd00::1' }, hostFacts), 'eth0');
  assert.equal(nicOf({ interface: 'can_reach:2001:db8::1' }, hostFacts), 'eth0');
  // a table without any route to the target
  const noDefault: NicFacts = { ...nsFacts, routes: nsFacts.routes.filter((r) => r.prefixLen > 0) };
  assert.match(failureOf({ interface: 'can_reach:8.8.8.8' }, noDefault), /no route on node node-1 reaches 8\.8\.8\.8/);
});

test('chooseNic with empty interface infers the NIC whose connected subnet holds the pool', () => {
  assert.equal(nicOf({ interface: '' }), 'up0');
  assert.equal(nicOf({ poolFirstIp: '10.40.0.50' }), 'br0');
  assert.equal(nicOf({ poolFirstIp: '2001:db8:40::10', poolFamily: 6 }), 'br0');
  assert.equal(nicOf({ poolFirstIp: '2001:db8:20:0::ff', poolFamily: 6 }), 'up0');
  assert.equal(nicOf({ poolFirstIp: '192.0.2.50' }, hostFacts), 'eth0');
  assert.equal(nicOf({ poolFirstIp: 'fd00::a', poolFamily: 6 }, hostFacts), 'eth0');
  // gateway routes do not count as the pool's subnet
  assert.match(failureOf({ poolFirstIp: '172.16.0.10' }), /172\.16\.0\.10 is in no subnet directly connected to a NIC on node node-1; set spec.interface of Eip eip-a/);
  // dn0 is down: the kernel removed its connected route, so nothing holds 10.30.0.5
  assert.match(failureOf({ poolFirstIp: '10.30.0.5' }), /no subnet directly connected/);
  assert.match(failureOf({ poolFirstIp: '10.50.0.5' }), /na0 .*NOARP/);
  assert.match(failureOf({ poolFirstIp: '10.20.0.1', poolFamily: 6 }), /not an IPv6 address/);
});

test('chooseNic: the node annotation (NIC holding that IP) overrides the Eip interface', () => {
  const a = chooseNic(base({ interface: 'up0', nodeAnnotationIp: '10.40.0.2' }), nsFacts);
  assert.ok(a.ok && a.nic === 'br0' && a.source === 'annotation');
  assert.equal(nicOf({ interface: 'can_reach:8.8.8.8', nodeAnnotationIp: '2001:db8:20::2' }), 'up0');
  assert.equal(nicOf({ nodeAnnotationIp: 'fe80::1817:f4ff:fe3d:c0b9' }), 'br0'); // shared with its port: the master wins
  assert.equal(nicOf({ nodeAnnotationIp: '192.0.2.2' }, hostFacts), 'eth0');
  assert.match(failureOf({ nodeAnnotationIp: 'node-ip' }), /annotation layer2\.openelb\.kubesphere\.io\/v1alpha1="node-ip" on node node-1 is not an IP address/);
  assert.match(failureOf({ nodeAnnotationIp: '10.99.0.1' }), /no NIC on node node-1 holds 10\.99\.0\.1/);
  assert.match(failureOf({ nodeAnnotationIp: '10.30.0.2' }), /10\.30\.0\.2 .*is an address of node node-1, but its NIC has no connected subnet \(the NIC is down/);
  assert.match(failureOf({ nodeAnnotationIp: '2001:db8:30::2' }), /dn0 .*is down/);
  assert.match(failureOf({ nodeAnnotationIp: '127.0.0.1' }), /lo .*loopback/);
  // an empty annotation is ignored
  assert.equal(nicOf({ nodeAnnotationIp: '  ', interface: 'br0' }), 'br0');
});
