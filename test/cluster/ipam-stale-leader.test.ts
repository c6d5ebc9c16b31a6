// Two IPAM writers at once must never give one IP to two Services that may not share it.
//  1. The real leader (speaker CLI process) plus, in this process, an IpamTerm whose signal never
//     fires: a stale leader that believes it leads, for the whole test, racing on a small pool
//     with more Services than addresses.
//  2. The leader process is paused with SIGSTOP past its Lease while Services are created, a
//     second speaker takes over, and the paused one is resumed with SIGCONT mid-stream, with
//     whatever it had in flight.
// Both check, on every poll, that no IP shows on two Services and that no Service's IP ever
// changes once shown; and at the end that the Eip's used map equals what the Services show.
import { TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';

import { EventRecorder } from '../../src/kube/events.ts';
import { Registry } from '../../src/observe/metrics.ts';
import type { SpeakerContext } from '../../src/speaker/context.ts';
import { Informer } from '../../src/kube/informer.ts';
import { termMetrics } from '../../src/speaker/ipam-controller.ts';
import { IpamTerm } from '../../src/speaker/ipam-term.ts';
import { SharedInformers } from '../../src/speaker/informers.ts';
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
  sleep,
  startSpeaker,
  waitFor,
  waitLeader,
  type SpeakerProcess,
} from '../../scripts/kit/ipam-helpers.ts';

let cp: ControlPlane;
let c: TypedKubeClient;
const speakers: SpeakerProcess[] = [];
const firstSeen = new Map<string, string>();
/** Violations seen on any poll (waitFor retries on a throw, so they are collected, not thrown). */
const violations: string[] = [];

before(async () => {
  cp = await controlPlane();
  c = admin(cp);
});

after(async () => {
  for (const s of speakers) await s.stop();
});

/** Services in ns, and the Eip's used map, agree and hold no duplicate. */
async function settledWithoutDuplicates(nss: string | string[], eip: string, count: number, withIP: number): Promise<V1Service[]> {
  const list = await waitFor(`${withIP} of ${count} Services with an IP`, async () => {
    const l = (await Promise.all([nss].flat().map((ns) => c.core.listNamespacedService({ namespace: ns })))).flatMap((x) => x.items);
    // Checked on every poll, not only at the end: a transient duplicate is a failure too.
    for (const d of duplicates(l)) violations.push(`duplicate ${d}`);
    // And an IP once shown never changes (no re-draw by either writer).
    for (const s of l) {
      const k = `${s.metadata?.namespace}/${s.metadata?.name}`;
      const ip = ips(s)[0];
      if (ip === undefined) continue;
      const before = firstSeen.get(k);
      if (before === undefined) firstSeen.set(k, ip);
      else if (ip !== before) violations.push(`${k} moved from ${before} to ${ip}`);
    }
    if (violations.length > 0) return l; // stop waiting: report them below
    return l.length === count && l.filter((s) => ips(s).length === 1).length === withIP ? l : false;
  }, 60_000, 200);
  assert.deepEqual(violations, []);
  const want = Object.fromEntries(list.filter((s) => ips(s).length > 0).map((s) => [ips(s)[0] as string, `${s.metadata?.namespace}/${s.metadata?.name}`]));
  await waitFor('Eip used to match the Services', async () => {
    const used = ((await getEip(c, eip))?.status as { used?: Record<string, string> } | undefined)?.used ?? {};
    return JSON.stringify(Object.entries(used).sort()) === JSON.stringify(Object.entries(want).sort());
  }, 20_000);
  return list;
}

test('a stale leader that believes it leads, with a partial view, racing the real leader on a small pool, never duplicates an IP', async (t) => {
  // The stale writer's Service watch covers only `ns`, not `hidden` (a watch that lags or missed
  // part of the world): its own decisions diverge from the leader's, so every IP it hands out from
  // a stale view would collide unless the guarded commit stops it.
  const ns = await testNamespace(cp, 'ipam-stale');
  const hidden = await testNamespace(cp, 'ipam-stale-hidden');
  const net = `10.${randomInt(100, 250)}.${randomInt(0, 255)}`;
  const eip = uniqueName('eip-stale');
  const names = Array.from({ length: 48 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
  const where = (i: number) => (i % 2 === 0 ? ns : hidden);
  const all = names.map((n, i) => [where(i), n] as [string, string]);
  const leader = startSpeaker(cp, uniqueName('st-lead'));
  speakers.push(leader);
  let stopStale = async () => {};
  t.after(async () => {
    await cleanup(c, all, [eip], 60_000);
    await stopStale();
    await leader.stop();
  });
  await waitLeader(c, leader.node, 30_000, leader);

  // The stale writer: same ServiceAccount, a signal that never fires, a Service watch on `ns` only.
  const client = new TypedKubeClient(cp.speakerConfig());
  const partial = new Informer<V1Service>({
    client,
    name: `services/${ns}`,
    path: `/api/v1/namespaces/${ns}/services`,
  });
  class PartialInformers extends SharedInformers {
    override services(): Informer<V1Service> {
      partial.start();
      return partial;
    }
  }
  const registry = new Registry();
  const ctx: SpeakerContext = {
    client,
    namespace: 'openelb-system',
    nodeName: 'stale-writer',
    registry,
    events: new EventRecorder({ client, instance: 'stale-writer' }),
    informers: new PartialInformers(client),
  };
  const never = new AbortController();
  const stale = new IpamTerm(ctx, never.signal, termMetrics(ctx));
  stopStale = async () => {
    never.abort();
    await ctx.informers.stop();
    await partial.stop();
  };
  stale.start();

  await createEip(c, eip, { address: `${net}.0/27`, namespaces: [ns, hidden] }); // 32 addresses, 48 Services
  // Phase 1: the real leader is frozen for a moment (well inside its renew deadline) so the stale
  // writer certainly commits some allocations of its own; phase 2: both write at full speed.
  leader.kill('SIGSTOP');
  const first = [0, 2, 4, 6, 8, 10];
  try {
    for (const i of first) await createService(c, ns, names[i] as string);
    await waitFor('the stale writer to assign the first Services', async () => {
      const l = (await c.core.listNamespacedService({ namespace: ns })).items;
      return l.filter((s) => ips(s).length === 1).length === first.length;
    }, 10_000, 100);
  } finally {
    leader.kill('SIGCONT');
  }
  const queue = names.map((n, i) => [where(i), n, i] as const).filter(([, , i]) => !first.includes(i));
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let x = queue.shift(); x !== undefined; x = queue.shift()) await createService(c, x[0], x[1]);
  }));
  await settledWithoutDuplicates([ns, hidden], eip, 48, 32);

  // The stale writer really wrote, and had to notice the other writer.
  const writes = registry.counter('openelb_ipam_api_writes_total', '');
  const staleOk = writes.get({ resource: 'eip_status', result: 'ok' }) + writes.get({ resource: 'service_status', result: 'ok' });
  const staleConflicts = writes.get({ resource: 'eip_status', result: 'conflict' }) + writes.get({ resource: 'service_status', result: 'conflict' });
  const rebuilds = registry.counter('openelb_ipam_rebuilds_total', '').get({ reason: 'conflict' });
  assert.ok(staleOk > 0, 'the stale writer wrote nothing: the race was not exercised');
  assert.ok(rebuilds > 0, 'the stale writer never noticed the other writer');
  process.stderr.write(`stale writer: ok writes ${staleOk}, conflicts ${staleConflicts}, rebuilds after a foreign write ${rebuilds}\n`);

  // Releases under the same race: 12 deleted (6 hidden), 12 waiting Services take their places.
  for (const i of names.keys()) if (i < 12) await c.core.deleteNamespacedService({ namespace: where(i), name: names[i] as string });
  await settledWithoutDuplicates([ns, hidden], eip, 36, 32);
});

test('a leader paused (SIGSTOP) past its Lease and resumed mid-stream while a new leader assigns never duplicates an IP', async (t) => {
  const ns = await testNamespace(cp, 'ipam-pause');
  const net = `10.${randomInt(100, 250)}.${randomInt(0, 255)}`;
  const eip = uniqueName('eip-pause');
  const names = Array.from({ length: 120 }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
  t.after(() => cleanup(c, names.map((n) => [ns, n] as [string, string]), [eip], 60_000));

  const a = startSpeaker(cp, uniqueName('pa-a'));
  speakers.push(a);
  await waitLeader(c, a.node, 30_000, a);
  const b = startSpeaker(cp, uniqueName('pa-b'));
  speakers.push(b);
  await createEip(c, eip, { address: `${net}.0/25`, namespaces: [ns] }); // 128 addresses
  await sleep(3000); // b is up and watching

  const queue = [...names];
  let created = 0;
  let phase = 'running';
  const worker = async () => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      await createService(c, ns, n);
      created++;
      if (created === 30 && phase === 'running') {
        phase = 'paused';
        a.kill('SIGSTOP');
        // b takes over once the Lease expires (4 s by local observation).
        void waitLeader(c, b.node, 30_000, b).then(async () => {
          await sleep(500);
          phase = 'resumed';
          a.kill('SIGCONT');
        });
      }
      if (phase === 'paused') await sleep(50);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  await waitFor('a resumed', async () => phase === 'resumed', 40_000);
  assert.equal(await ipamHolder(c), b.node);
  await settledWithoutDuplicates(ns, eip, 120, 120);
  // The resumed process noticed it lost and stepped down instead of writing on.
  await waitFor('a to step down', async () => /stopped leading/.test(a.log()), 15_000);
});
