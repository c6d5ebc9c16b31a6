// `openelb-ts doctor` against the real API server, as the speaker's ServiceAccount (so with
// exactly deploy/openelb.yaml's RBAC): the kube-proxy ConfigMap read (missing -> cannot tell,
// ipvs + strictARP false -> problem and exit 1, true -> ok), Eip listing with a pool whose NIC
// is missing, a --node-name that names no Node, and an unreachable API server.
// Runs in the host namespace (the API server listens on loopback), so only the checks that do
// not depend on this machine's NICs are asserted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { controlPlane, uniqueName } from '../../scripts/kit/control-plane.ts';
import { exec, tsxArgv } from '../../scripts/kit/netns.ts';
import type { DoctorReport } from '../../src/doctor/report.ts';

const cp = await controlPlane();
after(() => cp.stop());

async function doctor(...args: string[]): Promise<{ code: number | null; report: DoctorReport }> {
  const r = await exec(tsxArgv('src/cli/main.ts', 'doctor', '--output', 'json', ...args), { timeoutMs: 40_000 });
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as DoctorReport };
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}
const check = (r: DoctorReport, name: string) => {
  const c = r.checks.find((x) => x.check === name);
  assert.ok(c, `no check ${name}: ${r.checks.map((x) => x.check).join(', ')}`);
  return c;
};

const kubeProxyConf = (mode: string, strict: boolean) =>
  `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: "${mode}"\nipvs:\n  strictARP: ${strict}\n  scheduler: ""\n`;

async function putKubeProxy(conf: string | undefined): Promise<void> {
  await cp.kubectl(['-n', 'kube-system', 'delete', 'configmap', 'kube-proxy', '--ignore-not-found']);
  if (conf === undefined) return;
  const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-proxy', namespace: 'kube-system' }, data: { 'config.conf': conf } });
  const r = await cp.kubectl(['apply', '-f', '-'], { input: manifest });
  assert.equal(r.code, 0, r.stderr);
}
after(() => putKubeProxy(undefined));

// A pool on the command line keeps the run independent of other tests' Eips.
const asSpeaker = ['--kubeconfig', cp.speakerKubeconfig, '--address', '192.0.2.91', '--interface', 'oelb-none0'];

test('kube-proxy ConfigMap: missing -> cannot tell; ipvs+strictARP false -> problem; true -> ok', async () => {
  await putKubeProxy(undefined);
  const missing = await doctor(...asSpeaker);
  assert.equal(check(missing.report, 'api').status, 'ok');
  assert.equal(check(missing.report, 'kube-proxy').status, 'unknown');
  assert.match(check(missing.report, 'kube-proxy').problem!, /no ConfigMap kube-system\/kube-proxy/);

  await putKubeProxy(kubeProxyConf('ipvs', false));
  const loose = await doctor(...asSpeaker);
  assert.equal(loose.code, 1);
  const kp = check(loose.report, 'kube-proxy');
  assert.equal(kp.status, 'problem', JSON.stringify(kp));
  assert.match(kp.problem!, /ipvs mode with strictARP false/);
  assert.match(kp.fix!, /kubectl rollout restart daemonset kube-proxy -n kube-system/);

  await putKubeProxy(kubeProxyConf('ipvs', true));
  const strict = await doctor(...asSpeaker);
  assert.equal(check(strict.report, 'kube-proxy').status, 'ok');
  assert.match(check(strict.report, 'kube-proxy').detail, /ipvs mode with strictARP: true/);
});

test('layer2 Eips are listed with the speaker RBAC; a missing NIC and an unknown node are problems', async (t) => {
  const eip = uniqueName('doctor-eip');
  const manifest = JSON.stringify({
    apiVersion: 'network.kubesphere.io/v1alpha2',
    kind: 'Eip',
    metadata: { name: eip },
    spec: { address: '192.0.2.200-192.0.2.210', interface: 'oelb-none0', protocol: 'layer2', disable: true },
  });
  const r = await cp.kubectl(['apply', '-f', '-'], { input: manifest });
  assert.equal(r.code, 0, r.stderr);
  t.after(() => cp.kubectl(['delete', 'eip', eip, '--ignore-not-found', '--wait=false']));

  const node = uniqueName('no-such-node');
  const d = await doctor('--kubeconfig', cp.speakerKubeconfig, '--node-name', node);
  assert.equal(d.code, 1);
  assert.equal(check(d.report, 'eips').status, 'ok');
  assert.match(check(d.report, 'node').problem!, new RegExp(`no Node named ${node}`));
  const nic = check(d.report, `nic ${eip}`);
  assert.equal(nic.status, 'problem');
  assert.match(nic.problem!, /NIC oelb-none0 \(spec\.interface\) does not exist/);
  assert.match(nic.fix!, new RegExp(`spec\\.interface of Eip ${eip}`));
});

test('an unreachable API server is a problem that names the server', async () => {
  const dead = `${cp.kubeconfig}.dead`;
  const { readFileSync, writeFileSync, rmSync } = await import('node:fs');
  // Same credentials, a port nothing listens on.
  writeFileSync(dead, readFileSync(cp.kubeconfig, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:9'));
  try {
    const d = await doctor('--kubeconfig', dead, '--api-timeout-ms', '2000');
    assert.equal(d.code, 1);
    const api = check(d.report, 'api');
    assert.equal(api.status, 'problem');
    assert.match(api.problem!, /https:\/\/127\.0\.0\.1:9 .*unreachable/);
    assert.equal(check(d.report, 'kube-proxy').status, 'unknown');
  } finally {
    rmSync(dead, { force: true });
  }
});
