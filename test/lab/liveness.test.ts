// Liveness on the wire (segment beacons), on the real kernel with the real API server:
//   - crash (owner's link down + SIGKILL): the client's neighbour entry flips within 1 s;
//   - graceful stop (SIGTERM): flips within the graceful bound;
//   - a crash while the API server is unreachable is failed over just the same, and nothing else moves;
//   - a host without the key replaying and forging the dead node's beacons keeps nobody alive;
//   - asymmetric loss (one node's beacons dropped as they enter the bridge, the other way open) never
//     leaves two nodes answering beyond a bound, and does not flap;
//   - steady-state API writes, counted by the API server's own /metrics, stay at Lease cadence.
// The figures (medians over many runs) are measured by scripts/bench/liveness.ts (BENCHMARKS.md).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type LabNode, type LabService, SeedLab, apiWriteCounts, countDelta } from '../../scripts/lab/lab.ts';
import { tsxArgv } from '../../scripts/kit/netns.ts';

let lab: SeedLab;
const services: LabService[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// The crash bound of the issue (1 s) and the graceful one (100 ms) on a quiet machine; a shared CI
// machine may scale them with LIVENESS_BOUND_SCALE (BENCHMARKS.md has the quiet-machine figures).
const SCALE = Number(process.env.LIVENESS_BOUND_SCALE ?? 1);
const CRASH_BOUND_MS = 1000 * SCALE;
const GRACEFUL_BOUND_MS = 100 * SCALE;

after(() => lab?.teardown());
before(async () => {
  lab = await SeedLab.create();
  await lab.createEip();
  await lab.startSpeakers();
  for (let i = 0; i < 6; i++) services.push(await lab.createService({ name: `lv-${i}`, pods: 3 }));
  for (const s of services) await owner(s.ip);
});

async function owner(ip: string, notNode?: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const expected = (await lab.expectedOwners()).get(ip)?.node;
    const macs = await lab.arpingAll(ip, 1);
    const seen = macs.map((m) => lab.nodeByMac(m)?.name ?? `foreign:${m}`);
    last = `expected ${expected}, seen ${seen.join(',')}`;
    if (expected && seen.length === 1 && seen[0] === expected && expected !== notNode) return expected;
    await sleep(150);
  }
  throw new Error(`${ip}: no settled owner (${last})\n${lab.logs(30)}`);
}


/** Brings a crashed node back: link up, its pod routes, speaker started and every VIP settled. */
async function revive(node: LabNode): Promise<void> {
  if (!node.linkUp) {
    await node.link(true);
    for (const m of lab.nodes) if (m !== node) await node.netns.ip('route', 'replace', `10.244.${m.index + 1}.0/24`, 'via', m.spec.ip4);
  }
  await node.startSpeaker();
  for (const s of services) await owner(s.ip);
}

async function crash(node: LabNode): Promise<void> {
  await Promise.all([node.link(false), node.killSpeaker()]);
}

async function metric(node: LabNode, re: RegExp): Promise<number> {
  const text = await node.http('/metrics');
  let sum = 0;
  for (const line of text.split('\n')) if (re.test(line)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

test('crash (link down + SIGKILL): the client entry flips to the new owner within the crash bound', { timeout: 120_000 }, async (t) => {
  const s = services[0]!;
  const old = lab.node(await owner(s.ip));
  await lab.forget(s.ip);
  assert.equal(await lab.resolveFromClient(s.ip), old.mac);
  const t0 = performance.now();
  await crash(old);
  try {
    const moved = await lab.neighbourFlip(s.ip, old.mac, t0, 10_000, 5);
    t.diagnostic(`crash failover ${Math.round(moved.ms)} ms`);
    const next = lab.nodeByMac(moved.mac);
    assert.ok(next && next !== old, `moved to a lab node, got ${moved.mac}`);
    assert.ok(moved.ms < CRASH_BOUND_MS, `crash failover took ${Math.round(moved.ms)} ms (bound ${CRASH_BOUND_MS} ms)`);
    assert.equal(await owner(s.ip, old.name), next.name, 'the new owner is the election\'s choice (with the crashed node not heard)');
    assert.match(await lab.curl(s.ip), /^You've hit lv-0-[012]$/);
  } finally {
    await revive(old); // the file's later tests need every speaker running
  }
});

test('graceful stop (SIGTERM): the client entry flips within the graceful bound', { timeout: 120_000 }, async (t) => {
  const s = services[1]!;
  const old = lab.node(await owner(s.ip));
  await lab.forget(s.ip);
  assert.equal(await lab.resolveFromClient(s.ip), old.mac);
  const t0 = performance.now();
  const stopping = old.stopSpeaker();
  try {
    const moved = await lab.neighbourFlip(s.ip, old.mac, t0, 10_000, 5);
    const stopped = await stopping;
    t.diagnostic(`graceful failover ${Math.round(moved.ms)} ms`);
    assert.equal(stopped.code, 0);
    assert.ok(moved.ms < GRACEFUL_BOUND_MS, `graceful failover took ${Math.round(moved.ms)} ms (bound ${GRACEFUL_BOUND_MS} ms)`);
    assert.deepEqual(await lab.arpingAll(s.ip), [moved.mac], 'only the new owner answers');
  } finally {
    // The file's later tests need every speaker running: a failure here must not fail them too.
    await stopping;
    await revive(old);
  }
});

test('a node crashing while the API server is unreachable is failed over; nothing else moves', { timeout: 180_000 }, async (t) => {
  const before = new Map<string, string>();
  for (const s of services) before.set(s.ip, await owner(s.ip));
  const victim = lab.node(before.get(services[2]!.ip)!);
  for (const n of lab.nodes) n.api.pause();
  try {
    await sleep(3000); // well into the outage: every watch and renewal is stalled
    const s = services[2]!;
    await lab.forget(s.ip);
    assert.equal(await lab.resolveFromClient(s.ip), victim.mac);
    const t0 = performance.now();
    await crash(victim);
    const moved = await lab.neighbourFlip(s.ip, victim.mac, t0, 10_000, 5);
    t.diagnostic(`crash failover during the API outage ${Math.round(moved.ms)} ms`);
    assert.ok(moved.ms < CRASH_BOUND_MS, `failover during the outage took ${Math.round(moved.ms)} ms`);
    // Every other VIP: still exactly its owner (a survivor's VIPs never move).
    for (const o of services) {
      const was = before.get(o.ip)!;
      const macs = await lab.arpingAll(o.ip, 1);
      assert.equal(macs.length, 1, `${o.ip}: exactly one node answers during the outage, got ${macs.join(',')}`);
      if (was !== victim.name) assert.equal(lab.nodeByMac(macs[0])?.name, was, `${o.ip} stays with ${was}`);
    }
  } finally {
    for (const n of lab.nodes) n.api.resume();
  }
  await revive(victim);
});

test('a host without the key replaying and forging a dead node\'s beacons keeps nobody alive', { timeout: 120_000 }, async (t) => {
  const s = services[3]!;
  const victim = lab.node(await owner(s.ip));
  const intruder = lab.client.spawn(tsxArgv('scripts/lab/beacon-intruder.ts', 'eth0', victim.mac));
  try {
    await intruder.waitForLine(/"ready"/, 30_000);
    await sleep(1500); // capture some of the victim's beacons
    const others = lab.nodes.filter((n) => n !== victim);
    const before = await Promise.all(others.map((n) => metric(n, /^openelb_beacons_received_total\{result="(replay|bad-tag|unknown-key)"\}/)));
    await lab.forget(s.ip);
    assert.equal(await lab.resolveFromClient(s.ip), victim.mac);
    const t0 = performance.now();
    await crash(victim);
    intruder.write('attack\n');
    const captured = JSON.parse(await intruder.waitForLine(/"captured"/)) as { n: number };
    assert.ok(captured.n >= 5, `the intruder captured ${captured.n} beacons`);
    const moved = await lab.neighbourFlip(s.ip, victim.mac, t0, 10_000, 5);
    t.diagnostic(`failover under replay/forgery ${Math.round(moved.ms)} ms`);
    assert.ok(moved.ms < CRASH_BOUND_MS, `failover under attack took ${Math.round(moved.ms)} ms`);
    await sleep(1500); // the attack goes on: the failover must hold
    assert.equal(lab.nodeByMac((await lab.arpingAll(s.ip, 1))[0])?.name, (await owner(s.ip, victim.name)), 'still failed over');
    const after = await Promise.all(others.map((n) => metric(n, /^openelb_beacons_received_total\{result="(replay|bad-tag|unknown-key)"\}/)));
    for (let i = 0; i < others.length; i++) {
      assert.ok(after[i]! - before[i]! > 10, `${others[i]!.name} refused the intruder's beacons (${after[i]! - before[i]!} counted)`);
    }
    for (const r of ['replay', 'bad-tag', 'unknown-key']) {
      const n = await metric(others[0]!, new RegExp(`^openelb_beacons_received_total\\{result="${r}"\\}`));
      assert.ok(n > 0, `${others[0]!.name} counted ${r}`);
    }
  } finally {
    await intruder.stop(1000);
  }
  await revive(victim);
});

test('asymmetric loss (one node\'s beacons dropped one way): never two answers beyond the bound, no flapping', { timeout: 180_000 }, async (t) => {
  const before = new Map<string, string>();
  for (const s of services) before.set(s.ip, await owner(s.ip));
  // The node owning the most VIPs goes deaf-mute one way: its beacons never leave its bridge port,
  // while it still hears everyone else's (and all ARP flows both ways).
  const counts = new Map<string, number>();
  for (const o of before.values()) counts.set(o, (counts.get(o) ?? 0) + 1);
  const mute = lab.node([...counts].sort((a, b) => b[1] - a[1])[0]![0]);
  const port = `p-n${mute.index + 1}`;
  // A bridge-family nftables rule in the switch namespace: frames of ethertype 0x88B5 entering the
  // bridge from that node's port are dropped (tc's classifiers are not built into this kernel).
  await lab.bridge.run(['nft', 'add', 'table', 'bridge', 'lvloss']);
  try {
    await lab.bridge.run(['nft', 'add', 'chain', 'bridge', 'lvloss', 'fw', '{ type filter hook forward priority 0; }']);
    await lab.bridge.run(['nft', 'add', 'rule', 'bridge', 'lvloss', 'fw', 'iifname', port, 'ether', 'type', '0x88b5', 'counter', 'drop']);
    const t0 = performance.now();
    const BOUND_MS = 3000 * SCALE;
    // Sample who answers each VIP for 12 s.
    const history = new Map<string, Array<{ at: number; who: string }>>(services.map((s) => [s.ip, []]));
    while (performance.now() - t0 < 12_000) {
      await Promise.all(
        services.map(async (s) => {
          const macs = await lab.arpingAll(s.ip, 1);
          const who = macs.map((m) => lab.nodeByMac(m)?.name ?? m).sort().join('+') || 'none';
          history.get(s.ip)!.push({ at: performance.now() - t0, who });
        }),
      );
    }
    for (const s of services) {
      const h = history.get(s.ip)!;
      const doubleAfter = h.filter((x) => x.who.includes('+') && x.at > BOUND_MS);
      assert.deepEqual(doubleAfter, [], `${s.ip}: two nodes answered after ${BOUND_MS} ms: ${JSON.stringify(h)}\n${lab.logs(30)}`);
      const settled = h.filter((x) => x.at > BOUND_MS).map((x) => x.who);
      assert.ok(settled.length > 0);
      // No fight in a loop: once settled, one answerer for the rest of the window.
      assert.equal(new Set(settled).size, 1, `${s.ip} changed hands after settling: ${JSON.stringify(h)}`);
      assert.notEqual(settled[0], 'none', `${s.ip}: nobody answers`);
    }
    // The disagreement did happen and was settled on the wire: the others took the mute node's
    // VIPs (it is dead to them) and yielded them back; it kept them.
    const yielded = await Promise.all(lab.nodes.filter((n) => n !== mute).map((n) => metric(n, /^openelb_layer2_wire_resolutions_total\{action="yielded"\}/)));
    const kept = await metric(mute, /^openelb_layer2_wire_resolutions_total\{action="kept"\}/);
    t.diagnostic(`wire resolutions: kept by ${mute.name} ${kept}, yielded by the others ${yielded.join('/')}`);
    assert.ok(yielded.reduce((a, b) => a + b, 0) >= 1, `someone yielded to ${mute.name}\n${lab.logs(30)}`);
    assert.ok(kept >= 1, `${mute.name} kept its VIPs against a claim`);
    const doubles = [...history.values()].flat().filter((x) => x.who.includes('+'));
    t.diagnostic(`asymmetric loss: ${doubles.length} sample(s) with two answers, last at ${Math.round(Math.max(0, ...doubles.map((d) => d.at)))} ms`);
    const rules = await lab.bridge.run(['nft', 'list', 'table', 'bridge', 'lvloss']);
    assert.match(rules, /counter packets [1-9]/, `the filter dropped ${mute.name}'s beacons: ${rules}`);
  } finally {
    await lab.bridge.run(['nft', 'delete', 'table', 'bridge', 'lvloss']);
  }
  for (const s of services) await owner(s.ip);
});

test('steady state: API writes from the API server\'s own /metrics stay at Lease cadence', { timeout: 120_000 }, async (t) => {
  await sleep(5000); // let the earlier tests' visibility writes land
  const b = await apiWriteCounts(lab);
  const windowMs = 40_000;
  await sleep(windowMs);
  const delta = countDelta(b, await apiWriteCounts(lab));
  const ours = Object.fromEntries([...delta].filter(([k]) => /^(services|services\/status|events|eips|eips\/status|leases|secrets) /.test(k)));
  t.diagnostic(`writes in ${windowMs / 1000} s: ${JSON.stringify(ours)}`);
  for (const key of Object.keys(ours)) assert.ok(key.startsWith('leases '), `only Lease writes in steady state, saw ${JSON.stringify(ours)}`);
  const leaseWrites = Object.values(ours).reduce((a, c) => a + c, 0);
  // Goal: <= 0.1/s per node (3 nodes) + <= 0.5/s for IPAM; +2 for a renewal at each edge of the window.
  const bound = (windowMs / 1000) * (3 * 0.1 + 0.5) + 2;
  assert.ok(leaseWrites <= bound, `lease writes ${leaseWrites} in ${windowMs} ms (bound ${bound})`);
  assert.ok(leaseWrites >= 3, 'Leases are still renewed');
});
