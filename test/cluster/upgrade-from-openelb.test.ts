// Taking over from upstream OpenELB v0.6, against the real API server:
// - `openelb-ts doctor` finds upstream's controller, speaker and admission webhooks still present
//   and names what to remove; once removed it reports none.
// - Starting from objects exactly as upstream leaves them (an Eip with status.used and upstream's
//   IPAM finalizer, Services with upstream's finalizer, label, annotations and assigned IPs that are
//   NOT the first free ones), a speaker taking over moves no assigned IP, keeps the finalizers and
//   labels, and hands a new Service an address nobody holds.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import { controlPlane, testNamespace, uniqueName, type ControlPlane } from '../../scripts/kit/control-plane.ts';
import {
  admin,
  cleanup,
  createService,
  getEip,
  getService,
  ips,
  serviceBody,
  sleep,
  startSpeaker,
  waitFor,
  waitIPs,
  waitLeader,
  type SpeakerProcess,
} from '../../scripts/kit/ipam-helpers.ts';
import { exec, tsxArgv } from '../../scripts/kit/netns.ts';
import { mergePatchOptions, type TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import type { DoctorReport } from '../../src/doctor/report.ts';

let cp: ControlPlane;
let c: TypedKubeClient;

before(async () => {
  cp = await controlPlane();
  c = admin(cp);
});
after(() => cp.stop());

async function doctorUpstream(): Promise<{ status: string; problem?: string; fix?: string; detail: string }> {
  // As a cluster admin would run it during the upgrade; --offline is not set, so the API is used.
  const r = await exec(tsxArgv('src/cli/main.ts', 'doctor', '--output', 'json', '--kubeconfig', cp.kubeconfig), { timeoutMs: 60_000 });
  const report = JSON.parse(r.stdout) as DoctorReport;
  const found = report.checks.find((x) => x.check === 'upstream-openelb');
  assert.ok(found, `no upstream-openelb check: ${r.stdout}\n${r.stderr}`);
  return found;
}

test('doctor: an upstream controller, speaker and admission webhooks still present are named with what to remove', async (t) => {
  const ns = await testNamespace(cp, 'upstream');
  const hook = uniqueName('openelb-admission');
  const workload = (kind: 'Deployment' | 'DaemonSet', name: string, image: string, command: string) => ({
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: ns },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image, command: [command] }] } },
    },
  });
  // Upstream's webhooks, made harmless for the shared control plane: failurePolicy Ignore and an
  // objectSelector nothing carries (upstream's own use Fail and match everything).
  const webhook = (kind: string, hookName: string, path: string, resources: string[], group: string) => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name: hook },
    webhooks: [{
      name: hookName,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: 'Ignore',
      objectSelector: { matchLabels: { [uniqueName('never')]: 'x' } },
      clientConfig: { service: { name: 'openelb-admission', namespace: ns, path } },
      rules: [{ apiGroups: [group], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources }],
    }],
  });
  const objects = [
    workload('Deployment', 'openelb-controller', 'kubesphere/openelb-controller:v0.6.0', 'openelb-controller'),
    workload('DaemonSet', 'openelb-speaker', 'kubesphere/openelb-speaker:v0.6.0', 'openelb-speaker'),
    webhook('ValidatingWebhookConfiguration', 'validate.eip.network.kubesphere.io', '/validate-network-kubesphere-io-v1alpha2-eip', ['eips'], 'network.kubesphere.io'),
    webhook('MutatingWebhookConfiguration', 'mutating.eip.network.kubesphere.io', '/validate-network-kubesphere-io-v1alpha2-svc', ['services'], ''),
  ];
  const remove = async () => {
    await cp.kubectl(['delete', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', hook, '--ignore-not-found']);
    await cp.kubectl(['-n', ns, 'delete', 'deployment,daemonset', '--all', '--ignore-not-found']);
  };
  t.after(remove);
  const r = await cp.kubectl(['apply', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n---\n') });
  assert.equal(r.code, 0, r.stderr);

  const found = await doctorUpstream();
  assert.equal(found.status, 'problem', JSON.stringify(found));
  for (const what of [`Deployment ${ns}/openelb-controller`, `DaemonSet ${ns}/openelb-speaker`, `ValidatingWebhookConfiguration ${hook}`, `MutatingWebhookConfiguration ${hook}`]) {
    assert.ok(found.problem?.includes(what), `${what} named in: ${found.problem}`);
  }
  assert.ok(found.fix?.includes(`kubectl -n ${ns} delete deployment openelb-controller`), found.fix);
  assert.ok(found.fix?.includes(`kubectl delete validatingwebhookconfiguration ${hook}`), found.fix);

  // Our own speaker DaemonSet (image openelb-ts) is not mistaken for upstream's.
  await remove();
  const ours = workload('DaemonSet', 'openelb-speaker', 'openelb-ts:0.1.0', 'openelb-ts');
  assert.equal((await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(ours) })).code, 0);
  const after = await doctorUpstream();
  assert.equal(after.status, 'ok', JSON.stringify(after));
});

test('takeover from upstream v0.6 objects: no assigned IP moves, finalizers and labels stay, a new Service gets a free address', async (t) => {
  const net = `10.${randomInt(100, 250)}.${randomInt(0, 250)}`;
  const ns = await testNamespace(cp, 'upstream-svc');
  const eip = uniqueName('eip-upstream');
  const svcs = [uniqueName('web'), uniqueName('db'), uniqueName('shared-a'), uniqueName('shared-b')];
  const fresh = uniqueName('fresh');
  const all: Array<[string, string]> = [...svcs, fresh].map((s) => [ns, s]);
  // Started only once upstream's objects exist; the cleanup needs it running.
  const running: { speaker?: SpeakerProcess } = {};
  t.after(async () => {
    // While the speaker runs: it releases the IPs and removes the finalizers (upstream's are ours).
    await cleanup(c, all, [eip]).catch(() => undefined);
    await running.speaker?.stop();
  });

  // The Eip as upstream's controller leaves it: its IPAM finalizer, and status with used IPs that
  // are not the pool's first ones (a re-draw would hand out .0 and .1 and move them).
  const applied = await cp.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: network.kubesphere.io/v1alpha2
kind: Eip
metadata:
  name: ${eip}
  finalizers: [finalizer.ipam.kubesphere.io/v1alpha1]
spec:
  address: ${net}.0/28
  protocol: layer2
  interface: eth0
  disable: false
`,
  });
  assert.equal(applied.code, 0, applied.stderr);
  const [web, db, sharedA, sharedB] = svcs as [string, string, string, string];
  const want: Record<string, string> = { [web]: `${net}.7`, [db]: `${net}.3`, [sharedA]: `${net}.9`, [sharedB]: `${net}.9` };
  await c.custom.patchClusterCustomObjectStatus(
    {
      group: 'network.kubesphere.io',
      version: 'v1alpha2',
      plural: 'eips',
      name: eip,
      body: {
        status: {
          firstIP: `${net}.0`,
          lastIP: `${net}.15`,
          poolSize: 16,
          usage: 3,
          used: { [`${net}.7`]: `${ns}/${web}`, [`${net}.3`]: `${ns}/${db}`, [`${net}.9`]: `${ns}/${sharedA};${ns}/${sharedB}` },
          occupied: false,
          ready: true,
          v4: true,
        },
      },
    },
    mergePatchOptions(),
  );

  // Services as upstream's controller leaves them: opt-in and Eip annotations, the Eip label,
  // upstream's finalizer, the layer2 node annotation of v0.5, and status.loadBalancer.ingress.
  for (const [i, name] of svcs.entries()) {
    const body = serviceBody(ns, name, {
      annotations: {
        'eip.openelb.kubesphere.io/v1alpha2': eip,
        'protocol.openelb.kubesphere.io/v1alpha1': 'layer2',
        ...(name === sharedA || name === sharedB ? { 'eip.openelb.kubesphere.io/v1alpha1': `${net}.9` } : {}),
        'layer2.openelb.kubesphere.io/v1alpha1': 'node-gone',
      },
      ports: [{ port: 80 + i }],
    });
    body.metadata = { ...body.metadata, labels: { 'eip.openelb.kubesphere.io/v1alpha2': eip }, finalizers: ['finalizer.lb.kubesphere.io/v1alpha1'] };
    await c.core.createNamespacedService({ namespace: ns, body });
    await c.core.patchNamespacedServiceStatus(
      { namespace: ns, name, body: { status: { loadBalancer: { ingress: [{ ip: want[name] }] } } } },
      mergePatchOptions(),
    );
  }

  const speaker = startSpeaker(cp, uniqueName('takeover'));
  running.speaker = speaker;
  await waitLeader(c, speaker.node, 30_000, speaker);
  // The speaker has reconciled this Eip once it carries our Ready condition.
  await waitFor(`Eip ${eip} reconciled`, async () => {
    const e = await getEip(c, eip);
    return ((e?.status?.conditions ?? []) as Array<{ type: string }>).some((x) => x.type === 'Ready');
  }, 30_000);
  await createService(c, ns, fresh, { annotations: { 'eip.openelb.kubesphere.io/v1alpha2': eip } });
  const freshIPs = await waitIPs(c, ns, fresh, (got) => got.length === 1);
  await sleep(1000); // a second reconcile round would show any move

  for (const name of svcs) {
    const s = await getService(c, ns, name);
    assert.deepEqual(ips(s), [want[name]], `${name} keeps ${want[name]}`);
    assert.ok(s?.metadata?.finalizers?.includes('finalizer.lb.kubesphere.io/v1alpha1'), `${name} keeps upstream's finalizer`);
    assert.equal(s?.metadata?.labels?.['eip.openelb.kubesphere.io/v1alpha2'], eip);
  }
  assert.ok(!Object.values(want).includes(freshIPs[0] ?? ''), `the new Service got ${freshIPs[0]}, an address nobody held`);
  const e = await getEip(c, eip);
  const used = (e?.status?.used ?? {}) as Record<string, string>;
  assert.equal(used[`${net}.7`], `${ns}/${web}`);
  assert.equal(used[`${net}.3`], `${ns}/${db}`);
  assert.deepEqual(used[`${net}.9`]?.split(';').sort(), [`${ns}/${sharedA}`, `${ns}/${sharedB}`].sort());
  assert.ok(e?.metadata?.finalizers?.includes('finalizer.ipam.kubesphere.io/v1alpha1'));
});

test('`kubectl apply -f deploy/openelb.yaml` over upstream chart objects succeeds (no immutable-field error)', async (t) => {
  // What `helm install openelb charts/openelb -n openelb-system` leaves that shares a name with
  // our bundle: the speaker DaemonSet (immutable selector), its ServiceAccount, ClusterRole and
  // ClusterRoleBinding (immutable roleRef).
  const chartLabels = {
    'app.kubernetes.io/name': 'openelb',
    'helm.sh/chart': 'openelb-0.6.0',
    'app.kubernetes.io/instance': 'openelb',
    'app.kubernetes.io/managed-by': 'Helm',
    'app.kubernetes.io/component': 'openelb-speaker',
  };
  const upstream = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'openelb-speaker', namespace: 'openelb-system' } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'openelb-speaker' }, rules: [{ apiGroups: [''], resources: ['services'], verbs: ['get'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'openelb-speaker' },
      subjects: [{ kind: 'ServiceAccount', name: 'openelb-speaker', namespace: 'openelb-system' }],
      roleRef: { kind: 'ClusterRole', name: 'openelb-speaker', apiGroup: 'rbac.authorization.k8s.io' },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'openelb-speaker', namespace: 'openelb-system', labels: chartLabels },
      spec: {
        selector: { matchLabels: chartLabels },
        template: {
          metadata: { labels: chartLabels },
          spec: {
            serviceAccountName: 'openelb-speaker',
            hostNetwork: true,
            containers: [{ name: 'openelb-speaker', image: 'kubesphere/openelb-speaker:v0.6.0', command: ['openelb-speaker'], args: ['--api-hosts=:50051', '--enable-keepalived-vip=false', '--enable-layer2=true'] }],
          },
        },
      },
    },
  ];
  t.after(async () => {
    await cp.kubectl(['-n', 'openelb-system', 'delete', 'daemonset', 'openelb-speaker', '--ignore-not-found']);
  });
  const bundle = new URL('../../deploy/openelb.yaml', import.meta.url).pathname;
  const pre = await cp.kubectl(['apply', '-f', bundle]); // our bundle as the shared control plane has it
  assert.equal(pre.code, 0, pre.stderr);
  const up = await cp.kubectl(['apply', '-f', '-'], { input: upstream.map((o) => JSON.stringify(o)).join('\n---\n') });
  assert.equal(up.code, 0, up.stderr);
  const r = await cp.kubectl(['apply', '-f', bundle]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /immutable|cannot change/);
  // Our RBAC won (the speaker's rules, not the stub above); upstream's DaemonSet is left for the
  // user to remove (doctor names it).
  const cr = await cp.kubectl(['get', 'clusterrole', 'openelb-speaker', '-o', 'jsonpath={.rules[*].resources}']);
  assert.match(cr.stdout, /eips/);
  const found = await doctorUpstream();
  assert.equal(found.status, 'problem');
  assert.ok(found.problem?.includes('DaemonSet openelb-system/openelb-speaker'), found.problem);
});
