// Where the speaker's HTTP endpoints listen, against the real kernel. The speaker runs with
// hostNetwork, so "every interface" is the node's LAN: by default /metrics (Service IPs, node
// names, conflicting MACs) and the health endpoints must answer on loopback only, and a host on the
// node's network must get nothing. An explicit --metrics-addr (the node's IP, for Prometheus)
// does answer there, while health stays on loopback.
// Topology: client eth0 10.98.0.2/24 <-veth-> node eth0 10.98.0.1/24. The speaker runs IPAM- and
// Layer2-off against an API server that is not there: its HTTP listeners start all the same.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Lab, tsxArgv, type Child, type Netns } from '../../scripts/kit/netns.ts';

const NODE_IP = '10.98.0.1';

async function pair(t: TestContext): Promise<{ client: Netns; node: Netns }> {
  const lab = await Lab.create(t);
  const client = await lab.namespace('client');
  const node = await lab.namespace('node');
  await lab.veth(client, 'eth0', node, 'eth0', { addrA: ['10.98.0.2/24'], addrB: [`${NODE_IP}/24`] });
  return { client, node };
}

function kubeconfig(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'oelb-metrics-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'kubeconfig');
  // Nothing listens on port 1: the speaker never gets that far with both controllers off.
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'none', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'none', user: { token: 'x' } }],
      contexts: [{ name: 'none', context: { cluster: 'none', user: 'none' } }],
      'current-context': 'none',
    }),
  );
  return file;
}

async function speaker(node: Netns, kc: string, extra: string[] = []): Promise<Child> {
  const child = node.spawn(
    tsxArgv('src/cli/main.ts', 'speaker', '--node-name', 'n1', '--kubeconfig', kc, '--enable-layer2=false', '--enable-ipam=false', ...extra),
    { env: { KUBECONFIG: '', OPENELB_METRICS_ADDR: '', OPENELB_HEALTH_ADDR: '' } },
  );
  const end = Date.now() + 30_000;
  while (!child.stderr.includes('"speaker running"')) {
    if (child.result || Date.now() > end) assert.fail(`speaker did not start:\n${child.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

/** HTTP status from `ns`, or `refused` when nothing listens (curl exit 7). */
async function get(ns: Netns, url: string): Promise<string> {
  const r = await ns.exec(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', url]);
  if (r.code === 7) return 'refused';
  return r.stdout.trim() || `curl exit ${r.code}`;
}

test('default: /metrics and health answer on loopback only; nothing on the node IP, from the LAN or locally', async (t) => {
  const { client, node } = await pair(t);
  const sp = await speaker(node, kubeconfig(t));
  for (const port of [7472, 7474]) {
    assert.equal(await get(client, `http://${NODE_IP}:${port}/metrics`), 'refused', `port ${port} from the LAN`);
    assert.equal(await get(node, `http://${NODE_IP}:${port}/metrics`), 'refused', `port ${port} on the node IP`);
  }
  assert.equal(await get(node, 'http://127.0.0.1:7472/metrics'), '200');
  assert.equal(await get(node, 'http://127.0.0.1:7474/healthz'), '200');
  assert.equal(await get(node, 'http://127.0.0.1:7474/readyz'), '200');
  // The health listener does not serve /metrics.
  assert.equal(await get(node, 'http://127.0.0.1:7474/metrics'), '404');
  await sp.stop();
});

test('explicit --metrics-addr <node IP>:7472 answers from the LAN; health stays on loopback', async (t) => {
  const { client, node } = await pair(t);
  const sp = await speaker(node, kubeconfig(t), ['--metrics-addr', `${NODE_IP}:7472`]);
  assert.equal(await get(client, `http://${NODE_IP}:7472/metrics`), '200');
  assert.equal(await get(client, `http://${NODE_IP}:7474/healthz`), 'refused');
  assert.equal(await get(node, 'http://127.0.0.1:7472/metrics'), 'refused');
  assert.equal(await get(node, 'http://127.0.0.1:7474/readyz'), '200');
  await sp.stop();
});

test('":7472" still works but the speaker warns that it listens on every interface', async (t) => {
  const { client, node } = await pair(t);
  const sp = await speaker(node, kubeconfig(t), ['--metrics-addr', ':7472']);
  assert.equal(await get(client, `http://${NODE_IP}:7472/metrics`), '200');
  assert.match(sp.stderr, /--metrics-addr :7472 listens on every interface/);
  await sp.stop();
});
