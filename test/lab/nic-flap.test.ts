// A short link flap on the NIC of the node that owns a Service IP: afterwards the client's ARP
// requests must be answered again, by that node (the elected owner once the flap is over). The
// flap makes the kernel report ENETDOWN on the speaker's packet sockets; on Node's libuv poll path
// that used to stop receiving for good, so the owner kept announcing its IP (gratuitous ARPs still
// went out) but never answered a request again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeedLab, type LabNode } from '../../scripts/lab/lab.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const runtime of ['node', 'deno'] as const) {
  test(`${runtime} speakers: after NIC flaps of 0.2 s and 2 s the owning node answers the client's ARP requests again`, { timeout: 240_000 }, async (t) => {
    const lab = await SeedLab.create({ t, runtime });
    await lab.createEip();
    await lab.startSpeakers();
    const svc = await lab.createService({ name: `flap-${runtime}`, pods: 3 });
    const ownerName = (await lab.expectedOwners()).get(svc.ip)?.node;
    assert.ok(ownerName, 'an owner is elected');
    const owner: LabNode = await lab.waitForAnnouncer(svc.ip, ownerName);

    for (const downMs of [200, 2000]) {
      await owner.link(false);
      await sleep(downMs);
      await owner.link(true);
      // Link down dropped the node's routes to the other nodes' pod networks; put them back as a
      // node's network setup would (the lab's link() does not).
      for (const m of lab.nodes) if (m !== owner) await owner.netns.ip('route', 'replace', `10.244.${m.index + 1}.0/24`, 'via', m.spec.ip4);
      // After a long flap another node may have stood in; the election hands the IP back once the
      // owner's NIC is up. Either way the owner must end up answering requests, alone.
      const back = Date.now();
      let macs: string[] = [];
      while (Date.now() - back < 20_000) {
        const expected = (await lab.expectedOwners()).get(svc.ip)?.node;
        macs = await lab.arpingAll(svc.ip, 1);
        if (expected === owner.name && macs.length === 1 && macs[0] === owner.mac) break;
        await sleep(200);
      }
      assert.deepEqual(macs, [owner.mac], `after a ${downMs} ms flap of ${owner.name}'s NIC the client is not answered by it (only): ${JSON.stringify(macs)}\n${lab.logs(20)}`);
      // Requests keep being answered (not one lucky reply from a re-announcement's timing).
      const r = await lab.client.exec(['arping', '-c', '3', '-w', '4', '-I', 'eth0', svc.ip], { timeoutMs: 8000 });
      assert.match(r.stdout, /Received 3 response/, `after a ${downMs} ms flap: ${r.stdout}\n${lab.logs(20)}`);
      assert.ok(!r.stdout.toLowerCase().replaceAll(owner.mac, '').match(/\[[0-9a-f:]{17}\]/), `another MAC answered: ${r.stdout}`);
    }
    await lab.forget(svc.ip);
    assert.match(await lab.curl(svc.ip), new RegExp(`^You've hit flap-${runtime}-[012]$`));
    for (const n of lab.nodes) assert.equal(n.speaker?.result, null, `${n.name} speaker still running\n${lab.logs(20)}`);
  });
}
