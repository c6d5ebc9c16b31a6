// IPAM against the real API server (issue 4, measure): time and API requests to give N (default
// 2,000) Services an IP from one pool, with the speaker as its own process (the CLI, the speaker's
// ServiceAccount), and the same run's baseline: what the API server itself needs for the bare
// minimum (creating N such Services, and one status write per Service done by this script).
//
//   npx tsx scripts/bench/ipam-assign.ts [--services 2000]   -> one JSON object on stdout
//
// Uses OELB_KUBECONFIG / OELB_SPEAKER_KUBECONFIG when set (scripts/test.sh, run.sh), else starts a
// private control plane and stops it at the end.
//
// Measured:
//   ours.createMs        first create -> last create returned (creation runs while the speaker works)
//   ours.allAssignedMs   first create -> every Service shows an IP (seen by a watch in this script)
//   ours.latencyMs       per Service: create returned -> IP seen, p50/p99
//   ours.requests        API requests by the speaker during the run, from its /metrics
//                        (writes by resource, GET/LIST outside informers) plus Events written
//   baseline.createMs    the same N Services without the opt-in (nobody writes them), created alike
//   baseline.statusMs    N status PUTs by this script, 8 in flight (the least any controller must do)
import { TypedKubeClient } from '../kit/typed-client.ts';
import { randomInt } from 'node:crypto';
import process from 'node:process';
import type { V1Service } from '@kubernetes/client-node';

import { Informer } from '../../src/kube/informer.ts';
import { controlPlane, testNamespace, uniqueName } from '../kit/control-plane.ts';
import { createEip, getEip, ipamHolder, ips, serviceBody, startSpeaker, waitFor } from '../kit/ipam-helpers.ts';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? (argv[i + 1] as string) : dflt;
};
const N = Number(arg('services', '2000'));
const CONCURRENCY = 16;
const say = (s: string) => process.stderr.write(`ipam-assign: ${s}\n`);
const now = () => performance.now();

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN);
}

async function createAll(c: TypedKubeClient, ns: string, names: string[], optIn: boolean, done?: Map<string, number>): Promise<number> {
  const queue = [...names];
  const t0 = now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      await c.core.createNamespacedService({ namespace: ns, body: serviceBody(ns, n, { noNodePorts: true, ...(optIn ? {} : { noOptIn: true }) }) });
      done?.set(n, now());
    }
  }));
  return now() - t0;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function main(): Promise<void> {
  const cp = await controlPlane();
  const c = new TypedKubeClient(cp.adminConfig(), { requestTimeoutMs: 60_000 });
  const port = randomInt(20_000, 30_000);
  const speaker = startSpeaker(cp, uniqueName('bench-ipam'), ['--metrics-addr', `127.0.0.1:${port}`]);
  const eip = uniqueName('eip-bench');
  const ns = await testNamespace(cp, 'ipam-bench');
  const nsBase = await testNamespace(cp, 'ipam-bench-base');
  const names = Array.from({ length: N }, (_, i) => `svc-${String(i).padStart(5, '0')}`);
  let result: Record<string, unknown>;
  try {
    await waitFor('the bench speaker to lead', async () => (await ipamHolder(c)) === speaker.node, 60_000);
    const prefixLen = 32 - Math.ceil(Math.log2(N + 8));
    await createEip(c, eip, { address: `10.${randomInt(100, 250)}.0.0/${Math.min(prefixLen, 24)}`, namespaces: [ns] });
    await waitFor('Eip status', async () => (await getEip(c, eip))?.status?.poolSize !== undefined, 20_000);
    const before = await scrape(port);

    // A watch on the namespace sees each Service's first IP as soon as the API has it.
    const assignedAt = new Map<string, number>();
    const informer = new Informer<V1Service>({
      client: c,
      name: 'bench-services',
      path: `/api/v1/namespaces/${ns}/services`,
    });
    informer.onEvent((_ev, s) => {
      const n = s.metadata?.name ?? '';
      if (ips(s).length > 0 && !assignedAt.has(n)) assignedAt.set(n, now());
    });
    informer.start();
    await informer.whenSynced();

    say(`creating ${N} opted-in Services (${CONCURRENCY} in flight) while the speaker assigns`);
    const created = new Map<string, number>();
    const t0 = now();
    const createMs = await createAll(c, ns, names, true, created);
    await waitFor(`all ${N} Services to have an IP`, async () => assignedAt.size === N, 600_000, 50);
    const allAssignedMs = Math.max(...assignedAt.values()) - t0;
    await informer.stop();
    // Let trailing writes (Eip status, events) land before reading the counters.
    await new Promise((r) => setTimeout(r, 1500));
    const after = await scrape(port);
    const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    const writes: Record<string, number> = {};
    for (const r of ['service_status', 'service_metadata', 'eip_status', 'eip_metadata']) {
      for (const res of ['ok', 'conflict', 'error']) {
        const v = delta(`openelb_ipam_api_writes_total{resource="${r}",result="${res}"}`);
        if (v) writes[`${r}/${res}`] = v;
      }
    }
    let reads = 0;
    for (const [k] of after) if (k.startsWith('openelb_ipam_api_reads_total')) reads += delta(k);
    const events = (await c.core.listNamespacedEvent({ namespace: ns })).items.length;
    const writeTotal = Object.values(writes).reduce((a, b) => a + b, 0);
    const latencies = names.map((n) => (assignedAt.get(n) ?? NaN) - (created.get(n) ?? NaN));
    const st = (await getEip(c, eip))?.status as { usage?: number } | undefined;
    if (st?.usage !== N) throw new Error(`Eip usage ${st?.usage}, expected ${N}`);

    say(`ours: ${JSON.stringify({ createMs: Math.round(createMs), allAssignedMs: Math.round(allAssignedMs), writes, reads, events })}`);
    say(`baseline: creating ${N} Services nobody manages, then ${N} status PUTs by this script`);
    const baseCreateMs = await createAll(c, nsBase, names, false);
    const list = (await c.core.listNamespacedService({ namespace: nsBase })).items;
    const queue = [...list];
    const tb = now();
    let k = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
        const i = k++;
        await c.core.replaceNamespacedServiceStatus({
          namespace: nsBase,
          name: s.metadata?.name ?? '',
          body: { ...s, status: { loadBalancer: { ingress: [{ ip: `10.99.${i >> 8}.${i & 255}` }] } } },
        });
      }
    }));
    const baseStatusMs = now() - tb;

    result = {
      services: N,
      ours: {
        createMs: Math.round(createMs),
        allAssignedMs: Math.round(allAssignedMs),
        afterLastCreateMs: Math.round(allAssignedMs - createMs),
        latencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: pct(latencies, 100) },
        requests: { writes, writeTotal, reads, events, perService: Number(((writeTotal + reads + events) / N).toFixed(2)) },
      },
      baseline: { createMs: Math.round(baseCreateMs), statusMs: Math.round(baseStatusMs) },
      ratio: {
        allAssignedVsBaselineCreate: Number((allAssignedMs / baseCreateMs).toFixed(2)),
        allAssignedVsCreatePlusOneStatusWrite: Number((allAssignedMs / (baseCreateMs + baseStatusMs)).toFixed(2)),
      },
      node: process.version,
    };
  } finally {
    if (!cp.private) {
      say('cleanup: deleting the Services (the speaker removes its finalizers) and the Eip');
      await c.core.deleteCollectionNamespacedService({ namespace: nsBase }).catch(() => {});
      await c.core.deleteCollectionNamespacedService({ namespace: ns }).catch(() => {});
      await waitFor('bench Services gone', async () => (await c.core.listNamespacedService({ namespace: ns })).items.length === 0, 300_000, 1000).catch((e) => say(String(e)));
      await c.custom.deleteClusterCustomObject({ group: 'network.kubesphere.io', version: 'v1alpha2', plural: 'eips', name: eip }).catch(() => {});
      await waitFor('bench Eip gone', async () => !(await getEip(c, eip)), 30_000).catch((e) => say(String(e)));
    }
    await speaker.stop();
    // The speaker's JSON log, for a look at what it did (IPAM_BENCH_LOG=<file>).
    if (process.env.IPAM_BENCH_LOG) (await import('node:fs')).writeFileSync(process.env.IPAM_BENCH_LOG, speaker.log());
    await cp.stop();
  }
  console.log(JSON.stringify(result, null, 2));
}

await main();
process.exit(0);
