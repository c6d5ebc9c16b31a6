// The image's runtime layout, without a container engine: `npm run build`'s single-file bundle
// next to a node_modules holding only koffi, run by a non-root user (uid 65532, as in the
// Dockerfile) through a node binary that carries CAP_NET_RAW as a file capability. Checks that
// the bundle works (client-node and ip-address inside it), that the file capability is what
// gives a non-root speaker its raw sockets (doctor sees it; without it doctor reports the
// problem), and that the bundled `announce` answers a real ARP request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { Lab, REPO_ROOT, run, tsxArgv } from '../../scripts/kit/netns.ts';

const UID = '65532';

function layout(): { dir: string; app: string; nodeCap: string; nodePlain: string } {
  const dir = mkdtempSync(join(tmpdir(), 'oelb-image-'));
  chmodSync(dir, 0o755);
  const app = join(dir, 'app');
  cpSync(join(REPO_ROOT, 'node_modules/koffi'), join(app, 'node_modules/koffi'), { recursive: true });
  for (const p of readdirSync(join(REPO_ROOT, 'node_modules/@koromix')).filter((n) => n.startsWith('koffi-linux-'))) {
    cpSync(join(REPO_ROOT, 'node_modules/@koromix', p), join(app, 'node_modules/@koromix', p), { recursive: true });
  }
  // A copy, never a link: setcap on a hard link would change the machine's own node binary.
  const nodeCap = join(dir, 'node-netraw');
  copyFileSync(process.execPath, nodeCap);
  chmodSync(nodeCap, 0o755);
  return { dir, app, nodeCap, nodePlain: process.execPath };
}

test('bundle + koffi-only node_modules, non-root with a file capability: doctor and announce work', async (t) => {
  const img = layout();
  t.after(() => rmSync(img.dir, { recursive: true, force: true }));
  await run(tsxArgv('scripts/build.ts', '--outdir', img.app), { timeoutMs: 60_000 });
  await run(['setcap', 'cap_net_raw+ep', img.nodeCap]);
  assert.deepEqual(readdirSync(join(img.app, 'node_modules')).sort(), ['@koromix', 'koffi']);

  const lab = await Lab.create(t);
  const nodeNs = await lab.namespace('node');
  const lan = await lab.namespace('lan');
  await lab.veth(nodeNs, 'eth0', lan, 'eth0', { addrA: '10.69.0.2/24', addrB: '10.69.0.1/24' });
  const asUser = (node: string, ...args: string[]) => [
    'setpriv', '--reuid', UID, '--regid', UID, '--clear-groups', '--', node, join(img.app, 'openelb-ts.mjs'), ...args,
  ];
  const doctorArgs = ['doctor', '--offline', '--output', 'json', '--interface', 'eth0', '--address', '10.69.0.91-10.69.0.100'];

  const withCap = await nodeNs.exec(asUser(img.nodeCap, ...doctorArgs), { timeoutMs: 30_000 });
  assert.equal(withCap.code, 0, withCap.stdout + withCap.stderr);
  const okReport = JSON.parse(withCap.stdout) as { checks: Array<{ check: string; status: string }> };
  assert.equal(okReport.checks.find((c) => c.check === 'CAP_NET_RAW')?.status, 'ok');

  const plain = await nodeNs.exec(asUser(img.nodePlain, ...doctorArgs), { timeoutMs: 30_000 });
  assert.equal(plain.code, 1, plain.stdout + plain.stderr);
  const badReport = JSON.parse(plain.stdout) as { checks: Array<{ check: string; status: string; problem?: string }> };
  const cap = badReport.checks.find((c) => c.check === 'CAP_NET_RAW');
  assert.equal(cap?.status, 'problem');
  assert.match(cap?.problem ?? '', new RegExp(`uid ${UID}`));

  // The bundled announce, non-root: a neighbour's ARP request for the VIP is answered with eth0's MAC.
  const mac = (await nodeNs.link('eth0')).mac;
  const child = nodeNs.spawn(asUser(img.nodeCap, 'announce', '--interface', 'eth0', '--address', '10.69.0.91', '--no-probe'));
  let answered = '';
  for (let i = 0; i < 20 && !answered; i++) {
    const a = await lan.exec(['arping', '-c', '1', '-w', '1', '-I', 'eth0', '10.69.0.91']);
    if (a.code === 0) answered = a.stdout;
    else if (child.result) break;
  }
  await child.stop();
  assert.ok(answered, `no ARP answer from the bundled announce\n${child.stderr}`);
  assert.match(answered.toLowerCase(), new RegExp(mac.replace(/:/g, ':')));
});
