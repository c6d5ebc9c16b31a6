// The same daemon on Deno 2: three Deno speakers (IPAM + Layer 2) serve the seed walkthrough, and a
// graceful stop moves the VIP to the node the election picks next.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeedLab } from '../../scripts/lab/lab.ts';

test('Deno speakers: IP assigned, the elected node answers ARP, curl reaches a pod, SIGTERM moves the VIP', { timeout: 180_000 }, async (t) => {
  const lab = await SeedLab.create({ t, runtime: 'deno' });
  await lab.createEip();
  await lab.startSpeakers();
  const svc = await lab.createService({ name: 'deno-svc', pods: 3 });
  const expected = (await lab.expectedOwners()).get(svc.ip)?.node;
  assert.ok(expected, 'an owner is elected');
  const owner = await lab.waitForAnnouncer(svc.ip, expected);
  assert.deepEqual(await lab.arpingAll(svc.ip), [owner.mac]);
  assert.match(await lab.curl(svc.ip), /^You've hit deno-svc-[012]$/);

  const stopped = await owner.stopSpeaker();
  assert.equal(stopped.code, 0, `exit ${stopped.code} ${stopped.signal ?? ''}\n${owner.speakers.at(-1)?.stderr.slice(-2000)}`);
  const next = (await lab.expectedOwners()).get(svc.ip)?.node;
  assert.ok(next && next !== owner.name);
  await lab.waitForAnnouncer(svc.ip, next);
  assert.deepEqual(await lab.arpingAll(svc.ip), [lab.node(next).mac]);
  assert.match(await lab.curl(svc.ip), /^You've hit deno-svc-[012]$/);
});
