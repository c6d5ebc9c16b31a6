// ARP sysctl verdicts: the effective value is max(all, nic); loose values are a problem only
// when pool IPs are (or, in ipvs mode, will be) local addresses of the node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkArpSysctls, effective, parseSysctlInt } from '../../../src/doctor/arp-sysctl.ts';

const loose = { arpIgnore: 0, arpAnnounce: 0 };
const strict = { arpIgnore: 1, arpAnnounce: 2 };

test('parseSysctlInt and effective = max(all, nic)', () => {
  assert.equal(parseSysctlInt('1\n'), 1);
  assert.equal(parseSysctlInt(''), undefined);
  assert.equal(parseSysctlInt(undefined), undefined);
  assert.equal(parseSysctlInt('x'), undefined);
  assert.equal(effective(0, 1), 1);
  assert.equal(effective(2, 0), 2);
  assert.equal(effective(undefined, 1), 1);
  assert.equal(effective(undefined, undefined), undefined);
});

test('a local pool IP with arp_ignore=0 is a problem naming the IP, the NIC and the fix', () => {
  const r = checkArpSysctls({ nic: 'eth0', all: loose, iface: loose, proxyMode: '', localPoolIps: ['192.168.0.91'] });
  assert.equal(r.status, 'problem');
  assert.match(r.problem!, /192\.168\.0\.91 is a local address of this node/);
  assert.match(r.problem!, /on eth0/);
  assert.match(r.fix!, /strictARP: true/);
  assert.match(r.fix!, /net\.ipv4\.conf\.all\.arp_ignore=1/);
});

test('ipvs mode with loose sysctls is a problem even before any IP is bound', () => {
  const r = checkArpSysctls({ nic: 'eth0', all: loose, iface: loose, proxyMode: 'ipvs', localPoolIps: [] });
  assert.equal(r.status, 'problem');
  assert.match(r.problem!, /ipvs mode/);
});

test('strict values pass, from all or from the NIC alone', () => {
  assert.equal(checkArpSysctls({ nic: 'eth0', all: strict, iface: loose, proxyMode: 'ipvs', localPoolIps: ['10.0.0.1'] }).status, 'ok');
  assert.equal(checkArpSysctls({ nic: 'eth0', all: loose, iface: strict, proxyMode: 'ipvs', localPoolIps: ['10.0.0.1'] }).status, 'ok');
  // arp_ignore alone is not enough: arp_announce=0 lets the VIP leak as the sender of our own requests.
  const half = checkArpSysctls({ nic: 'eth0', all: { arpIgnore: 1, arpAnnounce: 0 }, iface: loose, proxyMode: 'ipvs', localPoolIps: [] });
  assert.equal(half.status, 'problem');
});

test('loose values are fine in iptables mode with no local pool IP, and unknown when the mode is unknown', () => {
  assert.equal(checkArpSysctls({ nic: 'eth0', all: loose, iface: loose, proxyMode: '', localPoolIps: [] }).status, 'ok');
  assert.equal(checkArpSysctls({ nic: 'eth0', all: loose, iface: loose, proxyMode: 'nftables', localPoolIps: [] }).status, 'ok');
  const u = checkArpSysctls({ nic: 'eth0', all: loose, iface: loose, proxyMode: undefined, localPoolIps: [] });
  assert.equal(u.status, 'unknown');
  assert.match(u.detail, /unknown here/);
});

test('unreadable sysctls cannot be judged', () => {
  assert.equal(checkArpSysctls({ nic: 'eth9', all: {}, iface: undefined, proxyMode: 'ipvs', localPoolIps: [] }).status, 'unknown');
});

test('sysctl targets: NICs with an IPv4 pool; IPv6-only NICs skipped; `all` when there is no pool', async () => {
  const { sysctlTargets } = await import('../../../src/doctor/arp-sysctl.ts');
  const m = new Map<string, (4 | 6)[]>([
    ['eth0', [4]],
    ['eth1', [6]],
    ['br0', [6, 4]],
  ]);
  assert.deepEqual(sysctlTargets(m, true), ['eth0', 'br0']);
  assert.deepEqual(sysctlTargets(new Map([['eth1', [6]]]), true), []);
  assert.deepEqual(sysctlTargets(new Map(), false), ['all']);
  // Pools exist but none could be placed on a NIC (all failed): nothing to judge.
  assert.deepEqual(sysctlTargets(new Map(), true), []);
});
