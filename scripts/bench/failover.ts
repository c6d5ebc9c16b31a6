// Failover time seen from the client, on the seed lab (scripts/lab): three node namespaces with real
// speakers against the real kube-apiserver, a client namespace on the same bridge.
//
//   graceful: SIGTERM to the owning speaker (a rolling update; the node stays up).
//   crash:    the owning node falls off the network (eth0 down) and its speaker is SIGKILLed
//             (power loss: no Lease release, no last word on the wire).
//
// Measured per run, from the moment of the stop (t0, taken just before the signal):
//   arp  = first ARP frame from another lab node claiming the VIP arriving at the client (the
//          kernel updates the client's neighbour entry from that frame; `ip neigh` is checked after);
//   http = (crash) first successful HTTP GET through the VIP after t0, with a fresh connection every
//          20 ms; (graceful) HTTP failures during the window (the old node still forwards, so none expected).
// Then the node is restored, the speaker restarted, and the next run waits for the failback.
//
// Usage: npx tsx scripts/bench/failover.ts [--runs 10] [--mode both|graceful|crash] [--runtime node|deno] [--json]
// Needs root and the control plane (OELB_KUBECONFIG, else a private one is started).
import process from 'node:process';
import { CRASH_PROMISE_MS, GRACEFUL_PROMISE_MS } from '../lab/failover-bounds.ts';
import { type LabNode, SeedLab } from '../lab/lab.ts';
import { tsxArgv } from '../kit/netns.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const runs = Number(opt('runs', '10'));
const mode = opt('mode', 'both');
const runtime = opt('runtime', 'node') as 'node' | 'deno';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();
const say = (s: string) => process.stderr.write(s + '\n');

interface Run {
  mode: 'graceful' | 'crash';
  from: string;
  to: string;
  arpMs: number;
  neighMs: number;
  httpMs?: number;
  httpFailures: number;
  exitMs?: number;
}

function stats(xs: number[]): { median: number; p90: number; max: number; min: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { median: s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2, p90: q(0.9), max: s[s.length - 1]!, min: s[0]! };
}

async function main(): Promise<void> {
  const lab = await SeedLab.create({ log: say, runtime });
  try {
    await lab.createEip();
    await lab.startSpeakers();
    const svc = await lab.createService({ name: 'bench', pods: 3 });
    const ip = svc.ip;
    const results: Run[] = [];
    const modes: Array<'graceful' | 'crash'> = mode === 'both' ? ['graceful', 'crash'] : [mode as 'graceful' | 'crash'];

    for (const m of modes) {
      for (let r = 0; r < runs; r++) {
        const owner = await settledOwner(lab, ip);
        await lab.forget(ip);
        const mac = await lab.resolveFromClient(ip);
        if (mac !== owner.mac) throw new Error(`client resolved ${ip} to ${mac}, owner is ${owner.name}`);
        const probe = lab.client.spawn(tsxArgv('scripts/lab/client-probe.ts', '--ip', ip, ...(m === 'crash' ? ['--http'] : ['--http'])));
        await probe.waitForLine(/^ready/, 30_000);
        await sleep(300); // the probe's first requests go through the old owner

        const t0 = now();
        let exitMs: number | undefined;
        let tDown = t0;
        let stopping: Promise<unknown>;
        if (m === 'graceful') {
          stopping = owner.stopSpeaker().then((s) => (exitMs = s.ms));
        } else {
          await owner.link(false);
          tDown = now(); // requests started from here on cannot reach the old owner
          stopping = owner.killSpeaker();
        }
        // Neighbour entry as the kernel sees it (polled), and the ARP frame that changed it.
        let neighMs = NaN;
        const deadline = performance.now() + 10_000;
        while (performance.now() < deadline) {
          const n = await lab.neighbour(ip);
          if (n?.mac && n.mac !== owner.mac) {
            neighMs = now() - t0;
            break;
          }
          await sleep(5);
        }
        await stopping;
        await sleep(m === 'crash' ? 500 : 300);
        probe.kill('SIGTERM');
        await probe.exited;
        const lines = probe.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { kind: string; t: number; done?: number; mac?: string; ok?: boolean });
        const arp = lines.find((l) => l.kind === 'arp' && l.t >= t0 && l.mac !== owner.mac);
        const to = lab.nodeByMac(arp?.mac)?.name ?? '?';
        const http = lines.filter((l) => l.kind === 'http');
        const afterT0 = http.filter((l) => l.t >= t0);
        const failures = afterT0.filter((l) => !l.ok).length;
        const firstOk = http.find((l) => l.t >= tDown && l.ok);
        const run: Run = {
          mode: m,
          from: owner.name,
          to,
          arpMs: arp ? arp.t - t0 : NaN,
          neighMs,
          httpFailures: failures,
          ...(m === 'crash' && firstOk ? { httpMs: firstOk.done! - t0 } : {}),
          ...(exitMs !== undefined ? { exitMs } : {}),
        };
        results.push(run);
        say(`${m} #${r + 1}: ${run.from} -> ${run.to}: arp ${run.arpMs.toFixed(1)} ms, ip neigh ${run.neighMs.toFixed(1)} ms` +
          (run.httpMs !== undefined ? `, http ${run.httpMs.toFixed(1)} ms` : '') + `, http failures ${failures}` +
          (exitMs !== undefined ? `, speaker exit ${exitMs.toFixed(0)} ms` : ''));

        // Restore: node back on the network, speaker restarted; wait for the failback to settle.
        if (m === 'crash') await owner.link(true);
        await owner.startSpeaker();
        await sleep(1500);
      }
    }

    const report: Record<string, unknown> = { runs, ip, runtime, results: {} };
    for (const m of modes) {
      const rs = results.filter((r) => r.mode === m);
      const arp = stats(rs.map((r) => r.arpMs).filter(Number.isFinite));
      const neigh = stats(rs.map((r) => r.neighMs).filter(Number.isFinite));
      const http = m === 'crash' ? stats(rs.map((r) => r.httpMs ?? NaN).filter(Number.isFinite)) : undefined;
      (report.results as Record<string, unknown>)[m] = { arp, neigh, http, httpFailures: rs.reduce((a, r) => a + r.httpFailures, 0), n: rs.length };
      const goal = m === 'graceful' ? GRACEFUL_PROMISE_MS : CRASH_PROMISE_MS;
      say(`\n${m}: n=${rs.length} arp median ${arp.median.toFixed(1)} ms, p90 ${arp.p90.toFixed(1)}, max ${arp.max.toFixed(1)} (goal <= ${goal} ms: ${arp.max <= goal ? 'met' : arp.median <= goal ? 'median met' : 'NOT met'})` +
        `; ip neigh median ${neigh.median.toFixed(1)} ms` + (http ? `; http back median ${http.median.toFixed(1)} ms, p90 ${http.p90.toFixed(1)}, max ${http.max.toFixed(1)}` : `; http failures ${rs.reduce((a, r) => a + r.httpFailures, 0)}`));
    }
    if (argv.includes('--json')) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    await lab.teardown();
  }
}

/** The node the client is answered by once it agrees with the election (after a failback). */
async function settledOwner(lab: SeedLab, ip: string): Promise<LabNode> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const expected = (await lab.expectedOwners()).get(ip)?.node;
    const macs = await lab.arpingAll(ip, 1);
    const n = lab.nodeByMac(macs[0]);
    if (expected && n?.name === expected && macs.length === 1) return n;
    await sleep(200);
  }
  throw new Error(`${ip}: owner did not settle\n${lab.logs(20)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    say(String((err as Error)?.stack ?? err));
    process.exit(1);
  },
);
