// Pool NIC and subnet verdicts over NIC facts captured from a real namespace
// (test/unit/l2/fixtures/nic-facts/netns.json, described in test/unit/l2/interfaces.test.ts):
//   up0 up 10.20.0.2/24 | dn0 DOWN 10.30.0.2/24 | br0 up 10.40.0.2/24 | port0 enslaved to br0
//   na0 up, arp off, 10.50.0.2/24 | IPv6 2001:db8:20::2/64 on up0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type NicFacts, type ProcTexts, type SysNicFiles, nicFactsFrom, parseSysNic } from '../../../src/l2/interfaces.ts';
import { checkPoolNic, localPoolIps } from '../../../src/doctor/pool-nic.ts';
import { parseAddressSpec } from '../../../src/ipam/range.ts';

const captured = JSON.parse(readFileSync(new URL('../l2/fixtures/nic-facts/netns.json', import.meta.url), 'utf8')) as {
  sys: Record<string, SysNicFiles>;
  proc: ProcTexts;
};
const facts: NicFacts = nicFactsFrom(
  Object.entries(captured.sys).map(([n, f]) => parseSysNic(n, f)),
  captured.proc,
);

const statuses = (v: ReturnType<typeof checkPoolNic>) => v.results.map((r) => `${r.check}:${r.status}`);

test('healthy: named NIC, pool inside its subnet', () => {
  const v = checkPoolNic({ pool: { name: 'layer2-eip', address: '10.20.0.91-10.20.0.100', interface: 'up0' }, facts });
  assert.deepEqual(statuses(v), ['nic layer2-eip:ok', 'subnet layer2-eip:ok']);
  assert.equal(v.nic, 'up0');
  assert.match(v.results[1]!.detail, /inside up0's subnet 10\.20\.0\.0\/24/);
});

test('healthy: NIC inferred from the subnet, IPv6 too', () => {
  assert.deepEqual(statuses(checkPoolNic({ pool: { name: 'e', address: '10.40.0.200/30' }, facts })), ['nic e:ok', 'subnet e:ok']);
  const v6 = checkPoolNic({ pool: { name: 'v6', address: '2001:db8:20::100-2001:db8:20::1ff' }, facts });
  assert.deepEqual(statuses(v6), ['nic v6:ok', 'subnet v6:ok']);
  assert.equal(v6.nic, 'up0');
});

test('missing NIC: problem that lists the NICs', () => {
  const v = checkPoolNic({ pool: { name: 'e', address: '10.20.0.91', interface: 'eth9' }, facts });
  assert.deepEqual(statuses(v), ['nic e:problem']);
  assert.match(v.results[0]!.problem!, /NIC eth9 .* does not exist/);
  assert.match(v.results[0]!.problem!, /up0/);
  assert.match(v.results[0]!.fix!, /spec\.interface/);
  assert.equal(v.nic, undefined);
});

test('down NIC, enslaved NIC, NOARP NIC: problems with the fix', () => {
  const down = checkPoolNic({ pool: { name: 'e', address: '10.30.0.91', interface: 'dn0' }, facts });
  assert.match(down.results[0]!.problem!, /is down/);
  assert.match(down.results[0]!.fix!, /bring it up/);
  const slave = checkPoolNic({ pool: { name: 'e', address: '10.40.0.91', interface: 'port0' }, facts });
  assert.match(slave.results[0]!.problem!, /enslaved to br0/);
  assert.match(slave.results[0]!.fix!, /spec\.interface to br0/);
  const noarp = checkPoolNic({ pool: { name: 'e', address: '10.50.0.91', interface: 'na0' }, facts });
  assert.match(noarp.results[0]!.problem!, /ARP turned off/);
});

test('pool outside the NIC subnet, or only partly inside: problem naming the subnet', () => {
  const out = checkPoolNic({ pool: { name: 'e', address: '192.168.7.91-192.168.7.100', interface: 'up0' }, facts });
  assert.deepEqual(statuses(out), ['nic e:ok', 'subnet e:problem']);
  assert.match(out.results[1]!.problem!, /outside every subnet of up0 \(10\.20\.0\.0\/24/);
  assert.match(out.results[1]!.fix!, /inside 10\.20\.0\.0\/24/);
  const partly = checkPoolNic({ pool: { name: 'e', address: '10.20.0.250-10.20.1.5', interface: 'up0' }, facts });
  assert.match(partly.results[1]!.problem!, /reaches beyond up0's subnet 10\.20\.0\.0\/24/);
  // No subnet inferred at all: chooseNic already refuses.
  const none = checkPoolNic({ pool: { name: 'e', address: '192.168.7.91' }, facts });
  assert.deepEqual(statuses(none), ['nic e:problem']);
  assert.match(none.results[0]!.problem!, /in no subnet directly connected/);
});

test('node annotation picks the NIC; a bad address spec is a problem', () => {
  const v = checkPoolNic({ pool: { name: 'e', address: '10.40.0.91' }, facts, nodeAnnotationIp: '10.20.0.2' });
  assert.equal(v.nic, 'up0');
  assert.equal(v.results[1]!.status, 'problem'); // 10.40.0.91 is not in up0's subnet
  const bad = checkPoolNic({ pool: { name: 'e', address: '10.0.0.9-10.0.0.1' }, facts });
  assert.deepEqual(statuses(bad), ['pool e:problem']);
  assert.match(bad.results[0]!.problem!, /reversed/);
});

test('localPoolIps finds node addresses inside the pool', () => {
  const r = parseAddressSpec('10.20.0.0-10.20.0.10');
  assert.ok(r.ok);
  assert.deepEqual(localPoolIps(facts, r.value), ['10.20.0.2']);
  const none = parseAddressSpec('10.20.0.91-10.20.0.100');
  assert.ok(none.ok);
  assert.deepEqual(localPoolIps(facts, none.value), []);
  const withUnattributed: NicFacts = { ...facts, unattributedV4: ['10.20.0.95'] };
  assert.deepEqual(localPoolIps(withUnattributed, none.value), ['10.20.0.95']);
});

test('a pool from --address/--interface gets fixes that name the flags, not an Eip', () => {
  const missing = checkPoolNic({ pool: { name: '--address', address: '10.20.0.91', interface: 'eth9', fromFlags: true }, facts });
  assert.match(missing.results[0]!.problem!, /^pool --address: NIC eth9 \(--interface\) does not exist/);
  assert.match(missing.results[0]!.fix!, /^fix --interface$/);
  const inferred = checkPoolNic({ pool: { name: '--address', address: '192.168.7.1', fromFlags: true }, facts });
  assert.match(inferred.results[0]!.fix!, /^set --interface to the NIC name/);
  assert.doesNotMatch(JSON.stringify(inferred.results), /Eip|spec\./);
});
