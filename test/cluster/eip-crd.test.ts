// The Eip CRD as a real API server serves it: the seeds' Eips apply unchanged,
// kubectl shows OpenELB's columns, the /status subresource takes OpenELB's
// status shape, and the schema's CEL rules reject bad pools with a message
// that names the field.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { controlPlane, uniqueName } from '../../scripts/kit/control-plane.ts';

const cp = await controlPlane();
after(() => cp.stop());

const created = new Set<string>();
after(async () => {
  if (created.size) await cp.kubectl(['delete', 'eip', '--ignore-not-found', '--wait=false', ...created]);
});

function eipJson(name: string, spec: Record<string, unknown>, version = 'v1alpha2'): string {
  return JSON.stringify({ apiVersion: `network.kubesphere.io/${version}`, kind: 'Eip', metadata: { name }, spec });
}

async function apply(manifest: string, name: string) {
  created.add(name);
  return cp.kubectl(['apply', '-f', '-'], { input: manifest });
}

// Seed 001 ("Use OpenELB in Layer 2 Mode", step 3), verbatim.
const SEED_001_EIP = `apiVersion: network.kubesphere.io/v1alpha2
kind: Eip
metadata:
  name: layer2-eip
spec:
  address: 192.168.0.91-192.168.0.100
  interface: eth0
  protocol: layer2
`;

// Seed 002/004 (OpenELB usage write-ups), with disable: false.
const SEED_002_EIP = `apiVersion: network.kubesphere.io/v1alpha2
kind: Eip
metadata:
  name: eip-pool
spec:
  address: 192.168.50.50-192.168.50.60
  protocol: layer2
  disable: false
  interface: enp1s0
`;

test('seed 001 Eip applies and `kubectl get eip` prints NAME CIDR USAGE TOTAL first', async () => {
  const r = await apply(SEED_001_EIP, 'layer2-eip');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /eip\.network\.kubesphere\.io\/layer2-eip (created|configured|unchanged)/);
  const get = await cp.kubectl(['get', 'eip', 'layer2-eip']);
  assert.equal(get.code, 0, get.stderr);
  const [header, row] = get.stdout.trimEnd().split('\n');
  assert.deepEqual(header?.split(/\s+/).slice(0, 4), ['NAME', 'CIDR', 'USAGE', 'TOTAL']);
  assert.deepEqual(row?.split(/\s+/).slice(0, 2), ['layer2-eip', '192.168.0.91-192.168.0.100']);
  // Category "networking" makes `kubectl get networking` list Eips too.
  const cat = await cp.kubectl(['get', 'networking', '-o', 'name']);
  assert.equal(cat.code, 0, cat.stderr);
  assert.match(cat.stdout, /eip\.network\.kubesphere\.io\/layer2-eip/);
});

test('seed 002 Eip applies and its status shape fits the /status subresource', async () => {
  const r = await apply(SEED_002_EIP, 'eip-pool');
  assert.equal(r.code, 0, r.stderr);
  const status = {
    status: {
      firstIP: '192.168.50.50',
      lastIP: '192.168.50.60',
      poolSize: 11,
      usage: 1,
      used: { '192.168.50.50': 'default/layer2-svc' },
      occupied: false,
      ready: true,
      v4: true,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Ready', message: 'pool ok', lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
    },
  };
  const p = await cp.kubectl([
    'patch', 'eip', 'eip-pool', '--subresource=status', '--type=merge', '-p', JSON.stringify(status),
  ]);
  assert.equal(p.code, 0, p.stderr);
  const get = await cp.kubectl(['get', 'eip', 'eip-pool', '-o', 'json']);
  const obj = JSON.parse(get.stdout);
  assert.deepEqual(obj.status, status.status);
  // The printer columns read the status.
  const table = await cp.kubectl(['get', 'eip', 'eip-pool', '--no-headers']);
  assert.deepEqual(table.stdout.trim().split(/\s+/).slice(0, 4), ['eip-pool', '192.168.50.50-192.168.50.60', '1', '11']);
  // A spec write through the main resource cannot change status.
  const sneaky = await cp.kubectl(['patch', 'eip', 'eip-pool', '--type=merge', '-p', '{"status":{"usage":7}}']);
  assert.equal(sneaky.code, 0, sneaky.stderr);
  const again = JSON.parse((await cp.kubectl(['get', 'eip', 'eip-pool', '-o', 'json'])).stdout);
  assert.equal(again.status.usage, 1);
});

const BAD: { what: string; spec: Record<string, unknown>; field: string; why: RegExp }[] = [
  { what: 'octet out of range', spec: { address: '300.1.1.1' }, field: 'spec.address', why: /must be one IP/ },
  { what: 'reversed IPv4 range', spec: { address: '10.0.0.9-10.0.0.1' }, field: 'spec.address', why: /reversed/ },
  { what: 'mixed-family range', spec: { address: '192.168.0.1-2001:db8::1' }, field: 'spec.address', why: /mixes IPv4 and IPv6/ },
  { what: 'three-part range', spec: { address: '10.0.0.1-10.0.0.2-10.0.0.3' }, field: 'spec.address', why: /must be one IP/ },
  { what: 'IPv6 zone id', spec: { address: 'fe80::1%eth0' }, field: 'spec.address', why: /must be one IP/ },
  { what: 'garbage', spec: { address: 'not-an-ip' }, field: 'spec.address', why: /must be one IP/ },
  { what: 'missing address', spec: { protocol: 'layer2' }, field: 'spec.address', why: /Required value/ },
  { what: 'unknown protocol', spec: { address: '10.0.0.1', protocol: 'foo' }, field: 'spec.protocol', why: /Unsupported value: "foo"/ },
  { what: 'negative priority', spec: { address: '10.0.0.1', priority: -1 }, field: 'spec.priority', why: /greater than or equal to 0/ },
  { what: 'can_reach without IP', spec: { address: '10.0.0.1', interface: 'can_reach:nope' }, field: 'spec.interface', why: /can_reach/ },
];

for (const bad of BAD) {
  test(`rejected by the API server: ${bad.what} (${bad.field})`, async () => {
    const name = uniqueName('oelb-bad');
    const r = await apply(eipJson(name, bad.spec), name);
    assert.notEqual(r.code, 0, `accepted ${JSON.stringify(bad.spec)}: ${r.stdout}`);
    assert.match(r.stderr, new RegExp(`${bad.field.replace('.', '\\.')}: `), r.stderr);
    assert.match(r.stderr, bad.why, r.stderr);
    const get = await cp.kubectl(['get', 'eip', name]);
    assert.notEqual(get.code, 0, 'a rejected Eip must not exist');
  });
}

const GOOD: { what: string; spec: Record<string, unknown>; version?: string }[] = [
  { what: 'single IPv4', spec: { address: '192.168.0.100' } },
  { what: 'IPv4 CIDR', spec: { address: '192.168.0.0/24', protocol: 'layer2', interface: 'eth0' } },
  { what: 'IPv6 CIDR', spec: { address: '2001:db8::/120', protocol: 'layer2' } },
  { what: 'IPv6 range', spec: { address: '2001:db8::1-2001:db8::ff', protocol: 'layer2' } },
  { what: 'one-address range', spec: { address: '10.1.1.1-10.1.1.1' } },
  { what: 'empty protocol (bgp)', spec: { address: '10.2.0.0/30', protocol: '' } },
  { what: 'bgp and vip protocols', spec: { address: '10.3.0.1', protocol: 'vip' } },
  { what: 'can_reach interface', spec: { address: '10.4.0.1', protocol: 'layer2', interface: 'can_reach:192.168.0.1' } },
  {
    what: 'every optional field',
    spec: {
      address: '10.5.0.0/29',
      protocol: 'layer2',
      interface: 'eth0',
      disable: true,
      usingKnownIPs: false,
      priority: 0,
      namespaces: ['default', 'prod'],
      namespaceSelector: { matchLabels: { team: 'net' } },
    },
  },
  { what: 'served as v1alpha1', spec: { address: '10.6.0.1-10.6.0.9', protocol: 'layer2' }, version: 'v1alpha1' },
];

for (const good of GOOD) {
  test(`accepted: ${good.what}`, async () => {
    const name = uniqueName('oelb-good');
    const r = await apply(eipJson(name, good.spec, good.version), name);
    assert.equal(r.code, 0, r.stderr);
    const get = await cp.kubectl(['get', 'eip.v1alpha2.network.kubesphere.io', name, '-o', 'json']);
    assert.equal(get.code, 0, get.stderr);
    // Nothing pruned: what we wrote is what is stored.
    assert.deepEqual(JSON.parse(get.stdout).spec, good.spec);
  });
}

test('unknown spec fields are refused by kubectl (strict field validation), not silently pruned', async () => {
  const name = uniqueName('oelb-unknown');
  const r = await apply(eipJson(name, { address: '10.7.0.1', colour: 'blue' }), name);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown field "spec\.colour"/);
});

test('`kubectl apply -f deploy/openelb.yaml` succeeds (again) on a running control plane', async () => {
  const r = await cp.kubectl(['apply', '-f', new URL('../../deploy/openelb.yaml', import.meta.url).pathname]);
  assert.equal(r.code, 0, r.stderr);
  for (const line of [
    'namespace/openelb-system',
    'customresourcedefinition.apiextensions.k8s.io/eips.network.kubesphere.io',
    'serviceaccount/openelb-speaker',
    'clusterrole.rbac.authorization.k8s.io/openelb-speaker',
    'daemonset.apps/openelb-ts-speaker',
  ]) {
    assert.ok(r.stdout.includes(line), `missing ${line} in:\n${r.stdout}`);
  }
  const ds = await cp.kubectl(['get', 'daemonset', '-n', 'openelb-system', 'openelb-ts-speaker', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
  assert.equal(ds.stdout, 'openelb-ts:0.1.0');
});
