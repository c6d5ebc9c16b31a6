// The BGP controller against a real kube-apiserver, as the speaker's ServiceAccount, with the real
// BgpSpeaker: dormant (no speaker, no writes) until BGP is configured; then each node writes only its
// own status key (router id from its IPv4 InternalIP; a node without one says why in its key and in
// an Event), the condition writer alone writes Ready conditions, status writes stay within the rate
// rule while a session keeps failing, a node the nodeSelector no longer selects removes its key, and
// stop() closes the speaker with withdraw.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { BgpSpeaker } from '../../src/bgp/speaker.ts';
import { KubeClient, type RequestOptions } from '../../src/kube/client.ts';
import { EventRecorder } from '../../src/kube/events.ts';
import { Registry } from '../../src/observe/metrics.ts';
import { BgpController, type SpeakerFactoryOptions } from '../../src/speaker/bgp-controller.ts';
import { bgpWanted } from '../../src/speaker/bgp-plan.ts';
import type { BgpSpeakerLike } from '../../src/speaker/bgp-speaker-api.ts';
import type { SpeakerContext } from '../../src/speaker/context.ts';
import { SharedInformers } from '../../src/speaker/informers.ts';
import { controlPlane, uniqueName } from '../../scripts/kit/control-plane.ts';
import { TypedKubeClient, mergePatchOptions } from '../../scripts/kit/typed-client.ts';
import { sleep, waitFor } from '../../scripts/kit/ipam-helpers.ts';
import type { EipObject } from '../../src/kube/client.ts';

const cp = await controlPlane();
const admin = TypedKubeClient.fromFile(cp.kubeconfig);

/** The speaker's client, counting the status patches it sends (the API writes this test bounds). */
class CountingClient extends KubeClient {
  readonly patches: string[] = [];
  readonly bodies: string[] = [];
  override mergePatch<T>(path: string, patch: unknown, o?: RequestOptions): Promise<T> {
    this.patches.push(path);
    this.bodies.push(JSON.stringify(patch));
    return super.mergePatch<T>(path, patch, o);
  }
}

const suffix = uniqueName('bgpc');
const NODE_A = `${suffix}-a`;
const NODE_V6 = `${suffix}-v6`;
const PEER = `${suffix}-peer`;
const LABEL = `${suffix}.test/peer`;

interface Harness {
  ctx: SpeakerContext;
  client: CountingClient;
  controller: BgpController;
  made: Array<{ opts: SpeakerFactoryOptions; closed: Array<{ withdraw?: boolean }>; changes: number }>;
}

function harness(node: string, writer: boolean): Harness {
  const client = new CountingClient(cp.speakerConfig());
  const ctx: SpeakerContext = {
    client,
    namespace: 'openelb-system',
    nodeName: node,
    registry: new Registry(),
    events: new EventRecorder({ client, instance: node }),
    informers: new SharedInformers(client, node),
  };
  const made: Harness['made'] = [];
  const controller = new BgpController(ctx, {
    makeSpeaker: (opts) => {
      const real = new BgpSpeaker(opts);
      const rec = { opts, closed: [] as Array<{ withdraw?: boolean }>, changes: 0 };
      made.push(rec);
      real.onChange(() => rec.changes++);
      const s: BgpSpeakerLike = {
        setPeers: (p) => real.setPeers(p),
        setRoutes: (r) => real.setRoutes(r),
        status: () => real.status(),
        onChange: (cb) => real.onChange(cb),
        close: (o) => {
          rec.closed.push(o ?? {});
          return real.close(o);
        },
        listenErrors: () => real.listenErrors(),
        ready: real.ready,
      };
      return s;
    },
    conditionWriter: () => writer,
  });
  return { ctx, client, controller, made };
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

type Obj = { metadata: { resourceVersion: string }; status?: Record<string, unknown> & { conditions?: Array<{ type: string; status: string; reason: string }> } };
const get = async (plural: string, name: string): Promise<Obj> => admin.get<Obj>(`/apis/network.kubesphere.io/v1alpha2/${plural}/${name}`);

const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) {
    await h.controller.stop();
    await h.ctx.informers.stop();
    h.client.close();
  }
  await cp.kubectl(['delete', '--ignore-not-found', '--wait=false', `bgppeer/${PEER}`, 'bgpconf/default', `node/${NODE_A}`, `node/${NODE_V6}`]);
  admin.close();
  await cp.stop();
});

test('dormant until configured, then per-node status keys, node-scoped problems, conditions by one writer, bounded writes, withdraw on stop', { timeout: 120_000 }, async (t) => {
  for (const [name, addresses] of [[NODE_A, ['10.200.0.1', 'fd00:200::1']], [NODE_V6, ['fd00:200::2']]] as const) {
    await admin.core.createNode({ body: { metadata: { name, labels: { [LABEL]: 'yes' } } } });
    await admin.core.patchNodeStatus({ name, body: { status: { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) } } }, mergePatchOptions());
  }
  const a = harness(NODE_A, true);
  const v6 = harness(NODE_V6, false);
  harnesses.push(a, v6);
  a.controller.start();
  v6.controller.start();

  // Dormant: with no BgpConf, BgpPeer or bgp Eip (a private control plane), no speaker and no writes.
  const list = async (p: string) => (await admin.get<{ items: EipObject[] }>(`/apis/network.kubesphere.io/v1alpha2/${p}`)).items;
  await sleep(1500);
  const wanted = bgpWanted((await list('bgpconfs')).length, (await list('bgppeers')).length, await list('eips'));
  assert.equal(a.controller.active, wanted);
  if (!wanted) {
    assert.equal(a.made.length, 0, 'no speaker while BGP is not configured');
    assert.deepEqual(a.client.patches, [], 'no API writes while BGP is not configured');
  }
  t.diagnostic(`dormant check: BGP objects present beforehand: ${wanted}`);

  const port = await closedPort();
  const apply = async (m: object) => {
    const r = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(m) });
    assert.equal(r.code, 0, r.stderr);
  };
  await apply({ apiVersion: 'network.kubesphere.io/v1alpha2', kind: 'BgpConf', metadata: { name: 'default' }, spec: { as: 65000, listenPort: -1 } });
  await apply({
    apiVersion: 'network.kubesphere.io/v1alpha2',
    kind: 'BgpPeer',
    metadata: { name: PEER },
    spec: { conf: { neighborAddress: '127.0.0.1', peerAs: 65001 }, transport: { remotePort: port }, timers: { config: { connectRetry: '1' } }, nodeSelector: { matchLabels: { [LABEL]: 'yes' } } },
  });
  await waitFor('node A active with a speaker', async () => a.controller.active && a.made.length === 1);
  assert.deepEqual(a.made[0]!.opts.listen, { port: -1, addresses: [] });
  // The other family's next hop is the node's own address of that family.
  assert.equal(a.made[0]!.opts.nextHop(6, '127.0.0.1'), 'fd00:200::1');
  assert.equal(a.made[0]!.opts.nextHop(4, '127.0.0.1'), undefined);

  // Node A: its keys, router id from its IPv4 InternalIP, a session that cannot establish.
  const peerA = await waitFor('node A status key', async () => {
    const p = await get('bgppeers', PEER);
    const e = (p.status?.nodesPeerStatus as Record<string, { peerState: { sessionState: string; neighborAddress: string; localAs: number } }> | undefined)?.[NODE_A];
    return e ? e : undefined;
  });
  assert.match(peerA.peerState.sessionState, /^(IDLE|CONNECT|ACTIVE)$/);
  assert.equal(peerA.peerState.neighborAddress, '127.0.0.1');
  assert.equal(peerA.peerState.localAs, 65000);
  await waitFor('node A conf status', async () => {
    const c = await get('bgpconfs', 'default');
    return JSON.stringify((c.status?.nodesConfStatus as Record<string, unknown>)?.[NODE_A]) === JSON.stringify({ as: 65000, routerId: '10.200.0.1' });
  });

  // Node v6: no IPv4 address for a router id: not configured there, said in its key and an Event.
  const peerV6 = await waitFor('node v6 status key', async () => {
    const p = await get('bgppeers', PEER);
    return (p.status?.nodesPeerStatus as Record<string, { peerState: { sessionState: string }; lastError?: string }> | undefined)?.[NODE_V6];
  });
  assert.equal(peerV6.peerState.sessionState, 'IDLE');
  assert.match(peerV6.lastError ?? '', new RegExp(`BgpConf default is not usable on node ${NODE_V6}: .*no IPv4 InternalIP to use as router id`));
  assert.equal(v6.made.length, 0, 'no speaker where BgpConf is unusable');
  const conf = await get('bgpconfs', 'default');
  assert.equal((conf.status?.nodesConfStatus as Record<string, unknown>)?.[NODE_V6], undefined);
  const ev = await waitFor('NoRouterId event', async () => {
    const evs = await admin.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=BgpConf,involvedObject.name=default' });
    return evs.items.find((e) => e.reason === 'NoRouterId' && e.message?.includes(NODE_V6));
  });
  assert.equal(ev.type, 'Warning');
  assert.match(ev.message ?? '', /give the node an IPv4 InternalIP, or set spec\.routerId/);

  // Ready conditions: written by the writer (node A) only.
  await waitFor('Ready conditions', async () => {
    const p = await get('bgppeers', PEER);
    const c = await get('bgpconfs', 'default');
    return p.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' && c.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
  });
  const v6Writes = v6.client.patches.length;
  assert.ok(v6Writes >= 1);

  // A failing session changes state again and again; that costs no write per change.
  const windowMs = 5000;
  const before = a.client.patches.filter((p) => p.includes(`/bgppeers/${PEER}/`)).length;
  const changesBefore = a.made[0]!.changes;
  await sleep(windowMs);
  const writes = a.client.patches.filter((p) => p.includes(`/bgppeers/${PEER}/`)).length - before;
  const changes = a.made[0]!.changes - changesBefore;
  t.diagnostic(`${changes} session state changes, ${writes} status writes in ${windowMs} ms`);
  // Retrying CONNECT <-> ACTIVE is refreshed once a minute, not written on every change.
  assert.ok(changes >= 4, `the session kept retrying (${changes} changes)`);
  assert.ok(writes <= 1, `${writes} writes in ${windowMs} ms`);

  // The router comes up (a second BgpSpeaker, passive, on the port that refused so far): the
  // session's ESTABLISHED is written at once, not held back with the once-a-minute refresh of the
  // retrying states above.
  const router = new BgpSpeaker({ listen: { port, addresses: ['127.0.0.1'] }, nextHop: () => undefined });
  await router.ready;
  assert.deepEqual(router.listenErrors(), []);
  router.setPeers([{ name: 'node-a', neighborAddress: '127.0.0.1', peerAs: 65000, localAs: 65001, routerId: '10.200.0.99', families: ['ipv4-unicast'], passive: true }]);
  const t2 = Date.now();
  try {
    const est = await waitFor('ESTABLISHED written', async () => {
      const p = await get('bgppeers', PEER);
      const e = (p.status?.nodesPeerStatus as Record<string, { peerState: { sessionState: string }; timersState: Record<string, string> }> | undefined)?.[NODE_A];
      return e?.peerState.sessionState === 'ESTABLISHED' ? e : undefined;
    }, 10_000);
    t.diagnostic(`ESTABLISHED in status ${Date.now() - t2} ms after the router came up`);
    assert.match(est.timersState.uptime ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.equal(est.timersState.negotiatedHoldTime, '90');
  } finally {
    await router.close({ withdraw: false });
  }

  // The nodeSelector stops selecting node v6: it removes its own key, node A's stays.
  await admin.core.patchNode({ name: NODE_V6, body: { metadata: { labels: { [LABEL]: null } } } }, mergePatchOptions());
  await waitFor('node v6 key removed', async () => {
    const p = await get('bgppeers', PEER);
    const m = (p.status?.nodesPeerStatus ?? {}) as Record<string, unknown>;
    return m[NODE_V6] === undefined && m[NODE_A] !== undefined;
  });
  assert.ok(v6.client.patches.length > v6Writes);
  assert.deepEqual(v6.client.bodies.filter((b) => b.includes('"conditions"')), [], 'only the writer writes conditions');
  assert.ok(v6.client.bodies.every((b) => b.includes(NODE_V6)), 'node v6 writes only its own key');

  // After a move from OpenELB: a BgpPeer with OpenELB's finalizer can still be deleted (the writer lifts it).
  const legacy = `${suffix}-legacy`;
  await apply({ apiVersion: 'network.kubesphere.io/v1alpha2', kind: 'BgpPeer', metadata: { name: legacy, finalizers: ['finalizer.lb.kubesphere.io/v1alpha1'] }, spec: { conf: { neighborAddress: '127.0.0.9', peerAs: 65009 }, nodeSelector: { matchLabels: { none: 'none' } } } });
  await sleep(500);
  assert.ok((await get('bgppeers', legacy)).metadata, 'the finalizer stays while the object is not being deleted');
  const del = await cp.kubectl(['delete', 'bgppeer', legacy, '--wait=false']);
  assert.equal(del.code, 0, del.stderr);
  await waitFor('the legacy BgpPeer gone', async () => (await admin.get(`/apis/network.kubesphere.io/v1alpha2/bgppeers/${legacy}`).then(() => false, () => true)));
  assert.deepEqual(v6.client.patches.filter((p) => p.endsWith(`/bgppeers/${legacy}`)), [], 'only the writer lifts it');

  // BgpConf default deleted: the speaker stops with withdraw, node A drops its key from the
  // BgpPeer, and the peer's condition says what is missing.
  const delConf = await cp.kubectl(['delete', 'bgpconf', 'default', '--wait=false']);
  assert.equal(delConf.code, 0, delConf.stderr);
  await waitFor('speaker closed with withdraw', async () => a.made[0]!.closed.length === 1);
  assert.deepEqual(a.made[0]!.closed, [{ withdraw: true }]);
  const noConf = await waitFor('NoBgpConf condition, node A key gone', async () => {
    const p = await get('bgppeers', PEER);
    const c = p.status?.conditions?.find((x) => x.type === 'Ready');
    return c?.reason === 'NoBgpConf' && (p.status?.nodesPeerStatus as Record<string, unknown> | undefined)?.[NODE_A] === undefined ? c : undefined;
  });
  assert.equal(noConf.status, 'False');

  // SIGTERM path: stop() closes the running speaker with withdraw (here: none is left to close).
  await apply({ apiVersion: 'network.kubesphere.io/v1alpha2', kind: 'BgpConf', metadata: { name: 'default' }, spec: { as: 65000, listenPort: -1 } });
  await waitFor('a new speaker', async () => a.made.length === 2);
  await a.controller.stop();
  assert.deepEqual(a.made[1]!.closed, [{ withdraw: true }]);
  assert.deepEqual(a.made[0]!.closed, [{ withdraw: true }], 'the first one is not closed twice');
});
