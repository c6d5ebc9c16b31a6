// Process figures for the reliability suite, read from /proc (the pid may live in any network
// namespace; /proc is shared): CPU time, RSS, open file descriptors and sockets. Plus the two
// small calculations the suite reports: CPU share over an interval and a growth trend.
import { readFileSync, readdirSync, readlinkSync, appendFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds the process has used (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

/** Resident set size in KiB. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Capability sets and uid of a process (hex masks as the kernel prints them). */
export function credentials(pid: number): { uid: number; capEff: bigint; capPrm: bigint; capAmb: bigint; capBnd: bigint } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hex = (k: string): bigint => BigInt('0x' + (new RegExp(`${k}:\\s+([0-9a-f]+)`).exec(s)?.[1] ?? '0'));
  return {
    uid: Number(/Uid:\s+(\d+)/.exec(s)?.[1] ?? -1),
    capEff: hex('CapEff'),
    capPrm: hex('CapPrm'),
    capAmb: hex('CapAmb'),
    capBnd: hex('CapBnd'),
  };
}

/** CAP_NET_RAW's bit in the capability masks. */
export const CAP_NET_RAW = 1n << 13n;

/** Open file descriptors, and how many are sockets (AF_PACKET, TCP, ...). */
export function fds(pid: number): { total: number; sockets: number } {
  let total = 0;
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    total++;
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between readdir and readlink
    }
  }
  return { total, sockets };
}

export interface Sample {
  t: number; // seconds since the first sample
  rssKiB: number;
  fds: number;
  sockets: number;
  cpu: number; // CPU seconds so far
}

export function sample(pid: number, t0: number): Sample {
  const f = fds(pid);
  return { t: (performance.now() - t0) / 1000, rssKiB: rssKiB(pid), fds: f.total, sockets: f.sockets, cpu: cpuSeconds(pid) };
}

/** Least-squares slope of y over x (units of y per unit of x); 0 for fewer than two points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Full runs (scripts/reliability/run.sh) set OELB_RELIABILITY=full; the default test command runs the short form. */
export const FULL = process.env.OELB_RELIABILITY === 'full';

/** Pick the short (CI) or the full-length figure for a knob. */
export const scale = (short: number, full: number): number => (FULL ? full : short);

/**
 * Records a scenario's figures: always as a test diagnostic line (visible in the spec/TAP output),
 * and as one JSON line in $OELB_RELIABILITY_OUT when the full runner sets it (RELIABILITY.md).
 */
export function record(t: { diagnostic(msg: string): void }, scenario: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, full: FULL, ...figures });
  t.diagnostic(line);
  const out = process.env.OELB_RELIABILITY_OUT;
  if (out) appendFileSync(out, line + '\n');
}
