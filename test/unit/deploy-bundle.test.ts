// deploy/openelb.yaml must be exactly what scripts/bundle.ts renders from the
// pieces, and the pieces must say what SPEC.md §1 promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { renderBundle, DEPLOY_DIR } from '../../scripts/bundle.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking parsed YAML of any shape
type Obj = Record<string, any>;
// loadAllYaml returns client-node model instances; JSON round-trip makes them plain objects.
const load = (p: string): Obj[] =>
  (JSON.parse(JSON.stringify(loadAllYaml(readFileSync(join(DEPLOY_DIR, p), 'utf8')))) as Obj[]).filter(Boolean);

test('deploy/openelb.yaml is up to date (run `npx tsx scripts/bundle.ts`)', () => {
  const committed = readFileSync(join(DEPLOY_DIR, 'openelb.yaml'), 'utf8');
  assert.equal(committed, renderBundle(), 'deploy/openelb.yaml is stale: run `npx tsx scripts/bundle.ts`');
});

test('the bundle holds namespace, CRD, RBAC and DaemonSet in apply order', () => {
  const kinds = load('openelb.yaml').map((o) => `${o.kind}/${o.metadata?.name}`);
  assert.deepEqual(kinds, [
    'Namespace/openelb-system',
    'CustomResourceDefinition/eips.network.kubesphere.io',
    'CustomResourceDefinition/bgpconfs.network.kubesphere.io',
    'CustomResourceDefinition/bgppeers.network.kubesphere.io',
    'ServiceAccount/openelb-speaker',
    'ClusterRole/openelb-speaker',
    'ClusterRoleBinding/openelb-speaker',
    'Role/openelb-speaker',
    'RoleBinding/openelb-speaker',
    'Role/openelb-speaker-doctor',
    'RoleBinding/openelb-speaker-doctor',
    'DaemonSet/openelb-ts-speaker',
  ]);
});

test('Eip CRD: names, versions, columns', () => {
  const [crd] = load('crds/eip.yaml');
  assert.ok(crd);
  assert.equal(crd.spec.group, 'network.kubesphere.io');
  assert.equal(crd.spec.scope, 'Cluster');
  assert.deepEqual(crd.spec.names.categories, ['networking']);
  assert.equal(crd.spec.names.plural, 'eips');
  assert.equal(crd.spec.conversion.strategy, 'None');
  const [v2, v1] = crd.spec.versions;
  assert.equal(v2.name, 'v1alpha2');
  assert.equal(v2.storage, true);
  assert.deepEqual(v2.subresources, { status: {} });
  assert.equal(v1.name, 'v1alpha1');
  assert.equal(v1.served, true);
  assert.equal(v1.storage, false);
  // Same schema in both versions: that is what makes conversion None safe.
  assert.deepEqual(v1.schema, v2.schema);
  assert.deepEqual(v1.additionalPrinterColumns, v2.additionalPrinterColumns);
  const cols = v2.additionalPrinterColumns.map((c: Obj) => [c.name, c.jsonPath]);
  assert.deepEqual(cols.slice(0, 3), [
    ['CIDR', '.spec.address'],
    ['USAGE', '.status.usage'],
    ['TOTAL', '.status.poolSize'],
  ]);
});

test('BgpConf and BgpPeer CRDs: cluster-scoped, v1alpha2 stored, v1alpha1 served with the same schema, /status', () => {
  for (const [file, plural, kind] of [['crds/bgpconf.yaml', 'bgpconfs', 'BgpConf'], ['crds/bgppeer.yaml', 'bgppeers', 'BgpPeer']] as const) {
    const [crd] = load(file);
    assert.ok(crd, file);
    assert.equal(crd.metadata.name, `${plural}.network.kubesphere.io`);
    assert.equal(crd.spec.group, 'network.kubesphere.io');
    assert.equal(crd.spec.scope, 'Cluster');
    assert.equal(crd.spec.names.kind, kind);
    assert.equal(crd.spec.names.plural, plural);
    assert.equal(crd.spec.conversion.strategy, 'None');
    const [v2, v1] = crd.spec.versions;
    assert.deepEqual([v2.name, v2.served, v2.storage], ['v1alpha2', true, true]);
    assert.deepEqual([v1.name, v1.served, v1.storage], ['v1alpha1', true, false]);
    assert.deepEqual(v2.subresources, { status: {} });
    assert.deepEqual(v1.subresources, { status: {} });
    // Same schema in both versions: conversion None only rewrites apiVersion, so nothing written
    // as v1alpha1 may be pruned when stored as v1alpha2.
    assert.deepEqual(v1.schema, v2.schema);
    assert.deepEqual(v1.additionalPrinterColumns, v2.additionalPrinterColumns);
  }
  const [conf] = load('crds/bgpconf.yaml');
  const spec = conf!.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
  for (const f of ['as', 'asPerRack', 'routerId', 'listenPort', 'listenAddresses', 'families', 'useMultiplePaths', 'gracefulRestart', 'policy']) assert.ok(spec[f], `BgpConf spec.${f}`);
  assert.equal(spec.as.maximum, 4294967295);
  const [peer] = load('crds/bgppeer.yaml');
  const pspec = peer!.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
  for (const f of ['conf', 'timers', 'transport', 'ebgpMultihop', 'afiSafis', 'gracefulRestart', 'nodeSelector']) assert.ok(pspec[f], `BgpPeer spec.${f}`);
  for (const f of ['neighborAddress', 'peerAs', 'authPassword', 'description', 'adminDown', 'localAs']) assert.ok(pspec.conf.properties[f], `BgpPeer spec.conf.${f}`);
  const st = peer!.spec.versions[0].schema.openAPIV3Schema.properties.status.properties.nodesPeerStatus.additionalProperties.properties;
  assert.ok(st.peerState.properties.sessionState && st.peerState.properties.messages && st.timersState.properties.uptime && st.timersState.properties.negotiatedHoldTime);
});

test('DaemonSet: speaker flags, env, NET_RAW only, no CPU limit', () => {
  const [ds] = load('daemonset.yaml');
  assert.ok(ds);
  const pod = ds.spec.template.spec;
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
  assert.equal(pod.serviceAccountName, 'openelb-speaker');
  const c = pod.containers[0];
  assert.deepEqual([...c.command, ...c.args].slice(0, 3), ['openelb-ts', 'speaker', '--enable-layer2=true']);
  const env = Object.fromEntries(c.env.map((e: Obj) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
  assert.equal(env.NODE_NAME, 'spec.nodeName');
  assert.equal(env.OPENELB_NAMESPACE, 'metadata.namespace');
  assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['NET_RAW'] });
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.resources.limits.cpu, undefined);
  assert.ok(c.resources.limits.memory);
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  // Nothing on every interface: /metrics and health on loopback, and the probes go where health
  // listens (hostNetwork: the kubelet's 127.0.0.1 is the pod's).
  const value = Object.fromEntries(c.env.map((e: Obj) => [e.name, e.value]));
  assert.equal(value.OPENELB_METRICS_ADDR, '127.0.0.1:7472');
  assert.equal(value.OPENELB_HEALTH_ADDR, '127.0.0.1:7474');
  assert.equal(env.HOST_IP, 'status.hostIP');
  assert.ok(!c.args.some((a: string) => a.startsWith('--metrics-addr')), 'no --metrics-addr in args (the env var is the one place)');
  const health = c.ports.find((p: Obj) => p.name === 'health');
  for (const probe of [c.readinessProbe, c.livenessProbe]) {
    assert.equal(probe.httpGet.host, '127.0.0.1');
    assert.equal(probe.httpGet.port, 'health');
  }
  assert.equal(`127.0.0.1:${health.containerPort}`, value.OPENELB_HEALTH_ADDR);
  const taints = pod.tolerations.map((t: Obj) => t.key).sort();
  assert.deepEqual(taints, ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master']);
});

test('deploy/monitoring: the metrics Service selects the speaker pods and targets their named port', () => {
  const [svc, sm] = load('monitoring/metrics.yaml');
  const ds = load('daemonset.yaml').find((o) => o.kind === 'DaemonSet');
  assert.ok(svc && sm && ds);
  const podLabels = ds.spec.template.metadata.labels as Record<string, string>;
  for (const [k, v] of Object.entries(svc.spec.selector as Record<string, string>)) assert.equal(podLabels[k], v, `pod label ${k}`);
  const ports = ds.spec.template.spec.containers[0].ports as Array<{ name: string; containerPort: number }>;
  const metrics = ports.find((p) => p.name === 'metrics');
  assert.ok(metrics, 'the DaemonSet names its metrics port');
  assert.equal(svc.spec.ports[0].targetPort, 'metrics');
  const c = ds.spec.template.spec.containers[0];
  const addr = (c.args as string[]).find((a) => a.startsWith('--metrics-addr='))?.split('=')[1]
    ?? (c.env as Array<{ name: string; value?: string }>).find((e) => e.name === 'OPENELB_METRICS_ADDR')?.value;
  if (addr) assert.ok(addr.endsWith(`:${metrics.containerPort}`), `the named port is where /metrics listens (${addr})`);
  for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Record<string, string>)) assert.equal(svc.metadata.labels[k], v);
  assert.equal(sm.spec.endpoints[0].port, 'metrics');
});

test('deploy/chart is up to date with the pieces (run `npx tsx scripts/chart.ts`)', async () => {
  const { renderChart, CHART_DIR } = await import('../../scripts/chart.ts');
  for (const [rel, text] of renderChart()) {
    assert.equal(readFileSync(join(CHART_DIR, rel), 'utf8'), text, `deploy/chart/${rel} is stale: run \`npx tsx scripts/chart.ts\``);
  }
});
