// What liveness costs at scale, on a lab of N speakers (default 10) in network namespaces on one
// bridge, against the real kube-apiserver, with S Services (default 30, at most 151) assigned by the speakers'
// own IPAM. Three phases in the same run, the same speakers restarted in between:
//   on     the defaults: beacons every 100 ms, membership Lease every 10 s, IPAM every 4 s;
//   off    --enable-beacons=false with the same Lease cadence: the baseline for the beacons' CPU;
//   before the timings before beacons existed (membership 500 ms/1.5 s, IPAM 500 ms/3 s/4 s, no
//          beacons): the baseline for API writes.
// Per phase, over a steady-state window: API writes per second by resource (the API server's own
// apiserver_request_total) and per node, speaker CPU (% of one core, utime+stime from /proc) and,
// with beacons, bytes/s of beacons each node sends (openelb_beacons_sent_bytes_total).
//
// Usage: npx tsx scripts/bench/liveness.ts [--nodes 10] [--services 30] [--window 30] [--json]
// Needs root and the control plane (OELB_KUBECONFIG, else a private one is started).
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { type LabNode, SeedLab, apiWriteCounts, countDelta } from '../lab/lab.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const nodes = Number(opt('nodes', '10'));
const services = Number(opt('services', '30'));
const windowS = Number(opt('window', '30'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (s: string) => process.stderr.write(s + '\n');

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function metric(node: LabNode, name: string): Promise<number> {
  const text = await node.http('/metrics');
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function measure(lab: SeedLab, beacons: boolean): Promise<Record<string, unknown>> {
  await sleep(15_000); // settle: visibility writes, first renewals after the restart
  const pids = lab.nodes.map((n) => n.speaker!.pid!);
  const w0 = await apiWriteCounts(lab);
  const c0 = pids.map(cpuSeconds);
  const b0 = beacons ? await Promise.all(lab.nodes.map((n) => metric(n, 'openelb_beacons_sent_bytes_total'))) : [];
  const t0 = performance.now();
  await sleep(windowS * 1000);
  const secs = (performance.now() - t0) / 1000;
  const delta = countDelta(w0, await apiWriteCounts(lab));
  const cpu = pids.map((p, i) => ((cpuSeconds(p) - c0[i]!) / secs) * 100);
  const bytes = beacons ? (await Promise.all(lab.nodes.map((n) => metric(n, 'openelb_beacons_sent_bytes_total')))).map((b, i) => (b - b0[i]!) / secs) : [];
  const ours = [...delta].filter(([k]) => /^(services|services\/status|events|eips|eips\/status|leases|secrets) /.test(k));
  const leaseWrites = ours.filter(([k]) => k.startsWith('leases ')).reduce((a, [, v]) => a + v, 0);
  const gone = lab.nodes.filter((n) => !n.speaker || n.speaker.result);
  if (gone.length) throw new Error(`speaker(s) exited: ${gone.map((n) => n.name).join(', ')}`);
  return {
    beacons,
    windowS: +secs.toFixed(1),
    writesPerS: Object.fromEntries(ours.map(([k, v]) => [k, +(v / secs).toFixed(3)])),
    leaseWritesPerS: +(leaseWrites / secs).toFixed(3),
    // membership (one Lease per node) + IPAM (one Lease): the per-node share of the total
    leaseWritesPerSPerNode: +(leaseWrites / secs / lab.nodes.length).toFixed(3),
    speakerCpuPct: { median: +median(cpu).toFixed(2), max: +Math.max(...cpu).toFixed(2) },
    ...(beacons ? { beaconBytesPerSPerNode: { median: Math.round(median(bytes)), max: Math.round(Math.max(...bytes)) } } : {}),
  };
}

/** Ten tsx speakers starting at once starve a shared 2-core machine past /readyz's minute: one by one. */
async function startOneByOne(lab: SeedLab): Promise<void> {
  for (const n of lab.nodes) await n.startSpeaker();
}

async function main(): Promise<void> {
  const lab = await SeedLab.create({ log: say, nodeCount: nodes });
  const report: Record<string, unknown> = { nodes, services, windowS };
  try {
    // The seed pool has 10 addresses; generated nodes use 192.168.0.20+.
    await lab.createEip({ address: '192.168.0.100-192.168.0.250' });
    await startOneByOne(lab);
    for (let i = 0; i < services; i++) await lab.createService({ name: `lvb-${i}`, pods: 2 });
    const phases: Array<[string, string[]]> = [
      ['on', []],
      ['off', ['--enable-beacons=false']],
      ['before', ['--enable-beacons=false', '--member-lease-duration-ms', '1500', '--member-retry-period-ms', '500', '--ipam-lease-duration-ms', '4000', '--ipam-renew-deadline-ms', '3000', '--ipam-retry-period-ms', '500']],
    ];
    for (const [name, args] of phases) {
      if (name !== 'on') {
        say(`restarting the speakers with ${args.join(' ')}`);
        for (const n of lab.nodes) await n.stopSpeaker();
        lab.opts.speakerArgs = args;
        await startOneByOne(lab);
      }
      say(`phase ${name}: measuring for ${windowS} s`);
      report[name] = await measure(lab, name === 'on');
      say(JSON.stringify(report[name]));
    }
    type Phase = { speakerCpuPct: { median: number }; leaseWritesPerS: number };
    const on = report.on as Phase;
    const off = report.off as Phase;
    const before = report.before as Phase;
    report.beaconCpuPctPerSpeaker = +(on.speakerCpuPct.median - off.speakerCpuPct.median).toFixed(2);
    report.leaseWritesRatioBeforeOverOn = +(before.leaseWritesPerS / on.leaseWritesPerS).toFixed(1);
  } finally {
    await lab.teardown();
  }
  process.stdout.write(JSON.stringify(report, null, argv.includes('--json') ? 0 : 2) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
