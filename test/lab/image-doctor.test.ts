// `openelb-ts doctor` as the command of the DaemonSet's pod (the image from `npm run image`, run by
// scripts/lab/image-runtime.ts exactly as deploy/openelb.yaml says: uid 0, only NET_RAW, read-only
// root, no privilege escalation, in-cluster credentials): it finds nothing wrong on a lab node. The
// same pod without NET_RAW in capabilities.add still starts (no file capability on node to make
// exec fail) and doctor names the missing capability and the securityContext line that fixes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeedLab } from '../../scripts/lab/lab.ts';

interface Report {
  checks: Array<{ check: string; status: string; detail?: string; problem?: string; fix?: string }>;
}

test('doctor in the image, as the DaemonSet\'s pod: no problem; without NET_RAW: the missing capability, explained', { timeout: 180_000 }, async (t) => {
  const lab = await SeedLab.create({ t, runtime: 'image' });
  await lab.createEip();
  const node = lab.nodes[1]!;
  const pod = { name: node.name, ip4: node.spec.ip4, netns: node.netns.name };

  const ok = await lab.image!.runOnce(pod, { args: ['doctor', '--output', 'json'] });
  assert.equal(ok.code, 0, `doctor in the pod found a problem:\n${ok.stdout}\n${ok.stderr}`);
  const good = JSON.parse(ok.stdout) as Report;
  assert.deepEqual(good.checks.filter((c) => c.status === 'problem'), []);
  assert.equal(good.checks.find((c) => c.check === 'CAP_NET_RAW')?.status, 'ok');
  // It reached the API server with the pod's in-cluster credentials (token + ca.crt mounted, KUBERNETES_SERVICE_*).
  assert.equal(good.checks.find((c) => c.check === 'api')?.status, 'ok', ok.stdout);

  const bad = await lab.image!.runOnce(pod, { args: ['doctor'], withoutCaps: ['NET_RAW'] });
  assert.ok(!bad.argv.includes('CAP_NET_RAW'), bad.argv.join(' '));
  assert.equal(bad.code, 1, `doctor without NET_RAW:\n${bad.stdout}\n${bad.stderr}`);
  assert.match(bad.stdout, /PROBLEM\s+CAP_NET_RAW\s+CAP_NET_RAW is not in this process's effective capabilities \(uid 0\)/);
  assert.match(bad.stdout, /capabilities\.add: \[NET_RAW\]/);
  assert.match(bad.stdout, /^1 problem,/m);
});
