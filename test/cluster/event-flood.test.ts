// Anyone on the segment can send gratuitous ARPs for a VIP, alternating between two MACs: each
// frame is a conflict. What reaches the API server must stay bounded whatever the frame rate:
// Events are deduplicated by (object, reason), not by message text (which names the MAC), and
// repeats fold into the existing Event (count, lastTimestamp) at a bounded rate. Measured on a real
// kube-apiserver, as the speaker's ServiceAccount, counting the API server's own request metrics.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { CoreV1Event } from '@kubernetes/client-node';
import { controlPlane, testNamespace } from '../../scripts/kit/control-plane.ts';
import { TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import { EventRecorder, targetOf } from '../../src/kube/events.ts';
import { setLogSink } from '../../src/log.ts';
import { ConflictReporter } from '../../src/speaker/conflict-report.ts';
import type { ServiceView } from '../../src/speaker/layer2-inputs.ts';

const cp = await controlPlane();
after(() => cp.stop());
const admin = new TypedKubeClient(cp.adminConfig());
const speaker = new TypedKubeClient(cp.speakerConfig());

/** Event writes the API server has answered so far (POST, PUT, PATCH on events, any group). */
async function eventWrites(): Promise<number> {
  const r = await cp.kubectl(['get', '--raw', '/metrics']);
  assert.equal(r.code, 0, r.stderr);
  let n = 0;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (!/resource="events"/.test(line) || !/verb="(POST|PUT|PATCH)"/.test(line)) continue;
    n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

async function eventsOf(ns: string, name: string, reason: string): Promise<CoreV1Event[]> {
  const list = await admin.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
  return list.items.filter((e) => e.reason === reason);
}

const FRAMES = 1000;
const MACS = ['02:00:00:00:00:0a', '02:00:00:00:00:0b'];

test(`${FRAMES} conflicts from alternating MACs through the speaker's handler: a bounded number of Event writes and log lines`, async () => {
  const ns = await testNamespace(cp);
  const svc = await admin.core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
  });
  const view: ServiceView = {
    key: `${ns}/web`,
    namespace: ns,
    name: 'web',
    uid: svc.metadata?.uid ?? '',
    externalTrafficPolicy: 'Cluster',
    ips: ['192.0.2.50'],
    annotations: {},
  };
  const events = new EventRecorder({ client: speaker, instance: 'node-1' });
  const reporter = new ConflictReporter({ nodeName: 'node-1', events, servicesOf: (ip) => (ip === '192.0.2.50' ? [view] : []) });
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  const before = await eventWrites();
  try {
    for (let i = 0; i < FRAMES; i++) reporter.report({ ip: '192.0.2.50', nic: 'eth0', mac: MACS[i % 2] as string, phase: 'announced' });
    await reporter.flush();
  } finally {
    setLogSink((l) => process.stderr.write(l + '\n'));
  }
  const writes = (await eventWrites()) - before;
  const evs = await eventsOf(ns, 'web', 'IPConflict');
  const conflictLines = lines.filter((l) => l.includes('192.0.2.50'));

  assert.ok(writes <= 6, `${writes} Event writes for ${FRAMES} conflicts (bound: 6)`);
  assert.ok(evs.length >= 1 && evs.length <= 3, `${evs.length} IPConflict Events`);
  assert.ok(conflictLines.length <= 3, `${conflictLines.length} log lines about the conflict:\n${conflictLines.slice(0, 5).join('\n')}`);
  // Still says what matters: a Warning on the Service naming the IP and both MACs, with how many.
  const last = evs.sort((a, b) => String(a.lastTimestamp).localeCompare(String(b.lastTimestamp))).at(-1);
  assert.equal(last?.type, 'Warning');
  for (const mac of MACS) assert.match(last?.message ?? '', new RegExp(mac));
  assert.match(last?.message ?? '', /192\.0\.2\.50/);
  assert.match(conflictLines.join('\n'), new RegExp(`"conflicts":${FRAMES - 1}\\b`));
});

test('the recorder alone: 1,000 distinct messages for one (object, reason) are a few Events whose counts add up to 1,000', async () => {
  const ns = await testNamespace(cp);
  const svc = await admin.core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name: 'api' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
  });
  const rec = new EventRecorder({ client: speaker, instance: 'node-1' });
  const target = targetOf(svc, { kind: 'Service', apiVersion: 'v1' });
  const before = await eventWrites();
  await Promise.all(Array.from({ length: FRAMES }, (_, i) => rec.warning(target, 'IPConflict', `message ${i}`)));
  await rec.flush();
  const writes = (await eventWrites()) - before;
  const evs = await eventsOf(ns, 'api', 'IPConflict');
  assert.ok(writes <= 8, `${writes} Event writes for ${FRAMES} distinct messages`);
  assert.equal(evs.reduce((n, e) => n + (e.count ?? 1), 0), FRAMES);
  // The newest message is the one shown, marked as combined (kubectl users know the phrase).
  assert.ok(evs.some((e) => /^\(combined from similar events\): message 999$/.test(e.message ?? '')), evs.map((e) => e.message).join('\n'));
  // Another reason on the same object is not held back by this one's budget.
  assert.equal(await rec.normal(target, 'AssignIP', 'Assigned 192.0.2.51'), true);
});
