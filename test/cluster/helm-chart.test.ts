// The Helm chart (deploy/chart, generated from the bundle's pieces by scripts/chart.ts) against
// helm built from Go modules (scripts/helm/build.sh) and the real API server: `helm template`
// renders exactly the bundle's objects (minus the Namespace, which helm's --create-namespace
// makes), and `helm install` / `helm uninstall` work, here as a second release with its own names.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { loadAllYaml } from '@kubernetes/client-node';
import { controlPlane, uniqueName, type ControlPlane } from '../../scripts/kit/control-plane.ts';
import { exec, REPO_ROOT } from '../../scripts/kit/netns.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking parsed YAML of any shape
type Obj = Record<string, any>;
const plain = (text: string): Obj[] => (JSON.parse(JSON.stringify(loadAllYaml(text))) as Obj[]).filter(Boolean);
const key = (o: Obj) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
const byKey = (list: Obj[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));

let cp: ControlPlane;
let helm: string;

before(async () => {
  cp = await controlPlane();
  // Built once per machine and cached like the control plane (first build: a few minutes).
  helm = execFileSync('bash', ['scripts/helm/build.sh'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() ?? '';
});
after(() => cp.stop());

test('helm template renders the same objects as deploy/openelb.yaml (without the Namespace)', async () => {
  const r = await exec([helm, 'template', 'openelb-ts', 'deploy/chart', '--namespace', 'openelb-system', '--include-crds'], { cwd: REPO_ROOT });
  assert.equal(r.code, 0, r.stderr);
  const rendered = plain(r.stdout);
  const bundle = plain(readFileSync(`${REPO_ROOT}/deploy/openelb.yaml`, 'utf8')).filter((o) => o.kind !== 'Namespace');
  assert.deepEqual(rendered.map(key).sort(), bundle.map(key).sort());
  assert.deepEqual(byKey(rendered), byKey(bundle));
});

test('helm install and uninstall against the API server (a second release with its own names)', async (t) => {
  const ns = uniqueName('oelb-helm');
  const rbac = uniqueName('oelb-helm-rbac');
  const ds = uniqueName('oelb-helm-ds');
  const release = uniqueName('rel');
  const base = ['--kubeconfig', cp.kubeconfig, '--namespace', ns];
  t.after(async () => {
    await exec([helm, 'uninstall', release, ...base]);
    await cp.kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  });
  const inst = await exec([helm, 'install', release, 'deploy/chart', ...base, '--create-namespace', '--set', `names.rbac=${rbac}`, '--set', `names.daemonSet=${ds}`], { cwd: REPO_ROOT, timeoutMs: 120_000 });
  assert.equal(inst.code, 0, inst.stderr);
  assert.match(inst.stdout, /STATUS: deployed/);
  const got = await cp.kubectl(['-n', ns, 'get', 'daemonset', ds, '-o', 'jsonpath={.spec.template.spec.serviceAccountName} {.spec.template.spec.containers[0].image}']);
  assert.equal(got.code, 0, got.stderr);
  assert.equal(got.stdout, `${rbac} openelb-ts:0.1.0`);
  const crb = await cp.kubectl(['get', 'clusterrolebinding', rbac, '-o', 'jsonpath={.subjects[0].namespace}/{.subjects[0].name} {.roleRef.name}']);
  assert.equal(crb.stdout, `${ns}/${rbac} ${rbac}`);
  const doctorRb = await cp.kubectl(['-n', 'kube-system', 'get', 'rolebinding', `${rbac}-doctor`, '-o', 'jsonpath={.subjects[0].namespace}']);
  assert.equal(doctorRb.stdout, ns);

  const un = await exec([helm, 'uninstall', release, ...base], { timeoutMs: 60_000 });
  assert.equal(un.code, 0, un.stderr);
  const gone = await cp.kubectl(['get', 'clusterrole', rbac, '--ignore-not-found', '-o', 'name']);
  assert.equal(gone.stdout.trim(), '');
  // The CRD (crds/) is never removed by helm: Eips survive an uninstall.
  const crd = await cp.kubectl(['get', 'crd', 'eips.network.kubesphere.io', '-o', 'name']);
  assert.equal(crd.code, 0);
});
