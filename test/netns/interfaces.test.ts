// NIC facts read from a real kernel: a fresh namespace with NICs in every state chooseNic
// cares about; the reader runs inside it (test/netns/fixtures/nic-facts.ts) on Node and Deno.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, type Netns, denoArgv, listNamespaces, tsxArgv } from '../../scripts/kit/netns.ts';
import {
  type NicFacts,
  type ProcTexts,
  type SysNicFiles,
  nicFactsFrom,
  parseSysNic,
} from '../../src/l2/interfaces.ts';
import { type NicChoiceInput, chooseNic } from '../../src/speaker/nic-choice.ts';

interface Captured {
  sys: Record<string, SysNicFiles>;
  proc: ProcTexts;
}

async function build(ns: Netns): Promise<void> {
  const ip = (...a: string[]) => ns.ip(...a);
  // up0: a LAN NIC, up, v4 + v6
  await ip('link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p');
  await ip('addr', 'add', '10.20.0.2/24', 'dev', 'up0');
  await ip('addr', 'add', '2001:db8:20::2/64', 'dev', 'up0', 'nodad');
  await ip('link', 'set', 'up0p', 'up');
  await ip('link', 'set', 'up0', 'up');
  // dn0: has addresses but is administratively down (dummy NICs need a module this kernel lacks)
  await ip('link', 'add', 'dn0', 'type', 'veth', 'peer', 'name', 'dn0p');
  await ip('addr', 'add', '10.30.0.2/24', 'dev', 'dn0');
  await ip('addr', 'add', '2001:db8:30::2/64', 'dev', 'dn0', 'nodad');
  await ip('link', 'set', 'dn0p', 'up');
  // br0 with port0 enslaved
  await ip('link', 'add', 'br0', 'type', 'bridge');
  await ip('link', 'add', 'port0', 'type', 'veth', 'peer', 'name', 'port0p');
  await ip('link', 'set', 'port0', 'master', 'br0');
  await ip('link', 'set', 'port0', 'up');
  await ip('link', 'set', 'port0p', 'up');
  await ip('link', 'set', 'br0', 'up');
  await ip('addr', 'add', '10.40.0.2/24', 'dev', 'br0');
  await ip('addr', 'add', '2001:db8:40::2/64', 'dev', 'br0', 'nodad');
  // routes: defaults via up0, a gateway route via br0, two metrics for one prefix
  await ip('route', 'add', 'default', 'via', '10.20.0.1');
  await ip('route', 'add', '172.16.0.0/16', 'via', '10.40.0.1');
  await ip('route', 'add', '10.60.0.0/16', 'via', '10.20.0.1', 'metric', '100');
  await ip('route', 'add', '10.60.0.0/16', 'via', '10.40.0.1', 'metric', '50');
  await ip('-6', 'route', 'add', 'default', 'via', '2001:db8:20::1');
  await ip('-6', 'route', 'add', '2001:db8:99::/48', 'via', '2001:db8:40::1');
}

const factsOf = (c: Captured): NicFacts =>
  nicFactsFrom(
    Object.entries(c.sys).map(([n, f]) => parseSysNic(n, f)),
    c.proc,
  );

test('chooseNic over the facts of a real namespace', async (t) => {
  const lab = await Lab.create(t);
  const ns = await lab.namespace('nic');
  await build(ns);
  const captured = JSON.parse(await ns.run(tsxArgv('test/netns/fixtures/nic-facts.ts'), { timeoutMs: 20_000 })) as Captured;
  const facts = factsOf(captured);

  // sysfs as read in the namespace matches what ip(8) says
  const br = facts.nics.find((n) => n.name === 'br0');
  assert.equal(br?.mac, (await ns.link('br0')).mac);
  assert.equal(br?.index, (await ns.link('br0')).ifindex);
  assert.equal(facts.nics.find((n) => n.name === 'port0')?.master, 'br0');
  assert.equal(facts.nics.find((n) => n.name === 'dn0')?.up, false);

  const choose = (o: Partial<NicChoiceInput>) =>
    chooseNic({ eipName: 'eip-lab', poolFirstIp: '10.20.0.100', poolFamily: 4, node: 'lab-node', ...o }, facts);
  const nic = (o: Partial<NicChoiceInput>): string => {
    const c = choose(o);
    assert.ok(c.ok, c.ok ? '' : c.message);
    return c.nic;
  };
  const refusal = (o: Partial<NicChoiceInput>): string => {
    const c = choose(o);
    assert.ok(!c.ok, `expected a refusal, got ${c.ok ? c.nic : ''}`);
    assert.match(c.message, /Eip eip-lab/);
    return c.message;
  };

  // by name
  assert.equal(nic({ interface: 'up0' }), 'up0');
  assert.equal(nic({ interface: 'br0' }), 'br0');
  // can_reach
  assert.equal(nic({ interface: 'can_reach:10.20.0.77' }), 'up0');
  assert.equal(nic({ interface: 'can_reach:172.16.9.9' }), 'br0');
  assert.equal(nic({ interface: 'can_reach:198.51.100.1' }), 'up0'); // default route
  assert.equal(nic({ interface: 'can_reach:10.60.0.1' }), 'br0'); // lower metric
  assert.equal(nic({ interface: 'can_reach:2001:db8:99::1' }), 'br0');
  assert.equal(nic({ interface: 'can_reach:2001:db8:5555::1' }), 'up0');
  // subnet inference, v4 and v6
  assert.equal(nic({}), 'up0');
  assert.equal(nic({ poolFirstIp: '10.40.0.200' }), 'br0');
  assert.equal(nic({ poolFirstIp: '2001:db8:40::100', poolFamily: 6 }), 'br0');
  assert.equal(nic({ poolFirstIp: '2001:db8:20::100', poolFamily: 6 }), 'up0');
  // node annotation overrides
  assert.equal(nic({ interface: 'up0', nodeAnnotationIp: '10.40.0.2' }), 'br0');
  assert.equal(nic({ interface: 'br0', nodeAnnotationIp: '2001:db8:20::2' }), 'up0');
  // refusals
  assert.match(refusal({ interface: 'port0' }), /enslaved to br0.*spec.interface to br0/);
  assert.match(refusal({ interface: 'dn0' }), /dn0 .*is down/);
  assert.match(refusal({ nodeAnnotationIp: '2001:db8:30::2' }), /dn0 .*is down/);
  assert.match(refusal({ interface: 'lo' }), /loopback NIC/);
  assert.match(refusal({ interface: 'can_reach:127.0.0.1' }), /loopback address/);
  assert.match(refusal({ nodeAnnotationIp: '127.0.0.1' }), /loopback NIC/);
  assert.match(refusal({ interface: 'eth0' }), /eth0 .*does not exist on node lab-node/);
  assert.match(refusal({ poolFirstIp: '10.30.0.10' }), /no subnet directly connected/); // dn0's subnet is gone while down

  // bringing dn0 up makes it the answer for its subnet (facts re-read, nothing cached)
  await ns.ip('link', 'set', 'dn0', 'up');
  const after = factsOf(JSON.parse(await ns.run(tsxArgv('test/netns/fixtures/nic-facts.ts'), { timeoutMs: 20_000 })) as Captured);
  const c = chooseNic({ eipName: 'eip-lab', poolFirstIp: '10.30.0.10', poolFamily: 4 }, after);
  assert.ok(c.ok && c.nic === 'dn0', c.ok ? c.nic : c.message);
  const viaAnnotation = chooseNic({ eipName: 'eip-lab', poolFirstIp: '10.30.0.10', poolFamily: 4, nodeAnnotationIp: '10.30.0.2' }, after);
  assert.ok(viaAnnotation.ok && viaAnnotation.nic === 'dn0');

  // the reader gives the same facts on Deno
  const onDeno = JSON.parse(await ns.run(denoArgv('test/netns/fixtures/nic-facts.ts'), { timeoutMs: 60_000 })) as Captured;
  const again = JSON.parse(await ns.run(tsxArgv('test/netns/fixtures/nic-facts.ts'), { timeoutMs: 20_000 })) as Captured;
  assert.deepEqual(Object.keys(onDeno.sys), Object.keys(again.sys));
  assert.deepEqual(onDeno.sys, again.sys);
  assert.equal(onDeno.proc.route, again.proc.route);
  assert.equal(onDeno.proc.fibTrie, again.proc.fibTrie);

  await lab.teardown();
  assert.ok(!(await listNamespaces()).includes(ns.name), `namespace ${ns.name} left behind`);
});
