// Reliability suite, item 1: faults in the lab (scripts/lab: client + 3 node namespaces on a
// bridge, a real control plane, one speaker process per node, pods and a kube-proxy stand-in).
// After each fault the invariants of test/reliability/invariants.ts are checked: IPs kept, no IP
// on two Services, each IP answered by exactly its elected node within the bound, curl works.
// test/lab/fail-static.test.ts covers the API relay stalled 30 s and cut; this file stops the
// API server and etcd themselves, kills the IPAM leader during a burst of Service creations,
// kills the speaker that holds the IPAM Lease and announces, sets a NIC down and up, deletes a
// Node, and jumps one speaker's wall clock.
//
// The API server and etcd are killed and restarted, so this file runs its OWN control plane (not
// the shared one of scripts/test.sh that other files use).
delete process.env.OELB_KUBECONFIG;
delete process.env.OELB_SPEAKER_KUBECONFIG;

import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { ClientArpWatch, epochMs } from '../../scripts/lab/client-arp-watch.ts';
import { CI_LOAD_MARGIN_MS, CRASH_BOUND_MS, CRASH_PROMISE_MS } from '../../scripts/lab/failover-bounds.ts';
import { LAB_LABEL, type LabService, SeedLab } from '../../scripts/lab/lab.ts';
import { EIP_GROUP, EIP_PLURAL, EIP_VERSION } from '../../src/kube/client.ts';
import { ControlPlaneFaults, findStateDir } from '../reliability/control-plane-faults.ts';
import { assertStatic, checkInvariants, ipOf } from '../reliability/invariants.ts';
import { record, scale } from '../reliability/proc.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CLOCK_FILE = `/tmp/oelb-clock-jump-${process.pid}`;
let lab: SeedLab;
let faults: ControlPlaneFaults;
const web: LabService[] = [];
/** Service name -> IP it must keep. */
const known = new Map<string, string>();

before(async () => {
  writeFileSync(CLOCK_FILE, '0');
  lab = await SeedLab.create({
    // A wall-clock offset this test can change per speaker (test/reliability/clock-jump.mjs).
    speakerEnv: { NODE_OPTIONS: `--import ${new URL('../reliability/clock-jump.mjs', import.meta.url).pathname}`, OELB_CLOCK_JUMP_FILE: CLOCK_FILE },
  });
  faults = new ControlPlaneFaults(findStateDir(lab.cp.server));
  // The seed's range is 10 addresses; the scenarios below add Services, so take 60.
  await lab.createEip({ address: '192.168.0.91-192.168.0.150' });
  await lab.startSpeakers();
  for (let i = 0; i < 3; i++) {
    const s = await lab.createService({ name: `rf-${i}`, pods: 3 });
    web.push(s);
    known.set(s.name, s.ip);
  }
  await checkInvariants(lab, 'before any fault', known, { web });
}, { timeout: 180_000 });

after(async () => {
  rmSync(CLOCK_FILE, { force: true });
  await lab?.teardown();
  await lab?.cp.stop();
});

async function owners(): Promise<Map<string, string>> {
  const e = await lab.expectedOwners();
  return new Map(web.map((w) => [w.ip, e.get(w.ip)?.node ?? '']));
}

/**
 * Waits until the API answers again, every speaker is renewing its membership Lease and the API's
 * view elects an owner for every web VIP, three checks in a row a second apart (after an etcd
 * restart the API server can answer once and then stall again for tens of seconds).
 */
async function waitApiBack(timeoutMs = scale(60_000, 180_000)): Promise<number> {
  const t0 = performance.now();
  let good = 0;
  let last: string;
  for (;;) {
    try {
      await lab.admin.core.listNamespacedService({ namespace: lab.namespace });
      const m = await Promise.all(lab.nodes.map((n) => n.http('/metrics')));
      const o = await owners();
      const renewing = m.every((x) => /openelb_membership_renewing 1/.test(x));
      const owned = web.every((w) => o.get(w.ip));
      last = `renewing ${renewing}, owners ${JSON.stringify([...o])}`;
      good = renewing && owned ? good + 1 : 0;
    } catch (err) {
      good = 0;
      last = String(err);
    }
    if (good >= 3) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`API/speakers not back within ${timeoutMs} ms (${last})\n${lab.logs(20)}`);
    await sleep(1000);
  }
}

/** A new Service gets an IP (the IPAM loop works); returns ms to IP. */
async function newServiceWorks(name: string): Promise<number> {
  const t0 = performance.now();
  const s = await lab.createService({ name, pods: 1 });
  known.set(s.name, s.ip);
  return performance.now() - t0;
}

const OUTAGE_MS = scale(5000, 30_000);

for (const part of ['apiserver', 'etcd'] as const) {
  test(`${part} killed (SIGKILL) and restarted after an outage: fail-static during it, nothing lost after`, { timeout: scale(180_000, 400_000) }, async (t) => {
    await waitApiBack(); // a settled cluster to start from
    const before = await owners();
    const argv = await faults.kill(part);
    const t0 = performance.now();
    let checks = 0;
    try {
      while (performance.now() - t0 < OUTAGE_MS) {
        await assertStatic(lab, `${Math.round((performance.now() - t0) / 1000)} s into the ${part} outage`, before, web);
        checks++;
        await sleep(500);
      }
    } finally {
      faults.restart(part, argv);
    }
    const backMs = await waitApiBack();
    const inv = await checkInvariants(lab, `after the ${part} restart`, known, { web });
    const newMs = await newServiceWorks(`rf-after-${part}`);
    for (const n of lab.nodes) assert.equal(n.speaker?.result, null, `${n.name} speaker still running\n${lab.logs(20)}`);
    record(t, `${part}-restart`, { outageMs: OUTAGE_MS, staticChecksPassed: checks, apiBackMs: Math.round(backMs), newServiceIpMs: Math.round(newMs), ...inv });
  });
}

test('API server stalled (SIGSTOP, connections open but silent): fail-static, then nothing lost', { timeout: scale(120_000, 400_000) }, async (t) => {
  await waitApiBack(); // a settled cluster to start from
  const before = await owners();
  faults.stall('apiserver', true);
  const t0 = performance.now();
  let checks = 0;
  try {
    while (performance.now() - t0 < OUTAGE_MS) {
      await assertStatic(lab, `${Math.round((performance.now() - t0) / 1000)} s into the stall`, before, web);
      checks++;
      await sleep(500);
    }
  } finally {
    faults.stall('apiserver', false);
  }
  const backMs = await waitApiBack();
  const inv = await checkInvariants(lab, 'after the stall', known, { web });
  record(t, 'apiserver-stall', { stallMs: OUTAGE_MS, staticChecksPassed: checks, apiBackMs: Math.round(backMs), ...inv });
});

async function ipamLeader(): Promise<string> {
  const l = await lab.admin.coordination.readNamespacedLease({ namespace: lab.speakerNamespace, name: 'openelb-ipam' });
  return l.spec?.holderIdentity ?? '';
}

test('the speaker holding the IPAM Lease and announcing is killed (SIGKILL): its VIPs and the Lease move within the bounds', { timeout: scale(120_000, 400_000) }, async (t) => {
  await waitApiBack(); // a settled cluster to start from (an earlier scenario may have left it busy)
  const leaderName = await ipamLeader();
  const leader = lab.node(leaderName);
  // Make sure it announces something: a Service whose election picks it (try a few names).
  const o = await owners();
  let own = web.filter((w) => o.get(w.ip) === leaderName);
  for (let i = 0; own.length === 0 && i < 6; i++) {
    const s = await lab.createService({ name: `rf-lead-${i}`, pods: 2 });
    known.set(s.name, s.ip);
    web.push(s);
    if ((await owners()).get(s.ip) === leaderName) own = [s];
  }
  assert.ok(own.length > 0, `no VIP elected to the IPAM leader ${leaderName}`);
  for (const s of own) await lab.waitForAnnouncer(s.ip, leaderName);

  const watch = await ClientArpWatch.start(lab, own.map((s) => s.ip));
  const tEpoch = epochMs();
  const t0 = performance.now();
  await leader.killSpeaker();
  let vipMs = 0;
  let leaseMs: number;
  let newMs: number;
  let inv;
  try {
    // VIP failover, measured on the wire: the first ARP from another node at the client, then
    // (counting distinct MACs, independent of the election code) exactly that node answers.
    for (const s of own) {
      const arp = await watch.firstFromOther(s.ip, leader.mac, tEpoch);
      vipMs = Math.max(vipMs, arp.ms);
      assert.deepEqual(await lab.arpingAll(s.ip), [arp.mac], `${s.ip}: exactly the new owner answers`);
    }
    await watch.stop();
    // IPAM Lease: another speaker holds it; a new Service gets its IP.
    for (;;) {
      const h = await ipamLeader();
      if (h && h !== leaderName) {
        leaseMs = performance.now() - t0;
        break;
      }
      assert.ok(performance.now() - t0 < 20_000, 'IPAM Lease not taken over within 20 s');
      await sleep(100);
    }
    newMs = await newServiceWorks('rf-after-leader-kill');
    inv = await checkInvariants(lab, 'after killing the IPAM leader', known, { web });
  } finally {
    await leader.startSpeaker();
  }
  const inv2 = await checkInvariants(lab, 'after the killed speaker came back', known, { web });
  record(t, 'ipam-leader-announcer-killed', {
    killed: leaderName,
    vips: own.length,
    vipFailoverMs: Math.round(vipMs),
    leaseTakeoverMs: Math.round(leaseMs),
    newServiceIpMs: Math.round(newMs),
    after: inv,
    afterRejoin: inv2,
  });
  assert.ok(vipMs <= CRASH_BOUND_MS,
    `VIP failover after a crash took ${Math.round(vipMs)} ms (promise ${CRASH_PROMISE_MS} ms with default timings + ${CI_LOAD_MARGIN_MS} ms load margin; scripts/lab/failover-bounds.ts)`);
});

test('the IPAM leader is killed during a burst of Service creations: every Service gets exactly one IP, none twice, none lost', { timeout: scale(300_000, 900_000) }, async (t) => {
  const N = scale(100, 500);
  const pool = 'rf-mass';
  await lab.admin.custom.createClusterCustomObject({
    group: EIP_GROUP,
    version: EIP_VERSION,
    plural: EIP_PLURAL,
    body: { apiVersion: `${EIP_GROUP}/${EIP_VERSION}`, kind: 'Eip', metadata: { name: pool, labels: { [LAB_LABEL]: lab.id } }, spec: { address: '10.200.0.0/22', interface: 'eth0', protocol: 'layer2' } },
  });
  const names = Array.from({ length: N }, (_, i) => `mass-${i}`);
  const body = (name: string): V1Service => ({
    metadata: { name, namespace: lab.namespace, labels: { [LAB_LABEL]: lab.id }, annotations: { 'lb.kubesphere.io/v1alpha1': 'openelb', 'eip.openelb.kubesphere.io/v1alpha2': pool } },
    spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], externalTrafficPolicy: 'Cluster' },
  });
  const leaderName = await ipamLeader();
  const t0 = performance.now();
  let killedAt = -1;
  let restarted = false;
  try {
    for (let i = 0; i < N; i += 10) {
      await Promise.all(names.slice(i, i + 10).map((n) => lab.admin.core.createNamespacedService({ namespace: lab.namespace, body: body(n) })));
      if (killedAt < 0 && i + 10 >= N / 3) {
        await lab.node(leaderName).killSpeaker();
        killedAt = i + 10;
      }
    }
    const createdMs = performance.now() - t0;
    let list: V1Service[] = [];
    for (;;) {
      list = (await lab.admin.core.listNamespacedService({ namespace: lab.namespace })).items.filter((s) => s.metadata!.name!.startsWith('mass-'));
      if (list.length === N && list.every((s) => ipOf(s).length === 1)) break;
      assert.ok(performance.now() - t0 < scale(90_000, 480_000), `not all ${N} Services got an IP: ${list.filter((s) => ipOf(s).length !== 1).length} without\n${lab.logs(20)}`);
      await sleep(500);
    }
    const allMs = performance.now() - t0;
    const ipsSeen = list.map((s) => ipOf(s)[0]!);
    assert.equal(new Set(ipsSeen).size, N, 'no IP twice');
    assert.ok(ipsSeen.every((ip) => ip.startsWith('10.200.')), 'all from the pool');
    for (const s of list) known.set(s.metadata!.name!, ipOf(s)[0]!);
    // The Eip's status agrees (the commit point): usage N, every IP mapped to its Service.
    const eip = (await lab.admin.getEip(pool)) as { status?: { usage?: number; used?: Record<string, string> } };
    assert.equal(eip.status?.usage, N, `Eip usage ${eip.status?.usage}`);
    for (const s of list) assert.equal(eip.status?.used?.[ipOf(s)[0]!], `${lab.namespace}/${s.metadata!.name}`);
    const newLeader = await ipamLeader();
    await lab.node(leaderName).startSpeaker();
    restarted = true;
    const settledMs = await waitApiBack();
    const sample = [...ipsSeen.slice(0, 3), ...ipsSeen.slice(-2)];
    const inv = await checkInvariants(lab, 'after the burst with a leader kill', known, { web, arpSample: [...web.map((w) => w.ip), ...sample] });
    record(t, 'ipam-leader-killed-during-burst', { burst: N, killedAfter: killedAt, killed: leaderName, newLeader, createMs: Math.round(createdMs), allAssignedMs: Math.round(allMs), settledAfterRejoinMs: Math.round(settledMs), ...inv });
  } finally {
    if (!restarted) await lab.node(leaderName).startSpeaker();
  }
  // Clean up: deleting them releases every IP (no leak in the Eip).
  await Promise.all(names.map((n) => lab.admin.core.deleteNamespacedService({ namespace: lab.namespace, name: n }).catch(() => undefined)));
  for (const n of names) known.delete(n);
  for (;;) {
    const e = (await lab.admin.getEip(pool)) as { status?: { usage?: number } };
    if ((e.status?.usage ?? 0) === 0) break;
    assert.ok(performance.now() - t0 < scale(150_000, 800_000), `Eip usage still ${e.status?.usage} after deleting`);
    await sleep(500);
  }
  await lab.admin.custom.deleteClusterCustomObject({ group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL, name: pool });
});

test('a node NIC set down and up: its VIPs fail over while it is down, and are announced again when it returns', { timeout: scale(120_000, 400_000) }, async (t) => {
  await waitApiBack(); // a settled cluster to start from (an earlier scenario may have left it busy)
  const o = await owners();
  const target = web.find((w) => o.get(w.ip))!;
  const node = lab.node(o.get(target.ip)!);
  await node.link(false);
  const t0 = performance.now();
  // While down: another node answers (the speaker sees its NIC down and steps aside).
  let failoverMs: number;
  let during: string;
  for (;;) {
    const mac = await lab.arping(target.ip, 1);
    if (mac && mac !== node.mac && lab.nodeByMac(mac)) {
      failoverMs = performance.now() - t0;
      during = lab.nodeByMac(mac)!.name;
      break;
    }
    assert.ok(performance.now() - t0 < 8000, `${target.ip} not answered by another node 8 s after ${node.name}'s NIC went down: ${mac}\n${lab.logs(20)}`);
    await sleep(100);
  }
  assert.deepEqual(await lab.arpingAll(target.ip), [lab.node(during).mac], `${target.ip}: exactly ${during} answers while ${node.name}'s NIC is down`);
  await sleep(Math.max(0, scale(2000, 10_000) - (performance.now() - t0)));
  // A stale client entry: only an announcement can fix it without the client asking.
  await lab.client.ip('neigh', 'replace', target.ip, 'lladdr', '02:00:00:00:00:99', 'nud', 'stale', 'dev', 'eth0');
  await node.link(true);
  // Link down dropped the node's routes to the other nodes' pod networks; put them back as a
  // node's network setup would (the lab's link() does not).
  for (const m of lab.nodes) if (m !== node) await node.netns.ip('route', 'replace', `10.244.${m.index + 1}.0/24`, 'via', m.spec.ip4);
  const tUp = performance.now();
  let back: string;
  for (;;) {
    const n = await lab.neighbour(target.ip);
    if (n?.mac && lab.nodeByMac(n.mac)) {
      back = lab.nodeByMac(n.mac)!.name;
      break;
    }
    assert.ok(performance.now() - tUp < 8000, `client entry for ${target.ip} still ${n?.mac} 8 s after the NIC came back\n${lab.logs(20)}`);
    await sleep(20);
  }
  const flipMs = performance.now() - tUp;
  // The gratuitous ARP alone is not enough: requests must be answered too, by the returning node
  // once it has taken its IP back (a link flap used to leave the returning node's sockets deaf
  // while it announced). Until it has seen its NIC up again (NIC facts are re-read every 5 s) and
  // its peers have seen that in its Lease, the stand-in answers. So wait for that failback before
  // `arping -c 3`: its requests after the first go to the MAC that answered first, and sent to the
  // stand-in, the ones after it let go of the IP are unanswered (clients move with the returning
  // node's gratuitous burst). That is how this check once got 2 of 3 answers, all from the stand-in.
  const tAsk = performance.now();
  let owner: string | undefined;
  let answeredBy: string[] = [];
  for (; performance.now() - tAsk < scale(20_000, 60_000); await sleep(200)) {
    owner = (await owners()).get(target.ip);
    answeredBy = await lab.arpingAll(target.ip, 1);
    if (owner === node.name && answeredBy.length === 1 && answeredBy[0] === node.mac) break;
  }
  assert.deepEqual({ owner, answeredBy }, { owner: node.name, answeredBy: [node.mac] }, `ARP requests for ${target.ip} after ${node.name}'s NIC came back: answered by ${JSON.stringify(answeredBy)}, elected ${owner}\n${lab.logs(20)}`);
  const failbackMs = performance.now() - tUp;
  const r = await lab.client.exec(['arping', '-c', '3', '-w', '4', '-I', 'eth0', target.ip], { timeoutMs: 8000 });
  assert.match(r.stdout, /Received 3 response/, `requests to ${node.name} after it took ${target.ip} back: ${r.stdout}\n${lab.logs(20)}`);
  assert.ok(!r.stdout.toLowerCase().replaceAll(node.mac, '').match(/\[[0-9a-f:]{17}\]/), `another MAC answered: ${r.stdout}`);
  const inv = await checkInvariants(lab, 'after NIC down/up', known, { web });
  record(t, 'nic-down-up', {
    node: node.name,
    downMs: Math.round(tUp - t0),
    failoverWhileDownMs: Math.round(failoverMs),
    answeredWhileDown: during,
    clientEntryFixedAfterUpMs: Math.round(flipMs),
    requestsAnsweredBy: owner,
    ownerAfterUp: back,
    failbackMs: Math.round(failbackMs),
    ...inv,
  });
});

test('a Node object deleted: its VIPs move to other nodes (exactly one answers); re-created, it serves again', { timeout: scale(120_000, 400_000) }, async (t) => {
  await waitApiBack(); // a settled cluster to start from (an earlier scenario may have left it busy)
  const o = await owners();
  const target = web.find((w) => o.get(w.ip))!;
  const node = lab.node(o.get(target.ip)!);
  const saved = await lab.admin.core.readNode({ name: node.name });
  await lab.admin.core.deleteNode({ name: node.name });
  const t0 = performance.now();
  let moved: string;
  for (;;) {
    const mac = await lab.arping(target.ip, 1);
    if (mac && mac !== node.mac && lab.nodeByMac(mac)) {
      moved = lab.nodeByMac(mac)!.name;
      break;
    }
    assert.ok(performance.now() - t0 < 10_000, `${target.ip} still answered by ${mac} 10 s after deleting Node ${node.name}\n${lab.logs(20)}`);
    await sleep(100);
  }
  const moveMs = performance.now() - t0;
  assert.deepEqual(await lab.arpingAll(target.ip), [lab.node(moved).mac], `${target.ip}: exactly ${moved} answers after Node ${node.name} was deleted`);
  const inv = await checkInvariants(lab, 'after deleting a Node', known, { web });
  await lab.admin.core.createNode({ body: { metadata: { name: node.name, labels: saved.metadata?.labels ?? {} } } });
  const inv2 = await checkInvariants(lab, 'after re-creating the Node', known, { web });
  record(t, 'node-deleted', { node: node.name, movedTo: moved, moveMs: Math.round(moveMs), after: inv, afterRecreate: inv2 });
});

test('one speaker\'s wall clock jumps ±30 s (monotonic time unchanged): no VIP moves, no IP changes', { timeout: scale(120_000, 400_000) }, async (t) => {
  await waitApiBack(); // a settled cluster to start from (an earlier scenario may have left it busy)
  const before = await owners();
  const node = lab.nodes[1]!;
  const pid = node.speaker!.pid!;
  const results: Record<string, unknown> = {};
  for (const jumpMs of [30_000, -30_000]) {
    writeFileSync(CLOCK_FILE, String(jumpMs));
    process.kill(pid, 'SIGUSR2'); // clock-jump.mjs: add the file's offset to Date
    await sleep(300);
    const t0 = performance.now();
    while (performance.now() - t0 < scale(4000, 15_000)) {
      await assertStatic(lab, `after a ${jumpMs / 1000} s clock jump on ${node.name}`, before, web);
      await sleep(500);
    }
    assert.match(node.speakers.at(-1)!.stderr, new RegExp(`clock-jump: wall clock moved by ${jumpMs} ms`));
    results[`jump${jumpMs > 0 ? 'Forward' : 'Back'}`] = await checkInvariants(lab, `after a ${jumpMs / 1000} s clock jump`, known, { web });
  }
  record(t, 'clock-jump', { node: node.name, ...results });
});
