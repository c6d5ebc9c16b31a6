// A broken or hostile BGP peer against our speaker (scripts/lab/bgp-rogue-peer.ts: hand-built
// bytes, not our codec), with Layer 2 and BGP side by side on the same node: the node that answers
// ARP for a layer2 Eip's Service also peers with BIRD and with the rogue peer (BgpPeer nodeSelector).
// Broken headers and an UPDATE whose attributes overrun it must each get the NOTIFICATION RFC 4271
// §6 names, the session must come back, and the node's BIRD session must not notice. A flood of
// 200,000 prefixes must not stall the speaker: its ARP answers keep coming, its BIRD session (hold
// time 5 s) stays up, and a new bgp Service still reaches BIRD's FIB. BIRD's own answers to the
// same rogue bytes are checked in test/netns/bgp-rogue-peer.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpLab, ROGUE } from '../../scripts/lab/bgp-lab.ts';
import type { LabNode, LabService } from '../../scripts/lab/lab.ts';

const HOLD = 5;
let lab: BgpLab;
let l2: LabService;
let node: LabNode;

before(async () => {
  lab = await BgpLab.create({ routers: ['bird'], rogue: true });
  await lab.applyBgpConf();
  await lab.applyBgpPeer({ name: 'lab-bird', router: 'bird', holdTime: HOLD, keepaliveInterval: 1, connectRetry: 2 });
  await lab.seed.createEip();
  await lab.createBgpEip();
  await lab.seed.startSpeakers();
  l2 = await lab.seed.createService({ name: 'arp', pods: 2 });
  node = await lab.seed.waitForAnnouncer(l2.ip);
  // Only the announcing node peers with the rogue: its ARP answers are what a stall would hurt.
  await lab.applyBgpPeer({ name: 'lab-rogue', router: { neighborAddress: ROGUE.lanIp, peerAs: ROGUE.as }, node: node.name, holdTime: 9, keepaliveInterval: 3, connectRetry: 2 });
});

after(() => lab?.teardown());

/** BIRD's session with the rogue's node: the moment its current state began (unchanged = no flap). */
async function birdSince(): Promise<string> {
  const s = (await lab.router('bird').router.sessions()).find((x) => x.peer === node.spec.ip4);
  assert.equal(s?.state, 'established', `BIRD's session with ${node.name}: ${JSON.stringify(s)}`);
  return s!.since ?? '';
}

test('the announcing node establishes with the rogue peer and BIRD; the other nodes do not peer with the rogue', async () => {
  await lab.waitRogue(/^established 1$/);
  await lab.waitEstablished('bird');
  const entries = await Promise.all(lab.seed.nodes.map((n) => lab.peerStatus('lab-rogue', n.name)));
  assert.deepEqual(entries.map((e) => e !== undefined), lab.seed.nodes.map((n) => n === node));
});

for (const [cmd, code, subcode] of [['garbage-marker', 1, 1], ['bad-length', 1, 2], ['bad-type', 1, 3], ['malformed-update', 3, 1]] as const) {
  test(`${cmd}: our speaker answers NOTIFICATION ${code}/${subcode}, the session comes back, BIRD's session does not flap`, async (t) => {
    const since = await birdSince();
    const want = new RegExp(`^notification ${code} ${subcode}$`);
    const seen = lab.rogueLines(want).length;
    const up = lab.rogueLines(/^established/).length;
    lab.rogue!.write(`${cmd}\n`);
    await lab.waitRogue(want, seen + 1);
    await lab.waitRogue(/^established \d+$/, up + 1, 30_000);
    assert.equal(await birdSince(), since);
    t.diagnostic(lab.rogue!.stdout.split('\n').slice(-6).join(' | '));
  });
}

test('a flood of 200,000 prefixes does not stall the speaker: ARP answers, BIRD session and new routes keep going', async (t) => {
  const since = await birdSince();
  const web = await lab.seed.createService({ name: 'web', eip: 'bgp-eip', pods: 2 });
  await lab.waitForFib('bird', web.ip, lab.seed.nodes.map((n) => n.name));
  // ARP requests from the LAN client, one after another, for as long as the flood runs (at least 20).
  let flooding = true;
  const probes: Array<{ mac: string | null; ms: number }> = [];
  const arp = (async () => {
    while (flooding || probes.length < 20) {
      const t0 = performance.now();
      const mac = await lab.seed.arping(l2.ip, 1);
      probes.push({ mac, ms: performance.now() - t0 });
    }
  })();
  const floods = lab.rogueLines(/^flooded/).length;
  lab.rogue!.write('flood 800 250\n');
  // A Service created during the flood still reaches BIRD (through the node's unaffected sessions too).
  const late = await lab.seed.createService({ name: 'late', eip: 'bgp-eip', pods: 2 });
  const lateMs = await lab.waitForFib('bird', late.ip, lab.seed.nodes.map((n) => n.name));
  const flooded = await lab.waitRogue(/^flooded 800 \d+$/, floods + 1, 120_000);
  flooding = false;
  await arp;
  const answered = probes.filter((p) => p.mac !== null);
  t.diagnostic(`rogue: ${flooded} (200,000 prefixes); ARP ${answered.length}/${probes.length} answered, slowest arping ${Math.round(Math.max(...probes.map((p) => p.ms)))} ms; new Service in BIRD's FIB after ${Math.round(lateMs)} ms`);
  assert.ok(answered.every((p) => p.mac === node.mac), 'only the announcing node answers');
  assert.equal(answered.length, probes.length, `every ARP request during the flood is answered: ${JSON.stringify(probes)}\n${lab.seed.logs(30)}`);
  assert.equal(await birdSince(), since, 'BIRD\'s session with the flooded node did not flap');
  assert.equal(lab.rogueLines(/^closed/).length, lab.rogueLines(/^established/).length - 1, 'the rogue\'s session stays up through its own flood');
  assert.match(await lab.curlFar(late.ip), /^You've hit late-[01]$/);
});
