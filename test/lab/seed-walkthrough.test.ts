// seeds/000 end to end on one machine: Eip + Service -> IP assigned -> the client's ARP/ping/ip neigh
// show the MAC of exactly the node the election chose -> curl gets "You've hit ..."; the Service
// says which node and NIC answer (annotation + event), written once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeedLab } from '../../scripts/lab/lab.ts';
import { listNamespaces } from '../../scripts/kit/netns.ts';

test('seed walkthrough: the elected node answers ARP, the client reaches a pod, the Service names the announcer', { timeout: 120_000 }, async (t) => {
  const lab = await SeedLab.create({ t });
  await lab.createEip();
  await lab.startSpeakers();
  const svc = await lab.createService({ name: 'layer2-svc', pods: 2 });
  assert.match(svc.ip, /^192\.168\.0\.(9[1-9]|100)$/, 'IP from the seed pool');

  const answering = await lab.waitForAnnouncer(svc.ip);
  const expected = (await lab.expectedOwners()).get(svc.ip);
  assert.equal(answering.name, expected?.node, `the client is answered by the elected node\n${lab.logs()}`);

  // Exactly one node answers (one ARP request, every reply counted).
  assert.deepEqual(await lab.arpingAll(svc.ip), [answering.mac]);
  // ping fills the client's neighbour table with the same MAC.
  await lab.forget(svc.ip);
  assert.equal(await lab.resolveFromClient(svc.ip), answering.mac);
  // Traffic reaches a pod through the announcing node.
  const body = await lab.curl(svc.ip);
  assert.match(body, /^You've hit layer2-svc-[01]$/);

  // Visibility: annotation `<node>/eth0` and one nodeAssigned event from the announcing node.
  let annotation: string | undefined;
  for (let i = 0; i < 50 && annotation !== `${answering.name}/eth0`; i++) {
    annotation = await lab.announcerAnnotation(svc);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(annotation, `${answering.name}/eth0`);
  const events = (await lab.serviceEvents(svc)).filter((e) => e.reason === 'nodeAssigned');
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0]!.host, answering.name);
  assert.match(events[0]!.message, new RegExp(`${svc.ip.replace(/\./g, '\\.')} from node ${answering.name} on NIC eth0`));

  // Metrics: the owner reports the IP as owned; the others do not; everyone sees 3 alive.
  for (const n of lab.nodes) {
    const m = await n.http('/metrics');
    const owned = m.includes(`openelb_layer2_ip_owned{ip="${svc.ip}",nic="eth0"} 1`);
    assert.equal(owned, n === answering, `${n.name} ownership metric`);
    assert.match(m, /openelb_membership_alive_speakers 3/);
  }

  await lab.teardown();
  const left = (await listNamespaces()).filter((n) => n.startsWith(`oelb${lab.id}`));
  assert.deepEqual(left, []);
});
