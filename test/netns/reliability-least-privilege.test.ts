// Reliability suite, item 4 (least privilege), packet side: `openelb-ts announce` (the same
// Announcer the speaker runs) as uid nobody with CAP_NET_RAW as its only capability (ambient, and
// the bounding set reduced to it, no_new_privs), answers arping/ndisc6; without the capability it
// exits 1 with one clear line; it never answers on another NIC or for an address it was not given.
//
// Topology: server eth0 10.99.0.1/24 fd00:99::1/64 <-> client eth0 10.99.0.2 fd00:99::2 (the
// configured NIC) and server eth1 10.99.1.1/24 fd00:99:1::1/64 <-> other eth0 10.99.1.2
// fd00:99:1::2 (a NIC it was not configured for). VIP4/VIP6 are on no NIC and arp_ignore=1, so
// only our responder could answer for them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exec, Lab, listNamespaces, REPO_ROOT, tsxArgv, type Child } from '../../scripts/kit/netns.ts';
import { CAP_NET_RAW, credentials, record } from '../reliability/proc.ts';

const MAIN = 'src/cli/main.ts';
const VIP4 = '10.99.0.77';
const VIP6 = 'fd00:99::77';
const labNames: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** setpriv argv: uid/gid nobody, no groups, only CAP_NET_RAW (or nothing), no way to gain more. */
function asNobody(withNetRaw: boolean): string[] {
  const caps = withNetRaw ? '-all,+net_raw' : '-all';
  return [
    'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
    `--inh-caps=${caps}`, ...(withNetRaw ? ['--ambient-caps=+net_raw'] : []), `--bounding-set=${caps}`, '--no-new-privs', '--',
  ];
}

async function until(cond: () => boolean | Promise<boolean>, what: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    if (child.result) break;
    await sleep(50);
  }
  assert.fail(`${what}: not within ${timeoutMs} ms\nstderr:\n${child.stderr}\nexit: ${JSON.stringify(child.result?.code)}`);
}

test('the repository is readable by nobody (precondition for the non-root runs)', async () => {
  // setpriv below switches uid before node starts: nobody must read the sources and node_modules.
  const files = ['src/cli/main.ts', 'node_modules/tsx/package.json', 'node_modules/koffi/package.json'].map((p) => `${REPO_ROOT}/${p}`);
  const r = await exec([...asNobody(false), 'sh', '-c', files.map((f) => `test -r ${f}`).join(' && ')]);
  assert.equal(r.code, 0, `nobody cannot read the repository (${files.join(', ')}): ${r.stderr}`);
});

test('as nobody with only CAP_NET_RAW (ambient): answers ARP and NDP on its NIC, for its addresses only, never on another NIC', async (t) => {
  const lab = await Lab.create(t);
  const server = await lab.namespace('server');
  const client = await lab.namespace('client');
  const other = await lab.namespace('other');
  await lab.veth(client, 'eth0', server, 'eth0', { addrA: ['10.99.0.2/24', 'fd00:99::2/64'], addrB: ['10.99.0.1/24', 'fd00:99::1/64'] });
  await lab.veth(other, 'eth0', server, 'eth1', { addrA: ['10.99.1.2/24', 'fd00:99:1::2/64'], addrB: ['10.99.1.1/24', 'fd00:99:1::1/64'] });
  labNames.push(...lab.names);
  await server.run(['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1']);
  // The other NIC's host routes VIP4/VIP6 to the server link, so its kernel asks there.
  await other.ip('route', 'add', `${VIP4}/32`, 'dev', 'eth0');
  await other.ip('-6', 'route', 'add', `${VIP6}/128`, 'dev', 'eth0');
  const serverMac = (await server.link('eth0')).mac;
  const eth1Mac = (await server.link('eth1')).mac;

  const child = server.spawn([...asNobody(true), ...tsxArgv(MAIN, 'announce', '--interface', 'eth0', '--address', VIP4, '--address', VIP6, '--probe-ms', '100', '--metrics-addr', '127.0.0.1:7472')], {
    // tsx keeps a cache under the user's temp dir; nobody's HOME does not exist.
    env: { HOME: '/tmp', TMPDIR: '/tmp' },
  });
  await until(() => (child.stderr.match(/"state":"announcing"/g) ?? []).length >= 2, 'both addresses announcing', child);

  const cred = credentials(child.pid!);
  record(t, 'non-root-announce', {
    uid: cred.uid,
    capEff: '0x' + cred.capEff.toString(16),
    capAmb: '0x' + cred.capAmb.toString(16),
    capBnd: '0x' + cred.capBnd.toString(16),
  });
  assert.equal(cred.uid, 65534, 'runs as nobody');
  assert.equal(cred.capEff, CAP_NET_RAW, 'effective capabilities: CAP_NET_RAW only');
  assert.equal(cred.capPrm, CAP_NET_RAW);
  assert.equal(cred.capAmb, CAP_NET_RAW, 'CAP_NET_RAW comes from the ambient set');
  assert.equal(cred.capBnd, CAP_NET_RAW, 'nothing else can be gained');

  // Answers on its NIC, with its NIC's MAC.
  const a = await client.exec(['arping', '-c', '2', '-w', '4', '-I', 'eth0', VIP4]);
  assert.match(a.stdout, /Received 2 response/, a.stdout + child.stderr);
  assert.ok(a.stdout.toLowerCase().includes(serverMac), a.stdout);
  const n = await client.exec(['ndisc6', '-n', '-r', '2', '-w', '1000', VIP6, 'eth0']);
  assert.equal(n.code, 0, n.stdout + n.stderr);
  assert.ok(n.stdout.toLowerCase().includes(serverMac), n.stdout);

  // Not for an address it was not given (on its own NIC).
  const notGiven = await client.exec(['arping', '-c', '2', '-w', '2', '-I', 'eth0', '10.99.0.78']);
  assert.match(notGiven.stdout, /Received 0 response/, notGiven.stdout);
  const notGiven6 = await client.exec(['ndisc6', '-n', '-r', '2', '-w', '500', 'fd00:99::78', 'eth0']);
  assert.notEqual(notGiven6.code, 0, notGiven6.stdout);

  // Not on another NIC, even for its own addresses (the kernel does not either: arp_ignore=1).
  const wrongNic = await other.exec(['arping', '-c', '2', '-w', '2', '-I', 'eth0', VIP4]);
  assert.match(wrongNic.stdout, /Received 0 response/, wrongNic.stdout);
  assert.ok(!wrongNic.stdout.toLowerCase().includes(eth1Mac));
  const wrongNic6 = await other.exec(['ndisc6', '-n', '-r', '2', '-w', '500', VIP6, 'eth0']);
  assert.notEqual(wrongNic6.code, 0, wrongNic6.stdout);

  // Still answering after all that (the negative answers above were not a dead process).
  const again = await client.exec(['arping', '-c', '1', '-w', '2', '-I', 'eth0', VIP4]);
  assert.match(again.stdout, /Received 1 response/, again.stdout);
  const r = await child.stop();
  assert.equal(r.code, 0, child.stderr);
});

test('as nobody without CAP_NET_RAW: exits 1 with one line that names the missing capability', async (t) => {
  const lab = await Lab.create(t);
  const server = await lab.namespace('server');
  const client = await lab.namespace('client');
  await lab.veth(client, 'eth0', server, 'eth0', { addrA: '10.99.0.2/24', addrB: '10.99.0.1/24' });
  labNames.push(...lab.names);
  const r = await server.exec([...asNobody(false), ...tsxArgv(MAIN, 'announce', '--interface', 'eth0', '--address', VIP4)], {
    env: { HOME: '/tmp', TMPDIR: '/tmp' },
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 1, `exit ${r.code}\n${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line expected:\n${r.stderr}`);
  assert.match(r.stderr, /^openelb-ts announce: .*CAP_NET_RAW/);
  record(t, 'non-root-no-cap', { exit: r.code, message: r.stderr.trim() });
});

test('every namespace of this file is gone', async () => {
  const left = await listNamespaces();
  assert.deepEqual(left.filter((n) => labNames.includes(n)), []);
});
