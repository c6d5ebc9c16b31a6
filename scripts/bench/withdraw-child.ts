// bench-helper: started by scripts/bench/withdraw.ts inside a network namespace that holds the
// dummy NIC `d0` (up, no addresses). Not a benchmark on its own.
//   ip netns exec NS node --import tsx scripts/bench/withdraw-child.ts SIZE...   -> JSON on stdout
//
// For each size N (each run in a fresh Announcer + Registry, REPEAT times, median reported):
//  - announcer: the real Announcer (src/l2/announcer.ts) announces N IPv4 addresses on d0 (real
//    AF_PACKET socket, no probe, one gratuitous announcement, no refresh), a scrape publishes the
//    per-IP counters, then the time of ONE update(empty map), i.e. the whole set withdrawn at once,
//    as a reconcile does when many Services go (or the node loses them) together.
//  - registry: a Registry alone with the announcer's six per-IP metrics fully populated (every
//    metric has a series for every IP, the state gauge one per IP), then the time to remove every
//    IP's series the way the announcer does (removeMatching({ip}) per metric per IP).
// Log output (one 'released address' line per IP, as in production) goes to a sink that drops it,
// so the pipe to the parent does not become part of what is measured.
import process from 'node:process';
import { Announcer, L2_METRICS } from '../../src/l2/announcer.ts';
import { setLogSink } from '../../src/log.ts';
import { Registry } from '../../src/observe/metrics.ts';

const NIC = 'd0';
const REPEAT = 3;

setLogSink(() => undefined);

function ipOf(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function announcerOnce(n: number): Promise<number> {
  const registry = new Registry();
  const a = new Announcer({ registry, probeMs: 0, burstCount: 1, refreshMs: 0, linkCheckMs: 60_000 });
  const want = new Map<string, { nic: string; probe: boolean }>();
  for (let i = 1; i <= n; i++) want.set(ipOf(i), { nic: NIC, probe: false });
  a.update(want);
  const states = a.states();
  const announcing = [...states.values()].filter((s) => s.state === 'announcing').length;
  if (announcing !== n) {
    const other = [...states.values()].find((s) => s.state !== 'announcing');
    throw new Error(`announcer: ${announcing}/${n} announcing on ${NIC} (${other?.state}: ${other?.error ?? ''})`);
  }
  const text = registry.render(); // publishes the gratuitous counters: series per IP, as after a scrape
  if (!text.includes(`${L2_METRICS.gratuitous}{ip="${ipOf(n)}"`)) throw new Error('announcer: no per-IP series after a scrape');
  await sleep(20);
  const t0 = performance.now();
  a.update(new Map());
  const ms = performance.now() - t0;
  if (a.states().size !== 0) throw new Error('announcer: addresses left after withdrawing all');
  if (registry.render().includes('ip="')) throw new Error('announcer: per-IP series left after withdrawing all');
  await a.close();
  return ms;
}

function registryOnce(n: number): number {
  const r = new Registry();
  const counters = [L2_METRICS.requests, L2_METRICS.responses, L2_METRICS.gratuitous, L2_METRICS.conflicts, L2_METRICS.probesSeen].map((name) => r.counter(name, name));
  const state = r.gauge(L2_METRICS.state, 'state');
  for (let i = 1; i <= n; i++) {
    const labels = { ip: ipOf(i), nic: NIC };
    for (const c of counters) c.inc(labels);
    state.set({ ...labels, state: 'announcing' }, 1);
  }
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    for (const m of [...counters, state]) m.removeMatching({ ip: ipOf(i) });
  }
  const ms = performance.now() - t0;
  if (r.render().includes('ip="')) throw new Error('registry: per-IP series left after removing all');
  return ms;
}

const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 60_000)) {
  process.stderr.write('usage: withdraw-child.ts SIZE... (each 1..60000)\n');
  process.exit(2);
}
const out: Record<string, Record<string, number>> = { announcerMs: {}, registryMs: {} };
await announcerOnce(100); // warm-up (JIT, socket open path)
registryOnce(100);
for (const n of sizes) {
  const a: number[] = [];
  const r: number[] = [];
  for (let k = 0; k < REPEAT; k++) {
    a.push(await announcerOnce(n));
    r.push(registryOnce(n));
  }
  out['announcerMs']![n] = +median(a).toFixed(2);
  out['registryMs']![n] = +median(r).toFixed(2);
  process.stderr.write(`[withdraw-child] ${n} IPs: announcer ${median(a).toFixed(1)} ms, registry ${median(r).toFixed(1)} ms\n`);
}
process.stdout.write(JSON.stringify(out) + '\n');
