// OpenELB's BGP walkthrough ("Use OpenELB in BGP Mode") on one machine: BIRD 2 on the client
// (i-f3fozos0, 192.168.0.5, the docs' BIRD machine) peers with the three nodes' speakers; the docs'
// BgpConf, BgpPeer, Eip and Service apply unchanged; BIRD installs one ECMP kernel route for the
// Service IP with one next hop per node and curl through it reaches a pod. No node answers ARP for
// the bgp IP. externalTrafficPolicy Local narrows the next hops to nodes with a ready endpoint, a
// SIGTERM withdraws the node's route before the speaker exits, and the per-node status (session
// state, uptime, negotiated hold time, router id) and Ready conditions are written.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SeedLab, SEED } from '../../scripts/lab/lab.ts';
import { waitFor as poll } from '../../scripts/kit/ipam-helpers.ts';
import { DOCS_BGPCONF, DOCS_BGPPEER, DOCS_EIP } from '../fixtures/openelb-bgp-docs.ts';

// The docs' BgpConf without its routerId (every node would share 192.168.0.2): each node's
// InternalIP is its router id, as upstream does when routerId is empty.
const BGPCONF = DOCS_BGPCONF.replace('  routerId: 192.168.0.2\n', '');

// The docs' bird.conf, in BIRD 2 syntax (the docs use BIRD 1.6): one neighbour per node.
function birdConf(): string {
  const neighbours = SEED.nodes.map((n, i) => `
protocol bgp neighbor${i + 1} {
  local 192.168.0.5 as 50001;
  neighbor ${n.ip4} port 17900 as 50000;
  ipv4 { import all; export none; };
}`).join('\n');
  return `router id 192.168.0.5;
protocol device { scan time 10; }
protocol kernel {
  ipv4 { import none; export all; };
  merge paths on;
}
${neighbours}
`;
}

/** Poll until truthy; on timeout the speakers' logs are part of the failure. */
function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, lab: SeedLab): Promise<T> {
  return poll(what, fn, timeoutMs, 100).catch((err: Error) => {
    throw new Error(`${err.message}\n${lab.logs(60)}`);
  });
}

test('BGP walkthrough: BIRD gets an ECMP route per Service IP, curl reaches a pod, Local and SIGTERM withdraw', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oelb-bird-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lab = await SeedLab.create({ t });
  const kubectl = async (args: string[], input?: string) => {
    const r = await lab.cp.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  t.after(() => lab.cp.kubectl(['delete', '--ignore-not-found', '--wait=false', 'bgpconf/default', 'bgpconf/other', 'bgppeer/bgp-peer', 'eip/bgp-eip']));
  // Nodes as a kubelet reports them: the InternalIP is the router id when BgpConf has none.
  for (const n of lab.nodes) {
    await lab.admin.core.patchNodeStatus(
      { name: n.name, body: { status: { addresses: [{ type: 'InternalIP', address: n.spec.ip4 }, { type: 'Hostname', address: n.name }] } } },
      (await import('../../scripts/kit/typed-client.ts')).mergePatchOptions(),
    );
  }

  writeFileSync(join(dir, 'bird.conf'), birdConf());
  const bird = lab.client.spawn(['bird', '-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid')]);
  const birdc = (...cmd: string[]) => lab.client.run(['birdc', '-s', join(dir, 'bird.ctl'), ...cmd]);
  await waitFor('BIRD up', async () => (await birdc('show', 'status').catch(() => '')).includes('Daemon is up'), 10_000, lab);

  await kubectl(['apply', '-f', '-'], BGPCONF);
  await kubectl(['apply', '-f', '-'], DOCS_BGPPEER);
  await kubectl(['apply', '-f', '-'], DOCS_EIP);
  await lab.startSpeakers();
  const svc = await lab.createService({ name: 'bgp-svc', eip: 'bgp-eip', pods: 2 });
  assert.equal(svc.ip, '172.22.0.2');

  // The client's kernel (BIRD's kernel protocol, merge paths): one next hop per node.
  const nextHops = async (): Promise<string[]> => {
    const out = await lab.client.run(['ip', 'route', 'show', `${svc.ip}/32`]);
    return [...out.matchAll(/via (\S+)/g)].map((m) => m[1]!).sort();
  };
  const all = SEED.nodes.map((n) => n.ip4).sort();
  const t0 = Date.now();
  await waitFor('ECMP route via every node', async () => JSON.stringify(await nextHops()) === JSON.stringify(all), 60_000, lab);
  t.diagnostic(`route with ${all.length} next hops ${Date.now() - t0} ms after the IP was assigned`);
  assert.match(await birdc('show', 'protocols'), /neighbor1\s+BGP\s+---\s+up/);

  // Layer 2 stays silent for a bgp Eip: nobody answers ARP for the IP on the segment.
  assert.deepEqual(await lab.arpingAll(svc.ip), []);
  // curl through the router's ECMP route reaches a pod (docs, step 7).
  assert.match(await lab.curl(svc.ip), /^You've hit bgp-svc-[01]$/);

  // Status: every node's key, upstream's shapes.
  type PeerObject = { status: { nodesPeerStatus: Record<string, { peerState: Record<string, unknown>; timersState: Record<string, string> }> } };
  let seen: unknown;
  await waitFor('ESTABLISHED in every node\'s status entry', async () => {
    const p = JSON.parse(await kubectl(['get', 'bgppeer', 'bgp-peer', '-o', 'json'])) as PeerObject;
    const entries = p.status?.nodesPeerStatus ?? {};
    seen = entries;
    return SEED.nodes.every((n) => entries[n.name]?.peerState.sessionState === 'ESTABLISHED') ? p : undefined;
  }, 20_000, lab).catch((err: Error) => {
    throw new Error(`${err.message}\nstatus: ${JSON.stringify(seen)}`);
  }).then((p) => {
    for (const n of SEED.nodes) {
      const e = p.status.nodesPeerStatus[n.name]!;
      assert.equal(e.peerState.neighborAddress, '192.168.0.5');
      assert.equal(e.peerState.peerAs, 50001);
      assert.equal(e.peerState.localAs, 50000);
      assert.match(e.timersState.uptime ?? '', /^\d{4}-\d\d-\d\dT/);
      assert.equal(e.timersState.negotiatedHoldTime, '90', 'BIRD and we both default to 90 s');
      assert.ok(Number((e.peerState.messages as { sent: { update: string } }).sent.update) >= 1);
    }
  });
  const conf = JSON.parse(await kubectl(['get', 'bgpconf', 'default', '-o', 'json'])) as { status?: { nodesConfStatus?: Record<string, unknown> } };
  assert.deepEqual(conf.status?.nodesConfStatus, Object.fromEntries(SEED.nodes.map((n) => [n.name, { routerId: n.ip4, as: 50000 }])));
  const ready = async (kind: string, name: string) => {
    const o = JSON.parse(await kubectl(['get', kind, name, '-o', 'json'])) as { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } };
    return o.status?.conditions?.find((c) => c.type === 'Ready');
  };
  await waitFor('Ready conditions', async () => (await ready('bgpconf', 'default'))?.status === 'True' && (await ready('bgppeer', 'bgp-peer'))?.status === 'True', 20_000, lab);
  // A BgpConf with another name is refused on its condition (by the IPAM leader alone) and in an event.
  await kubectl(['apply', '-f', '-'], BGPCONF.replace('name: default', 'name: other'));
  const other = await waitFor('NotDefault condition', async () => {
    const c = await ready('bgpconf', 'other');
    return c?.reason === 'NotDefault' ? c : undefined;
  }, 20_000, lab);
  assert.equal(other.status, 'False');
  assert.match(other.message, /only the BgpConf named default configures the speakers .* rename it to default or delete it/);

  // SIGTERM on one node: its next hop is withdrawn before it exits (graceful, not the hold timer).
  const master = lab.node('master1');
  const stopped = await master.stopSpeaker();
  assert.equal(stopped.code, 0);
  const t1 = Date.now();
  await waitFor('master1 withdrawn', async () => !(await nextHops()).includes('192.168.0.2'), 5_000, lab);
  t.diagnostic(`withdrawn from the client's FIB ${Date.now() - t1} ms after the speaker exited (${Math.round(stopped.ms)} ms stop)`);
  assert.deepEqual(await nextHops(), all.filter((ip) => ip !== '192.168.0.2'));

  // Local: only nodes with a ready endpoint announce.
  await lab.admin.patchService(svc.namespace, svc.name, { spec: { externalTrafficPolicy: 'Local' } });
  await lab.setPods(svc, [{ node: 'worker-p002' }]);
  await waitFor('only worker-p002', async () => JSON.stringify(await nextHops()) === JSON.stringify(['192.168.0.4']), 20_000, lab);
  assert.match(await lab.curl(svc.ip), /^You've hit bgp-svc/);

  // Deleting the Service withdraws its route everywhere.
  await lab.deleteServiceNamed(svc.name);
  await waitFor('route gone', async () => (await nextHops()).length === 0, 20_000, lab);
  assert.equal(bird.result, null, `BIRD still running\n${bird.stderr}`);
});
