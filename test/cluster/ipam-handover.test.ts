// Leader handover under load: two speaker CLI processes; while 200 Services are being created the
// IPAM leader is killed with SIGKILL (no Lease release, no goodbye). The survivor takes over after
// the Lease expires, rebuilds from the API and finishes: every Service gets an IP, no IP is given
// twice, and the Eip's status.used matches the Services exactly (no leak).
import { type TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import { controlPlane, testNamespace, uniqueName, type ControlPlane } from '../../scripts/kit/control-plane.ts';
import {
  admin,
  cleanup,
  createEip,
  createService,
  duplicates,
  getEip,
  ipamHolder,
  ips,
  startSpeaker,
  waitFor,
  waitLeader,
  type SpeakerProcess,
} from '../../scripts/kit/ipam-helpers.ts';

let cp: ControlPlane;
let c: TypedKubeClient;
const speakers: SpeakerProcess[] = [];

before(async () => {
  cp = await controlPlane();
  c = admin(cp);
});

after(async () => {
  for (const s of speakers) await s.stop();
});

test('SIGKILL of the IPAM leader during 200 Service creations: every Service gets an IP, no duplicates, no leak', async (t) => {
  const ns = await testNamespace(cp, 'ipam-handover');
  const net = `10.${randomInt(100, 250)}.${randomInt(0, 255)}`;
  const eip = uniqueName('eip-handover');
  const names = Array.from({ length: 200 }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
  t.after(() => cleanup(c, names.map((n) => [ns, n] as [string, string]), [eip], 60_000));

  const a = startSpeaker(cp, uniqueName('ho-a'));
  const b = startSpeaker(cp, uniqueName('ho-b'));
  speakers.push(a, b);
  await waitFor('one of the two speakers to lead', async () => [a.node, b.node].includes(await ipamHolder(c)), 30_000);
  const leader = (await ipamHolder(c)) === a.node ? a : b;
  const survivor = leader === a ? b : a;

  await createEip(c, eip, { address: `${net}.0/24`, namespaces: [ns] });
  let created = 0;
  let killedAt = -1;
  const queue = [...names];
  const worker = async () => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      await createService(c, ns, n);
      created++;
      if (created === 70 && killedAt < 0) {
        killedAt = created;
        leader.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  assert.ok(killedAt > 0);
  await leader.exited;
  await waitLeader(c, survivor.node, 30_000, survivor);

  const list = await waitFor('all 200 Services to have an IP', async () => {
    const l = (await c.core.listNamespacedService({ namespace: ns })).items;
    return l.length === 200 && l.every((s) => ips(s).length === 1) ? l : false;
  }, 60_000, 500);
  assert.deepEqual(duplicates(list), []);
  for (const s of list) assert.ok(ips(s)[0]?.startsWith(`${net}.`), `${s.metadata?.name}: ${ips(s)}`);
  // The Eip's committed view equals what the Services show: nothing leaked, nothing missing.
  const want = Object.fromEntries(list.map((s) => [ips(s)[0] as string, `${ns}/${s.metadata?.name}`]));
  const st = await waitFor('Eip status to match the Services', async () => {
    const x = (await getEip(c, eip))?.status as { used?: Record<string, string>; usage?: number } | undefined;
    return x && JSON.stringify(Object.entries(x.used ?? {}).sort()) === JSON.stringify(Object.entries(want).sort()) ? x : false;
  }, 15_000);
  assert.equal(st.usage, 200);
  // Allocation is lowest-free: a clean handover leaves no holes, so the pool's first 200 are used.
  const offsets = list.map((s) => Number(ips(s)[0]?.split('.')[3])).sort((x, y) => x - y);
  assert.deepEqual(offsets, Array.from({ length: 200 }, (_, i) => i));
});
