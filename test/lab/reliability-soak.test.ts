// Reliability suite, item 5: soak. Churn compressed into a bounded run (Services created and
// deleted, endpoints moving between nodes, one speaker restarting now and then) while the RSS,
// open file descriptors and sockets of every speaker are sampled each second. Then: no growth
// trend on the speaker that never restarts, descriptors and sockets back to their baseline, the
// pools empty again, the invariants hold, and no network namespace is left behind.
// Short in `npm test` (OELB_RELIABILITY unset: ~25 s of churn); `npm run reliability` runs 10 min.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { LAB_LABEL, type LabService, SeedLab } from '../../scripts/lab/lab.ts';
import { EIP_GROUP, EIP_PLURAL, EIP_VERSION } from '../../src/kube/client.ts';
import { listNamespaces } from '../../scripts/kit/netns.ts';
import { checkInvariants, ipOf } from '../reliability/invariants.ts';
import { FULL, fds, record, rssKiB, scale, slope, type Sample, sample } from '../reliability/proc.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CHURN_MS = scale(25_000, 600_000);
const RESTART_EVERY = 4; // churn rounds between restarts of the third node's speaker
const PER_ROUND = 5;
const POOL = 'soak-pool';

let lab: SeedLab;
let labId = '';
const web: LabService[] = [];
const known = new Map<string, string>();

before(async () => {
  lab = await SeedLab.create();
  labId = lab.id;
  await lab.createEip();
  await lab.admin.custom.createClusterCustomObject({
    group: EIP_GROUP,
    version: EIP_VERSION,
    plural: EIP_PLURAL,
    body: { apiVersion: `${EIP_GROUP}/${EIP_VERSION}`, kind: 'Eip', metadata: { name: POOL, labels: { [LAB_LABEL]: lab.id } }, spec: { address: '10.201.0.0/24', interface: 'eth0', protocol: 'layer2' } },
  });
  await lab.startSpeakers();
  for (let i = 0; i < 2; i++) {
    const s = await lab.createService({ name: `soak-${i}`, pods: 2, policy: i === 1 ? 'Local' : 'Cluster' });
    web.push(s);
    known.set(s.name, s.ip);
  }
}, { timeout: 180_000 });

after(async () => {
  await lab?.teardown();
});

const svcBody = (name: string): V1Service => ({
  metadata: { name, namespace: lab.namespace, labels: { [LAB_LABEL]: lab.id }, annotations: { 'lb.kubesphere.io/v1alpha1': 'openelb', 'eip.openelb.kubesphere.io/v1alpha2': POOL } },
  spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], externalTrafficPolicy: 'Cluster' },
});

test('churn (Services created/deleted, endpoints moving, a speaker restarting): no growth trend, no leaked fds/sockets/namespaces, nothing lost', { timeout: CHURN_MS + 240_000 }, async (t) => {
  const t0 = performance.now();
  const steady = lab.nodes[0]!; // never restarted: the trend is measured on it
  const restarted = lab.nodes[2]!;
  const samples = new Map<string, Sample[]>(lab.nodes.map((n) => [n.name, []]));
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const n of lab.nodes) {
        const pid = n.speaker?.pid;
        if (pid && !n.speaker?.result) {
          try {
            samples.get(n.name)!.push(sample(pid, t0));
          } catch {
            // restarting
          }
        }
      }
      await sleep(1000);
    }
  })();
  // Baseline after a first warm-up round (caches, sockets for the first addresses).
  const base = { fds: fds(steady.speaker!.pid!), rss: rssKiB(steady.speaker!.pid!) };

  let round = 0;
  let created = 0;
  let restarts = 0;
  let moves = 0;
  const failures: string[] = [];
  while (performance.now() - t0 < CHURN_MS) {
    round++;
    const names = Array.from({ length: PER_ROUND }, (_, i) => `churn-${round}-${i}`);
    await Promise.all(names.map((n) => lab.admin.core.createNamespacedService({ namespace: lab.namespace, body: svcBody(n) })));
    created += names.length;
    // Each gets an IP (the IPAM leader may be the restarting speaker: allow a Lease handover).
    const tIp = performance.now();
    for (;;) {
      const list = (await lab.admin.core.listNamespacedService({ namespace: lab.namespace })).items.filter((s) => names.includes(s.metadata!.name!));
      if (list.length === names.length && list.every((s) => ipOf(s).length === 1)) break;
      if (performance.now() - tIp > 20_000) {
        failures.push(`round ${round}: not all churn Services got an IP within 20 s`);
        break;
      }
      await sleep(200);
    }
    // Endpoints move: the Local Service's pods go to the next node pair.
    const local = web[1]!;
    await lab.setPods(local, [{ node: lab.nodes[round % 3]!.name }, { node: lab.nodes[(round + 1) % 3]!.name }]);
    moves++;
    if (round % RESTART_EVERY === 0) {
      await restarted.stopSpeaker();
      await restarted.startSpeaker();
      restarts++;
    }
    await Promise.all(names.map((n) => lab.admin.core.deleteNamespacedService({ namespace: lab.namespace, name: n })));
  }
  const churnMs = performance.now() - t0;

  // Settle: churn Services gone, pool empty, the web Services as they were.
  const tSettle = performance.now();
  for (;;) {
    const left = (await lab.admin.core.listNamespacedService({ namespace: lab.namespace })).items.filter((s) => s.metadata!.name!.startsWith('churn-'));
    const eip = (await lab.admin.getEip(POOL)) as { status?: { usage?: number } };
    if (left.length === 0 && (eip.status?.usage ?? 0) === 0) break;
    assert.ok(performance.now() - tSettle < 60_000, `after churn: ${left.length} churn Services left, pool usage ${eip.status?.usage}\n${lab.logs(20)}`);
    await sleep(500);
  }
  await sleep(3000);
  const inv = await checkInvariants(lab, 'after the soak', known, { web, boundMs: 8000 });
  sampling = false;
  await sampler;

  const s0 = samples.get(steady.name)!;
  const end = { fds: fds(steady.speaker!.pid!), rss: rssKiB(steady.speaker!.pid!) };
  // Trend over the second half (the first half includes warm-up: JIT, caches, heap sizing).
  const half = s0.slice(Math.floor(s0.length / 2));
  const rssSlopeKiBs = slope(half.map((x) => x.t), half.map((x) => x.rssKiB));
  const fdSlope = slope(half.map((x) => x.t), half.map((x) => x.fds));
  const restartedSamples = samples.get(restarted.name)!;
  const figures = {
    churnS: Math.round(churnMs / 1000),
    rounds: round,
    servicesCreatedAndDeleted: created,
    endpointMoves: moves,
    speakerRestarts: restarts,
    samples: s0.length,
    steadyRssMiB: { start: +(base.rss / 1024).toFixed(1), max: +(Math.max(...s0.map((x) => x.rssKiB)) / 1024).toFixed(1), end: +(end.rss / 1024).toFixed(1) },
    steadyRssSlopeMiBPerHour: +((rssSlopeKiBs * 3600) / 1024).toFixed(1),
    steadyFds: { start: base.fds.total, max: Math.max(...s0.map((x) => x.fds)), end: end.fds.total },
    steadySockets: { start: base.fds.sockets, max: Math.max(...s0.map((x) => x.sockets)), end: end.fds.sockets },
    fdSlopePerHour: +(fdSlope * 3600).toFixed(1),
    restartedSpeakerMaxRssMiB: +(Math.max(...restartedSamples.map((x) => x.rssKiB)) / 1024).toFixed(1),
    cpuSecondsSteady: +(s0.at(-1)!.cpu - s0[0]!.cpu).toFixed(1),
    failures,
    ...inv,
  };
  record(t, 'soak', figures);
  assert.deepEqual(failures, []);
  // Descriptors and sockets return to the baseline (a leak grows them with every round).
  assert.ok(end.fds.total <= base.fds.total + 3, `fds ${base.fds.total} -> ${end.fds.total}`);
  assert.ok(end.fds.sockets <= base.fds.sockets + 3, `sockets ${base.fds.sockets} -> ${end.fds.sockets}`);
  // RSS: bounded growth overall and no steady climb in the second half.
  assert.ok(end.rss - base.rss < 64 * 1024, `RSS grew ${((end.rss - base.rss) / 1024).toFixed(1)} MiB`);
  // A trend needs time: over the short run's ~12 s second half, heap sizing after warm-up reads as
  // gigabytes per hour (seen: 6 GiB/h for a 45 MiB rise that then stopped). The short run checks
  // the bounded growth above; the full run (10 min of churn) checks the trend.
  if (FULL) assert.ok(figures.steadyRssSlopeMiBPerHour < 100, `RSS trend ${figures.steadyRssSlopeMiBPerHour} MiB/h`);
  for (const n of lab.nodes) assert.equal(n.speaker?.result, null, `${n.name} running`);

  // No network namespace of the lab is left after teardown.
  await lab.teardown();
  const left = (await listNamespaces()).filter((n) => n.startsWith(`oelb${labId}`));
  assert.deepEqual(left, [], 'lab namespaces left behind');
});
