// native-bindings/PacketSocket against the real kernel, in namespaces joined by a veth pair:
// host (runs the fixture on eth0, 10.99.0.1/24) <-> peer (eth0, 10.99.0.2/24, runs arping).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { denoArgv, Lab, listNamespaces, tsxArgv, type Child, type Netns } from '../../scripts/kit/netns.ts';

const FIXTURE = 'test/netns/fixtures/packet-socket-fixture.ts';
const SENDER = 'test/netns/fixtures/send-frames.ts';
const CLOSE_CHURN = 'test/netns/fixtures/close-churn.ts';
const VIP = '10.99.0.77';
const PACKET_BROADCAST = 1;

interface FixtureEvent {
  event: string;
  pktType?: number;
  op?: number;
  target?: string;
  ok?: boolean;
  stats?: { received: number; droppedNotForUs: number; sent: number; sendFailed: number; receiveErrors: number };
  mac?: string;
  runtime?: string;
  nextHeader?: number;
  icmpType?: number;
}

const labNames: string[] = [];

async function pair(t: TestContext): Promise<{ lab: Lab; host: Netns; peer: Netns }> {
  const lab = await Lab.create(t);
  const host = await lab.namespace('host');
  const peer = await lab.namespace('peer');
  await lab.veth(host, 'eth0', peer, 'eth0', { addrA: '10.99.0.1/24', addrB: '10.99.0.2/24' });
  labNames.push(...lab.names);
  return { lab, host, peer };
}

function events(c: Child): FixtureEvent[] {
  return c.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as FixtureEvent);
}

/** An ARP request frame (broadcast) as hex, optionally with an 802.1Q tag. */
function arpRequestHex(srcMac: string, senderIp: string, targetIp: string, vlanId?: number): string {
  const mac = srcMac.replace(/:/g, '');
  const ip = (s: string): string => s.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join('');
  const tag = vlanId === undefined ? '' : '8100' + vlanId.toString(16).padStart(4, '0');
  return 'ffffffffffff' + mac + tag + '0806' + '0001080006040001' + mac + ip(senderIp) + '000000000000' + ip(targetIp);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function receiveAndAnswer(t: TestContext, argvFor: (...args: string[]) => string[], env?: Record<string, string>): Promise<void> {
  const { host, peer } = await pair(t);
  const hostMac = (await host.link('eth0')).mac;
  const child = host.spawn(argvFor(FIXTURE, 'eth0', '--answer', VIP), env ? { env } : undefined);
  const ready = JSON.parse(await child.waitForLine(/"ready"/, 30_000)) as FixtureEvent;
  assert.equal(ready.mac, hostMac);

  // arping broadcasts the first request; our fixture answers by hand-built unicast reply.
  const r = await peer.exec(['arping', '-c', '3', '-w', '5', '-I', 'eth0', VIP]);
  assert.equal(r.code, 0, `arping got no reply:\n${r.stdout}${r.stderr}\nfixture: ${child.stdout}${child.stderr}`);
  assert.match(r.stdout, new RegExp(`reply from ${VIP.replace(/\./g, '\\.')} \\[${hostMac}\\]`, 'i'));
  assert.match(r.stdout, /Received 3 response/);

  const stats = await child.stop();
  assert.equal(stats.code, 0, `fixture exit: ${stats.code} ${stats.signal}\n${child.stderr}`);
  const ev = events(child);
  const requests = ev.filter((e) => e.event === 'frame' && e.op === 1 && e.target === VIP);
  assert.ok(requests.length >= 3, `expected 3 requests, saw ${JSON.stringify(ev)}`);
  assert.equal(requests[0]?.pktType, PACKET_BROADCAST, 'first arping request is broadcast');
  assert.ok(ev.filter((e) => e.event === 'sent' && e.ok).length >= 3);
  const closed = ev.find((e) => e.event === 'closed');
  assert.ok(closed?.stats && closed.stats.sent >= 3 && closed.stats.receiveErrors === 0, JSON.stringify(closed));
}

test('Node: receives a broadcast ARP request and its hand-built reply reaches arping', async (t) => {
  await receiveAndAnswer(t, tsxArgv);
});

test('Deno: the same receive/send check (default watcher: poll() through .async())', async (t) => {
  await receiveAndAnswer(t, denoArgv);
});

test('Deno, koffi.node.poll forced (re-armed per callback): the same receive/send check', async (t) => {
  await receiveAndAnswer(t, denoArgv, { OPENELB_TS_POLL: 'uv' });
});

test('Node, async-poll fallback (poll() through .async()): the same receive/send check', async (t) => {
  await receiveAndAnswer(t, tsxArgv, { OPENELB_TS_POLL: 'async' });
});

// A link flap reports ENETDOWN on the socket; libuv then stops the poll handle. The socket must
// keep receiving once the link is back, on every readiness path, without being reopened.
for (const [runtime, argvFor, env] of [
  ['Node', tsxArgv, undefined],
  ['Deno', denoArgv, undefined],
  ['Node, async-poll', tsxArgv, { OPENELB_TS_POLL: 'async' }],
] as const) {
  test(`${runtime}: a socket keeps receiving after its link went down and up (ENETDOWN does not stop the watcher)`, async (t) => {
    const { host, peer } = await pair(t);
    const child = host.spawn(argvFor(FIXTURE, 'eth0', '--answer', VIP), env ? { env } : undefined);
    await child.waitForLine(/"ready"/, 30_000);
    const first = await peer.exec(['arping', '-c', '1', '-w', '3', '-I', 'eth0', VIP]);
    assert.equal(first.code, 0, `precondition: answered before the flap\n${first.stdout}${child.stderr}`);
    await host.ip('link', 'set', 'eth0', 'down');
    await sleep(200);
    await host.ip('link', 'set', 'eth0', 'up');
    const r = await peer.exec(['arping', '-c', '3', '-w', '6', '-I', 'eth0', VIP]);
    assert.match(r.stdout, /Received [1-3] response/, `no reply after the flap:\n${r.stdout}${r.stderr}\nfixture: ${child.stdout.slice(-2000)}${child.stderr}`);
    await child.stop();
    const closed = events(child).find((e) => e.event === 'closed');
    // The flap really reached the socket as an error (else this test would prove nothing).
    assert.ok((closed?.stats?.receiveErrors ?? 0) >= 1, `no receive error counted: ${JSON.stringify(closed)}`);
  });
}

// Sockets close on SIGTERM, NIC changes and beacon restarts, often while frames arrive. On Deno,
// koffi's poll handle could then deliver an event for a freed handle and crash the process
// (runtime.ts); each runtime's default watcher must survive it. Node's is checked too, so the
// test would also catch a regression there.
for (const [runtime, argvFor, mode] of [
  ['Deno', denoArgv, 'async-poll'],
  ['Node', tsxArgv, 'uv-poll'],
] as const) {
  test(`${runtime}: opening and closing sockets while frames arrive never crashes the process (default watcher: ${mode})`, async (t) => {
    const { host, peer } = await pair(t);
    const flood = peer.spawn(['ping', '-f', '-q', '10.99.0.1']);
    try {
      const r = await host.exec(argvFor(CLOSE_CHURN, 'eth0', '300'), { timeoutMs: 120_000 });
      assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''} (SIGSEGV is 139 / signal SIGSEGV)\n${r.stdout}${r.stderr.slice(-2000)}`);
      const done = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { rounds?: number; frames?: number; mode?: string };
      assert.equal(done.rounds, 300);
      assert.equal(done.mode, mode);
      assert.ok((done.frames ?? 0) > 300, `frames arrived while sockets opened and closed: ${r.stdout}`);
    } finally {
      await flood.stop();
    }
  });
}

test('VLAN-tagged frames never reach the untagged socket callback (BPF, and pktType check without BPF)', async (t) => {
  const { host, peer } = await pair(t);
  const peerMac = (await peer.link('eth0')).mac;
  // This kernel has no 8021q module, so inject tagged frames from a packet socket on the peer:
  // VLAN 10 (must be dropped), priority-tagged VLAN 0 (802.1p: treated as untagged by the
  // kernel, delivered), and a plain untagged request (delivered).
  const frames = [
    arpRequestHex(peerMac, '10.99.0.2', '10.99.0.78', 10),
    arpRequestHex(peerMac, '10.99.0.2', '10.99.0.79', 0),
    arpRequestHex(peerMac, '10.99.0.2', VIP),
  ];
  for (const filter of ['arp', 'none']) {
    const child = host.spawn(tsxArgv(FIXTURE, 'eth0', '--filter', filter));
    await child.waitForLine(/"ready"/, 30_000);
    const sent = await peer.run(tsxArgv(SENDER, 'eth0', ...frames), { timeoutMs: 30_000 });
    assert.match(sent, /"count":3/);
    await child.waitForLine(new RegExp(`"target":"${VIP}"`), 5000); // the last frame arrived
    await sleep(100);
    await child.stop();
    const ev = events(child);
    const targets = ev.filter((e) => e.event === 'frame').map((e) => e.target);
    assert.deepEqual(targets, ['10.99.0.79', VIP], `filter=${filter}: ${child.stdout}`);
    const closed = ev.find((e) => e.event === 'closed');
    // With the BPF, the kernel drops the tagged frame (the kernel marks it PACKET_OTHERHOST after
    // stripping the tag); without it, PacketSocket drops it by pktType and counts it.
    assert.equal(closed?.stats?.droppedNotForUs, filter === 'arp' ? 0 : 1, `filter=${filter}: ${JSON.stringify(closed)}`);
  }
});

test('ndpFilter delivers Neighbor Solicitations/Advertisements only, not other ICMPv6 or IPv6', async (t) => {
  const { host, peer } = await pair(t);
  await host.ip('addr', 'add', 'fd00:99::1/64', 'dev', 'eth0', 'nodad');
  await peer.ip('addr', 'add', 'fd00:99::2/64', 'dev', 'eth0', 'nodad');
  const child = host.spawn(tsxArgv(FIXTURE, 'eth0', '--ndp'));
  await child.waitForLine(/"ready"/, 30_000);
  // ping: the peer's kernel solicits fd00:99::1 (NS), ours answers (NA, outgoing: not delivered),
  // then echo requests (ICMPv6 128) arrive: not delivered. ndisc6: an NS for a target nobody owns.
  const ping = await peer.exec(['ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd00:99::1']);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  await peer.exec(['ndisc6', '-r', '1', '-w', '300', 'fd00:99::77', 'eth0']);
  await child.waitForLine(/"target":"fd00:99:0:0:0:0:0:77"/, 5000);
  await child.stop();
  const frames = events(child).filter((e) => e.event === 'frame');
  assert.ok(frames.length >= 2, child.stdout);
  for (const f of frames) {
    assert.equal(f.nextHeader, 58, JSON.stringify(f));
    assert.ok(f.icmpType === 135 || f.icmpType === 136, `unexpected frame ${JSON.stringify(f)}`);
  }
  assert.ok(frames.some((f) => f.icmpType === 135 && f.target === 'fd00:99:0:0:0:0:0:1'), child.stdout);
});

test('addMembership/dropMembership show in ip maddr; closing the socket leaves the group', async (t) => {
  const { host } = await pair(t);
  const group = '33:33:ff:00:00:77';
  const maddr = async (): Promise<string> => await host.run(['ip', 'maddr', 'show', 'dev', 'eth0']);
  assert.doesNotMatch(await maddr(), /33:33:ff:00:00:77/);

  const child = host.spawn(tsxArgv(FIXTURE, 'eth0', '--join', group));
  await child.waitForLine(/"joined"/, 30_000);
  assert.match(await maddr(), /link\s+33:33:ff:00:00:77/);
  child.kill('SIGUSR1');
  await child.waitForLine(/"left"/, 5000);
  assert.doesNotMatch(await maddr(), /33:33:ff:00:00:77/);
  await child.stop();

  const again = host.spawn(tsxArgv(FIXTURE, 'eth0', '--join', group));
  await again.waitForLine(/"joined"/, 30_000);
  assert.match(await maddr(), /33:33:ff:00:00:77/);
  await again.stop();
  assert.doesNotMatch(await maddr(), /33:33:ff:00:00:77/, 'closing the socket must leave its groups');
});

for (const [runtime, argvFor] of [['Node', tsxArgv], ['Deno', denoArgv]] as const) {
  test(`${runtime}: close() alone lets the process exit promptly`, async (t) => {
    const { host, peer } = await pair(t);
    const child = host.spawn(argvFor(FIXTURE, 'eth0', '--close-after-frames', '1'));
    await child.waitForLine(/"ready"/, 30_000);
    void peer.exec(['arping', '-c', '1', '-w', '2', '-I', 'eth0', VIP]);
    await child.waitForLine(/"closed"/, 5000);
    const closedAt = performance.now();
    const timeout = sleep(2000).then(() => 'timeout' as const);
    const r = await Promise.race([child.exited, timeout]);
    assert.notEqual(r, 'timeout', `${runtime} process still running 2 s after close()`);
    assert.equal(child.result?.code, 0, child.stderr);
    assert.ok(performance.now() - closedAt < 1000, `exit took ${Math.round(performance.now() - closedAt)} ms after close()`);
  });
}

test('opening on a missing NIC fails with a one-line message naming it', async (t) => {
  const { host } = await pair(t);
  const r = await host.exec(tsxArgv(FIXTURE, 'oelbnope0'), { timeoutMs: 30_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, 'error: no such network interface "oelbnope0"\n');
});

test('opening without CAP_NET_RAW says so', async (t) => {
  const { host } = await pair(t);
  // Drop CAP_NET_RAW from the bounding set; root's exec then starts without it.
  const r = await host.exec(['capsh', '--drop=cap_net_raw', '--', '-c', 'exec "$@"', 'sh', ...tsxArgv(FIXTURE, 'eth0')], {
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 2, r.stderr + r.stdout);
  assert.equal(r.stderr, 'error: opening a raw packet socket on "eth0" needs CAP_NET_RAW (run as root or grant NET_RAW)\n');
});

test('no namespace is left behind', async (t) => {
  // This test's own lab, torn down explicitly, plus every lab of the tests above (their t.after ran).
  const lab = await Lab.create(t);
  const ns = await lab.namespace('tmp');
  assert.ok((await listNamespaces()).includes(ns.name));
  await lab.teardown();
  await lab.teardown(); // idempotent
  const left = await listNamespaces();
  assert.ok(!left.includes(ns.name), `left behind: ${ns.name}`);
  assert.ok(labNames.length > 0);
  const leaked = labNames.filter((n) => left.includes(n));
  assert.deepEqual(leaked, []);
});
