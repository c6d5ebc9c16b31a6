// Memory of every speaker as shipped: the bundle (dist/openelb-ts.mjs, built here first) run as the
// image's `openelb-ts` command (its #! line sets src/cli/runtime-flags.ts), or the same bundle on Deno
// with those V8 flags (--runtime deno; --runtime node = the sources through tsx), in the 3-node seed lab with the speakers' own IPAM, at 0, 300 and 1,000
// LoadBalancer Services (one layer2 Eip). Per speaker and phase: VmRSS, and the JavaScript heap
// in use (from the speaker's /metrics, nodejs_heap_size_used_bytes), RssAnon and RssFile (file-backed:
// mostly the node or deno binary's own code and data, shared and reclaimable), with the IPAM leader marked;
// then bytes per additional Service between the two loaded phases. Each phase is sampled after
// every Service is assigned and announced and the one-time writes settled.
//
// Goals (issue 12): every speaker <= 80 MB RSS at 1,000 Services (stretch 64 MB); Deno <= 100 MB;
// <= 2 KB per Service.
//
// --live (Node runtimes): also the live heap of every speaker per phase, exactly (a heap snapshot,
// taken after a full collection: scripts/bench/heap-snapshot.ts), and per Service between the two
// loaded phases, with and without compiled code (which grows with V8's warm-up, not per Service),
// and the kinds of objects that grew most. A snapshot leaves the process's RSS inflated, so the RSS
// of a --live run is valid for its first phase only: measure RSS in a run without --live.
//
// Usage: npx tsx scripts/bench/memory.ts [--runtime bundle|deno|node] [--steps 0,300,1000] [--settle 15] [--live] [--json]
// Needs root and the control plane (OELB_KUBECONFIG, else a private one is started).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import type { V1Service } from '@kubernetes/client-node';
import { retrySlowApi } from '../kit/retry.ts';
import { LAB_LABEL, SeedLab, inBatches } from '../lab/lab.ts';
import { REPO_ROOT, denoBinary } from '../kit/netns.ts';
import { type LiveHeap, growth, liveHeap, snapshotNodeOptions } from './heap-snapshot.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const runtimeArg = opt('runtime', 'bundle') as 'bundle' | 'deno' | 'node';
// Deno as shipped runs the same bundle (src/cli/runtime-flags.ts), not the TypeScript sources.
const runtime = runtimeArg === 'deno' ? 'deno-bundle' : runtimeArg;
const steps = opt('steps', '0,300,1000').split(',').map(Number);
const settleS = Number(opt('settle', '15'));
const live = argv.includes('--live');
if (live && runtime === 'deno-bundle') throw new Error('--live reads Node heap snapshots: use --runtime bundle or node');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (s: string) => process.stderr.write(s + '\n');
const POOL = { name: 'mem', address: '10.201.0.0/21', interface: 'eth0' };
const MiB = 1024 * 1024;

/** VmRSS and its anonymous and file-backed parts, MiB. */
function rssMiB(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

const metric = (text: string, name: string): number => Number(new RegExp(`^${name}(?:\\{\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN);

function serviceBody(lab: SeedLab, name: string): V1Service {
  return {
    metadata: {
      name,
      namespace: lab.namespace,
      labels: { [LAB_LABEL]: lab.id },
      annotations: { 'lb.kubesphere.io/v1alpha1': 'openelb', 'eip.openelb.kubesphere.io/v1alpha2': POOL.name },
    },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
}

interface Sample {
  node: string;
  leader: boolean;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  anonMiB: number;
  fileMiB: number;
}

async function sample(lab: SeedLab): Promise<Sample[]> {
  const holder = await lab.admin.coordination
    .readNamespacedLease({ namespace: lab.speakerNamespace, name: 'openelb-ipam' })
    .then((l) => l.spec?.holderIdentity ?? '')
    .catch(() => '');
  return Promise.all(
    lab.nodes.map(async (n) => {
      const text = await n.http('/metrics').catch(() => '');
      const r = rssMiB(n.speaker!.pid!);
      return {
        node: n.name,
        leader: n.name === holder,
        rssMiB: +r.rss.toFixed(1),
        anonMiB: +r.anon.toFixed(1),
        fileMiB: +r.file.toFixed(1),
        heapUsedMiB: +(metric(text, 'nodejs_heap_size_used_bytes') / MiB).toFixed(1),
        heapTotalMiB: +(metric(text, 'nodejs_heap_size_total_bytes') / MiB).toFixed(1),
        externalMiB: +(metric(text, 'nodejs_external_memory_bytes') / MiB).toFixed(1),
      };
    }),
  );
}

async function ownedTotal(lab: SeedLab): Promise<number> {
  let owned = 0;
  for (const n of lab.nodes) {
    const text = await n.http('/metrics').catch(() => '');
    owned += Number(/openelb_layer2_ips\{owner="self"\} (\d+)/.exec(text)?.[1] ?? 0);
  }
  return owned;
}

async function main(): Promise<void> {
  if (runtime !== 'node') {
    say('building dist/ (npm run build)');
    const b = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    if (b.status !== 0) throw new Error('build failed');
  }
  if (runtime === 'deno-bundle') {
    // Deno analyses a module it has not seen (here: every fresh build) on first start and keeps
    // ~30 MiB of that work's memory for the life of the process (measured: 97 vs 65 MiB at 0
    // Services with an empty vs a warm DENO_DIR); it caches the result in DENO_DIR. A user's second
    // start is warm; warm up once so the speakers are measured as they run from then on.
    const w = spawnSync(denoBinary(), ['run', '-A', '--quiet', 'dist/openelb-ts.mjs', 'speaker', '--help'], { cwd: REPO_ROOT, stdio: 'ignore' });
    if (w.status !== 0) throw new Error('deno warm-up failed');
  }
  const snapDir = live ? mkdtempSync(join(tmpdir(), 'oelb-heap-')) : '';
  const lab = await SeedLab.create({ log: say, runtime, ipam: true, ...(live ? { speakerEnv: { NODE_OPTIONS: snapshotNodeOptions(snapDir) } } : {}) });
  const report: Record<string, unknown> = { runtime, steps, settleS, live, node: process.version };
  const phases: Array<{ services: number; assignS: number; speakers: Sample[] }> = [];
  const heaps: LiveHeap[][] = [];
  try {
    await lab.createEip(POOL);
    await lab.startSpeakers();
    let have = 0;
    for (const n of steps) {
      const t0 = Date.now();
      if (n > have) {
        say(`creating Services ${have}..${n - 1}`);
        await inBatches(Array.from({ length: n - have }, (_, i) => have + i), 16, async (i) => {
          await retrySlowApi(() => lab.admin.core.createNamespacedService({ namespace: lab.namespace, body: serviceBody(lab, `m-${i}`) })).catch((err) => {
            if ((err as { code?: number }).code !== 409) throw err;
          });
        });
        have = n;
      }
      for (let i = 0; n > 0; i++) {
        const list = await retrySlowApi(() => lab.admin.core.listNamespacedService({ namespace: lab.namespace }));
        const assigned = list.items.filter((s) => s.status?.loadBalancer?.ingress?.[0]?.ip).length;
        const owned = await ownedTotal(lab);
        if (assigned >= n && owned >= n) break;
        if (i % 10 === 0) say(`  assigned ${assigned}/${n}, owned ${owned}/${n}`);
        if (i > 1800) throw new Error(`only ${assigned}/${n} assigned, ${owned} owned after 30 min`);
        await sleep(1000);
      }
      const assignS = +((Date.now() - t0) / 1000).toFixed(1);
      await sleep(settleS * 1000);
      const gone = lab.nodes.filter((x) => !x.speaker || x.speaker.result);
      if (gone.length) throw new Error(`speaker(s) exited: ${gone.map((x) => x.name).join(', ')}`);
      const speakers = await sample(lab);
      phases.push({ services: n, assignS, speakers });
      say(`${n} Services (assigned and owned after ${assignS} s):`);
      for (const s of speakers) {
        say(`  ${s.node}${s.leader ? ' (IPAM leader)' : ''}: RSS ${s.rssMiB} MiB (anon ${s.anonMiB}, file ${s.fileMiB}), heap used ${s.heapUsedMiB} MiB (total ${s.heapTotalMiB}), external ${s.externalMiB} MiB`);
      }
      if (live) {
        const h: LiveHeap[] = [];
        for (const node of lab.nodes) h.push(await liveHeap(node.speaker!.pid!, snapDir));
        heaps.push(h);
        say(`  live heap: ${h.map((x, i) => `${lab.nodes[i]!.name} ${(x.bytes / MiB).toFixed(2)} MiB`).join(', ')}`);
      }
    }
    report.phases = phases;
    if (phases.length >= 2) {
      const a = phases.at(-2)!;
      const b = phases.at(-1)!;
      const dn = b.services - a.services;
      const per = b.speakers.map((s, i) => ({
        node: s.node,
        rssBytesPerService: Math.round(((s.rssMiB - a.speakers[i]!.rssMiB) * MiB) / dn),
        heapBytesPerService: Math.round(((s.heapUsedMiB - a.speakers[i]!.heapUsedMiB) * MiB) / dn),
      }));
      report.perService = per;
      for (const p of per) say(`  ${p.node}: ${p.rssBytesPerService} B RSS, ${p.heapBytesPerService} B heap per Service (${a.services} -> ${b.services})`);
      if (live) {
        const [ha, hb] = [heaps.at(-2)!, heaps.at(-1)!];
        report.livePerService = hb.map((h, i) => {
          const row = {
            node: b.speakers[i]!.node,
            leader: b.speakers[i]!.leader,
            liveBytes: [ha[i]!.bytes, h.bytes],
            liveBytesPerService: Math.round((h.bytes - ha[i]!.bytes) / dn),
            // Compiled code grows as V8 optimizes more of the program (warm-up), not per Service.
            dataBytesPerService: Math.round((h.bytes - (h.groups.get('code') ?? 0) - ha[i]!.bytes + (ha[i]!.groups.get('code') ?? 0)) / dn),
            grew: growth(ha[i]!, h, dn, 10),
          };
          say(`  ${row.node}${row.leader ? ' (IPAM leader)' : ''}: ${row.liveBytesPerService} B live heap per Service, ${row.dataBytesPerService} B without compiled code; most: ${row.grew.map((g) => `${g.group} ${g.bytesPer}`).join(', ')}`);
          return row;
        });
      }
    }
  } finally {
    await lab.teardown();
    if (snapDir) rmSync(snapDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(report) + '\n');
}

await main();
