// The event recorder on a real kube-apiserver, as the speaker's ServiceAccount: one Event per
// change, never one per resync (MetalLB #2387), with the fields kubectl describe shows.
import { TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { EventRecorder, targetOf } from '../../src/kube/events.ts';
import { controlPlane, testNamespace, uniqueName } from '../../scripts/kit/control-plane.ts';

const cp = await controlPlane();
after(() => cp.stop());
const admin = new TypedKubeClient(cp.adminConfig());

async function eventsFor(ns: string, name: string) {
  const list = await admin.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

/** A fresh namespace with one LoadBalancer Service `name`, and a client as the speaker's ServiceAccount. */
async function serviceInFreshNamespace(name: string) {
  const ns = await testNamespace(cp);
  const speaker = new TypedKubeClient(cp.speakerConfig());
  const svc = await admin.core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
  });
  return { ns, speaker, svc, target: targetOf(svc, { kind: 'Service', apiVersion: 'v1' }) };
}

test('the same event emitted 5 times is one Event object; a change is a new one; going back counts on the earlier one', async () => {
  const { ns, speaker, svc, target } = await serviceInFreshNamespace('web');
  const rec = new EventRecorder({ client: speaker, instance: 'node-1' });

  const written: boolean[] = [];
  for (let i = 0; i < 5; i++) written.push(await rec.normal(target, 'AssignIP', 'Assigned IP 192.0.2.10 from Eip pool-a'));
  assert.deepEqual(written, [true, false, false, false, false]);
  let evs = await eventsFor(ns, 'web');
  assert.equal(evs.length, 1);
  const e = evs[0]!;
  assert.equal(e.reason, 'AssignIP');
  assert.equal(e.type, 'Normal');
  assert.equal(e.message, 'Assigned IP 192.0.2.10 from Eip pool-a');
  assert.equal(e.involvedObject.kind, 'Service');
  assert.equal(e.involvedObject.namespace, ns);
  assert.equal(e.involvedObject.uid, svc.metadata?.uid);
  assert.equal(e.reportingComponent, 'openelb-ts');
  assert.equal(e.reportingInstance, 'node-1');
  assert.equal(e.source?.component, 'openelb-ts');
  assert.equal(e.source?.host, 'node-1');

  // Concurrent identical emits (two reconciles racing) still write once.
  const racing = await Promise.all([1, 2, 3].map(() => rec.warning(target, 'AssignIPFailed', 'pool exhausted', 'assign')));
  assert.equal(racing.filter(Boolean).length, 1);
  // Same slot: failed -> assigned -> failed are changes. Each going back is counted on the Event
  // that said it ("x2" in kubectl describe), as client-go's EventLogger counts a repeat; the
  // update goes out with the series' next write (here: the flush).
  assert.equal(await rec.normal(target, 'AssignIP', 'Assigned IP 192.0.2.10 from Eip pool-a', 'assign'), false);
  assert.equal(await rec.warning(target, 'AssignIPFailed', 'pool exhausted', 'assign'), false);
  assert.equal(await rec.warning(target, 'AssignIPFailed', 'pool exhausted', 'assign'), false, 'a plain repeat: nothing at all');
  await rec.flush();
  evs = await eventsFor(ns, 'web');
  const shown = evs.map((x) => [x.reason, x.message, x.count]).sort();
  assert.deepEqual(shown, [
    ['AssignIP', 'Assigned IP 192.0.2.10 from Eip pool-a', 2],
    ['AssignIPFailed', 'pool exhausted', 2],
  ]);
  // A change of text is a new Event.
  assert.equal(await rec.warning(target, 'AssignIPFailed', 'pool pool-a has no free address', 'assign'), true);
  assert.equal((await eventsFor(ns, 'web')).length, 3);
});

test('nobody announces, then a node does, then nobody again: one NoAnnouncer Event with count 2, not two', async () => {
  // The lab saw two identical NoAnnouncer Events from one speaker: one while the Service's first
  // pod was not ready yet, one when its endpoint went away. nodeAssigned in between forgets the
  // Service's dedupe (so a failback reports again), and the repeat used to create a second Event.
  const { ns, speaker, target } = await serviceInFreshNamespace('local');
  const rec = new EventRecorder({ client: speaker, instance: 'master1' });
  const none = 'no node announces 192.0.2.99: there is no ready endpoint at all';
  assert.equal(await rec.warning(target, 'NoAnnouncer', none, 'NoAnnouncer/192.0.2.99'), true);
  assert.equal(await rec.normal(target, 'nodeAssigned', 'announced by master1 on eth0', 'nodeAssigned/192.0.2.99'), true);
  rec.forget(target);
  await rec.warning(target, 'NoAnnouncer', none, 'NoAnnouncer/192.0.2.99');
  await rec.flush();
  const evs = (await eventsFor(ns, 'local')).filter((e) => e.reason === 'NoAnnouncer');
  assert.equal(evs.length, 1, JSON.stringify(evs.map((e) => [e.metadata?.name, e.count])));
  assert.equal(evs[0]?.count, 2);
  assert.equal(evs[0]?.message, none);
  assert.ok(Date.parse(String(evs[0]?.lastTimestamp)) >= Date.parse(String(evs[0]?.firstTimestamp)));
});

test('events about cluster-scoped objects (Eip) land in "default"; a failed write is retried on the next emit', async () => {
  const speaker = new TypedKubeClient(cp.speakerConfig());
  const rec = new EventRecorder({ client: speaker, instance: 'node-2' });
  const name = uniqueName('oelb-eip');
  const target = { kind: 'Eip', apiVersion: 'network.kubesphere.io/v1alpha2', name };
  assert.equal(await rec.warning(target, 'Overlap', `Eip ${name} overlaps Eip other; fix spec.address`), true);
  const evs = await eventsFor('default', name);
  assert.equal(evs.length, 1);
  assert.equal(evs[0]?.involvedObject.kind, 'Eip');
  assert.equal(evs[0]?.involvedObject.namespace ?? '', '');

  // A namespace that does not exist makes the write fail; the recorder forgets the attempt, so
  // emitting the same thing again tries again instead of being deduplicated away.
  const ghost = { kind: 'Service', apiVersion: 'v1', name: 'x', namespace: uniqueName('oelb-missing') };
  assert.equal(await rec.normal(ghost, 'AssignIP', 'm'), false);
  await admin.core.createNamespace({ body: { metadata: { name: ghost.namespace } } });
  assert.equal(await rec.normal(ghost, 'AssignIP', 'm'), true);
});

test('a create whose answer was lost is retried under the same name: one Event, not two', async () => {
  const { ns, speaker, target } = await serviceInFreshNamespace('lost');
  // The API server writes the first Event, but its answer never arrives (a keep-alive connection
  // reset under load): the recorder sees an error and will emit again.
  let dropAnswers = 1;
  const lossy = Object.assign(Object.create(speaker) as TypedKubeClient, {
    createEvent: async (...args: Parameters<TypedKubeClient['createEvent']>) => {
      const created = await speaker.createEvent(...args);
      if (dropAnswers-- > 0) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      return created;
    },
  });
  const rec = new EventRecorder({ client: lossy, instance: 'node-3' });
  assert.equal(await rec.warning(target, 'NoAnnouncer', 'no node announces 192.0.2.9'), false, 'the lost answer counts as not written');
  assert.equal(await rec.warning(target, 'NoAnnouncer', 'no node announces 192.0.2.9'), true, 'the retry finds it written');
  assert.equal(await rec.warning(target, 'NoAnnouncer', 'no node announces 192.0.2.9'), false, 'then a repeat writes nothing');
  const evs = await eventsFor(ns, 'lost');
  assert.equal(evs.length, 1, JSON.stringify(evs.map((e) => e.metadata?.name)));
  // The series goes on in that Event: a folded update finds it by name.
  assert.equal(evs[0]?.message, 'no node announces 192.0.2.9');
});

test('a settled series (nothing owed, budget full again) is forgotten as later events come; decisions stay the same', async () => {
  const ns = await testNamespace(cp);
  const speaker = new TypedKubeClient(cp.speakerConfig());
  let clock = 0;
  const rec = new EventRecorder({ client: speaker, instance: 'node-3', now: () => clock });
  const target = (i: number) => ({ kind: 'Service', apiVersion: 'v1', namespace: ns, name: `s${i}` });
  for (let i = 0; i < 20; i++) assert.equal(await rec.normal(target(i), 'AssignIP', `Assigned IP 192.0.2.${i}`), true);
  assert.equal(rec.seriesCount, 20, 'a series per object while their budgets refill');
  clock += 60_000; // one refill period: every budget is full again
  for (let i = 20; i < 26; i++) assert.equal(await rec.normal(target(i), 'AssignIP', `Assigned IP 192.0.2.${i}`), true);
  assert.equal(rec.seriesCount, 6, 'the 20 settled series were forgotten, a few per event');
  // Forgotten series decide as before: a repeat is still no write (dedupe), a change is a new Event.
  assert.equal(await rec.normal(target(0), 'AssignIP', 'Assigned IP 192.0.2.0'), false);
  assert.equal(await rec.normal(target(0), 'AssignIP', 'Assigned IP 192.0.2.99'), true);
  assert.equal((await eventsFor(ns, 's0')).length, 2);
});

test('settled series are forgotten on their own once per refill period, with no later event to prompt it', async () => {
  const ns = await testNamespace(cp);
  const speaker = new TypedKubeClient(cp.speakerConfig());
  const refillMs = 200;
  const rec = new EventRecorder({ client: speaker, instance: 'node-4', limits: { refillMs } });
  const target = (i: number) => ({ kind: 'Service', apiVersion: 'v1', namespace: ns, name: `q${i}` });
  for (let i = 0; i < 5; i++) assert.equal(await rec.normal(target(i), 'AssignIP', `Assigned IP 192.0.2.${i}`), true);
  assert.equal(rec.seriesCount, 5, 'held while their budgets refill');
  const t0 = Date.now();
  while (rec.seriesCount > 0 && Date.now() - t0 < 20 * refillMs) await new Promise((r) => setTimeout(r, refillMs / 4));
  assert.equal(rec.seriesCount, 0, 'a quiet recorder gives its series back');
  // Decisions stay the same: a repeat is still nothing (dedupe), a change is a new Event.
  assert.equal(await rec.normal(target(0), 'AssignIP', 'Assigned IP 192.0.2.0'), false);
  assert.equal(await rec.normal(target(0), 'AssignIP', 'Assigned IP 192.0.2.99'), true);
  assert.equal((await eventsFor(ns, 'q0')).length, 2);
});
