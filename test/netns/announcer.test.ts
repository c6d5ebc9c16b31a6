// src/l2/announcer.ts (the library the speaker drives) against the real kernel, through
// test/netns/fixtures/announcer-fixture.ts running in a server namespace: retry when the NIC is
// missing, moves between NICs, removal (answers stop, the solicited-node group is left, sockets
// close), conflicts while announcing (reported once per MAC, never fought), re-probe after a conflict.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { denoArgv, Lab, listNamespaces, tsxArgv, type Child, type Netns } from '../../scripts/kit/netns.ts';

const FIXTURE = 'test/netns/fixtures/announcer-fixture.ts';
const SENDER = 'test/netns/fixtures/send-frames.ts';
const VIP4 = '10.99.0.77';
const VIP6 = 'fd00:99::77';
const labNames: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Ev {
  event: string;
  ip?: string;
  state?: string;
  mac?: string;
  phase?: string;
  nic?: string;
  states?: Record<string, { nic: string; state: string; error?: string; conflictMac?: string }>;
  text?: string;
}

function events(c: Child): Ev[] {
  return c.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Ev);
}

async function until(cond: () => boolean | Promise<boolean>, what: string, c: Child, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    if (c.result) break;
    await sleep(25);
  }
  assert.fail(`${what}: not within ${timeoutMs} ms\nfixture stdout:\n${c.stdout}\nstderr:\n${c.stderr}`);
}

const lastState = (c: Child, ip: string): string | undefined => events(c).filter((e) => e.event === 'state' && e.ip === ip).pop()?.state;

async function request(c: Child, msg: object, reply: string): Promise<Ev> {
  const before = events(c).filter((e) => e.event === reply).length;
  c.write(JSON.stringify(msg) + '\n');
  await until(() => events(c).filter((e) => e.event === reply).length > before, `reply ${reply}`, c);
  return events(c).filter((e) => e.event === reply).pop()!;
}
const set = (c: Child, desired: Record<string, { nic: string; probe: boolean }>): Promise<Ev> => request(c, { set: desired }, 'updated');
const metricsText = async (c: Child): Promise<string> => (await request(c, { metrics: true }, 'metrics')).text ?? '';
function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function setup(t: TestContext, argvFor = tsxArgv, extra: string[] = []): Promise<{ lab: Lab; client: Netns; server: Netns; serverMac: string; fx: Child }> {
  const lab = await Lab.create(t);
  const client = await lab.namespace('client');
  const server = await lab.namespace('server');
  await lab.veth(client, 'eth0', server, 'eth0', { addrA: ['10.99.0.2/24', 'fd00:99::2/64'], addrB: ['10.99.0.1/24', 'fd00:99::1/64'] });
  labNames.push(...lab.names);
  const fx = server.spawn(argvFor(FIXTURE, ...extra));
  await fx.waitForLine(/"ready"/, 30_000);
  return { lab, client, server, serverMac: (await server.link('eth0')).mac, fx };
}

/** The MAC answering ARP for ip: up to 3 requests, first reply wins (-f), so a loaded machine does not flake. */
async function arpingMac(ns: Netns, ifname: string, ip: string): Promise<string | null> {
  const r = await ns.exec(['arping', '-f', '-c', '3', '-w', '3', '-I', ifname, ip]);
  const m = /\[([0-9A-Fa-f:]{17})\]/.exec(r.stdout);
  return m ? m[1]!.toLowerCase() : null;
}

/** Inodes of the packet sockets bound to ifindex in the namespace (from /proc/net/packet). */
async function packetSocketInodes(ns: Netns, ifindex: number): Promise<string[]> {
  const text = await ns.run(['cat', '/proc/net/packet']);
  return text.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[4] === String(ifindex)).map((f) => f[f.length - 1]!);
}

/** Packet sockets bound to ifindex in the namespace (from /proc/net/packet). */
async function packetSockets(ns: Netns, ifindex: number): Promise<number> {
  const text = await ns.run(['cat', '/proc/net/packet']);
  return text.split('\n').slice(1).filter((l) => l.trim().split(/\s+/)[4] === String(ifindex)).length;
}

test('Node: a missing NIC is state error and retried; once it exists the address is answered; a NIC change moves it', async (t) => {
  const { lab, client, server, serverMac, fx } = await setup(t);
  await set(fx, { [VIP4]: { nic: 'eth1', probe: false } });
  await until(() => lastState(fx, VIP4) === 'error', 'error state for the missing NIC', fx);
  const st = (await request(fx, { states: true }, 'states')).states![VIP4]!;
  assert.match(st.error ?? '', /network interface "eth1" not found/);

  await lab.veth(client, 'eth1', server, 'eth1', { addrA: '10.98.0.2/24', addrB: '10.98.0.1/24' });
  const eth1Mac = (await server.link('eth1')).mac;
  await until(() => lastState(fx, VIP4) === 'announcing', 'announcing after the NIC appeared', fx, 5000);
  assert.equal(await arpingMac(client, 'eth1', VIP4), eth1Mac);
  assert.equal(await arpingMac(client, 'eth0', VIP4), null, 'not answered on the other NIC');

  // Move to eth0: answered there at once, no longer on eth1.
  await set(fx, { [VIP4]: { nic: 'eth0', probe: false } });
  assert.equal(await arpingMac(client, 'eth0', VIP4), serverMac);
  assert.equal(await arpingMac(client, 'eth1', VIP4), null);
  const ifindex1 = (await server.link('eth1')).ifindex;
  assert.equal(await packetSockets(server, ifindex1), 0, 'eth1 sockets closed after the move');
  await request(fx, { close: true }, 'closed');
});

test('Node: removing an address stops answers at once, leaves its solicited-node group, and closes idle sockets', async (t) => {
  const { client, server, serverMac, fx } = await setup(t);
  const ifindex = (await server.link('eth0')).ifindex;
  await set(fx, { [VIP4]: { nic: 'eth0', probe: false }, [VIP6]: { nic: 'eth0', probe: false } });
  await until(() => lastState(fx, VIP4) === 'announcing' && lastState(fx, VIP6) === 'announcing', 'announcing', fx);
  assert.equal(await arpingMac(client, 'eth0', VIP4), serverMac);
  const group = '33:33:ff:00:00:77';
  assert.match(await server.ip('maddr', 'show', 'dev', 'eth0'), new RegExp(group), 'joined the solicited-node group');
  assert.equal(await packetSockets(server, ifindex), 2, 'one ARP and one NDP socket');
  let m = await metricsText(fx);
  assert.equal(metric(m, 'openelb_l2_address_state', `ip="${VIP6}",state="announcing"`), 1);

  await set(fx, { [VIP4]: { nic: 'eth0', probe: false } });
  assert.doesNotMatch(await server.ip('maddr', 'show', 'dev', 'eth0'), new RegExp(group), 'left the group');
  assert.equal(await packetSockets(server, ifindex), 1, 'the NDP socket closed with the last IPv6 address');
  const n = await client.exec(['ndisc6', '-n', '-r', '1', '-w', '500', VIP6, 'eth0']);
  assert.notEqual(n.code, 0, `still answered NDP after removal: ${n.stdout}`);
  m = await metricsText(fx);
  assert.ok(!m.includes(`ip="${VIP6}"`), `series of the released IP are gone:\n${m}`);

  await set(fx, {});
  assert.equal(await arpingMac(client, 'eth0', VIP4), null, 'no answer right after removal');
  assert.equal(await packetSockets(server, ifindex), 0, 'no sockets without addresses');
  await request(fx, { close: true }, 'closed');
  const r = await fx.exited;
  assert.equal(r.code, 0, 'the fixture exits by itself after close(): nothing left open');
});

/** A broadcast gratuitous ARP request claiming `ip` for `mac`. */
function garpHex(mac: string, ip: string): string {
  const m = mac.replace(/:/g, '');
  const i = ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join('');
  return 'ffffffffffff' + m + '0806' + '0001080006040001' + m + i + '000000000000' + i;
}

for (const [runtime, argvFor] of [['Node', tsxArgv], ['Deno', denoArgv]] as const) {
  test(`${runtime}: another MAC claiming an announced address is reported once per MAC, and not fought`, async (t) => {
    const { client, fx } = await setup(t, argvFor, ['--burst-count', '1', '--refresh-ms', '0']);
    await set(fx, { [VIP4]: { nic: 'eth0', probe: false } });
    await until(() => lastState(fx, VIP4) === 'announcing', 'announcing', fx);
    await sleep(100);
    const before = metric(await metricsText(fx), 'openelb_l2_gratuitous_sent_total', `ip="${VIP4}"`);
    assert.equal(before, 2, 'one burst of request + reply');
    const x = '02:00:00:00:0a:01';
    const y = '02:00:00:00:0a:02';
    await client.run(tsxArgv(SENDER, 'eth0', garpHex(x, VIP4), garpHex(x, VIP4), garpHex(x, VIP4)));
    await until(() => events(fx).some((e) => e.event === 'conflict'), 'conflict reported', fx);
    await client.run(tsxArgv(SENDER, 'eth0', garpHex(y, VIP4), garpHex(y, VIP4)));
    await until(() => events(fx).filter((e) => e.event === 'conflict').length >= 2, 'second MAC reported', fx);
    await sleep(300);
    const conflicts = events(fx).filter((e) => e.event === 'conflict');
    assert.deepEqual(
      conflicts.map((c) => [c.ip, c.mac, c.phase]),
      [[VIP4, x, 'announced'], [VIP4, y, 'announced']],
    );
    const m = await metricsText(fx);
    assert.equal(metric(m, 'openelb_l2_conflicts_total', `ip="${VIP4}",phase="announced"`), 2);
    assert.equal(metric(m, 'openelb_l2_gratuitous_sent_total', `ip="${VIP4}"`), before, 'no gratuitous ARP sent in reaction');
    const st = (await request(fx, { states: true }, 'states')).states![VIP4]!;
    assert.deepEqual([st.state, st.conflictMac], ['announcing', y]);
    await request(fx, { close: true }, 'closed');
  });
}

// The speaker re-announces an IP it keeps when another speaker claims it (wire-conflict.ts). That
// used to be a remove and re-add, which closed the NIC's sockets when the IP was its last one (as
// when every IP of a node whose NIC came back is claimed by its stand-in at once): requests queued
// on them went unanswered. reannounce() restarts the burst on the sockets already open.
test('Node: reannounce() sends the burst again on the open socket: the client entry the claimer took comes back', async (t) => {
  const { client, server, serverMac, fx } = await setup(t, tsxArgv, ['--burst-count', '1', '--refresh-ms', '0']);
  const ifindex = (await server.link('eth0')).ifindex;
  await set(fx, { [VIP4]: { nic: 'eth0', probe: false } });
  await until(() => lastState(fx, VIP4) === 'announcing', 'announcing', fx);
  const socketsBefore = await packetSocketInodes(server, ifindex);
  assert.equal(socketsBefore.length, 1, 'one ARP socket');
  const x = '02:00:00:00:0a:01';
  await client.run(tsxArgv(SENDER, 'eth0', garpHex(x, VIP4)));
  await until(() => events(fx).some((e) => e.event === 'conflict' && e.mac === x), 'claim seen', fx);
  await client.ip('neigh', 'replace', VIP4, 'lladdr', x, 'nud', 'stale', 'dev', 'eth0');

  await request(fx, { reannounce: VIP4 }, 'reannounced');
  await until(async () => (await client.neighbour(VIP4, 'eth0'))?.mac === serverMac, 'client entry back to our MAC', fx, 3000);
  await sleep(100);
  assert.equal(metric(await metricsText(fx), 'openelb_l2_gratuitous_sent_total', `ip="${VIP4}"`), 4, 'a second burst of request + reply');
  assert.deepEqual(await packetSocketInodes(server, ifindex), socketsBefore, 'the same socket: not closed and reopened');
  assert.equal(lastState(fx, VIP4), 'announcing');
  // The claimer was forgotten: its next claim is seen (the speaker judges each one).
  const claims = events(fx).filter((e) => e.event === 'conflict').length;
  await client.run(tsxArgv(SENDER, 'eth0', garpHex(x, VIP4)));
  await until(() => events(fx).filter((e) => e.event === 'conflict').length > claims, 'the same claimer seen again', fx);
  await request(fx, { close: true }, 'closed');
});

test('Node: after a probe conflict the address is probed again and taken once the other host lets go', async (t) => {
  const { client, serverMac, fx } = await setup(t, tsxArgv, ['--reprobe-ms', '500']);
  const clientMac = (await client.link('eth0')).mac;
  await client.ip('addr', 'add', '10.99.0.50/24', 'dev', 'eth0');
  await client.ip('addr', 'add', 'fd00:99::50/64', 'dev', 'eth0', 'nodad');
  await set(fx, { '10.99.0.50': { nic: 'eth0', probe: true }, 'fd00:99::50': { nic: 'eth0', probe: true } });
  await until(() => lastState(fx, '10.99.0.50') === 'conflict' && lastState(fx, 'fd00:99::50') === 'conflict', 'conflict', fx);
  const probeConflicts = events(fx).filter((e) => e.event === 'conflict');
  assert.ok(probeConflicts.every((c) => c.phase === 'probe' && c.mac === clientMac), JSON.stringify(probeConflicts));
  await sleep(1200);
  assert.equal(lastState(fx, '10.99.0.50'), 'conflict', 'still in conflict while the other host holds it');
  assert.ok(events(fx).filter((e) => e.event === 'state' && e.ip === '10.99.0.50' && e.state === 'probing').length >= 2, 'probed again');

  await client.ip('addr', 'del', '10.99.0.50/24', 'dev', 'eth0');
  await client.ip('addr', 'del', 'fd00:99::50/64', 'dev', 'eth0');
  await until(() => lastState(fx, '10.99.0.50') === 'announcing' && lastState(fx, 'fd00:99::50') === 'announcing', 'taken after release', fx, 5000);
  const third = await client.exec(['arping', '-c', '1', '-w', '1', '-I', 'eth0', '10.99.0.50']);
  assert.match(third.stdout.toLowerCase(), new RegExp(serverMac));
  await request(fx, { close: true }, 'closed');
});

test('every namespace of this file is gone', async () => {
  const left = await listNamespaces();
  assert.deepEqual(left.filter((n) => labNames.includes(n)), []);
});
