// Failover on the wire, seen from the client: SIGTERM on the owner moves the VIP and the client's
// neighbour entry flips to the new owner's MAC by itself (gratuitous ARP, no re-resolution); the
// restarted speaker rejoins without disturbing IPs it does not win and, for the ones it wins, exactly
// one node answers after the failback; kill -9 moves the VIP within the crash bound.
// Failover time = t0 (just before the stop) to the first ARP frame from the new owner arriving at
// the client (scripts/lab/client-probe.ts timestamps each frame as it arrives: the frame the
// client's kernel updates its entry from), asserted against the current design's promise plus a
// stated margin for a loaded CI machine (scripts/lab/failover-bounds.ts). Who answers is checked
// twice: against the election's choice over the API state (the project's own code) and, not
// relying on it, by counting the distinct MACs that answer one request (exactly one).
// scripts/bench/failover.ts measures the distribution.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ClientArpWatch, epochMs } from '../../scripts/lab/client-arp-watch.ts';
import { CRASH_BOUND_MS, CRASH_PROMISE_MS, CI_LOAD_MARGIN_MS, GRACEFUL_BOUND_MS, GRACEFUL_PROMISE_MS } from '../../scripts/lab/failover-bounds.ts';
import { type LabService, SeedLab } from '../../scripts/lab/lab.ts';

// The speaker's own stop deadline after SIGTERM is 900 ms (src/cli/speaker.ts); process teardown on
// a starved CPU comes on top (BENCHMARKS.md: exits measured 254-1872 ms at load average 10-15).
const SPEAKER_EXIT_BOUND_MS = 2000;

let lab: SeedLab;
const services: LabService[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

after(() => lab?.teardown());
before(async () => {
  lab = await SeedLab.create();
  await lab.createEip();
  await lab.startSpeakers();
  for (let i = 0; i < 4; i++) services.push(await lab.createService({ name: `fo-${i}`, pods: 3 }));
});

async function owner(ip: string, notNode?: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const expected = (await lab.expectedOwners()).get(ip)?.node;
    const seen = lab.nodeByMac(await lab.arping(ip, 1))?.name;
    last = `expected ${expected}, seen ${seen}`;
    if (expected && seen === expected && seen !== notNode) return seen;
    await sleep(150);
  }
  throw new Error(`${ip}: no settled owner (${last})\n${lab.logs(20)}`);
}

/** Polls the client's neighbour entry (without making the client resolve) until it leaves `fromMac`; the new MAC. */
async function flip(ip: string, fromMac: string, timeoutMs = 10_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const n = await lab.neighbour(ip);
    if (n?.mac && n.mac !== fromMac) return n.mac;
    await sleep(10);
  }
  throw new Error(`client's neighbour entry for ${ip} still ${fromMac} after ${timeoutMs} ms\n${lab.logs(20)}`);
}

test('graceful stop: exit 0 promptly, the VIP moves and the client entry flips to the new owner', { timeout: 90_000 }, async (t) => {
  const s = services[0]!;
  const old = lab.node(await owner(s.ip));
  await lab.forget(s.ip);
  assert.equal(await lab.resolveFromClient(s.ip), old.mac);

  const watch = await ClientArpWatch.start(lab, [s.ip]);
  const t0 = epochMs();
  const stopping = old.stopSpeaker();
  const arp = await watch.firstFromOther(s.ip, old.mac, t0);
  const movedMac = await flip(s.ip, old.mac);
  const stopped = await stopping;
  await watch.stop();
  assert.equal(stopped.code, 0, `speaker exit code\n${old.speakers.at(-1)?.stderr.slice(-2000)}`);
  assert.ok(stopped.ms < SPEAKER_EXIT_BOUND_MS, `speaker exited ${Math.round(stopped.ms)} ms after SIGTERM`);
  const next = lab.nodeByMac(movedMac);
  assert.ok(next && next !== old, `moved to a lab node, got ${movedMac}`);
  assert.equal(arp.mac, movedMac, 'the client entry holds the MAC of the first announcement');
  assert.equal(await owner(s.ip, old.name), next.name, 'the new owner is the election\'s choice');
  t.diagnostic(`graceful: first ARP from ${next.name} at the client ${Math.round(arp.ms)} ms after SIGTERM; speaker exit ${Math.round(stopped.ms)} ms`);
  assert.ok(arp.ms <= GRACEFUL_BOUND_MS,
    `graceful failover: first ARP from ${next.name} ${Math.round(arp.ms)} ms after SIGTERM (promise ${GRACEFUL_PROMISE_MS} ms + ${CI_LOAD_MARGIN_MS} ms load margin)`);
  assert.match(await lab.curl(s.ip), /^You've hit fo-0-[012]$/);
  // Only the new owner answers (the stopped node is silent).
  assert.deepEqual(await lab.arpingAll(s.ip), [next.mac]);
});

test('restart: the speaker rejoins; IPs it does not win never move; after failback exactly one node answers', { timeout: 90_000 }, async () => {
  const stopped = lab.nodes.find((n) => !n.speaker)!;
  const before = new Map<string, string>();
  for (const s of services) before.set(s.ip, await owner(s.ip));
  // Sample who answers while the speaker starts and joins.
  const seen = new Map<string, Set<string>>(services.map((s) => [s.ip, new Set<string>()]));
  let done = false;
  const sampler = (async () => {
    while (!done) {
      for (const s of services) {
        const mac = await lab.arping(s.ip, 1);
        seen.get(s.ip)!.add(lab.nodeByMac(mac)?.name ?? `foreign:${mac}`);
      }
    }
  })();
  await stopped.startSpeaker();
  await sleep(2000); // the join itself (Lease seen by peers, takeovers)
  const ownersAfter = new Map<string, string>();
  for (const s of services) ownersAfter.set(s.ip, await owner(s.ip));
  done = true;
  await sampler;
  for (const s of services) {
    const was = before.get(s.ip)!;
    const now = ownersAfter.get(s.ip)!;
    if (now !== stopped.name) {
      assert.equal(now, was, `${s.ip} moved from ${was} to ${now} though ${stopped.name} did not win it`);
      assert.deepEqual([...seen.get(s.ip)!], [was], `${s.ip} flapped while ${stopped.name} joined`);
    }
    assert.deepEqual(await lab.arpingAll(s.ip), [lab.node(now).mac], `exactly one node answers ${s.ip}`);
  }
  // The Service annotation names the current owner.
  for (const s of services) {
    let a: string | undefined;
    for (let i = 0; i < 40 && a !== `${ownersAfter.get(s.ip)}/eth0`; i++) {
      a = await lab.announcerAnnotation(s);
      await sleep(100);
    }
    assert.equal(a, `${ownersAfter.get(s.ip)}/eth0`);
  }
});

test('crash (kill -9): the VIP moves within the crash bound and the client entry flips', { timeout: 90_000 }, async (t) => {
  const s = services[1]!;
  const old = lab.node(await owner(s.ip));
  await lab.forget(s.ip);
  assert.equal(await lab.resolveFromClient(s.ip), old.mac);
  const watch = await ClientArpWatch.start(lab, [s.ip]);
  const t0 = epochMs();
  await old.killSpeaker();
  const arp = await watch.firstFromOther(s.ip, old.mac, t0);
  const movedMac = await flip(s.ip, old.mac);
  await watch.stop();
  const next = lab.nodeByMac(movedMac);
  assert.ok(next && next !== old);
  assert.equal(arp.mac, movedMac, 'the client entry holds the MAC of the first announcement');
  t.diagnostic(`crash: first ARP from ${next.name} at the client ${Math.round(arp.ms)} ms after kill -9`);
  assert.ok(arp.ms <= CRASH_BOUND_MS,
    `crash failover: first ARP from ${next.name} ${Math.round(arp.ms)} ms after kill -9 (promise ${CRASH_PROMISE_MS} ms + ${CI_LOAD_MARGIN_MS} ms load margin)`);
  assert.equal(await owner(s.ip, old.name), next.name);
  assert.deepEqual(await lab.arpingAll(s.ip), [next.mac], 'exactly one node answers after the crash');
  assert.match(await lab.curl(s.ip), /^You've hit fo-1-[012]$/);
  await old.startSpeaker();
  assert.deepEqual(await lab.arpingAll(s.ip), [lab.node(await owner(s.ip)).mac]);
});
