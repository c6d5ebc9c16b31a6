// Reliability suite, item 2: hostile and malformed traffic against `openelb-ts announce` (the same
// Announcer/Responder the speaker runs), on a bridge shared by a legitimate client, an attacker
// and the server. test/netns/announce.test.ts covers random garbage, replies, VLAN tags and
// non-owned targets; this file adds well-formed floods at line rate (ARP and NS, owned and not),
// spoofed gratuitous ARP for our VIP (report, do not fight), and NS with a bad hop limit,
// checksum or options. Figures (answered fraction, CPU, RSS, frame rates) go to record().
//
// Topology: bridge sw; server eth0 10.99.0.1/24 fd00:99::1/64 (announces VIP4/VIP6, on no NIC);
// client eth0 10.99.0.2 fd00:99::2; attacker eth0 10.99.0.3 fd00:99::3.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Lab, listNamespaces, tsxArgv, type Child, type Netns } from '../../scripts/kit/netns.ts';
import { cpuSeconds, record, rssKiB, scale } from '../reliability/proc.ts';
import { ndpFrame } from '../../src/l2/ndp.ts';
import { parseIPv6 } from '../../src/net/ip.ts';
import { solicitedNodeAddress } from '../../src/l2/ipv6.ts';
import { parseMac, solicitedNodeMulticastMac } from '../../src/l2/mac.ts';

const MAIN = 'src/cli/main.ts';
const FLOOD = 'test/reliability/flood.ts';
const VIP4 = '10.99.0.77';
const VIP6 = 'fd00:99::77';
const SPOOF_MAC = '02:00:00:00:00:99';
const METRICS = '127.0.0.1:7472';
const labNames: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, what: string, child?: Child, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    if (child?.result) break;
    await sleep(25);
  }
  assert.fail(`${what}: not within ${timeoutMs} ms${child ? `\nstderr:\n${child.stderr.slice(-3000)}` : ''}`);
}

function logLines(c: Child): Array<Record<string, unknown>> {
  return c.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
const stateOf = (c: Child, ip: string): unknown => logLines(c).filter((l) => l.msg === 'address state' && l.ip === ip).pop()?.state;

function metric(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

interface Segment {
  lab: Lab;
  server: Netns;
  client: Netns;
  attacker: Netns;
  serverMac: string;
  announce: Child;
}

async function segment(t: TestContext, extra: string[] = []): Promise<Segment> {
  const lab = await Lab.create(t);
  const sw = await lab.bridge();
  const server = await lab.namespace('server');
  const client = await lab.namespace('client');
  const attacker = await lab.namespace('attacker');
  await lab.attach(sw, server, 'eth0', { addr: ['10.99.0.1/24', 'fd00:99::1/64'] });
  await lab.attach(sw, client, 'eth0', { addr: ['10.99.0.2/24', 'fd00:99::2/64', ...Array.from({ length: 8 }, (_, i) => `10.99.0.${100 + i}/32`)] });
  await lab.attach(sw, attacker, 'eth0', { addr: ['10.99.0.3/24', 'fd00:99::3/64'] });
  labNames.push(...lab.names);
  const announce = server.spawn(
    tsxArgv(MAIN, 'announce', '--interface', 'eth0', '--address', VIP4, '--address', VIP6, '--probe-ms', '100', '--metrics-addr', METRICS, ...extra),
  );
  await until(() => stateOf(announce, VIP4) === 'announcing' && stateOf(announce, VIP6) === 'announcing', 'announcing', announce, 30_000);
  return { lab, server, client, attacker, serverMac: (await server.link('eth0')).mac, announce };
}

/** Legit ARP from the client with the kernel's arping. This arping takes whole seconds for -i, so
 * `procs` arpings run side by side, `each` requests apiece, each from its own source address
 * (10.99.0.100+i on the client): arping counts any reply to its IP, so sharing one would count
 * a sibling's answers. */
async function legitArp(client: Netns, procs: number, each = 2): Promise<{ sent: number; received: number }> {
  const runs = await Promise.all(
    Array.from({ length: procs }, (_, i) =>
      client.exec(['arping', '-c', String(each), '-s', `10.99.0.${100 + i}`, '-I', 'eth0', VIP4], { timeoutMs: 30_000 }),
    ),
  );
  let sent = 0;
  let received = 0;
  for (const r of runs) {
    sent += Number(/Sent (\d+) probe/.exec(r.stdout)?.[1] ?? 0);
    received += Number(/Received (\d+) response/.exec(r.stdout)?.[1] ?? 0);
  }
  return { sent, received };
}

/** Legit NDP: `count` single solicitations with the kernel-independent ndisc6 (each waits 300 ms). */
async function legitNs(client: Netns, count: number): Promise<{ sent: number; received: number }> {
  let received = 0;
  for (let i = 0; i < count; i++) {
    const r = await client.exec(['ndisc6', '-n', '-q', '-r', '1', '-w', '300', VIP6, 'eth0']);
    if (r.code === 0) received++;
  }
  return { sent: count, received };
}

/** Frames the kernel dropped on the server's packet sockets for want of receive buffer (ss skmem d). */
async function socketDrops(server: Netns): Promise<number> {
  const out = await server.run(['ss', '-0', '-a', '-m', '-n']);
  return [...out.matchAll(/skmem:\([^)]*,d(\d+)\)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Least answered fraction of legit requests during a flood (measured 0.3-1.0 with CPU contention; see RELIABILITY.md). */
const LEGIT_MIN = 0.2;
const FLOOD_MS = scale(3000, 20_000);

for (const mode of ['arp-owned', 'arp-other', 'ns-owned', 'mixed'] as const) {
  test(`flood ${mode} at line rate from a third host: legit ARP/NS still answered, CPU bounded, memory flat`, async (t) => {
    const s = await segment(t);
    const pid = s.announce.pid!;
    const baseline = await legitArp(s.client, 4, 1);
    assert.equal(baseline.received, baseline.sent, `baseline: ${JSON.stringify(baseline)}`);
    const metricsBefore = await s.server.run(['curl', '-sf', `http://${METRICS}/metrics`]);
    const rss0 = rssKiB(pid);
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();

    const flood = s.attacker.spawn(tsxArgv(FLOOD, 'eth0', mode, String(FLOOD_MS), `target=${VIP4}`, `target6=${VIP6}`));
    await flood.waitForLine(/"started"/, 20_000);
    const tFloodStart = performance.now();
    // Legit questions while the flood runs (8 arpings side by side; ndisc6 one after another).
        const [arp, nd] = await Promise.all([legitArp(s.client, 8, Math.max(2, Math.floor(FLOOD_MS / 1000) - 1)), legitNs(s.client, Math.max(3, Math.floor(FLOOD_MS / 600)))]);
    const done = await flood.exited;
    const floodMs = performance.now() - tFloodStart;
    assert.equal(done.code, 0, flood.stderr);
    const stats = JSON.parse(flood.stdout.trim().split('\n').pop()!) as { sent: number; ms: number };
    const cpuDuring = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
    const rss1 = rssKiB(pid);

    // After the flood: idle again (CPU falls back) and every legit request answered.
    const cpuA = cpuSeconds(pid);
    await sleep(1000);
    const cpuIdle = cpuSeconds(pid) - cpuA;
    const afterwards = await legitArp(s.client, 4, 1);
    const metricsAfter = await s.server.run(['curl', '-sf', `http://${METRICS}/metrics`]);
    const drops = await socketDrops(s.server);
    const requests = metric(metricsAfter, 'openelb_l2_requests_received_total') - metric(metricsBefore, 'openelb_l2_requests_received_total');
    const responses = metric(metricsAfter, 'openelb_l2_responses_sent_total') - metric(metricsBefore, 'openelb_l2_responses_sent_total');

    const figures = {
      floodFramesPerSec: Math.round(stats.sent / (stats.ms / 1000)),
      floodFrames: stats.sent,
      ownedRequestsSeen: requests,
      responsesSent: responses,
      legitArpAnswered: `${arp.received}/${arp.sent}`,
      legitNsAnswered: `${nd.received}/${nd.sent}`,
      cpuCoresDuring: Number(cpuDuring.toFixed(2)),
      cpuSecondsIdleAfter1s: Number(cpuIdle.toFixed(2)),
      rssGrowthMiB: Number(((rss1 - rss0) / 1024).toFixed(1)),
      floodMs: Math.round(floodMs),
      packetSocketDrops: drops,
    };
    record(t, `flood-${mode}`, figures);

    assert.equal(s.announce.result, null, `announce died during the flood:\n${s.announce.stderr.slice(-3000)}`);
    assert.ok(stats.sent / (stats.ms / 1000) > 10_000, `the flood is not a flood: ${JSON.stringify(stats)}`);
    // Every request that reached the responder was answered: the userspace path keeps up, and what
    // is lost is lost in the kernel before we see it (the packet socket's receive buffer, counted).
    assert.equal(responses, requests, 'requests seen but not answered');
    if (mode === 'arp-owned' || mode === 'ns-owned') assert.ok(requests + drops >= stats.sent * 0.95, `frames unaccounted for: ${JSON.stringify(figures)}`);
    // Legit askers keep getting answers. Not all: the burst flood overflows the socket buffer
    // (RELIABILITY.md has the figures); LEGIT_MIN catches a starved or dead responder.
    assert.ok(arp.received / arp.sent >= LEGIT_MIN, `legit ARP answered ${arp.received}/${arp.sent} during the ${mode} flood: ${JSON.stringify(figures)}`);
    assert.ok(nd.received / nd.sent >= LEGIT_MIN, `legit NS answered ${nd.received}/${nd.sent} during the ${mode} flood: ${JSON.stringify(figures)}`);
    assert.ok(cpuDuring <= 1.1, `responder used ${cpuDuring.toFixed(2)} cores`);
    assert.ok(cpuIdle < 0.1, `responder still busy after the flood: ${cpuIdle.toFixed(2)} s CPU in 1 s`);
    assert.ok(rss1 - rss0 < 40 * 1024, `RSS grew by ${((rss1 - rss0) / 1024).toFixed(1)} MiB`);
    assert.equal(afterwards.received, afterwards.sent, `after the flood: ${JSON.stringify(afterwards)}`);
  });
}

test('spoofed gratuitous ARP for our VIP from another MAC: reported as a conflict once, never fought in a loop', async (t) => {
  const s = await segment(t, ['--burst-count', '1', '--refresh-ms', '0']);
  // Count the ARP frames our MAC sends while the spoofer claims VIP4 every 100 ms.
  const tap = s.client.spawn(['tcpdump', '-l', '-n', '-e', '-i', 'eth0', 'arp']);
  await sleep(500);
  const spoofMs = scale(3000, 10_000);
  const spoof = s.attacker.spawn(tsxArgv(FLOOD, 'eth0', 'garp', String(spoofMs), `target=${VIP4}`, `mac=${SPOOF_MAC}`, 'interval-ms=100'));
  const r = await spoof.exited;
  assert.equal(r.code, 0, spoof.stderr);
  const spoofSent = (JSON.parse(spoof.stdout.trim().split('\n').pop()!) as { sent: number }).sent;
  await sleep(500);
  tap.kill('SIGINT');
  await tap.exited;

  const lines = tap.stdout.split('\n');
  const fromUs = lines.filter((l) => l.toLowerCase().startsWith(`${s.serverMac.toLowerCase()} >`) || l.toLowerCase().includes(` ${s.serverMac.toLowerCase()} >`));
  const fromSpoofer = lines.filter((l) => l.toLowerCase().includes(`${SPOOF_MAC} >`));
  const m = await s.server.run(['curl', '-sf', `http://${METRICS}/metrics`]);
  const conflicts = metric(m, 'openelb_l2_conflicts_total', `ip="${VIP4}",phase="announced"`);
  const warnings = logLines(s.announce).filter((l) => l.msg === 'another host claims an address we announce' && l.ip === VIP4);
  const gratuitous = metric(m, 'openelb_l2_gratuitous_sent_total', `ip="${VIP4}"`);
  record(t, 'spoofed-gratuitous-arp', {
    spoofFrames: spoofSent,
    spoofFramesSeenByClient: fromSpoofer.length,
    ourArpFramesDuringSpoof: fromUs.length,
    conflictMetric: conflicts,
    conflictLogLines: warnings.length,
    ourGratuitousTotal: gratuitous,
  });
  assert.ok(fromSpoofer.length >= spoofSent * 0.8, `tap saw ${fromSpoofer.length} of ${spoofSent} spoofed frames:\n${tap.stderr}`);
  assert.equal(conflicts, 1, `conflict metric: ${conflicts}`);
  assert.equal(warnings.length, 1, 'one warning naming the other MAC');
  assert.equal(warnings[0]?.otherMac, SPOOF_MAC);
  // No fight: nothing from our MAC in reaction (burst of 1 was before the tap, refresh is off).
  assert.equal(fromUs.length, 0, `we sent ARP frames during the spoof:\n${fromUs.join('\n')}`);
  assert.equal(s.announce.result, null);
  // Still answering legit requests (the client's arping unicasts to us after the first reply).
  const legit = await legitArp(s.client, 5, 1);
  assert.equal(legit.received, 5, JSON.stringify(legit));
});

test('1,000 spoofed gratuitous ARPs for our VIP alternating between two MACs: a bounded number of conflict reports and log lines', async (t) => {
  const s = await segment(t, ['--burst-count', '1', '--refresh-ms', '0']);
  const MAC_A = '02:00:00:00:00:98';
  const FRAMES = 1000;
  const spoof = s.attacker.spawn(tsxArgv(FLOOD, 'eth0', 'garp-alternate', '20000', `target=${VIP4}`, `mac=${MAC_A}`, `mac2=${SPOOF_MAC}`, 'pps=1000', `count=${FRAMES}`));
  const r = await spoof.exited;
  assert.equal(r.code, 0, spoof.stderr);
  const spoofSent = (JSON.parse(spoof.stdout.trim().split('\n').pop()!) as { sent: number }).sent;
  assert.equal(spoofSent, FRAMES);
  // The frames arrived: the counter metric sees (nearly) every change of claimer.
  let m = '';
  await until(async () => {
    m = await s.server.run(['curl', '-sf', `http://${METRICS}/metrics`]);
    return metric(m, 'openelb_l2_conflicts_total', `ip="${VIP4}",phase="announced"`) >= FRAMES * 0.8;
  }, 'the conflict counter sees the spoofed frames', s.announce, 10_000);
  const counted = metric(m, 'openelb_l2_conflicts_total', `ip="${VIP4}",phase="announced"`);
  const warnings = logLines(s.announce).filter((l) => l.msg === 'another host claims an address we announce' && l.ip === VIP4);
  record(t, 'alternating-spoofed-gratuitous-arp', { spoofFrames: spoofSent, conflictMetric: counted, conflictLogLines: warnings.length });
  // One second of alternating claims: each MAC is reported once, and a summary of what was held back
  // may follow; never one line per frame.
  assert.ok(warnings.length >= 2 && warnings.length <= 6, `conflict log lines for ${FRAMES} spoofed frames: ${warnings.length}`);
  assert.deepEqual(new Set(warnings.map((w) => w.otherMac)), new Set([MAC_A, SPOOF_MAC]), 'both claimers are named');
  assert.equal(s.announce.result, null);
  const legit = await legitArp(s.client, 3, 1);
  assert.equal(legit.received, 3, JSON.stringify(legit));
});

/** NS frames for VIP6 from the attacker, each broken in one way the RFC says must be dropped. */
function badNs(attackerMac: string): Record<string, string> {
  const mac = parseMac(attackerMac)!;
  const target = parseIPv6(VIP6)!;
  const src = parseIPv6('fd00:99::3')!;
  const dst = solicitedNodeAddress(target);
  const ethDst = solicitedNodeMulticastMac(target);
  const good = (hopLimit = 255): Uint8Array => ndpFrame(ethDst, mac, { type: 'ns', src, dst, hopLimit, target, sourceLinkLayer: mac });
  const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');
  const out: Record<string, string> = {};
  out['hop-limit-64'] = hex(good(64));
  out['hop-limit-254'] = hex(good(254));
  const badSum = good();
  badSum[14 + 40 + 2]! ^= 0x5a;
  out['bad-checksum'] = hex(badSum);
  // An option of length 0 (RFC 4861 §7.1.1: silently discard): rewrite the SLLAO's length byte and
  // fix up the checksum so only the option is wrong.
  out['option-length-zero'] = hex(withFixedChecksum(good(), (icmp) => (icmp[25] = 0)));
  // An option claiming 16 bytes where 8 remain.
  out['option-overruns'] = hex(withFixedChecksum(good(), (icmp) => (icmp[25] = 2)));
  // DAD (source ::) carrying a source link-layer option: must be dropped.
  const dad = ndpFrame(ethDst, mac, { type: 'ns', src: new Uint8Array(16), dst, hopLimit: 255, target, sourceLinkLayer: mac });
  out['dad-with-sllao'] = hex(dad);
  // ICMP code 1.
  out['code-1'] = hex(withFixedChecksum(good(), (icmp) => (icmp[1] = 1)));
  // Control: the same NS, well formed (must be answered, proving the others were dropped on merit).
  out['control-good'] = hex(good());
  return out;
}

function withFixedChecksum(frame: Uint8Array, mutate: (icmp: Uint8Array) => void): Uint8Array {
  const ip = frame.subarray(14);
  const icmp = ip.subarray(40);
  mutate(icmp);
  icmp[2] = 0;
  icmp[3] = 0;
  // Recompute over the pseudo-header the same way the kernel would (independent of the codec).
  let sum = 0;
  const add16 = (b: Uint8Array, off: number, len: number): void => {
    for (let i = 0; i < len; i += 2) sum += (b[off + i]! << 8) | (i + 1 < len ? b[off + i + 1]! : 0);
  };
  add16(ip, 8, 32); // src + dst
  sum += icmp.length;
  sum += 58;
  add16(icmp, 0, icmp.length);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  return frame;
}

test('NS with a bad hop limit, checksum or options gets no answer (a good one does), each counted as malformed', async (t) => {
  // One announcement only, before the tap starts: every NA the tap sees is an answer.
  const s = await segment(t, ['--burst-count', '1', '--refresh-ms', '0']);
  const attackerMac = (await s.attacker.link('eth0')).mac;
  const tap = s.attacker.spawn(['tcpdump', '-l', '-n', '-e', '-i', 'eth0', 'icmp6 and ip6[40] == 136']);
  await sleep(700);
  const frames = badNs(attackerMac);
  const answered: Record<string, number> = {};
  for (const [name, hex] of Object.entries(frames)) {
    const before = tap.stdout.split('\n').filter((l) => l.includes('neighbor advertisement')).length;
    const m0 = await s.server.run(['curl', '-sf', `http://${METRICS}/metrics`]);
    await s.attacker.run(tsxArgv('test/netns/fixtures/send-frames.ts', 'eth0', hex));
    await sleep(400);
    answered[name] = tap.stdout.split('\n').filter((l) => l.includes('neighbor advertisement')).length - before;
    const m1 = await s.server.run(['curl', '-sf', `http://${METRICS}/metrics`]);
    const malformed = metric(m1, 'openelb_l2_malformed_frames_total') - metric(m0, 'openelb_l2_malformed_frames_total');
    if (name !== 'control-good') assert.equal(malformed, 1, `${name}: malformed counter moved by ${malformed}`);
  }
  tap.kill('SIGINT');
  await tap.exited;
  record(t, 'bad-ns', { answered });
  for (const [name, n] of Object.entries(answered)) {
    if (name === 'control-good') assert.equal(n, 1, `the well-formed NS was not answered: ${tap.stdout}`);
    else assert.equal(n, 0, `${name} was answered:\n${tap.stdout}`);
  }
});

test('every namespace of this file is gone', async () => {
  const left = await listNamespaces();
  assert.deepEqual(left.filter((n) => labNames.includes(n)), []);
});
