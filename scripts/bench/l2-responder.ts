// ARP/NDP responder benchmark (issue 2, item 7): our `announce` vs the kernel answering for an
// address it owns, in the same run, on the same veth pair. Needs root (network namespaces).
//   npx tsx scripts/bench/l2-responder.ts [--quick]        -> JSON on stdout, progress on stderr
//
// Topology: client eth0 (10.99.0.2/24, fd00:99::2/64) <-veth-> server eth0 (10.99.0.1/24 and
// fd00:99::1/64: the kernel's; VIP4 10.99.0.77 and VIP6 fd00:99::77: ours, held by announce).
// Measured:
//  - round trip, arping (ARP): `arping -c N -i 0`-style single requests to the kernel's address and
//    to ours, interleaved (the tool the goal was set with);
//  - round trip, lean client (ARP and NDP): scripts/bench/l2-client.ts, one request at a time,
//    alternating kernel / ours, blocking poll() for the answer;
//  - answered fraction at 10,000 requests/s for 5 s (ARP and NDP), and the highest rate (doubling
//    from 10k, 2 s per step) still answered >= 99 %, ours vs the kernel;
//  - CPU µs per answered request (utime+stime of the announce process over the 10k/s run);
//  - RSS of announce holding 1,000 addresses after its takeover bursts: Node through tsx (the
//    sources), the shipped bundle through its #! line (its memory flags), the bundle on Deno with
//    the same flags, Deno on the sources.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { join } from 'node:path';
import { Lab, REPO_ROOT, denoArgv, denoBinary, run, tsxArgv, type Child, type Netns } from '../kit/netns.ts';
import { DENO_V8_FLAGS, MALLOC_ENV } from '../../src/cli/runtime-flags.ts';

const quick = process.argv.includes('--quick');
// --only rtt,rate,rss runs a subset (for iterating on one number).
const onlyArg = process.argv.indexOf('--only');
const only = new Set(onlyArg >= 0 ? (process.argv[onlyArg + 1] ?? '').split(',') : ['rtt', 'rate', 'rss']);
const KERNEL4 = '10.99.0.1';
const KERNEL6 = 'fd00:99::1';
const VIP4 = '10.99.0.77';
const VIP6 = 'fd00:99::77';
const progress = (msg: string): void => void process.stderr.write(`[l2-bench] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function stats(samples: number[]): { n: number; medianUs: number; p90Us: number } {
  const s = [...samples].sort((x, y) => x - y);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, medianUs: +at(0.5).toFixed(1), p90Us: +at(0.9).toFixed(1) };
}

async function waitFor(cond: () => boolean, what: string, c: Child, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    if (c.result) throw new Error(`${what}: process exited\n${c.stderr}`);
    await sleep(50);
  }
  throw new Error(`${what}: timed out\n${c.stderr.slice(-3000)}`);
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14, 15)
}
function status(pid: number): { rssMiB: number; anonMiB: number; fileMiB: number; hwmMiB: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { rssMiB: +(kb('VmRSS') / 1024).toFixed(1), anonMiB: +(kb('RssAnon') / 1024).toFixed(1), fileMiB: +(kb('RssFile') / 1024).toFixed(1), hwmMiB: +(kb('VmHWM') / 1024).toFixed(1) };
}
const TICK_US = 1e6 / 100; // USER_HZ

async function client(ns: Netns, ...args: string[]): Promise<Record<string, unknown>> {
  const out = await ns.run(tsxArgv('scripts/bench/l2-client.ts', ...args), { timeoutMs: 300_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

/** One `arping -c 1` per sample (its own send->reply timing), alternating kernel and ours. */
async function arpingRtt(ns: Netns, targets: string[], perTarget: number): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t, []]));
  for (let i = 0; i < perTarget; i++) {
    for (const t of targets) {
      const r = await ns.exec(['arping', '-c', '1', '-w', '1', '-I', 'eth0', t]);
      const m = / ([\d.]+)ms/.exec(r.stdout);
      if (m) out[t]!.push(Number(m[1]) * 1000);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const lab = await Lab.create();
  try {
    const cl = await lab.namespace('client');
    const sv = await lab.namespace('server');
    await lab.veth(cl, 'eth0', sv, 'eth0', { addrA: ['10.99.0.2/24', 'fd00:99::2/64'], addrB: [`${KERNEL4}/24`, `${KERNEL6}/64`] });
    const result: Record<string, unknown> = {
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      loadavgAtStart: (await import('node:os')).loadavg().map((x) => +x.toFixed(2)),
    };

    // ---- our responder (Node), no probe, no refresh (nothing but answers on the wire)
    const ann = sv.spawn(tsxArgv('src/cli/main.ts', 'announce', '--interface', 'eth0', '--address', VIP4, '--address', VIP6, '--no-probe', '--refresh-ms', '0', '--burst-count', '1', '--log-level', 'warn'));
    await waitFor(() => ann.pid !== undefined, 'spawn', ann);
    await sleep(quick ? 2000 : 3000); // start-up and JIT warm-up of the receive path happens on the first requests
    const pid = ann.pid!;

    if (only.has('rtt')) {
    // ---- RTT, lean client
    const n = quick ? 100 : 500;
    progress(`lean-client RTT: ${n} x 2 targets per family`);
    await client(cl, 'rtt', 'eth0', 'arp', '10.99.0.2', `${KERNEL4},${VIP4}`, '50', '2'); // warm-up
    const arpLean = (await client(cl, 'rtt', 'eth0', 'arp', '10.99.0.2', `${KERNEL4},${VIP4}`, String(n), '5')) as { rtt: Record<string, number[]>; lost: Record<string, number> };
    await client(cl, 'rtt', 'eth0', 'ndp', 'fd00:99::2', `${KERNEL6},${VIP6}`, '50', '2');
    const ndpLean = (await client(cl, 'rtt', 'eth0', 'ndp', 'fd00:99::2', `${KERNEL6},${VIP6}`, String(n), '5')) as { rtt: Record<string, number[]>; lost: Record<string, number> };
    const lean = (r: { rtt: Record<string, number[]>; lost: Record<string, number> }, k: string, o: string) => {
      const kernel = stats(r.rtt[k]!);
      const ours = stats(r.rtt[o]!);
      return {
        kernel, ours, lost: r.lost,
        medianRatio: +(ours.medianUs / kernel.medianUs).toFixed(2),
        p90Ratio: +(ours.p90Us / kernel.p90Us).toFixed(2),
        medianAddedUs: +(ours.medianUs - kernel.medianUs).toFixed(1),
      };
    };
    result['rttLeanClient'] = { arp: lean(arpLean, KERNEL4, VIP4), ndp: lean(ndpLean, KERNEL6, VIP6) };

    // ---- RTT, arping (interleaved: kernel, ours, kernel, ours ...)
    const per = quick ? 30 : 150;
    progress(`arping RTT: ${per} single-request runs per target`);
    const ar = await arpingRtt(cl, [KERNEL4, VIP4], per);
    const k = stats(ar[KERNEL4]!);
    const o = stats(ar[VIP4]!);
    result['rttArping'] = { kernel: k, ours: o, medianRatio: +(o.medianUs / k.medianUs).toFixed(2), p90Ratio: +(o.p90Us / k.p90Us).toFixed(2) };
    }
    if (only.has('rate')) {

    // ---- rate: 10k/s for 5 s, ours vs kernel, ARP and NDP; CPU of announce over our ARP run
    progress('10k/s for 5 s');
    const rate = async (fam: 'arp' | 'ndp', target: string, r: number, s: number): Promise<{ sent: number; answered: number; fraction: number }> => {
      const src = fam === 'arp' ? '10.99.0.2' : 'fd00:99::2';
      const x = (await client(cl, 'rate', 'eth0', fam, src, target, String(r), String(s))) as { sent: number; answered: number };
      return { sent: x.sent, answered: x.answered, fraction: +(x.answered / x.sent).toFixed(4) };
    };
    const c0 = cpuTicks(pid);
    const ours10k = await rate('arp', VIP4, 10_000, 5);
    const c1 = cpuTicks(pid);
    const kernel10k = await rate('arp', KERNEL4, 10_000, 5);
    const ours10k6 = await rate('ndp', VIP6, 10_000, 5);
    const kernel10k6 = await rate('ndp', KERNEL6, 10_000, 5);
    result['rate10k5s'] = {
      arp: { ours: ours10k, kernel: kernel10k },
      ndp: { ours: ours10k6, kernel: kernel10k6 },
      cpuUsPerAnsweredArp: +(((c1 - c0) * TICK_US) / Math.max(1, ours10k.answered)).toFixed(1),
    };

    // ---- highest rate answered >= 99 % (ARP), doubling from 10k, 2 s per step
    progress('highest rate >= 99 %');
    const highest = async (target: string): Promise<{ highest: number; steps: Array<{ rate: number; fraction: number }> }> => {
      const steps: Array<{ rate: number; fraction: number }> = [];
      let best = 0;
      for (let r = 10_000; r <= 320_000; r *= 2) {
        const x = await rate('arp', target, r, 2);
        const achieved = x.sent / 2;
        steps.push({ rate: Math.round(achieved), fraction: x.fraction });
        if (x.fraction < 0.99) break;
        best = Math.round(achieved);
        if (achieved < r * 0.8) break; // the client cannot send faster
      }
      return { highest: best, steps };
    };
    result['highestRate99'] = { ours: await highest(VIP4), kernel: await highest(KERNEL4) };
    }
    await ann.stop();
    if (only.has('rss')) {

    // ---- RSS with 1,000 addresses (probe on, as a user would run it), Node and Deno
    const addrs: string[] = [];
    for (let i = 0; addrs.length < 1000; i++) addrs.push(`10.98.${Math.floor(i / 250)}.${(i % 250) + 1}`);
    const rss: Record<string, unknown> = {};
    // As users run it: Node through tsx (the sources, development), the shipped bundle
    // (scripts/build.ts, what `npx openelb-ts` after `npm ci` and the image run) started through
    // its #! line, which sets the memory flags of src/cli/runtime-flags.ts, the same bundle on Deno
    // with those flags, and Deno on the sources for comparison.
    const outdir = join(REPO_ROOT, 'node_modules/.cache/openelb-ts-bench');
    await run(['rm', '-rf', outdir]);
    await run([process.execPath, '--import', 'tsx', 'scripts/build.ts', '--outdir', outdir]);
    const bundle = join(outdir, 'openelb-ts.mjs');
    const variants: Array<[string, (s: string, ...a: string[]) => string[]]> = [
      ['node-tsx', tsxArgv],
      ['node-bundle-shipped', (_s, ...a) => [bundle, ...a]],
      // The baseline in the same run: the same bundle told to keep its start-up pages (src/cli/startup-pages.ts).
      ['node-bundle-keep-startup-pages', (_s, ...a) => ['env', 'OPENELB_TS_DROP_STARTUP_PAGES=0', bundle, ...a]],
      ['deno-bundle-shipped', (_s, ...a) => ['env', ...Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v}`), denoBinary(), 'run', '-A', '--quiet', DENO_V8_FLAGS, bundle, ...a]],
      ['deno-sources', denoArgv],
    ];
    for (const [name, argvFor] of variants) {
      progress(`RSS with 1,000 addresses (${name})`);
      const big = sv.spawn(argvFor('src/cli/main.ts', 'announce', '--interface', 'eth0', '--address', addrs.join(','), '--log-level', 'warn'));
      await waitFor(() => big.pid !== undefined, 'spawn', big);
      await sleep(8000); // probes (200 ms) + the 5 s burst
      rss[name] = status(big.pid!);
      const r = await big.stop();
      if (r.code !== 0) throw new Error(`announce (${name}) exit ${r.code}: ${big.stderr.slice(-2000)}`);
    }
    result['rss1000'] = rss;
    }
    result['loadavgAtEnd'] = (await import('node:os')).loadavg().map((x) => +x.toFixed(2));
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    await lab.teardown();
  }
}

await main();
