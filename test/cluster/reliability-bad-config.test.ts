// Reliability suite, item 3: bad configuration at scale. About 100 Eips and Services, most of them
// malformed or conflicting, applied at once against the real API server while the IPAM controller
// runs (`speaker --enable-layer2=false` as its own process, with the speaker's ServiceAccount).
// Each bad object gets its message (the API's rejection, an Eip condition, or a Service event
// naming it), the valid ones get and keep their IPs, nothing crashes, events are not repeated, and
// the reconcile loop is not stalled: a valid Service created afterwards gets its IP promptly.
// test/cluster/ipam-rules.test.ts checks each rule alone; this file checks them together, at once.
import { type TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import { controlPlane, testNamespace, uniqueName, type ControlPlane } from '../../scripts/kit/control-plane.ts';
import {
  admin,
  cleanup,
  createEip,
  createService,
  duplicates,
  eventsFor,
  getEip,
  getService,
  ips,
  startSpeaker,
  waitFor,
  waitLeader,
  type EipSpecIn,
  type SpeakerProcess,
  type SvcOpts,
} from '../../scripts/kit/ipam-helpers.ts';

import { record, scale } from '../reliability/proc.ts';

let cp: ControlPlane;
let c: TypedKubeClient;
let speaker: SpeakerProcess;
const B = `10.${randomInt(100, 250)}`;
const V6 = `fd00:${randomInt(0x100, 0xfff).toString(16)}`;
const svcs: Array<[string, string]> = [];
const eips: string[] = [];

before(async () => {
  cp = await controlPlane();
  c = admin(cp);
  speaker = startSpeaker(cp, uniqueName('badcfg'));
  await waitLeader(c, speaker.node, 30_000, speaker);
});

after(async () => {
  try {
    await cleanup(c, svcs, eips, 60_000);
  } finally {
    await speaker.stop();
  }
});

const named = (eip: string): Record<string, string> => ({ 'eip.openelb.kubesphere.io/v1alpha2': eip });
const wantIP = (ip: string): Record<string, string> => ({ 'eip.openelb.kubesphere.io/v1alpha1': ip });
const DEFAULT = { 'eip.openelb.kubesphere.io/is-default-eip': 'true' };

async function readyCondition(name: string): Promise<{ status: string; reason: string; message: string } | undefined> {
  const e = await getEip(c, name);
  return ((e?.status?.conditions ?? []) as Array<{ type: string; status: string; reason: string; message: string }>).find((x) => x.type === 'Ready');
}

test('about 100 malformed or conflicting Eips and Services at once: each gets its message, valid ones work, the loop does not stall', async (t) => {
  const ns = await testNamespace(cp, 'badcfg');
  const n = (prefix: string): string => uniqueName(prefix);
  const eip = async (name: string, spec: EipSpecIn, ann: Record<string, string> = {}): Promise<void> => {
    eips.push(name);
    await createEip(c, name, spec, ann);
  };
  const svc = async (name: string, o: SvcOpts): Promise<void> => {
    svcs.push([ns, name]);
    await createService(c, ns, name, o);
  };

  // Phase 1 (the cluster as it was): good pools, a default pool, a small pool, an IPv6 pool.
  const good = Array.from({ length: 10 }, () => n('good'));
  const def1 = n('def');
  const small = n('small');
  const v6pool = n('v6');
  await Promise.all([
    ...good.map((g, i) => eip(g, { address: `${B}.${i + 1}.0/26` })),
    eip(def1, { address: `${B}.40.0/28` }, DEFAULT),
    eip(small, { address: `${B}.50.0/30` }),
    eip(v6pool, { address: `${V6}::/120` }),
  ]);
  await waitFor('phase-1 Eips Ready', async () => (await Promise.all([...good, def1, small, v6pool].map(readyCondition))).every((r) => r?.status === 'True' && r.reason === 'Ready'), 30_000);
  await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has 1 s resolution: phase 2 is newer

  // Phase 2: everything below at once.
  const schemaBad: Array<[string, EipSpecIn, RegExp]> = [
    [n('bad'), { address: 'not-an-ip' }, /must be one IP/],
    [n('bad'), { address: '300.1.1.1' }, /must be one IP/],
    [n('bad'), { address: `${B}.60.0/33` }, /must be one IP/],
    [n('bad'), { address: 'a-b-c' }, /must be one IP/],
    [n('bad'), { address: `${B}.61.10-${B}.61.1` }, /range is reversed/],
    [n('bad'), { address: `${B}.62.1-${V6}::1` }, /mixes IPv4 and IPv6/],
    [n('bad'), { address: '' }, /spec.address/],
    [n('bad'), { address: `${B}.63.0/28`, protocol: 'bogus' }, /spec.protocol/],
  ];
  const reversed6 = Array.from({ length: 4 }, (_, i) => [n('rev6'), `${V6}:${i + 1}::10-${V6}:${i + 1}::1`] as const);
  const overlap = Array.from({ length: 6 }, (_, i) => [n('overlap'), good[i]!, `${B}.${i + 1}.0/28`] as const);
  const vip = Array.from({ length: 4 }, (_, i) => [n('vip'), `${B}.${70 + i}.0/28`, 'vip'] as const);
  const disabled = Array.from({ length: 2 }, (_, i) => [n('off'), `${B}.${80 + i}.0/28`] as const);
  const moreDefaults = Array.from({ length: 2 }, (_, i) => [n('def'), `${B}.${90 + i}.0/28`] as const);

  type Expect = { name: string; pattern: RegExp };
  const validSvcs: Array<{ name: string; pool: string }> = Array.from({ length: 30 }, (_, i) => ({ name: n('ok'), pool: good[i % good.length]! }));
  const badSvcs: Expect[] = [];
  const create: Array<Promise<unknown>> = [];
  const schemaErrors: Array<Promise<string>> = [];

  for (const [name, spec] of schemaBad) {
    schemaErrors.push(
      createEip(c, name, spec).then(
        () => {
          eips.push(name);
          return 'accepted';
        },
        (e: unknown) => String((e as { body?: unknown }).body ?? e),
      ),
    );
  }
  for (const [name, address] of reversed6) create.push(eip(name, { address }));
  for (const [name, , address] of overlap) create.push(eip(name, { address }));
  for (const [name, address, protocol] of vip) create.push(eip(name, { address, protocol }));
  for (const [name, address] of disabled) create.push(eip(name, { address, disable: true }));
  for (const [name, address] of moreDefaults) create.push(eip(name, { address }, DEFAULT));

  for (const v of validSvcs) create.push(svc(v.name, { annotations: named(v.pool) }));
  const bad = (pattern: RegExp, o: SvcOpts): void => {
    const name = n('bad');
    badSvcs.push({ name, pattern });
    create.push(svc(name, o));
  };
  for (let i = 0; i < 5; i++) bad(/in no Eip/, { annotations: wantIP(`${B}.254.${i + 1}`) });
  for (let i = 0; i < 3; i++) bad(/is not an IP address/, { annotations: wantIP(`${B}.0.300`) });
  for (let i = 0; i < 5; i++) bad(/no such Eip: create it or fix the annotation/, { annotations: named(n('missing')) });
  for (let i = 0; i < 3; i++) bad(/does not serve \(it serves layer2 and bgp\): set spec\.protocol: layer2 or bgp/, { annotations: named(vip[i]![0]) });
  for (let i = 0; i < 3; i++) bad(/has an invalid spec\.address/, { annotations: named(reversed6[i]![0]) });
  for (let i = 0; i < 2; i++) bad(/spec\.disable: true/, { annotations: named(disabled[i]![0]) });
  for (let i = 0; i < 3; i++) bad(/spec\.ipFamilies is \[IPv4\]/, { annotations: wantIP(`${V6}::${i + 1}`), ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' });
  // Sharing conflicts: pairs that request one IP with overlapping ports, or with Local policy.
  const pairs: Array<[string, string, string]> = [];
  for (let i = 0; i < 3; i++) {
    const ip = `${B}.10.${10 + i}`;
    const a = n('pair');
    const b = n('pair');
    pairs.push([a, b, ip]);
    const o: SvcOpts = i < 2 ? { annotations: wantIP(ip), ports: [{ port: 80 }] } : { annotations: wantIP(ip), ports: [{ port: 80 + i }], externalTrafficPolicy: 'Local' };
    create.push(svc(a, o), svc(b, i < 2 ? o : { ...o, ports: [{ port: 90 + i }] }));
  }
  // Exhaustion: 6 Services for a pool of 4 addresses.
  const exhaust = Array.from({ length: 6 }, () => n('small'));
  for (const name of exhaust) create.push(svc(name, { annotations: named(small) }));

  const t0 = performance.now();
  const created = await Promise.allSettled(create);
  const createFailures = created.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
  assert.deepEqual(createFailures, [], 'every phase-2 object the schema allows is created');
  const objects = schemaBad.length + create.length; // phase 2; phase 1 adds 13 Eips

  // The API server rejects what the schema can, with the rule's message naming the field.
  const rejections = await Promise.all(schemaErrors);
  schemaBad.forEach(([name, spec, re], i) => {
    assert.notEqual(rejections[i], 'accepted', `${name} (${JSON.stringify(spec)}) was accepted by the API server`);
    assert.match(rejections[i]!, re, `${name}: ${rejections[i]}`);
  });

  // Valid Services: each gets an IP from the pool it names.
  const settle = scale(30_000, 60_000);
  await waitFor('every valid Service to get an IP', async () => {
    const got = await Promise.all(validSvcs.map((v) => getService(c, ns, v.name)));
    return got.every((s) => ips(s).length === 1);
  }, settle, 250);
  const validMs = performance.now() - t0;
  for (const v of validSvcs) {
    const s = await getService(c, ns, v.name);
    const i = good.indexOf(v.pool) + 1;
    assert.ok(ips(s)[0]!.startsWith(`${B}.${i}.`), `${v.name} named ${v.pool} (${B}.${i}.0/26) but got ${ips(s).join(',')}`);
    assert.equal(s?.metadata?.labels?.['eip.openelb.kubesphere.io/v1alpha2'], v.pool);
  }

  // Bad Services: no IP, and an AssignIPFailed event on that Service with the reason.
  await waitFor('an AssignIPFailed event on every bad Service', async () => {
    const evs = await Promise.all(badSvcs.map((b) => eventsFor(c, ns, b.name)));
    return evs.every((e) => e.some((x) => x.reason === 'AssignIPFailed'));
  }, settle, 300);
  const wrongMessages: string[] = [];
  for (const b of badSvcs) {
    const s = await getService(c, ns, b.name);
    assert.deepEqual(ips(s), [], `${b.name} must get no IP`);
    const ev = (await eventsFor(c, ns, b.name)).filter((e) => e.reason === 'AssignIPFailed');
    if (!ev.some((e) => b.pattern.test(e.message) && e.message.includes(`Service ${ns}/${b.name}`))) wrongMessages.push(`${b.name}: want ${b.pattern}, got ${ev.map((e) => e.message).join(' | ')}`);
  }
  assert.deepEqual(wrongMessages, [], 'each failure says why');

  // Eips: a Ready condition with the reason, naming the Eip; the older pool keeps serving.
  const conditionCases: Array<[string, string, RegExp?]> = [
    ...reversed6.map(([name]) => [name, 'InvalidAddress'] as [string, string]),
    ...overlap.map(([name, older]) => [name, 'Overlap', new RegExp(older)] as [string, string, RegExp]),
    ...vip.map(([name]) => [name, 'UnsupportedProtocol'] as [string, string]),
    ...disabled.map(([name]) => [name, 'Disabled'] as [string, string]),
    ...moreDefaults.map(([name]) => [name, 'MultipleDefaults', new RegExp(def1)] as [string, string, RegExp]),
  ];
  await waitFor('every bad Eip to carry its condition', async () => {
    const conds = await Promise.all(conditionCases.map(([name]) => readyCondition(name)));
    return conds.every((r, i) => r?.reason === conditionCases[i]![1]);
  }, settle, 300);
  for (const [name, reason, mentions] of conditionCases) {
    const r = (await readyCondition(name))!;
    assert.match(r.message, new RegExp(`Eip ${name}`), `${reason} message names the Eip: ${r.message}`);
    if (mentions) assert.match(r.message, mentions, `${name} ${reason}: ${r.message}`);
  }
  for (const g of [...good, def1, small, v6pool]) assert.equal((await readyCondition(g))?.reason, 'Ready', `${g} stays Ready`);

  // Sharing conflicts: exactly one of each pair holds the IP, the other is refused with an event.
  for (const [a, b, ip] of pairs) {
    const [sa, sb] = [await getService(c, ns, a), await getService(c, ns, b)];
    const holders = [sa, sb].filter((s) => ips(s).includes(ip));
    assert.equal(holders.length, 1, `${ip}: ${a}=${ips(sa).join(',')} ${b}=${ips(sb).join(',')}`);
    const loser = ips(sa).includes(ip) ? b : a;
    const ev = await waitFor(`AssignIPFailed on ${loser}`, async () => (await eventsFor(c, ns, loser)).find((e) => e.reason === 'AssignIPFailed'));
    assert.match(ev.message, new RegExp(`${ip.replace(/\./g, '\\.')}|port|Local`), ev.message);
  }
  // Exhaustion: 4 of 6 got the 4 addresses, 2 wait with "no free address".
  const ex = await Promise.all(exhaust.map((e) => getService(c, ns, e)));
  assert.equal(ex.filter((s) => ips(s).length === 1).length, 4, 'the small pool is fully used');
  for (const s of ex.filter((x) => ips(x).length === 0)) {
    const evs = await waitFor('no free address event', async () => (await eventsFor(c, ns, s!.metadata!.name!)).find((e) => /no free address/.test(e.message)));
    assert.ok(evs);
  }

  // Not stalled: a valid Service created now gets its IP promptly.
  const late = n('late');
  const tLate = performance.now();
  await svc(late, { annotations: named(good[9]!) });
  await waitFor('the late Service to get an IP', async () => ips(await getService(c, ns, late)).length === 1, 10_000, 50);
  const lateMs = performance.now() - tLate;

  // No spam: after a few resyncs' worth of time, still one AssignIPFailed event object per cause.
  await new Promise((r) => setTimeout(r, scale(3000, 15_000)));
  const perSvc = await Promise.all(badSvcs.map(async (b) => (await eventsFor(c, ns, b.name)).filter((e) => e.reason === 'AssignIPFailed').length));
  const all = (await c.core.listNamespacedService({ namespace: ns })).items;
  assert.deepEqual(duplicates(all.filter((s) => !pairs.some(([a, b]) => s.metadata?.name === a || s.metadata?.name === b))), []);
  assert.equal(speaker.proc.exitCode, null, `speaker exited:\n${speaker.log().slice(-3000)}`);
  assert.equal(speaker.proc.signalCode, null);

  record(t, 'bad-config-at-scale', {
    objects: objects + 13,
    rejectedBySchema: schemaBad.length,
    badEips: conditionCases.length,
    badServices: badSvcs.length + pairs.length + 2,
    validServices: validSvcs.length + 4 + pairs.length,
    allValidAssignedMs: Math.round(validMs),
    lateServiceMs: Math.round(lateMs),
    maxFailedEventsPerService: Math.max(...perSvc),
  });
  assert.ok(lateMs < 5000, `a Service created after the burst waited ${lateMs.toFixed(0)} ms`);
  assert.ok(Math.max(...perSvc) <= 2, `AssignIPFailed events repeated: ${perSvc.join(',')}`);
});
