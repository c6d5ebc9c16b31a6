// `openelb-ts announce` against the real kernel: a client namespace asks with the kernel's own
// tools (arping, ndisc6, ping, ip neigh) and the announce command answers from a server namespace,
// on Node and on Deno. Topology: client eth0 (10.99.0.2/24, fd00:99::2/64) <-veth-> server eth0
// (10.99.0.1/24, fd00:99::1/64); VIP4/VIP6 are on no NIC of the server (only on its lo, with
// arp_ignore=1, so pings are accepted but only our responder can answer ARP/NDP for them).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { denoArgv, exec, Lab, listNamespaces, tsxArgv, type Child, type Netns } from '../../scripts/kit/netns.ts';

const MAIN = 'src/cli/main.ts';
const VIP4 = '10.99.0.77';
const VIP6 = 'fd00:99::77';
const OTHER_MAC = '02:00:00:00:00:99';
const METRICS = '127.0.0.1:7472';
const labNames: string[] = [];

type Argv = (script: string, ...args: string[]) => string[];
const RUNTIMES: Array<[string, Argv]> = [
  ['Node', tsxArgv],
  ['Deno', denoArgv],
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until cond() is true; fails with `what` and the announce output otherwise. */
async function until(cond: () => boolean | Promise<boolean>, what: string, child?: Child, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    if (child?.result) break;
    await sleep(25);
  }
  assert.fail(`${what}: not within ${timeoutMs} ms${child ? `\nannounce stderr:\n${child.stderr}\nexit: ${JSON.stringify(child.result?.code)}` : ''}`);
}

interface LogLine {
  msg: string;
  ip?: string;
  state?: string;
  otherMac?: string;
  level: string;
}
function logLines(c: Child): LogLine[] {
  return c.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}
function stateOf(c: Child, ip: string): string | undefined {
  return logLines(c).filter((l) => l.msg === 'address state' && l.ip === ip).pop()?.state;
}

async function pair(t: TestContext): Promise<{ lab: Lab; client: Netns; server: Netns; serverMac: string }> {
  const lab = await Lab.create(t);
  const client = await lab.namespace('client');
  const server = await lab.namespace('server');
  await lab.veth(client, 'eth0', server, 'eth0', { addrA: ['10.99.0.2/24', 'fd00:99::2/64'], addrB: ['10.99.0.1/24', 'fd00:99::1/64'] });
  labNames.push(...lab.names);
  return { lab, client, server, serverMac: (await server.link('eth0')).mac };
}

/** Starts announce in `ns` and waits until every address is 'announcing'. */
async function announce(ns: Netns, argvFor: Argv, addresses: string[], extra: string[] = []): Promise<Child> {
  const args = ['announce', '--interface', 'eth0', ...addresses.flatMap((a) => ['--address', a]), '--probe-ms', '100', ...extra];
  const child = ns.spawn(argvFor(MAIN, ...args));
  await until(() => addresses.every((a) => stateOf(child, a) === 'announcing'), `announce of ${addresses.join(', ')}`, child, 30_000);
  return child;
}

async function metrics(ns: Netns): Promise<string> {
  return ns.run(['curl', '-sf', `http://${METRICS}/metrics`]);
}
function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Stops the child with SIGTERM and asserts exit 0 within 1 s. */
async function stopWithin1s(c: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const started = performance.now();
  c.kill(signal);
  const r = await Promise.race([c.exited, sleep(3000).then(() => null)]);
  const ms = performance.now() - started;
  assert.ok(r, `announce did not exit within 3 s of ${signal}\n${c.stderr}`);
  assert.equal(r.code, 0, `exit code after ${signal}: ${r.code} ${r.signal}\n${c.stderr}`);
  assert.ok(ms < 1000, `exit took ${ms.toFixed(0)} ms after ${signal}`);
  assert.match(c.stderr, /"announcer closed: no longer answering"/);
}

for (const [runtime, argvFor] of RUNTIMES) {
  test(`${runtime}: arping and ndisc6 get our MAC; after ping the client's neighbour entries point at us`, async (t) => {
    const { client, server, serverMac } = await pair(t);
    // The server accepts VIP traffic (VIPs on lo) but its kernel must not answer ARP/NDP for them.
    await server.run(['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1']);
    await server.ip('addr', 'add', `${VIP4}/32`, 'dev', 'lo');
    await server.ip('addr', 'add', `${VIP6}/128`, 'dev', 'lo', 'nodad');
    const kernelOnly = await client.exec(['arping', '-c', '1', '-w', '1', '-I', 'eth0', VIP4]);
    assert.notEqual(kernelOnly.code, 0, 'precondition: without the responder nobody answers ARP for the VIP');

    const child = await announce(server, argvFor, [VIP4, VIP6], ['--metrics-addr', METRICS]);

    const a = await client.exec(['arping', '-c', '3', '-w', '5', '-I', 'eth0', VIP4]);
    assert.equal(a.code, 0, `arping: ${a.stdout}${a.stderr}\n${child.stderr}`);
    assert.match(a.stdout, new RegExp(`reply from ${VIP4.replace(/\./g, '\\.')} \\[${serverMac}\\]`, 'i'));
    assert.match(a.stdout, /Received 3 response/);
    assert.doesNotMatch(a.stdout.toLowerCase().replaceAll(serverMac, ''), /\[[0-9a-f:]{17}\]/, 'no reply from any other MAC');

    const n = await client.exec(['ndisc6', '-n', '-m', '-r', '2', '-w', '1000', VIP6, 'eth0']);
    assert.equal(n.code, 0, `ndisc6: ${n.stdout}${n.stderr}\n${child.stderr}`);
    const lladdrs = [...n.stdout.matchAll(/Target link-layer address: ([0-9A-F:]+)/gi)].map((m) => m[1]!.toLowerCase());
    assert.ok(lladdrs.length >= 1 && lladdrs.every((m) => m === serverMac), `ndisc6 saw ${lladdrs.join(', ')}: ${n.stdout}`);

    // ping from a clean cache: the client resolves the VIP through us, and the packets arrive.
    await client.ip('neigh', 'flush', 'dev', 'eth0');
    const p4 = await client.exec(['ping', '-c', '2', '-i', '0.2', '-W', '2', VIP4]);
    assert.equal(p4.code, 0, `ping ${VIP4}: ${p4.stdout}${p4.stderr}`);
    assert.equal((await client.neighbour(VIP4, 'eth0'))?.mac, serverMac);
    const p6 = await client.exec(['ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', VIP6]);
    assert.equal(p6.code, 0, `ping ${VIP6}: ${p6.stdout}${p6.stderr}`);
    assert.equal((await client.neighbour(VIP6, 'eth0'))?.mac, serverMac);

    const m = await metrics(server);
    const l4 = `ip="${VIP4}",nic="eth0"`;
    const l6 = `ip="${VIP6}",nic="eth0"`;
    assert.ok(metric(m, 'openelb_l2_requests_received_total', l4) >= 4, m);
    assert.ok(metric(m, 'openelb_l2_responses_sent_total', l4) >= 4, m);
    assert.ok(metric(m, 'openelb_l2_responses_sent_total', l6) >= 1, m);
    assert.ok(metric(m, 'openelb_l2_gratuitous_sent_total', l4) >= 2, m);
    assert.ok(metric(m, 'openelb_l2_gratuitous_sent_total', l6) >= 1, m);
    assert.equal(metric(m, 'openelb_l2_address_state', `${l4},state="announcing"`), 1, m);
    await stopWithin1s(child);
  });

  test(`${runtime}: a client's stale neighbour entries (another MAC) flip to ours from the takeover burst alone`, async (t) => {
    const { client, server, serverMac } = await pair(t);
    await client.ip('neigh', 'replace', VIP4, 'lladdr', OTHER_MAC, 'nud', 'stale', 'dev', 'eth0');
    await client.ip('neigh', 'replace', VIP6, 'lladdr', OTHER_MAC, 'nud', 'stale', 'dev', 'eth0');
    const child = await announce(server, argvFor, [VIP4, VIP6]);
    // The client sends nothing: only our gratuitous ARP / unsolicited NA can change its cache.
    await until(async () => (await client.neighbour(VIP4, 'eth0'))?.mac === serverMac, 'IPv4 neighbour entry flips to our MAC', child, 3000);
    await until(async () => (await client.neighbour(VIP6, 'eth0'))?.mac === serverMac, 'IPv6 neighbour entry flips to our MAC', child, 3000);
    await stopWithin1s(child, 'SIGINT');
  });
}

// native-bindings/startup-pages.ts: two seconds after start-up the command unmaps the clean pages
// of its program files that start-up touched. What must hold: answers keep coming afterwards (the
// pages come back from the page cache when needed), and the resident program pages really drop
// (compared with the same command told to keep them, OPENELB_TS_DROP_STARTUP_PAGES=0).
for (const [runtime, argvFor] of RUNTIMES) {
  test(`${runtime}: after giving back its start-up pages it still answers ARP and NDP, with fewer program pages resident`, async (t) => {
    const { client, server, serverMac } = await pair(t);
    const rssFileKb = (pid: number): number => Number(/RssFile:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    const resident: number[] = [];
    for (const keep of ['0', '']) {
      const child = server.spawn(argvFor(MAIN, 'announce', '--interface', 'eth0', '--address', VIP4, '--address', VIP6, '--probe-ms', '100', '--log-level', 'debug'), {
        env: keep ? { OPENELB_TS_DROP_STARTUP_PAGES: keep } : {},
      });
      await until(() => stateOf(child, VIP4) === 'announcing', 'announcing', child, 30_000);
      if (keep) await sleep(3000);
      else await until(() => /"gave back start-up pages","mappings":[1-9]/.test(child.stderr), 'the start-up pages given back', child, 10_000);
      resident.push(rssFileKb(child.pid!));
      const a = await client.exec(['arping', '-c', '3', '-w', '5', '-I', 'eth0', VIP4]);
      assert.match(a.stdout, /Received 3 response/, `arping: ${a.stdout}\n${child.stderr}`);
      assert.match(a.stdout, new RegExp(`\\[${serverMac}\\]`, 'i'));
      const n = await client.exec(['ndisc6', '-n', '-m', '-r', '2', '-w', '1000', VIP6, 'eth0']);
      assert.match(n.stdout.toLowerCase(), new RegExp(`target link-layer address: ${serverMac}`), `ndisc6: ${n.stdout}\n${child.stderr}`);
      await stopWithin1s(child);
    }
    const [kept, dropped] = resident as [number, number];
    t.diagnostic(`${runtime}: resident program/library pages ${kept} kB kept, ${dropped} kB after giving back`);
    assert.ok(dropped < kept * 0.8, `resident file pages: ${dropped} kB after giving back vs ${kept} kB kept`);
  });
}

test('Node: an address another host owns is reported as a conflict and never announced or answered', async (t) => {
  const lab = await Lab.create(t);
  const sw = await lab.bridge();
  const server = await lab.namespace('server');
  const owner = await lab.namespace('owner');
  const client = await lab.namespace('client');
  await lab.attach(sw, server, 'eth0', { addr: ['10.99.0.1/24', 'fd00:99::1/64'] });
  await lab.attach(sw, owner, 'eth0', { addr: ['10.99.0.50/24', 'fd00:99::50/64'] });
  await lab.attach(sw, client, 'eth0', { addr: ['10.99.0.2/24', 'fd00:99::2/64'] });
  labNames.push(...lab.names);
  const ownerMac = (await owner.link('eth0')).mac;
  const serverMac = (await server.link('eth0')).mac;

  const child = server.spawn(
    tsxArgv(MAIN, 'announce', '--interface', 'eth0', '--address', '10.99.0.50', '--address', 'fd00:99::50', '--address', VIP4, '--metrics-addr', METRICS, '--probe-ms', '300'),
  );
  await until(() => stateOf(child, VIP4) === 'announcing', 'free address announced', child);
  await until(() => stateOf(child, '10.99.0.50') === 'conflict' && stateOf(child, 'fd00:99::50') === 'conflict', 'both owned addresses in conflict', child);
  for (const ip of ['10.99.0.50', 'fd00:99::50']) {
    const line = logLines(child).find((l) => l.msg === 'address state' && l.ip === ip && l.state === 'conflict');
    assert.equal(line?.otherMac, ownerMac, `conflict for ${ip} names the owner's MAC`);
  }

  // Every reply the client gets comes from the owner (arping -b keeps broadcasting, so both would answer).
  const a = await client.exec(['arping', '-b', '-c', '3', '-w', '4', '-I', 'eth0', '10.99.0.50']);
  assert.equal(a.code, 0, a.stdout + a.stderr);
  assert.match(a.stdout, /Received 3 response/, a.stdout);
  assert.ok(!a.stdout.toLowerCase().includes(serverMac), `we answered for an address in conflict:\n${a.stdout}`);
  const n = await client.exec(['ndisc6', '-n', '-m', '-r', '2', '-w', '800', 'fd00:99::50', 'eth0']);
  assert.ok(!n.stdout.toLowerCase().includes(serverMac), `we answered NDP for an address in conflict:\n${n.stdout}`);
  assert.ok(n.stdout.toLowerCase().includes(ownerMac), n.stdout);

  const m = await metrics(server);
  for (const ip of ['10.99.0.50', 'fd00:99::50']) {
    const l = `ip="${ip}",nic="eth0"`;
    assert.equal(metric(m, 'openelb_l2_conflicts_total', `${l},phase="probe"`), 1, m);
    assert.equal(metric(m, 'openelb_l2_address_state', `${l},state="conflict"`), 1, m);
    assert.equal(metric(m, 'openelb_l2_gratuitous_sent_total', l), 0, m);
    assert.equal(metric(m, 'openelb_l2_responses_sent_total', l), 0, m);
  }
  await stopWithin1s(child);
});

/** An ARP frame as hex (ethernet header + ARP), optionally 802.1Q-tagged. */
function arpHex(op: 1 | 2, dstMac: string, srcMac: string, senderIp: string, targetMac: string, targetIp: string, vlanId?: number): string {
  const mac = (m: string): string => m.replace(/:/g, '');
  const ip = (s: string): string => s.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join('');
  const tag = vlanId === undefined ? '' : '8100' + vlanId.toString(16).padStart(4, '0');
  return mac(dstMac) + mac(srcMac) + tag + '0806' + '00010800060400' + `0${op}` + mac(srcMac) + ip(senderIp) + mac(targetMac) + ip(targetIp);
}

test('Node: non-owned targets, ARP replies and VLAN-tagged requests get no answer; garbage at full speed does not stop answers', async (t) => {
  const { client, server, serverMac } = await pair(t);
  const clientMac = (await client.link('eth0')).mac;
  const child = await announce(server, tsxArgv, [VIP4, VIP6], ['--metrics-addr', METRICS, '--burst-count', '1']);
  // (A priority-tagged frame, VLAN 0, is the native VLAN: the kernel answers those too, and so do we.)
  // Everything arriving at the client from now on, ARP and NDP (our answers would show up here).
  const arpTap = client.spawn(tsxArgv('test/netns/fixtures/packet-socket-fixture.ts', 'eth0'));
  const ndpTap = client.spawn(tsxArgv('test/netns/fixtures/packet-socket-fixture.ts', 'eth0', '--ndp'));
  await arpTap.waitForLine(/"ready"/, 20_000);
  await ndpTap.waitForLine(/"ready"/, 20_000);

  const bcast = 'ff:ff:ff:ff:ff:ff';
  const frames = [
    arpHex(1, bcast, clientMac, '10.99.0.2', '00:00:00:00:00:00', '10.99.0.88'), // not owned
    arpHex(2, serverMac, clientMac, '10.99.0.2', serverMac, VIP4), // a reply "to" the VIP
    arpHex(1, bcast, clientMac, '10.99.0.2', '00:00:00:00:00:00', VIP4, 7), // tagged, VLAN 7
  ];
  const sent = await client.run(tsxArgv('test/netns/fixtures/send-frames.ts', 'eth0', ...frames));
  assert.match(sent, /"count":3/);
  const noNdp = await client.exec(['ndisc6', '-n', '-r', '1', '-w', '500', 'fd00:99::88', 'eth0']);
  assert.notEqual(noNdp.code, 0, `an NS for a non-owned IPv6 address was answered: ${noNdp.stdout}`);
  await sleep(500);
  const fromUs = (c: Child): string[] => c.stdout.split('\n').filter((l) => l.includes('"frame"'));
  assert.deepEqual(fromUs(arpTap), [], 'no ARP frame reached the client');
  assert.deepEqual(fromUs(ndpTap), [], 'no NDP frame reached the client');
  let m = await metrics(server);
  assert.equal(metric(m, 'openelb_l2_requests_received_total', `ip="${VIP4}"`), 0, m);

  // A legit request still gets its answer (the taps are live, the tagged one above was not ignored by accident).
  const ok = await client.exec(['arping', '-c', '1', '-w', '2', '-I', 'eth0', VIP4]);
  assert.equal(ok.code, 0, ok.stdout);
  await until(() => fromUs(arpTap).some((l) => l.includes(`"sender":"${VIP4}"`)), 'the tap sees our reply');
  await arpTap.stop();
  await ndpTap.stop();

  // Garbage at full speed (random bytes and mutated ARP/NDP), while arping and ndisc6 keep asking.
  const flood = client.spawn(tsxArgv('test/netns/fixtures/garbage-flood.ts', 'eth0', '3000', serverMac));
  await flood.waitForLine(/"started"/, 20_000);
  const [during, during6] = await Promise.all([
    client.exec(['arping', '-c', '3', '-w', '4', '-I', 'eth0', VIP4]),
    client.exec(['ndisc6', '-n', '-r', '3', '-w', '1000', VIP6, 'eth0']),
  ]);
  const floodResult = await flood.exited;
  assert.equal(floodResult.code, 0, flood.stderr);
  const floodStats = JSON.parse(flood.stdout.trim().split('\n').pop()!) as { sent: number };
  assert.ok(floodStats.sent > 10_000, `flood sent only ${floodStats.sent} frames`);
  assert.match(during.stdout, /Received [1-3] response/, `no ARP answer during the flood: ${JSON.stringify(during)}\n${child.stderr.slice(-2000)}`);
  assert.equal(during6.code, 0, `no NA during the flood: ${during6.stdout}`);
  assert.equal(child.result, null, `announce died:\n${child.stderr}`);
  const after = await client.exec(['arping', '-c', '2', '-w', '3', '-I', 'eth0', VIP4]);
  assert.match(after.stdout, /Received 2 response/, after.stdout);
  m = await metrics(server);
  const malformed = m.split('\n').filter((l) => l.startsWith('openelb_l2_malformed_frames_total{')).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  assert.ok(malformed > 1000, `malformed frames counted: ${malformed}\n${m}`);
  await stopWithin1s(child);
});

test('Node: NIC down and up again re-announces (a stale client entry flips back to us)', async (t) => {
  const { client, server, serverMac } = await pair(t);
  const child = await announce(server, tsxArgv, [VIP4], ['--burst-count', '1', '--refresh-ms', '0']);
  await server.ip('link', 'set', 'eth0', 'down');
  await until(() => /"NIC is down/.test(child.stderr), 'down noticed', child, 5000);
  await client.ip('neigh', 'replace', VIP4, 'lladdr', OTHER_MAC, 'nud', 'stale', 'dev', 'eth0');
  await server.ip('link', 'set', 'eth0', 'up');
  await until(async () => (await client.neighbour(VIP4, 'eth0'))?.mac === serverMac, 'neighbour entry flips after the NIC came back', child, 6000);
  await stopWithin1s(child);
});

/** One ARP request and one Neighbor Solicitation from the client: whether each got our MAC. */
async function answered(client: Netns, serverMac: string): Promise<{ arp: boolean; ndp: boolean; out: string }> {
  const [a, n] = await Promise.all([
    client.exec(['arping', '-c', '1', '-w', '1', '-I', 'eth0', VIP4]),
    client.exec(['ndisc6', '-n', '-m', '-r', '1', '-w', '800', VIP6, 'eth0']),
  ]);
  const arp = a.code === 0 && a.stdout.toLowerCase().includes(`[${serverMac}]`);
  const ndp = n.code === 0 && n.stdout.toLowerCase().includes(serverMac);
  return { arp, ndp, out: `arping: ${a.stdout}${a.stderr}\nndisc6: ${n.stdout}${n.stderr}` };
}

// A short link flap must not leave announce deaf: link down makes the kernel report ENETDOWN on
// the packet sockets, and on Node's libuv poll path that error used to stop receiving for good
// (requests unanswered while the address still reported 'announcing').
for (const [runtime, argvFor] of RUNTIMES) {
  test(`${runtime}: after NIC flaps of 0.2 s and 2 s, ARP requests and Neighbor Solicitations are answered again`, async (t) => {
    const { client, server, serverMac } = await pair(t);
    const child = await announce(server, argvFor, [VIP4, VIP6]);
    const before = await answered(client, serverMac);
    assert.ok(before.arp && before.ndp, `precondition: answered before any flap\n${before.out}`);
    for (const downMs of [200, 2000]) {
      await server.ip('link', 'set', 'eth0', 'down');
      await sleep(downMs);
      await server.ip('link', 'set', 'eth0', 'up');
      // Answers come back within a few seconds of the link (the NIC check runs every second).
      let last = { arp: false, ndp: false, out: '' };
      for (const end = Date.now() + 8000; Date.now() < end && !(last.arp && last.ndp); ) {
        last = await answered(client, serverMac);
        if (!(last.arp && last.ndp)) await sleep(200);
      }
      assert.ok(last.arp, `no ARP answer within 8 s after a ${downMs} ms flap\n${last.out}\n${child.stderr.slice(-3000)}`);
      assert.ok(last.ndp, `no NA within 8 s after a ${downMs} ms flap\n${last.out}\n${child.stderr.slice(-3000)}`);
      // And it keeps answering (not one lucky answer): three in a row.
      const a = await client.exec(['arping', '-c', '3', '-w', '4', '-I', 'eth0', VIP4]);
      assert.match(a.stdout, /Received 3 response/, `after a ${downMs} ms flap: ${a.stdout}`);
      assert.equal(stateOf(child, VIP4), 'announcing');
      assert.equal(stateOf(child, VIP6), 'announcing');
    }
    await stopWithin1s(child);
  });
}

test('CLI errors: one line and a non-zero exit for a missing NIC, a bad address, no CAP_NET_RAW', async (t) => {
  const { server } = await pair(t);
  const bin = ['node', 'bin/openelb-ts.js', 'announce'];
  const oneLine = (s: string): void => assert.equal(s.trim().split('\n').length, 1, `expected one line, got:\n${s}`);

  const noNic = await server.exec([...bin, '--interface', 'eth9', '--address', VIP4], { timeoutMs: 30_000 });
  assert.equal(noNic.code, 1, noNic.stderr);
  assert.match(noNic.stderr, /^openelb-ts announce: network interface "eth9" not found/);
  oneLine(noNic.stderr);

  const bad = await server.exec([...bin, '--interface', 'eth0', '--address', '10.99.0.300'], { timeoutMs: 30_000 });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--address "10\.99\.0\.300" is not an IPv4 or IPv6 address/);
  oneLine(bad.stderr);

  const none = await server.exec([...bin, '--interface', 'eth0'], { timeoutMs: 30_000 });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--address is required/);

  // Root without CAP_NET_RAW: drop it from the bounding set before exec, so the child never has it.
  const noCap = await server.exec(['setpriv', '--bounding-set', '-net_raw', '--inh-caps', '-net_raw', ...bin, '--interface', 'eth0', '--address', VIP4], { timeoutMs: 30_000 });
  assert.equal(noCap.code, 1, noCap.stderr);
  assert.match(noCap.stderr, /needs CAP_NET_RAW/);
  oneLine(noCap.stderr);

  const help = await exec([...bin, '--help'], { timeoutMs: 30_000 });
  assert.equal(help.code, 0);
  for (const flag of ['--interface', '--address', '--metrics-addr', '--log-level', '--no-probe', '--probe-ms', 'OPENELB_ADDRESSES']) {
    assert.ok(help.stdout.includes(flag), `--help mentions ${flag}`);
  }
});

test('every namespace of this file is gone', async () => {
  const left = await listNamespaces();
  assert.deepEqual(left.filter((n) => labNames.includes(n)), []);
});
