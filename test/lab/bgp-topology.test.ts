// The BGP lab's topology (scripts/lab/bgp-lab.ts) proven with GoBGP standing in for the nodes'
// speakers, so the lab is known good before our speaker is put in it: every node announces a
// Service VIP from its own namespace (next hop self, port 17900 as the walkthrough's BgpConf);
// BIRD's and FRR's kernel FIBs route it to all three nodes, GoBGP's RIB has the three paths; the
// far client reaches the pods only through the gateway router (BIRD, then FRR), and not at all
// without it; a node that stops announcing leaves both FIBs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpLab, NODE_AS, NODE_BGP_PORT, ROUTERS } from '../../scripts/lab/bgp-lab.ts';
import { GobgpRouter, ensureGobgp } from '../../scripts/kit/bgp/gobgp.ts';

const VIP = '172.22.0.2';
let lab: BgpLab;
const standIns: GobgpRouter[] = [];

before(async () => {
  lab = await BgpLab.create({ seed: { ipam: false } });
  const bin = ensureGobgp();
  for (const n of lab.seed.nodes) {
    standIns.push(
      await GobgpRouter.start(n.netns, {
        routerId: n.spec.ip4, as: NODE_AS, port: NODE_BGP_PORT, localAddress: n.spec.ip4, originate: [`${VIP}/32`],
        peers: Object.values(ROUTERS).map((r) => ({ name: r.kind, address: r.lanIp, as: r.as })),
      }, bin),
    );
  }
  // The Service the VIP belongs to: VIP on every node's kube-ipvs0, pods and the kube-proxy stand-in.
  await lab.seed.createService({ name: 'web', ip: VIP, pods: 2 });
});

after(async () => {
  await Promise.all(standIns.map((g) => g.stop().catch(() => undefined)));
  await lab?.teardown();
});

const all = () => lab.seed.nodes.map((n) => n.name);

test('BIRD, FRR and GoBGP establish with every node; BIRD and FRR route the VIP to all three nodes (ECMP)', async () => {
  for (const kind of ['bird', 'frr', 'gobgp'] as const) await lab.waitEstablished(kind);
  await lab.waitForFib('bird', VIP, all());
  await lab.waitForFib('frr', VIP, all());
  assert.deepEqual((await lab.router('gobgp').router.ribNextHops(`${VIP}/32`)).sort(), lab.nodeIps(all()));
});

test('the far client reaches the pods through BIRD, then through FRR, and not without a gateway', async () => {
  assert.match(await lab.curlFar(VIP), /^You've hit web-[01]$/);
  await lab.useGateway('frr');
  assert.match(await lab.curlFar(VIP), /^You've hit web-[01]$/);
  await lab.far!.ip('route', 'del', '172.22.0.0/24');
  await assert.rejects(lab.curlFar(VIP, 80, 1), /curl/);
  await lab.useGateway('bird');
  assert.match(await lab.curlFar(VIP), /^You've hit web-[01]$/);
});

test('a node that stops announcing leaves both FIBs', async () => {
  await standIns[0]!.stop();
  const rest = all().slice(1);
  await lab.waitForFib('bird', VIP, rest);
  await lab.waitForFib('frr', VIP, rest);
  assert.match(await lab.curlFar(VIP), /^You've hit web-[01]$/);
});
