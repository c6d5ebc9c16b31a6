// `openelb-ts doctor` against real kernels in namespaces: one healthy node set-up that exits 0,
// and one broken set-up per check (NIC down, NIC missing, pool outside the subnet, enslaved NIC,
// loose arp_ignore next to a locally bound pool IP, no CAP_NET_RAW), each exiting 1 with the
// problem and fix named. The "node" namespace plays a cluster node; the "lan" namespace is a
// neighbour on its network (client / router side). --offline: no API server in this tier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, type Netns, denoArgv, listNamespaces, tsxArgv } from '../../scripts/kit/netns.ts';
import type { DoctorReport } from '../../src/doctor/report.ts';
import type { CheckResult } from '../../src/doctor/result.ts';

interface Run {
  code: number | null;
  report: DoctorReport;
  stderr: string;
}

async function doctor(ns: Netns, args: string[], opts: { deno?: boolean; dropNetRaw?: boolean } = {}): Promise<Run> {
  const flags = ['doctor', '--offline', '--output', 'json', ...args];
  let argv = opts.deno ? denoArgv('src/cli/main.ts', ...flags) : tsxArgv('src/cli/main.ts', ...flags);
  // capsh drops NET_RAW from the bounding set, so the root shell it execs (and the doctor) lacks it.
  if (opts.dropNetRaw) argv = ['capsh', '--drop=cap_net_raw', '--', '-c', 'exec "$@"', 'doctor', ...argv];
  const r = await ns.exec(argv, { timeoutMs: 40_000, env: { NODE_NAME: 'worker-p001' } });
  let report: DoctorReport;
  try {
    report = JSON.parse(r.stdout) as DoctorReport;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

const find = (r: Run, check: string): CheckResult => {
  const c = r.report.checks.find((x) => x.check === check);
  assert.ok(c, `no check "${check}" in ${r.report.checks.map((x) => x.check).join(', ')}`);
  return c;
};
/** Every namespace this file created, to prove they are all gone at the end. */
const created: string[] = [];

const problems = (r: Run): string[] => r.report.checks.filter((c) => c.status === 'problem').map((c) => c.check);

/** A node with eth0 10.<n>.0.2/24 facing a neighbour at .1, like seed 000's worker. */
async function node(t: { after(fn: () => unknown): void }, n: number): Promise<{ lab: Lab; nodeNs: Netns; lan: Netns; net: string }> {
  const lab = await Lab.create(t);
  const nodeNs = await lab.namespace('node');
  const lan = await lab.namespace('lan');
  const net = `10.${n}.0`;
  created.push(...lab.names);
  await lab.veth(nodeNs, 'eth0', lan, 'eth0', { addrA: `${net}.2/24`, addrB: `${net}.1/24` });
  return { lab, nodeNs, lan, net };
}

test('healthy node: every check ok or cannot-tell, exit 0, on Node and Deno', async (t) => {
  const { nodeNs, net } = await node(t, 61);
  for (const deno of [false, true]) {
    const r = await doctor(nodeNs, ['--interface', 'eth0', '--address', `${net}.91-${net}.100`], { deno });
    assert.equal(r.code, 0, JSON.stringify(r.report, null, 1));
    assert.deepEqual(problems(r), []);
    assert.equal(r.report.node, 'worker-p001'); // from NODE_NAME
    assert.equal(find(r, 'nic --address').status, 'ok');
    assert.match(find(r, 'subnet --address').detail, new RegExp(`inside eth0's subnet ${net.replace(/\./g, '\\.')}\\.0/24`));
    assert.equal(find(r, 'CAP_NET_RAW').status, 'ok');
    // No API and no local pool IP: arp_ignore=0 cannot be judged, which must not fail the run.
    assert.equal(find(r, 'sysctl eth0').status, 'unknown');
  }
  // The NIC can also be inferred from the subnet, as for an Eip without spec.interface.
  const inferred = await doctor(nodeNs, ['--address', `${net}.91`]);
  assert.equal(inferred.code, 0);
  assert.match(find(inferred, 'nic --address').detail, /on eth0 .*chosen by subnet/);
});

test('NIC down: problem "is down", exit 1', async (t) => {
  const { nodeNs, net } = await node(t, 62);
  await nodeNs.ip('link', 'set', 'eth0', 'down');
  const r = await doctor(nodeNs, ['--interface', 'eth0', '--address', `${net}.91`]);
  assert.equal(r.code, 1);
  assert.deepEqual(problems(r), ['nic --address']);
  assert.match(find(r, 'nic --address').problem!, /NIC eth0 \(--interface\) .*is down/);
  assert.match(find(r, 'nic --address').fix!, /bring it up/);
});

test('NIC missing: problem lists the NICs there are, exit 1', async (t) => {
  const { nodeNs, net } = await node(t, 63);
  const r = await doctor(nodeNs, ['--interface', 'eth1', '--address', `${net}.91`]);
  assert.equal(r.code, 1);
  assert.match(find(r, 'nic --address').problem!, /NIC eth1 .*does not exist .*\(NICs: eth0\)/);
});

test('pool outside the NIC subnet: problem names the subnet, exit 1', async (t) => {
  const { nodeNs } = await node(t, 64);
  const r = await doctor(nodeNs, ['--interface', 'eth0', '--address', '192.168.0.91-192.168.0.100']);
  assert.equal(r.code, 1);
  assert.deepEqual(problems(r), ['subnet --address']);
  assert.match(find(r, 'subnet --address').problem!, /outside every subnet of eth0 \(10\.64\.0\.0\/24\)/);
  assert.match(find(r, 'subnet --address').fix!, /inside 10\.64\.0\.0\/24/);
});

test('enslaved NIC (bridge port): problem points at the master, exit 1', async (t) => {
  const { nodeNs, net } = await node(t, 65);
  await nodeNs.ip('link', 'add', 'br0', 'type', 'bridge');
  await nodeNs.ip('link', 'set', 'eth0', 'master', 'br0');
  await nodeNs.ip('link', 'set', 'br0', 'up');
  const r = await doctor(nodeNs, ['--interface', 'eth0', '--address', `${net}.91`]);
  assert.equal(r.code, 1);
  const nic = find(r, 'nic --address');
  assert.match(nic.problem!, /NIC eth0 .*is enslaved to br0/);
  assert.match(nic.fix!, /--interface to br0/);
});

test('pool IP bound on the node with arp_ignore=0: the kernel really answers, doctor says so; strict sysctls fix it', async (t) => {
  const { nodeNs, lan, net } = await node(t, 66);
  // kube-proxy ipvs binds LoadBalancer IPs to kube-ipvs0, a NOARP dummy (no dummy module here:
  // a veth with arp off stands in).
  await nodeNs.ip('link', 'add', 'kipvs0', 'type', 'veth', 'peer', 'name', 'kipvs0p');
  await nodeNs.ip('link', 'set', 'kipvs0', 'arp', 'off');
  await nodeNs.ip('addr', 'add', `${net}.91/32`, 'dev', 'kipvs0');
  await nodeNs.run(['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=0', 'net.ipv4.conf.all.arp_announce=0']);

  // Ground truth: with arp_ignore=0 the node's kernel answers ARP for the VIP on eth0 by itself.
  const answered = await lan.exec(['arping', '-c', '1', '-w', '2', '-I', 'eth0', `${net}.91`]);
  assert.equal(answered.code, 0, `kernel should answer for ${net}.91: ${answered.stdout}`);

  const loose = await doctor(nodeNs, ['--interface', 'eth0', '--address', `${net}.91-${net}.100`]);
  assert.equal(loose.code, 1);
  assert.deepEqual(problems(loose), ['sysctl eth0']);
  const s = find(loose, 'sysctl eth0');
  assert.match(s.problem!, new RegExp(`arp_ignore=0 arp_announce=0 .*${net.replace(/\./g, '\\.')}\\.91 is a local address of this node`));
  assert.match(s.fix!, /strictARP: true/);

  await nodeNs.run(['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']);
  await lan.run(['ip', 'neigh', 'flush', 'dev', 'eth0']);
  const silent = await lan.exec(['arping', '-c', '1', '-w', '2', '-I', 'eth0', `${net}.91`]);
  assert.notEqual(silent.code, 0, 'with arp_ignore=1 the kernel must stay silent for an address of another NIC');
  const strict = await doctor(nodeNs, ['--interface', 'eth0', '--address', `${net}.91-${net}.100`]);
  assert.equal(strict.code, 0, JSON.stringify(strict.report.checks, null, 1));
  assert.equal(find(strict, 'sysctl eth0').status, 'ok');
});

test('no CAP_NET_RAW (capsh --drop=cap_net_raw): raw sockets really fail, doctor says so, exit 1', async (t) => {
  const { nodeNs, net } = await node(t, 67);
  const arping = await nodeNs.exec(['capsh', '--drop=cap_net_raw', '--', '-c', `arping -c 1 -w 1 -I eth0 ${net}.1`]);
  assert.notEqual(arping.code, 0);
  assert.match(arping.stderr + arping.stdout, /not permitted/i);
  const r = await doctor(nodeNs, ['--interface', 'eth0', '--address', `${net}.91`], { dropNetRaw: true });
  assert.equal(r.code, 1);
  assert.deepEqual(problems(r), ['CAP_NET_RAW']);
  assert.match(find(r, 'CAP_NET_RAW').fix!, /NET_RAW/);
});

test('the text output is what a person reads: PROBLEM line with its fix', async (t) => {
  const { nodeNs } = await node(t, 68);
  const r = await nodeNs.exec(tsxArgv('src/cli/main.ts', 'doctor', '--offline', '--interface', 'eth0', '--address', '192.168.0.91'), { timeoutMs: 40_000 });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^ {2}PROBLEM {2}subnet --address +192\.168\.0\.91 is outside every subnet of eth0/m);
  assert.match(r.stdout, /^ +fix: choose --address inside 10\.68\.0\.0\/24/m);
  assert.match(r.stdout, /1 problem, \d+ ok, \d+ cannot tell \(exit 1\)$/m);
});

test('no namespace of this file is left behind', async () => {
  // Labs of earlier tests in this file were torn down by their t.after hooks.
  assert.equal(created.length, 16);
  const live = new Set(await listNamespaces());
  assert.deepEqual(created.filter((n) => live.has(n)), []);
});
