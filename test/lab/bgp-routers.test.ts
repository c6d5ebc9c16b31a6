// Our speakers against three real routers at once (scripts/lab/bgp-lab.ts): BIRD and FRR sit
// between a far client and the three nodes and install ECMP routes into their kernel FIBs; GoBGP
// on the LAN peers over TCP MD5. Every node peers with every router (BgpConf default as in
// OpenELB's walkthrough, one BgpPeer per router, hold time 5 s so a crash shows quickly).
// Checked from the routers' side, never from our own: the kernel route for a VIP has one next hop
// per eligible node (Cluster: all; Local: nodes with a ready endpoint), curl from the far client
// through each router reaches the pods, SIGTERM withdraws before exit, SIGKILL at once (the kernel
// closes the sockets), a hung speaker at hold-timer expiry, and an MD5 mismatch keeps the session
// down with a status that says why.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpLab, ROUTERS } from '../../scripts/lab/bgp-lab.ts';
import type { LabService } from '../../scripts/lab/lab.ts';
import type { RouterKind } from '../../scripts/kit/bgp/router.ts';

const HOLD = 5;
const MD5 = 'lab-md5-secret';
const PEERS: Record<RouterKind, string> = { bird: 'lab-bird', frr: 'lab-frr', gobgp: 'lab-gobgp' };
const KINDS = ['bird', 'frr', 'gobgp'] as const;
const FIB_ROUTERS = ['bird', 'frr'] as const;

let lab: BgpLab;
let web: LabService;
const all = () => lab.seed.nodes.map((n) => n.name);

before(async () => {
  lab = await BgpLab.create({ passwords: { gobgp: MD5 } });
  await lab.applyBgpConf();
  for (const kind of KINDS) {
    // GoBGP's BgpPeer starts with the wrong MD5 password (the first test puts the right one in).
    await lab.applyBgpPeer({ name: PEERS[kind], router: kind, holdTime: HOLD, keepaliveInterval: 1, connectRetry: 2, ...(kind === 'gobgp' ? { authPassword: 'not-the-password' } : {}) });
  }
  await lab.createBgpEip();
  await lab.seed.startSpeakers();
});

after(() => lab?.teardown());

async function waitGobgpRib(ip: string, nodes: string[], timeoutMs = 15_000): Promise<void> {
  const want = lab.nodeIps(nodes).join(',');
  const deadline = Date.now() + timeoutMs;
  let last: string[] = [];
  while (Date.now() < deadline) {
    last = (await lab.router('gobgp').router.ribNextHops(`${ip}/32`)).sort();
    if (last.join(',') === want) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`GoBGP RIB for ${ip}: [${last.join(', ')}], want [${want}]`);
}

test('every node establishes with BIRD and FRR, and its BgpPeer status says so (GoBGP\'s password is wrong until the MD5 test)', async () => {
  for (const kind of FIB_ROUTERS) await lab.waitEstablished(kind);
  for (const kind of FIB_ROUTERS) {
    for (const node of all()) {
      const e = await lab.waitPeerStatus(PEERS[kind], node, (x) => x?.peerState.sessionState === 'ESTABLISHED', 'ESTABLISHED');
      assert.equal(e?.peerState.neighborAddress, ROUTERS[kind].lanIp);
      assert.equal(e?.timersState?.negotiatedHoldTime, String(HOLD));
    }
  }
});

test('Cluster: one next hop per node in BIRD\'s and FRR\'s kernel FIB, curl through each router reaches the pods', async (t) => {
  web = await lab.seed.createService({ name: 'web', eip: 'bgp-eip', pods: 2 });
  assert.match(web.ip, /^172\.22\.0\.\d+$/);
  for (const kind of FIB_ROUTERS) t.diagnostic(`${kind}: FIB has all nodes ${Math.round(await lab.waitForFib(kind, web.ip, all()))} ms after the status was seen`);
  for (const kind of FIB_ROUTERS) {
    await lab.useGateway(kind);
    assert.match(await lab.curlFar(web.ip), /^You've hit web-[01]$/, `through ${kind}`);
  }
  // The far client has no other way to the VIP than a router.
  await lab.far!.ip('route', 'del', '172.22.0.0/24');
  await assert.rejects(lab.curlFar(web.ip, 80, 1), /curl/);
  await lab.useGateway('bird');
  // A bgp Eip's IP is routed, never answered on the LAN.
  assert.deepEqual(await lab.seed.arpingAll(web.ip, 1), []);
});

test('Local: the next hops are the nodes with a ready endpoint, and follow them', async () => {
  const local = await lab.seed.createService({ name: 'local', eip: 'bgp-eip', policy: 'Local', pods: [{ node: 'worker-p001' }, { node: 'worker-p002' }] });
  for (const kind of FIB_ROUTERS) await lab.waitForFib(kind, local.ip, ['worker-p001', 'worker-p002']);
  await lab.seed.setPods(local, [{ node: 'master1' }, { node: 'worker-p002', ready: false }]);
  for (const kind of FIB_ROUTERS) await lab.waitForFib(kind, local.ip, ['master1']);
  assert.match(await lab.curlFar(local.ip), /^You've hit local-0$/);
  await lab.seed.deleteServiceNamed('local');
  for (const kind of FIB_ROUTERS) await lab.waitForFib(kind, local.ip, []);
});

test('SIGTERM: the node\'s next hop leaves both FIBs before the hold time could, with a Cease the routers saw', async (t) => {
  const node = lab.seed.node('master1');
  const stopped = node.stopSpeaker();
  const t0 = performance.now();
  const ms = await Promise.all(FIB_ROUTERS.map((k) => lab.waitForFib(k, web.ip, ['worker-p001', 'worker-p002'])));
  const r = await stopped;
  assert.equal(r.code, 0);
  t.diagnostic(`SIGTERM -> gone from BIRD ${Math.round(ms[0]!)} ms, FRR ${Math.round(ms[1]!)} ms; the speaker exited in ${Math.round(r.ms)} ms`);
  assert.ok(performance.now() - t0 < HOLD * 1000, 'withdrawn by UPDATE/Cease, not by the routers\' hold timers');
  const bird = (await lab.router('bird').router.sessions()).find((s) => s.peer === node.spec.ip4);
  assert.match(bird?.lastError ?? '', /Received: Administrative shutdown/);
  assert.match(await lab.curlFar(web.ip), /^You've hit web-[01]$/);
  await node.startSpeaker();
  for (const kind of FIB_ROUTERS) await lab.waitForFib(kind, web.ip, all(), 30_000);
});

test('SIGKILL: the kernel closes the dead speaker\'s sessions, so the routers withdraw its next hop at once', async (t) => {
  const node = lab.seed.node('worker-p001');
  try {
    await node.killSpeaker();
    const ms = await Promise.all(FIB_ROUTERS.map((k) => lab.waitForFib(k, web.ip, ['master1', 'worker-p002'], 20_000)));
    t.diagnostic(`SIGKILL -> gone from BIRD ${Math.round(ms[0]!)} ms, FRR ${Math.round(ms[1]!)} ms`);
    for (const m of ms) assert.ok(m < HOLD * 1000, `withdrawn after ${Math.round(m)} ms: the TCP close, not the hold timer`);
  } finally {
    await node.startSpeaker();
  }
  for (const kind of FIB_ROUTERS) await lab.waitForFib(kind, web.ip, all(), 30_000);
});

test(`a hung speaker (SIGSTOP: no FIN, no KEEPALIVE) is withdrawn at the routers' hold-timer expiry (${HOLD} s)`, async (t) => {
  const node = lab.seed.node('worker-p001');
  await lab.waitEstablished('bird');
  const speaker = node.speaker!;
  try {
    speaker.kill('SIGSTOP');
    const ms = await Promise.all(FIB_ROUTERS.map((k) => lab.waitForFib(k, web.ip, ['master1', 'worker-p002'], 20_000)));
    t.diagnostic(`SIGSTOP -> gone from BIRD ${Math.round(ms[0]!)} ms, FRR ${Math.round(ms[1]!)} ms (hold time ${HOLD} s, keepalive 1 s)`);
    // Not before the hold time since the last KEEPALIVE (sent at most 1 s before the stop) can have run out.
    for (const m of ms) assert.ok(m > (HOLD - 1.5) * 1000 && m < (HOLD + 3) * 1000, `withdrawn after ${Math.round(m)} ms`);
    const bird = (await lab.router('bird').router.sessions()).find((s) => s.peer === node.spec.ip4);
    assert.match(bird?.lastError ?? '', /Hold timer expired/);
  } finally {
    speaker.kill('SIGCONT');
  }
  // Awake again, it finds its sessions gone and establishes them anew.
  for (const kind of FIB_ROUTERS) await lab.waitForFib(kind, web.ip, all(), 30_000);
});


test('MD5 mismatch: GoBGP\'s sessions stay down and the BgpPeer status says a password mismatch looks like this; the right password brings them up with every route', async () => {
  // A not-established session's last error is refreshed in status at most once a minute (the
  // speaker's API write budget, src/speaker/bgp-status.ts): worker-p002's speaker has run since the
  // start (the others were restarted above), so its entry carries the hint by now or within a minute.
  const e = await lab.waitPeerStatus(PEERS.gobgp, 'worker-p002', (x) => x !== undefined && x.peerState.sessionState !== 'ESTABLISHED' && /MD5/.test(x.lastError ?? ''), 'down with an MD5 hint', 75_000);
  assert.match(e?.lastError ?? '', /password mismatch looks exactly like this/);
  const g = await lab.router('gobgp').router.sessions();
  assert.ok(g.every((s) => s.state !== 'established'), JSON.stringify(g));
  await lab.patchBgpPeer(PEERS.gobgp, { conf: { authPassword: MD5 } });
  await lab.waitEstablished('gobgp', all(), 30_000);
  for (const node of all()) await lab.waitPeerStatus(PEERS.gobgp, node, (x) => x?.peerState.sessionState === 'ESTABLISHED', 'ESTABLISHED');
  await waitGobgpRib(web.ip, all());
});

test('doctor on a node: each BgpPeer\'s session from status, and a peer nobody answers for is probed and explained', async () => {
  // The LAN client runs no BGP: its port 179 refuses.
  await lab.applyBgpPeer({ name: 'lab-nobody', router: { neighborAddress: '192.168.0.5', peerAs: 64999 }, connectRetry: 2 });
  const node = lab.seed.node('master1');
  await lab.waitPeerStatus('lab-nobody', node.name, (e) => e !== undefined && e.peerState.sessionState !== 'ESTABLISHED', 'an entry that is not ESTABLISHED');
  const argv = lab.seed.speakerArgv(node);
  const r = await node.netns.exec([...argv.slice(0, argv.indexOf('speaker')), 'doctor', '--node-name', node.name, '--kubeconfig', lab.seed.cp.speakerKubeconfig, '--output', 'json'], { timeoutMs: 60_000, env: { KUBECONFIG: '' } });
  assert.equal(r.code, 1, `doctor exits 1 for the refused peer\n${r.stdout}\n${r.stderr}`);
  const checks = (JSON.parse(r.stdout) as { checks: Array<{ check: string; status: string; detail: string; problem?: string; fix?: string }> }).checks;
  const by = (c: string) => checks.find((x) => x.check === c);
  for (const kind of KINDS) assert.match(by(`bgp-peer ${PEERS[kind]}`)?.detail ?? '', new RegExp(`${ROUTERS[kind].lanIp.replace(/\./g, '\\.')} port 179 established since`));
  const nobody = by('bgp-peer lab-nobody');
  assert.equal(nobody?.status, 'problem');
  assert.match(nobody?.problem ?? '', /192\.168\.0\.5 port 179 refuses TCP from this node/);
  assert.equal(by('bgp')?.status, 'ok');
  await lab.seed.admin.custom.deleteClusterCustomObject({ group: 'network.kubesphere.io', version: 'v1alpha2', plural: 'bgppeers', name: 'lab-nobody' });
});
