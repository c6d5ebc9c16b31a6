// Fail-static (SPEC.md §2): with the API server unreachable for 30 s (every node's path stalled: no
// bytes, no RST, the worst case) nothing changes on the wire: each VIP is still answered by exactly
// its owner and traffic flows; when the API returns nothing is lost or moved. Cut connections (the
// watch and requests die, reconnects work) change nothing either.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type LabService, SeedLab } from '../../scripts/lab/lab.ts';

let lab: SeedLab;
const services: LabService[] = [];
const owners = new Map<string, string>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

after(() => lab?.teardown());
before(async () => {
  lab = await SeedLab.create();
  await lab.createEip();
  await lab.startSpeakers();
  for (let i = 0; i < 3; i++) services.push(await lab.createService({ name: `fs-${i}`, pods: 3 }));
  for (const s of services) {
    const expected = (await lab.expectedOwners()).get(s.ip)?.node;
    assert.ok(expected);
    await lab.waitForAnnouncer(s.ip, expected);
    owners.set(s.ip, expected);
  }
});

async function assertUnchanged(when: string): Promise<void> {
  for (const s of services) {
    const macs = await lab.arpingAll(s.ip, 1);
    assert.deepEqual(macs, [lab.node(owners.get(s.ip)!).mac], `${when}: ${s.ip} answered by exactly ${owners.get(s.ip)}\n${lab.logs(15)}`);
  }
  assert.match(await lab.curl(services[0]!.ip), /^You've hit fs-0-[012]$/, when);
}

test('API unreachable for 30 s: every VIP keeps exactly its owner; afterwards nothing is lost', { timeout: 120_000 }, async () => {
  for (const n of lab.nodes) n.api.pause();
  const t0 = Date.now();
  try {
    while (Date.now() - t0 < 30_000) {
      await assertUnchanged(`${Math.round((Date.now() - t0) / 1000)} s into the outage`);
      await sleep(2500);
    }
    // Liveness travels on the segment, not through the API server: 30 s into the outage (less than
    // the 40 s membership Lease) every speaker still counts all three alive, from their beacons.
    for (const n of lab.nodes) assert.match(await n.http('/metrics'), /openelb_membership_alive_speakers 3/, `${n.name} sees all three alive`);
  } finally {
    for (const n of lab.nodes) n.api.resume();
  }
  // Back: give the watches and Leases time to resume, then nothing moved or was lost.
  await sleep(6000);
  await assertUnchanged('after the outage');
  for (const s of services) {
    const svc = await lab.readService(s);
    assert.equal(svc.status?.loadBalancer?.ingress?.[0]?.ip, s.ip, `${s.key} kept its IP`);
    assert.equal((await lab.expectedOwners()).get(s.ip)?.node, owners.get(s.ip), 'the API view agrees');
  }
  for (const n of lab.nodes) {
    assert.equal(n.speaker?.result, null, `${n.name} speaker still running`);
    assert.match(await n.http('/metrics'), /openelb_membership_renewing 1/);
  }
});

test('cut connections (watch and requests die, reconnect works): nothing changes on the wire', { timeout: 60_000 }, async () => {
  const acceptedBefore = lab.nodes.map((n) => n.api.accepted);
  for (let round = 0; round < 3; round++) {
    for (const n of lab.nodes) n.api.cut();
    await sleep(1500);
    await assertUnchanged(`after cut ${round + 1}`);
  }
  // They reconnected (new connections through each relay).
  lab.nodes.forEach((n, i) => assert.ok(n.api.accepted > acceptedBefore[i]!, `${n.name} reconnected`));
});
