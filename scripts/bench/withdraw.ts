// Withdrawing many addresses at once (issue 10, defect 3): the time one reconcile blocks the event
// loop when 1,000 / 2,000 / 4,000 IPs are withdrawn together, and how it grows per doubling
// (linear: about 2x; the quadratic metric-series scan this guards against was about 4x:
// 384 ms / 1.5 s / 5.5 s). Needs root (a network namespace with a veth pair for the real sockets).
//   npx tsx scripts/bench/withdraw.ts [SIZE...]      -> one JSON object on stdout, progress on stderr
//
// The measuring runs in scripts/bench/withdraw-child.ts inside the namespace (its header says what
// is timed): `announcer` is the real Announcer on a real AF_PACKET socket, `registry` the metrics
// registry alone. ratio = time(2N) / time(N) for each doubling, from the same run.
import process from 'node:process';
import { Lab, tsxArgv } from '../kit/netns.ts';

const sizes = process.argv.slice(2).length > 0 ? process.argv.slice(2).map(Number) : [1000, 2000, 4000];
const progress = (msg: string): void => void process.stderr.write(`[withdraw-bench] ${msg}\n`);

function ratios(ms: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of sizes) {
    const half = ms[String(n / 2)];
    const t = ms[String(n)];
    if (half !== undefined && t !== undefined && half > 0) out[`${n / 2}->${n}`] = +(t / half).toFixed(2);
  }
  return out;
}

const lab = await Lab.create();
try {
  const ns = await lab.namespace('wd');
  // A veth pair inside the one namespace (this kernel has no dummy driver); d0 is the served NIC.
  await ns.ip('link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
  await ns.ip('link', 'set', 'd1', 'up');
  await ns.ip('link', 'set', 'd0', 'up');
  progress(`sizes ${sizes.join(', ')} in ${ns.name}`);
  const r = await ns.exec(tsxArgv('scripts/bench/withdraw-child.ts', ...sizes.map(String)), { timeoutMs: 600_000 });
  process.stderr.write(r.stderr);
  if (r.code !== 0) throw new Error(`withdraw-child exited ${r.code ?? r.signal}`);
  const m = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { announcerMs: Record<string, number>; registryMs: Record<string, number> };
  const result = {
    node: process.version,
    loadAverage: (await import('node:os')).loadavg().map((x) => +x.toFixed(2)),
    announcer: { ms: m.announcerMs, ratioPerDoubling: ratios(m.announcerMs) },
    registry: { ms: m.registryMs, ratioPerDoubling: ratios(m.registryMs) },
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await lab.teardown();
}
