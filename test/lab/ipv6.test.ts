// IPv6 end to end: an IPv6 Service gets an address from the IPv6 pool, the elected node answers the
// client's Neighbor Solicitation (ndisc6) with its own MAC, the client's neighbour table learns it
// from a real connection, curl reaches a pod over IPv6, and SIGTERM moves the address.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SEED, SeedLab } from '../../scripts/lab/lab.ts';

test('IPv6 Service: NDP answered by the elected node only, curl over IPv6, graceful move', { timeout: 120_000 }, async (t) => {
  const lab = await SeedLab.create({ t });
  await lab.createEip({ name: SEED.eip6.name, address: SEED.eip6.address, interface: SEED.eip6.interface });
  await lab.startSpeakers();
  const svc = await lab.createService({ name: 'layer2-svc6', pods: 2, family: 'IPv6' });
  assert.match(svc.ip, /^fd00:168::(9[1-9a-f]|[a-f][0-9a-f]|100)$/, `IPv6 from the seed's v6 pool: ${svc.ip}`);

  const answering = await lab.waitForAnnouncer(svc.ip);
  const expected = (await lab.expectedOwners()).get(svc.ip);
  assert.equal(answering.name, expected?.node, `the client is answered by the elected node\n${lab.logs()}`);
  // After the takeover burst (unsolicited NAs for 5 s would be counted too): one solicitation, every advertisement that comes back within 1.5 s: exactly one, ours.
  await new Promise((res) => setTimeout(res, 6000));
  const r = await lab.client.exec(['ndisc6', '-m', '-r', '1', '-w', '1500', svc.ip, 'eth0'], { timeoutMs: 6000 });
  const macs = [...r.stdout.matchAll(/Target link-layer address:\s*([0-9A-Fa-f:]{17})/g)].map((m) => m[1]!.toLowerCase());
  assert.deepEqual(macs, [answering.mac], `exactly one Neighbor Advertisement, from the elected node\n${r.stdout}`);

  await lab.forget(svc.ip);
  assert.equal(await lab.resolveFromClient(svc.ip), answering.mac);
  assert.match(await lab.curl(svc.ip), /^You've hit layer2-svc6-[01]$/);

  await answering.stopSpeaker();
  const next = await lab.waitForAnnouncer(svc.ip, undefined, 10_000);
  assert.notEqual(next.name, answering.name, 'the address moved to another node');
  assert.equal(next.name, (await lab.expectedOwners()).get(svc.ip)?.node, 'the election\'s next choice answers');
  assert.deepEqual(await lab.arpingAll(svc.ip), [next.mac], 'exactly one node answers the Neighbor Solicitation after the move');
  assert.match(await lab.curl(svc.ip), /^You've hit layer2-svc6-[01]$/);
  await lab.teardown();
});
