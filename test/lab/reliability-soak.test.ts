// Reliability suite, item 5: soak. Churn compressed into a bounded run (Services created and
// deleted, endpoints moving between nodes, one speaker restarting now and then) while the RSS,
// open file descriptors and sockets of every speaker are sampled each second. Then: no growth
// trend on the speaker that never restarts, descriptors and sockets back to their baseline, the
// pools empty again, the invariants hold, and no network namespace is left behind.
// Short in `npm test` (OELB_RELIABILITY unset: ~25 s of churn); `npm run reliability` runs 10 min.
//
// The trend the short window can honestly measure: per round, not per second. After each round's
// Services are deleted the speaker returns to the same state (pool empty, no churn address owned),
// so the number of live timers (nodejs_active_resources{type="Timeout"}) taken at that quiet point
// must not grow from round to round: a timer left behind per address or per Service grows it with
// every round (an injected one-timer-per-address leak read 7 -> 24 over 8 rounds, 2.4 per round;
// without it 3-6, slope 0.14). Open fds, sockets, all event-loop resources and /metrics series are
// recorded at the same points but not asserted as a trend: API connections come and go for
// tens of seconds (sockets 36 -> 96 -> 37 across three rounds with nothing leaking), so in 25 s
// their slope is noise; fd and socket leaks are caught by the end-of-run return to baseline
// below. RSS over 25 s mostly shows heap sizing after warm-up, so its trend is left to the full run.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { LAB_LABEL, type LabService, SeedLab } from '../../scripts/lab/lab.ts';
import { EIP_GROUP, EIP_PLURAL, EIP_VERSION } from '../../src/kube/client.ts';
import { listNamespaces } from '../../scripts/kit/netns.ts';
import { checkInvariants, ipOf } from '../reliability/invariants.ts';
import { FULL, fds, record, rssKiB, scale, slope, type Sample, sample } from '../reliability/proc.ts';
import { ACTIVE_RESOURCES_METRIC } from '../../src/observe/process-metrics.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CHURN_MS = scale(25_000, 600_000);
const RESTART_EVERY = 4; // churn rounds between restarts of the third node's speaker
const PER_ROUND = 5;
const POOL = 'soak-pool';
const POOL_PREFIX = '10.201.0.';
// A timer leaked per Service churned grows the quiet-point count by PER_ROUND (5) per round, one per
// address the steady node announced by ~5/3. Without a leak, Lease and backoff timers in flight
// move it by a few (measured 3-6 over 7 rounds, slope 0.14), and the least of three readings per
// quiet point damps that. The bound sits below one leaked timer per address and above the noise.
const MAX_GROWTH_PER_ROUND = 1;
const MIN_ROUNDS_FOR_TREND = 4;

interface QuietPoint {
  round: number;
  fds: number;
  sockets: number;
  timers: number;
  activeResources: number;
  series: number;
}

/** Counts of the steady speaker at a quiet point: the least of three readings 300 ms apart (a
 * connection or timer in flight at one reading is not a leak; a leaked one is in all three). */
async function quietPoint(round: number, node: SeedLab['nodes'][number], webIps: string[]): Promise<QuietPoint> {
  const readings: QuietPoint[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(300);
    readings.push(await quietReading(round, node, webIps));
  }
  const least = (k: keyof QuietPoint): number => Math.min(...readings.map((r) => r[k]));
  return { round, fds: least('fds'), sockets: least('sockets'), timers: least('timers'), activeResources: least('activeResources'), series: least('series') };
}

async function quietReading(round: number, node: SeedLab['nodes'][number], webIps: string[]): Promise<QuietPoint> {
  const f = fds(node.speaker!.pid!);
  const m = await node.http('/metrics');
  const lines = m.split('\n').filter((l) => l && !l.startsWith('#'));
  const active = lines.filter((l) => l.startsWith(`${ACTIVE_RESOURCES_METRIC}{`));
  const count = (l: string): number => Number(l.slice(l.lastIndexOf(' ') + 1));
  return {
    round,
    fds: f.total,
    sockets: f.sockets,
    timers: active.filter((l) => l.includes('type="Timeout"')).reduce((a, l) => a + count(l), 0),
    activeResources: active.reduce((a, l) => a + count(l), 0),
    // Series of the web Services' addresses come and go as their owner changes (a restart re-elects);
    // the process gauges change with every scrape. Everything else must be back to the same set.
    series: lines.filter((l) => !l.startsWith(`${ACTIVE_RESOURCES_METRIC}{`) && !webIps.some((ip) => l.includes(`ip="${ip}"`))).length,
  };
}

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

  const quiet: QuietPoint[] = [];
  let round = 0;
  let created = 0;
  let restarts = 0;
  let moves = 0;
  const failures: string[] = [];
  // At least enough rounds for a per-round trend, however slow the machine.
  while (performance.now() - t0 < CHURN_MS || round < MIN_ROUNDS_FOR_TREND + 1) {
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
    // Quiet point: the round's Services are gone from the pool and from the steady speaker.
    const tQuiet = performance.now();
    for (;;) {
      const eip = (await lab.admin.getEip(POOL)) as { status?: { usage?: number } };
      const m = await steady.http('/metrics');
      if ((eip.status?.usage ?? 0) === 0 && !m.includes(`ip="${POOL_PREFIX}`)) break;
      if (performance.now() - tQuiet > 20_000) {
        failures.push(`round ${round}: churn addresses still in the pool or on ${steady.name} 20 s after deleting them`);
        break;
      }
      await sleep(200);
    }
    quiet.push(await quietPoint(round, steady, web.map((w) => w.ip)));
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
  // Per-round trend at the quiet points; round 1 is warm-up (first sockets, caches, timers).
  const trendPoints = quiet.slice(1);
  const perRound = (k: keyof Omit<QuietPoint, 'round'>): number => +slope(trendPoints.map((q) => q.round), trendPoints.map((q) => q[k])).toFixed(2);
  const quietTrend = {
    fds: perRound('fds'),
    sockets: perRound('sockets'),
    timers: perRound('timers'),
    activeResources: perRound('activeResources'),
    series: perRound('series'),
  };
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
    quietPoints: quiet,
    quietTrendPerRound: quietTrend,
    failures,
    ...inv,
  };
  record(t, 'soak', figures);
  assert.deepEqual(failures, []);
  // No growth of live timers from round to round at the quiet points (see the header).
  assert.ok(trendPoints.length >= MIN_ROUNDS_FOR_TREND, `only ${quiet.length} rounds: too few for a trend`);
  assert.ok(quiet.every((q) => q.timers > 0), 'the speaker publishes its live timers (nodejs_active_resources{type="Timeout"})');
  assert.ok(quietTrend.timers < MAX_GROWTH_PER_ROUND,
    `live timers grow by ${quietTrend.timers} per round of ${PER_ROUND} Services churned (quiet points: ${JSON.stringify(quiet.map((q) => q.timers))})`);
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
