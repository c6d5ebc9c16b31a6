// The seed walkthrough as a user does it: the speaker as the real CLI process
// (`openelb-ts speaker --enable-layer2=false`, the speaker's ServiceAccount), the seed's Eip and
// Service applied with kubectl, `kubectl get svc` / `kubectl get eip` read back. Then what the
// user sees on restart, on deleting the Eip while in use, and on deleting the Service.
import { type TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { controlPlane, testNamespace, type ControlPlane } from '../../scripts/kit/control-plane.ts';
import {
  admin,
  eventsFor,
  getEip,
  getService,
  ips,
  startSpeaker,
  waitEvent,
  waitFor,
  waitIPs,
  waitLeader,
  type SpeakerProcess,
} from '../../scripts/kit/ipam-helpers.ts';

const SEED_EIP = `apiVersion: network.kubesphere.io/v1alpha2
kind: Eip
metadata:
  name: layer2-eip
spec:
  address: 192.168.0.91-192.168.0.100
  interface: eth0
  protocol: layer2
`;

const seedService = (name: string) => `kind: Service
apiVersion: v1
metadata:
  name: ${name}
  annotations:
    lb.kubesphere.io/v1alpha1: openelb
    protocol.openelb.kubesphere.io/v1alpha1: layer2
    eip.openelb.kubesphere.io/v1alpha2: layer2-eip
spec:
  selector:
    app: layer2-openelb
  type: LoadBalancer
  ports:
  - name: http
    port: 80
    targetPort: 8080
  externalTrafficPolicy: Cluster
`;

let cp: ControlPlane;
let c: TypedKubeClient;
let speaker: SpeakerProcess | undefined;
let ns: string;

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await cp.kubectl(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Columns of the row named `name` in kubectl's table output, by header. */
function row(table: string, name: string): Record<string, string> {
  const lines = table.trim().split('\n');
  const header = (lines[0] ?? '').split(/\s+/);
  const line = lines.find((l) => l.split(/\s+/)[0] === name);
  assert.ok(line, `no row ${name} in:\n${table}`);
  const cells = line.split(/\s+/);
  return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
}

before(async () => {
  cp = await controlPlane();
  c = admin(cp);
  ns = await testNamespace(cp, 'ipam-seed');
  speaker = startSpeaker(cp, 'n1');
  await waitLeader(c, 'n1', 30_000, speaker);
});

after(async () => {
  // Services first while a speaker still runs (it removes their finalizers), then the Eip.
  await c.core.deleteCollectionNamespacedService({ namespace: ns }).catch(() => {});
  await waitFor('seed Services gone', async () => (await c.core.listNamespacedService({ namespace: ns })).items.length === 0, 20_000).catch(() => {});
  await c.custom.deleteClusterCustomObject({ group: 'network.kubesphere.io', version: 'v1alpha2', plural: 'eips', name: 'layer2-eip' }).catch(() => {});
  await waitFor('layer2-eip gone', async () => !(await getEip(c, 'layer2-eip')), 20_000).catch(() => {});
  await speaker?.stop();
});

test('seed walkthrough: kubectl apply the Eip and the Service -> EXTERNAL-IP 192.168.0.91, USAGE 1 TOTAL 10', async () => {
  await kubectl(['apply', '-f', '-'], SEED_EIP);
  await kubectl(['apply', '-n', ns, '-f', '-'], seedService('layer2-svc'));
  const svcRow = await waitFor('EXTERNAL-IP in kubectl get svc', async () => {
    const r = row(await kubectl(['get', 'svc', '-n', ns]), 'layer2-svc');
    return r['EXTERNAL-IP'] === '192.168.0.91' ? r : false;
  }, 10_000, 100);
  assert.equal(svcRow.TYPE, 'LoadBalancer');
  const eipRow = await waitFor('USAGE 1 in kubectl get eip', async () => {
    const r = row(await kubectl(['get', 'eip']), 'layer2-eip');
    return r.USAGE === '1' ? r : false;
  });
  assert.equal(eipRow.CIDR, '192.168.0.91-192.168.0.100');
  assert.equal(eipRow.TOTAL, '10');

  const svc = await getService(c, ns, 'layer2-svc');
  assert.deepEqual(svc?.metadata?.finalizers, ['finalizer.lb.kubesphere.io/v1alpha1']);
  assert.equal(svc?.metadata?.labels?.['eip.openelb.kubesphere.io/v1alpha2'], 'layer2-eip');
  const eip = await getEip(c, 'layer2-eip');
  assert.deepEqual(eip?.metadata.finalizers, ['finalizer.ipam.kubesphere.io/v1alpha1']);
  const st = eip?.status as Record<string, unknown>;
  assert.equal(st.firstIP, '192.168.0.91');
  assert.equal(st.lastIP, '192.168.0.100');
  assert.equal(st.occupied, false);
  assert.equal(st.ready, true);
  assert.equal(st.v4, true);
  assert.deepEqual(st.used, { '192.168.0.91': `${ns}/layer2-svc` });
  const ev = await waitEvent(c, ns, 'layer2-svc', 'AssignIP');
  assert.match(ev.message, /Assigned 192\.168\.0\.91 from Eip layer2-eip/);
  assert.equal(ev.type, 'Normal');
});

test('restart: a new speaker process keeps every IP, assigns what was created while it was down, repeats no event', async () => {
  await kubectl(['apply', '-n', ns, '-f', '-'], seedService('layer2-svc-b'));
  await waitIPs(c, ns, 'layer2-svc-b', ['192.168.0.92']);
  await speaker?.stop();
  // While no speaker runs: one more Service, and a third Service that arrives with no IP.
  await kubectl(['apply', '-n', ns, '-f', '-'], seedService('layer2-svc-c'));
  // Release .91's neighbour order trap: delete nothing; the new speaker must not renumber.
  speaker = startSpeaker(cp, 'n2');
  await waitLeader(c, 'n2', 30_000, speaker);
  await waitIPs(c, ns, 'layer2-svc-c', ['192.168.0.93']);
  assert.deepEqual(ips(await getService(c, ns, 'layer2-svc')), ['192.168.0.91']);
  assert.deepEqual(ips(await getService(c, ns, 'layer2-svc-b')), ['192.168.0.92']);
  const row3 = row(await kubectl(['get', 'eip']), 'layer2-eip');
  assert.equal(row3.USAGE, '3');
  // One AssignIP per Service ever, although two processes led.
  for (const name of ['layer2-svc', 'layer2-svc-b', 'layer2-svc-c']) {
    const assigns = (await eventsFor(c, ns, name)).filter((e) => e.reason === 'AssignIP');
    assert.equal(assigns.length, 1, `${name}: ${JSON.stringify(assigns)}`);
  }
});

test('deleting the Eip while in use keeps it (finalizer, Deleting condition); deleting the Services releases them and lets it go', async () => {
  await kubectl(['delete', 'eip', 'layer2-eip', '--wait=false']);
  const cond = await waitFor('Deleting condition', async () => {
    const e = await getEip(c, 'layer2-eip');
    const conds = (e?.status?.conditions ?? []) as Array<{ type: string; status: string; reason: string; message: string }>;
    const ready = conds.find((x) => x.type === 'Ready');
    return ready?.reason === 'Deleting' ? ready : false;
  });
  assert.equal(cond.status, 'False');
  assert.match(cond.message, /being deleted/);
  assert.match(cond.message, new RegExp(`${ns}/layer2-svc`));
  await waitEvent(c, 'default', 'layer2-eip', 'Deleting');
  // Still there, still serving its Services, and no new Service gets an address from it.
  assert.ok((await getEip(c, 'layer2-eip'))?.metadata.deletionTimestamp);
  await kubectl(['apply', '-n', ns, '-f', '-'], seedService('layer2-svc-d'));
  const failed = await waitEvent(c, ns, 'layer2-svc-d', 'AssignIPFailed');
  assert.equal(failed.type, 'Warning');
  assert.match(failed.message, /layer2-eip/);
  assert.deepEqual(ips(await getService(c, ns, 'layer2-svc')), ['192.168.0.91']);

  await kubectl(['delete', 'svc', '-n', ns, 'layer2-svc', '--timeout=15s']);
  const rel = await waitEvent(c, ns, 'layer2-svc', 'ReleaseIP');
  assert.match(rel.message, /192\.168\.0\.91/);
  assert.equal(await getService(c, ns, 'layer2-svc'), undefined);
  // The Eip is still held by b and c.
  assert.ok(await getEip(c, 'layer2-eip'));
  await kubectl(['delete', 'svc', '-n', ns, 'layer2-svc-b', 'layer2-svc-c', '--timeout=15s']);
  await waitFor('layer2-eip to be deleted', async () => !(await getEip(c, 'layer2-eip')));
});
