// kube-proxy ConfigMap verdicts: ipvs without strictARP is the one problem; everything the
// doctor cannot see (no ConfigMap, no RBAC, no API) is "cannot tell", never a pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKubeProxy, parseKubeProxyConfig } from '../../../src/doctor/kube-proxy.ts';

// What kubeadm writes (trimmed), as in seed 000 step 1.
const kubeadm = (mode: string, strict: string) => `apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
clusterCIDR: 10.244.0.0/16
iptables:
  masqueradeAll: false
ipvs:
  excludeCIDRs: null
  scheduler: ""
  strictARP: ${strict}
  syncPeriod: 0s
kind: KubeProxyConfiguration
mode: "${mode}"
`;

test('parse: mode and strictARP from a kubeadm config.conf', () => {
  assert.deepEqual(parseKubeProxyConfig(kubeadm('ipvs', 'true')), { ok: true, value: { mode: 'ipvs', strictARP: true } });
  assert.deepEqual(parseKubeProxyConfig(kubeadm('', 'false')), { ok: true, value: { mode: '', strictARP: false } });
  assert.deepEqual(parseKubeProxyConfig('kind: KubeProxyConfiguration\n'), { ok: true, value: { mode: '', strictARP: undefined } });
  assert.deepEqual(parseKubeProxyConfig('mode: ipvs\nipvs:\n  strictARP: "true"\n'), { ok: true, value: { mode: 'ipvs', strictARP: true } });
});

test('parse: garbage is refused with a reason', () => {
  const bad = parseKubeProxyConfig('mode: [ipvs\n');
  assert.equal(bad.ok, false);
  assert.match((bad as { message: string }).message, /not valid YAML/);
  const list = parseKubeProxyConfig('- a\n- b\n');
  assert.equal(list.ok, false);
});

test('ipvs + strictARP false or unset is a problem whose fix is the seed\'s edit and restart', () => {
  for (const strict of ['false', 'null']) {
    const r = checkKubeProxy({ kind: 'found', data: { 'config.conf': kubeadm('ipvs', strict) } });
    assert.equal(r.status, 'problem');
    assert.equal(r.ok, false);
    assert.match(r.problem!, /ipvs mode with strictARP (false|unset)/);
    assert.match(r.fix!, /kubectl edit configmap kube-proxy -n kube-system/);
    assert.match(r.fix!, /rollout restart daemonset kube-proxy/);
  }
});

test('ipvs + strictARP true passes; iptables/nftables pass whatever strictARP says', () => {
  assert.equal(checkKubeProxy({ kind: 'found', data: { 'config.conf': kubeadm('ipvs', 'true') } }).status, 'ok');
  const ipt = checkKubeProxy({ kind: 'found', data: { 'config.conf': kubeadm('', 'false') } });
  assert.equal(ipt.status, 'ok');
  assert.match(ipt.detail, /iptables \(mode unset\)/);
  assert.equal(checkKubeProxy({ kind: 'found', data: { 'config.conf': kubeadm('nftables', 'false') } }).status, 'ok');
});

test('what cannot be seen is "cannot tell", with a hint, never ok or problem', () => {
  const cases = [
    checkKubeProxy({ kind: 'missing' }),
    checkKubeProxy({ kind: 'forbidden', message: 'forbidden (HTTP 403)' }),
    checkKubeProxy({ kind: 'error', message: 'timeout' }),
    checkKubeProxy({ kind: 'no-api', why: '--offline' }),
    checkKubeProxy({ kind: 'found', data: { other: 'x' } }),
    checkKubeProxy({ kind: 'found', data: undefined }),
    checkKubeProxy({ kind: 'found', data: { 'config.conf': '{{{' } }),
  ];
  for (const r of cases) {
    assert.equal(r.status, 'unknown', r.detail);
    assert.equal(r.ok, true);
  }
  assert.match(cases[0]!.problem!, /no ConfigMap kube-system\/kube-proxy/);
  assert.match(cases[0]!.fix!, /--ipvs-strict-arp/);
  assert.match(cases[1]!.fix!, /openelb-speaker-doctor/);
});
