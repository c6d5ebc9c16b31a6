// The speaker at scale on the seed lab: 3 nodes, N LoadBalancer Services (default 1000) drawn by the
// speakers' own IPAM from one layer2 Eip, announced by the elected nodes. Measures:
//   - API writes per second in steady state (kube-apiserver's apiserver_request_total, writes only,
//     over a window after everything settled), by resource: the goal is "grows with nodes, not
//     Services" (3 membership Leases + 1 IPAM Lease renewed every 500 ms = ~8/s whatever N is);
//   - speaker RSS (VmRSS) and CPU in steady state, per speaker (goal RSS <= 80 MB);
//   - time from Service creation (POST) to the first ARP frame for its IP reaching the client
//     (requested IPs, so the client knows what to watch; includes IPAM assignment, the election,
//     the announcer's conflict probe (200 ms) and the first gratuitous ARP);
//   - failover of a node owning ~N/3 IPs: crash (link down + SIGKILL) until the client has seen a
//     gratuitous ARP for every one of its IPs from a new owner.
//
// Usage: npx tsx scripts/bench/failover-scale.ts [--services 1000] [--window 20] [--runtime node|deno] [--ipam bench|lab] [--json]
// Needs root and the control plane (OELB_KUBECONFIG, else a private one is started).
import { readFileSync } from 'node:fs';
import process from 'node:process';
import type { V1Service } from '@kubernetes/client-node';
import { retrySlowApi } from '../kit/retry.ts';
import { LAB_LABEL, SeedLab, apiWriteCounts, countDelta, inBatches } from '../lab/lab.ts';
import { tsxArgv } from '../kit/netns.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const N = Number(opt('services', '1000'));
const windowS = Number(opt('window', '20'));
const runtime = opt('runtime', 'node') as 'node' | 'deno';
// --ipam lab: the speakers' IPAM assigns (end to end, slow on a loaded machine: ~1 Service/s here);
// --ipam bench (default): IPAM off in the speakers, this script writes status.loadBalancer.ingress
// itself, so the figures are the Layer 2 side's alone.
const ipamMode = opt('ipam', 'bench') as 'lab' | 'bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();
const say = (s: string) => process.stderr.write(s + '\n');
const POOL = { name: 'scale', address: '10.200.0.0/21', interface: 'eth0' }; // 2048 addresses, named NIC

function procStat(pid: number): { rssMiB: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return { rssMiB: rssKiB / 1024, cpuS: ticks / 100 };
}

function serviceBody(lab: SeedLab, name: string, ip?: string): V1Service {
  return {
    metadata: {
      name,
      namespace: lab.namespace,
      labels: { [LAB_LABEL]: lab.id },
      annotations: {
        'lb.kubesphere.io/v1alpha1': 'openelb',
        'eip.openelb.kubesphere.io/v1alpha2': POOL.name,
        ...(ip ? { 'eip.openelb.kubesphere.io/v1alpha1': ip } : {}),
      },
    },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
}

/** Without IPAM in the speakers: write the Service's status as the IPAM leader would. */
async function assign(lab: SeedLab, name: string, ip: string): Promise<void> {
  await retrySlowApi(() => lab.admin.patchServiceStatus(lab.namespace, name, { status: { loadBalancer: { ingress: [{ ip }] } } }));
}

/** openelb_layer2_ips{owner="self"} of one speaker, or NaN when its /metrics does not answer. */
async function ownedOf(n: SeedLab['nodes'][number]): Promise<number> {
  try {
    return Number(/openelb_layer2_ips\{owner="self"\} (\d+)/.exec(await n.http('/metrics'))?.[1] ?? 0);
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  const lab = await SeedLab.create({ log: say, runtime, ipam: ipamMode === 'lab' });
  const report: Record<string, unknown> = { services: N, runtime, windowS, ipam: ipamMode };
  try {
    await lab.createEip(POOL);
    await lab.client.ip('route', 'add', '10.200.0.0/21', 'dev', 'eth0');
    await lab.startSpeakers();

    say(`creating ${N} Services`);
    const tCreate = Date.now();
    await inBatches(Array.from({ length: N }, (_, i) => i), 16, async (i) => {
      // A create that timed out on our side may have happened: AlreadyExists (409) is success.
      await retrySlowApi(() => lab.admin.core.createNamespacedService({ namespace: lab.namespace, body: serviceBody(lab, `s-${i}`) })).catch((err) => {
        if ((err as { code?: number }).code !== 409) throw err;
      });
      if (ipamMode === 'bench') await assign(lab, `s-${i}`, `10.200.${i >> 8}.${i & 255}`);
    });
    const created = Date.now() - tCreate;
    // All assigned, and every IP owned by some speaker (their metrics add up to N).
    let owned = 0;
    for (let i = 0; i < 600; i++) {
      const list = await retrySlowApi(() => lab.admin.core.listNamespacedService({ namespace: lab.namespace }));
      const assigned = list.items.filter((s) => s.status?.loadBalancer?.ingress?.[0]?.ip).length;
      owned = 0;
      for (const n of lab.nodes) owned += await ownedOf(n);
      if (assigned >= N && owned >= N) break;
      if (i % 10 === 0) say(`  assigned ${assigned}/${N}, owned ${owned}/${N}`);
      await sleep(1000);
    }
    const settledS = (Date.now() - tCreate) / 1000;
    report.createMs = created;
    report.allAnnouncedS = settledS;
    say(`all ${N} assigned and owned ${settledS.toFixed(1)} s after the first POST (POSTs took ${created} ms)`);
    await sleep(10_000); // let visibility writes and events land

    // Steady state: API writes, RSS, CPU.
    const gone = lab.nodes.filter((n) => !n.speaker || n.speaker.result);
    if (gone.length) throw new Error(`speaker(s) exited during the burst: ${gone.map((n) => n.name).join(', ')}`);
    const pids = lab.nodes.map((n) => n.speaker!.pid!);
    const before = await apiWriteCounts(lab);
    const cpu0 = pids.map((p) => procStat(p).cpuS);
    await sleep(windowS * 1000);
    const delta = countDelta(before, await apiWriteCounts(lab));
    const stats = pids.map((p, i) => ({ node: lab.nodes[i]!.name, ...procStat(p), cpuPct: ((procStat(p).cpuS - cpu0[i]!) / windowS) * 100 }));
    const writes = Object.fromEntries([...delta].map(([k, v]) => [k, +(v / windowS).toFixed(2)]));
    report.steadyWritesPerS = writes;
    report.speakers = stats.map((s) => ({ node: s.node, rssMiB: +s.rssMiB.toFixed(1), cpuPct: +s.cpuPct.toFixed(1) }));
    const ownedPer = await Promise.all(lab.nodes.map(ownedOf));
    report.ownedPerNode = Object.fromEntries(lab.nodes.map((n, i) => [n.name, ownedPer[i]]));
    say(`steady state over ${windowS} s: writes/s ${JSON.stringify(writes)}`);
    for (const s of stats) say(`  ${s.node}: RSS ${s.rssMiB.toFixed(1)} MiB, CPU ${s.cpuPct.toFixed(1)} %`);

    // Creation -> first ARP frame for the IP at the client.
    const probeIps = Array.from({ length: 10 }, (_, k) => `10.200.7.${200 + k}`);
    const probe = lab.client.spawn(tsxArgv('scripts/lab/client-probe.ts', ...probeIps.flatMap((ip) => ['--ip', ip])));
    await probe.waitForLine(/^ready/, 30_000);
    const latencies: number[] = [];
    for (const [k, ip] of probeIps.entries()) {
      const t0 = now();
      await lab.admin.core.createNamespacedService({ namespace: lab.namespace, body: serviceBody(lab, `probe-${k}`, ip) });
      if (ipamMode === 'bench') await assign(lab, `probe-${k}`, ip);
      const line = await probe.waitForLine(new RegExp(`"ip":"${ip.replace(/\./g, '\\.')}"`), 20_000);
      latencies.push((JSON.parse(line) as { t: number }).t - t0);
      say(`  create -> first ARP for ${ip}: ${latencies.at(-1)!.toFixed(0)} ms`);
    }
    probe.kill('SIGTERM');
    await probe.exited;
    const sorted = [...latencies].sort((a, b) => a - b);
    report.createToArpMs = { median: (sorted[4]! + sorted[5]!) / 2, max: sorted[9]!, min: sorted[0]!, all: latencies.map((x) => Math.round(x)) };

    // Crash failover of the node owning the most IPs: every one of its IPs re-announced by others.
    const victimIdx = ownedPer.indexOf(Math.max(...ownedPer));
    const victim = lab.nodes[victimIdx]!;
    const theirs = (await lab.expectedOwners());
    const ips = [...theirs].filter(([, e]) => e.node === victim.name).map(([ip]) => ip);
    const watch = lab.client.spawn(tsxArgv('scripts/lab/client-probe.ts', ...ips.flatMap((ip) => ['--ip', ip])));
    await watch.waitForLine(/^ready/, 30_000);
    const t0 = now();
    await victim.link(false);
    await victim.killSpeaker();
    const seen = new Map<string, number>();
    const deadline = Date.now() + 30_000;
    while (seen.size < ips.length && Date.now() < deadline) {
      for (const l of watch.stdout.split('\n')) {
        if (!l.startsWith('{')) continue;
        const o = JSON.parse(l) as { ip: string; mac: string; t: number };
        if (o.t >= t0 && o.mac !== victim.mac && !seen.has(o.ip)) seen.set(o.ip, o.t - t0);
      }
      await sleep(100);
    }
    watch.kill('SIGTERM');
    await watch.exited;
    const times = [...seen.values()].sort((a, b) => a - b);
    report.crashFailover = {
      node: victim.name,
      ips: ips.length,
      moved: seen.size,
      firstMs: Math.round(times[0] ?? NaN),
      medianMs: Math.round(times[Math.floor(times.length / 2)] ?? NaN),
      lastMs: Math.round(times.at(-1) ?? NaN),
    };
    say(`crash of ${victim.name} (${ips.length} IPs): ${seen.size} re-announced; first ${times[0]?.toFixed(0)} ms, last ${times.at(-1)?.toFixed(0)} ms`);
    await victim.link(true);

    if (argv.includes('--json')) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    for (const n of lab.nodes) {
      const r = n.speakers.at(-1)?.result;
      if (r && n.speakers.at(-1) !== undefined && r.signal !== 'SIGKILL') {
        say(`speaker ${n.name} exited (${r.code ?? r.signal}) during the run:\n${n.speakers.at(-1)!.stderr.split('\n').filter((l) => !l.includes('"level":"info"')).slice(-15).join('\n')}`);
      }
    }
    say('tearing down (deleting Services)');
    await lab.teardown();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    say(String((err as Error)?.stack ?? err));
    process.exit(1);
  },
);
