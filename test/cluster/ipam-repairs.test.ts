// IPAM's rebuild reports drift between an Eip's status.used and what the Services show
// (StatusRepaired, a Warning on the Eip) only for real drift: an IP a Service already shows that
// the Eip does not list. Services that were still waiting when the term started get fresh
// allocations in that same rebuild; those are new, not repairs (in a 2,000-Service run they were
// 144 false "status did not list ..." warnings).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { controlPlane, testNamespace } from '../../scripts/kit/control-plane.ts';
import * as kit from '../../scripts/kit/ipam-helpers.ts';

const cp = await controlPlane();
const c = kit.admin(cp);
let speaker: kit.SpeakerProcess | undefined;
after(async () => {
  await speaker?.stop();
  await cp.stop();
});

test('rebuild: waiting Services get fresh IPs without StatusRepaired; an IP shown but not listed is one repair', async () => {
  const ns = await testNamespace(cp, 'ipam-repairs');
  const eip = 'repairs-pool';
  await kit.createEip(c, eip, { address: '10.77.0.0/28' }, { 'eip.openelb.kubesphere.io/is-default-eip': 'true' });
  // "shown" already shows 10.77.0.5 (written by an earlier term whose Eip commit was lost, or by
  // hand): the Eip lists nothing, so that entry is real drift.
  const shown = await kit.createService(c, ns, 'shown');
  await c.core.replaceNamespacedServiceStatus({
    namespace: ns,
    name: 'shown',
    body: { ...shown, status: { loadBalancer: { ingress: [{ ip: '10.77.0.5' }] } } },
  });
  // Waiting Services, created before any speaker runs: the first term allocates for them.
  const waiting = ['w1', 'w2', 'w3'];
  for (const n of waiting) await kit.createService(c, ns, n);

  speaker = kit.startSpeaker(cp, 'n1');
  try {
    await kit.waitLeader(c, 'n1', 30_000, speaker);
    const got = await Promise.all(waiting.map((n) => kit.waitIPs(c, ns, n, (x) => x.length === 1, 20_000)));
    const fresh = got.map((x) => x[0] as string);
    await kit.waitFor('the Eip to list all four', async () => {
      const used = ((await kit.getEip(c, eip))?.status as { used?: Record<string, string> } | undefined)?.used ?? {};
      return Object.keys(used).length === 4 || false;
    });
    const repairs = await kit.waitFor('StatusRepaired on the Eip', async () => {
      const evs = (await kit.eventsFor(c, 'default', eip)).filter((e) => e.reason === 'StatusRepaired');
      return evs.length > 0 ? evs : false;
    });
    const text = repairs.map((e) => e.message).join('\n');
    assert.match(text, /did not list 10\.77\.0\.5 \(used by [^)]*\/shown\)/);
    for (const ip of fresh) assert.ok(!text.includes(`list ${ip} `), `fresh allocation ${ip} reported as a repair:\n${text}`);
    assert.deepEqual(kit.ips(await c.core.readNamespacedService({ namespace: ns, name: 'shown' })), ['10.77.0.5']);
    assert.ok(!/repairing Eip status[^\n]*\/w\d/.test(speaker.log()), 'the log reports a fresh allocation as a repair');
  } finally {
    await kit.cleanup(c, ['shown', ...waiting].map((n) => [ns, n] as [string, string]), [eip]).catch(() => {});
  }
});
