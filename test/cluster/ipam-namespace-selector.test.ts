// spec.namespaceSelector as upstream OpenELB writes it (a plain label map, `{env: prod}`) and as
// `matchLabels`, against the real API server and one speaker: kubectl applies upstream's form
// without a strict-decoding error, a labelled namespace draws from the pool, an unlabelled one
// does not, and a selector the daemon cannot read (garbage, or the `{}` a pruning schema left
// behind) keeps the pool restricted instead of opening it to every namespace.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import { controlPlane, testNamespace, uniqueName, type ControlPlane } from '../../scripts/kit/control-plane.ts';
import {
  admin,
  cleanup,
  createEip,
  createService,
  getEip,
  getService,
  ips,
  sleep,
  startSpeaker,
  waitEvent,
  waitFor,
  waitIPs,
  waitLeader,
  type SpeakerProcess,
} from '../../scripts/kit/ipam-helpers.ts';
import { mergePatchOptions, type TypedKubeClient } from '../../scripts/kit/typed-client.ts';

let cp: ControlPlane;
let c: TypedKubeClient;
let speaker: SpeakerProcess;
const net = `10.${randomInt(100, 250)}.${randomInt(0, 250)}`;
const services: Array<[string, string]> = [];
const eips: string[] = [];

before(async () => {
  cp = await controlPlane();
  c = admin(cp);
  speaker = startSpeaker(cp, uniqueName('nssel'));
  await waitLeader(c, speaker.node, 30_000, speaker);
});

after(async () => {
  await cleanup(c, services, eips);
  await speaker.stop();
});

async function labelledNamespace(prefix: string, labels: Record<string, string>): Promise<string> {
  const ns = await testNamespace(cp, prefix);
  if (Object.keys(labels).length) await c.core.patchNamespace({ name: ns, body: { metadata: { labels } } }, mergePatchOptions());
  return ns;
}

async function svc(ns: string): Promise<string> {
  const name = uniqueName('svc');
  services.push([ns, name]);
  await createService(c, ns, name);
  return name;
}

async function readyCondition(name: string) {
  return waitFor(`Eip ${name} to get a Ready condition`, async () => {
    const e = await getEip(c, name);
    const cond = ((e?.status?.conditions ?? []) as Array<{ type: string; status: string; reason: string; message: string }>).find((x) => x.type === 'Ready');
    return cond ?? false;
  });
}

test('upstream form {label: value} and matchLabels: kubectl applies both, only labelled namespaces draw from the pool', async () => {
  const team = uniqueName('team');
  const tier = uniqueName('tier');
  const labelled = await labelledNamespace('nssel-team', { team });
  const byMatchLabels = await labelledNamespace('nssel-tier', { tier });
  const unlabelled = await labelledNamespace('nssel-none', {});

  const upstream = uniqueName('eip-upstream');
  const ml = uniqueName('eip-ml');
  eips.push(upstream, ml);
  // Exactly as OpenELB's docs write it; kubectl apply asks the server for strict field validation.
  const manifest = `apiVersion: network.kubesphere.io/v1alpha2
kind: Eip
metadata:
  name: ${upstream}
spec:
  address: ${net}.0/28
  protocol: layer2
  interface: eth0
  priority: 10
  namespaceSelector:
    team: ${team}
---
apiVersion: network.kubesphere.io/v1alpha2
kind: Eip
metadata:
  name: ${ml}
spec:
  address: ${net}.16/28
  protocol: layer2
  interface: eth0
  namespaceSelector:
    matchLabels:
      tier: ${tier}
`;
  const r = await cp.kubectl(['apply', '-f', '-'], { input: manifest });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /strict decoding|unknown field/);
  // Stored as written: nothing pruned.
  assert.deepEqual((await getEip(c, upstream))?.spec?.namespaceSelector, { team });
  assert.deepEqual((await getEip(c, ml))?.spec?.namespaceSelector, { matchLabels: { tier } });

  const a = await svc(labelled);
  const b = await svc(byMatchLabels);
  const none = await svc(unlabelled);
  await waitIPs(c, labelled, a, [`${net}.0`]);
  await waitIPs(c, byMatchLabels, b, [`${net}.16`]);
  const ev = await waitEvent(c, unlabelled, none, 'AssignIPFailed');
  assert.match(ev.message, new RegExp(`no usable Eip lists namespace ${unlabelled}`));
  assert.deepEqual(ips(await getService(c, unlabelled, none)), []);
  assert.equal((await readyCondition(upstream)).reason, 'Ready');
});

test('a selector the daemon cannot read, or the {} pruning leaves, selects no namespace and says so on the Eip', async () => {
  const ns = await labelledNamespace('nssel-garbage', { env: '5' });
  const pruned = uniqueName('eip-pruned');
  const garbage = uniqueName('eip-garbage');
  const exprs = uniqueName('eip-exprs');
  eips.push(pruned, garbage, exprs);
  // Through the API client (no strict field validation), as a controller or script would write them.
  await createEip(c, pruned, { address: `${net}.32/28`, namespaceSelector: {} });
  await createEip(c, garbage, { address: `${net}.48/28`, namespaceSelector: { env: 5 } as unknown as Record<string, string> });
  await createEip(c, exprs, {
    address: `${net}.64/28`,
    namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Exists' }] } as unknown as Record<string, string>,
  });
  assert.deepEqual((await getEip(c, garbage))?.spec?.namespaceSelector, { env: 5 });

  for (const [name, why] of [[pruned, /is empty/], [garbage, /label "env" a value that is not a string/], [exprs, /matchExpressions/]] as const) {
    const cond = await waitFor(`Eip ${name} InvalidNamespaceSelector`, async () => {
      const r = await readyCondition(name);
      return r.reason === 'InvalidNamespaceSelector' ? r : false;
    });
    assert.match(cond.message, new RegExp(`^Eip ${name}: spec\\.namespaceSelector .*selects no namespace.*namespaceSelector: \\{env: prod\\}`));
    assert.match(cond.message, why);
    const ev = await waitEvent(c, 'default', name, 'InvalidNamespaceSelector');
    assert.equal(ev.type, 'Warning');
  }
  // A Service in a namespace that every one of them would select if read loosely stays pending.
  const s = await svc(ns);
  await waitEvent(c, ns, s, 'AssignIPFailed');
  await sleep(500);
  assert.deepEqual(ips(await getService(c, ns, s)), []);
});
