// Removing series must cost O(series removed), not O(series held) (issue 10, defect 3: withdrawing
// N addresses called removeMatching per metric per address, and each call scanned every key, so a
// mass withdrawal blocked the event loop for N^2: 5.5 s at 4,000 IPs). Counted, not timed: the
// metric's series table is replaced by one that counts every series it hands out or looks up, so
// the test sees how many series a removal touches. Timings are in scripts/bench/withdraw.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, type Counter, type Gauge } from '../../../src/observe/metrics.ts';

/** A series table (key -> value) that counts series visited: each iteration step and each lookup. */
class CountingMap extends Map<string, number> {
  visited = 0;
  override get(k: string): number | undefined {
    this.visited++;
    return super.get(k);
  }
  override has(k: string): boolean {
    this.visited++;
    return super.has(k);
  }
  override delete(k: string): boolean {
    this.visited++;
    return super.delete(k);
  }
  override *entries(): MapIterator<[string, number]> {
    for (const e of super.entries()) {
      this.visited++;
      yield e;
    }
  }
  override *keys(): MapIterator<string> {
    for (const k of super.keys()) {
      this.visited++;
      yield k;
    }
  }
  override *values(): MapIterator<number> {
    for (const v of super.values()) {
      this.visited++;
      yield v;
    }
  }
  override [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }
  override forEach(fn: (v: number, k: string, m: Map<string, number>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}

/** Swaps the metric's (protected) series table for a counting one; call before adding series. */
function instrument(m: Counter | Gauge): CountingMap {
  const table = new CountingMap();
  Object.defineProperty(m, 'values', { value: table, writable: false, configurable: true });
  return table;
}

const ipOf = (i: number): string => `10.0.${i >> 8}.${i & 255}`;

/** A metric shaped like the announcer's: three series per IP (as phase or state labels give). */
function populated(n: number): { metric: Counter; table: CountingMap } {
  const metric = new Registry().counter('openelb_l2_conflicts_total', 'x');
  const table = instrument(metric);
  for (let i = 0; i < n; i++) {
    for (const phase of ['probe', 'announced', 'other']) metric.inc({ ip: ipOf(i), nic: 'eth0', phase });
  }
  return { metric, table };
}

test("removing one address's series visits only that address's series", () => {
  const { metric, table } = populated(1000);
  table.visited = 0;
  metric.removeMatching({ ip: ipOf(500) });
  // 3 series carry ip=10.0.1.244; a lookup and a delete each is the most a removal needs.
  assert.ok(table.visited <= 2 * 3, `removing 3 series visited ${table.visited} of the 3,000 held`);
  assert.equal(metric.get({ ip: ipOf(500), nic: 'eth0', phase: 'probe' }), 0);
  assert.equal(metric.get({ ip: ipOf(501), nic: 'eth0', phase: 'probe' }), 1);
  assert.equal(table.size, 2997);
});

test('withdrawing every address one by one visits a number of series linear in their count', () => {
  const visits = (n: number): number => {
    const { metric, table } = populated(n);
    table.visited = 0;
    for (let i = 0; i < n; i++) metric.removeMatching({ ip: ipOf(i) });
    assert.equal(table.size, 0);
    return table.visited;
  };
  const v1 = visits(500);
  const v2 = visits(1000);
  const v4 = visits(2000);
  // Linear: exactly double per doubling (the full scan was ~4x: 377,250 for 500 IPs, 1,504,500 for 1,000).
  assert.equal(v2, 2 * v1, `visited ${v1} for 500 IPs, ${v2} for 1,000`);
  assert.equal(v4, 2 * v2, `visited ${v2} for 1,000 IPs, ${v4} for 2,000`);
  assert.ok(v1 <= 2 * 3 * 500, `visited ${v1} series to remove 1,500`);
});

test('a removal by a label several series share visits only those (per-NIC counters)', () => {
  const g = new Registry().gauge('openelb_l2_address_state', 'x');
  const table = instrument(g);
  for (let i = 0; i < 1000; i++) g.set({ ip: ipOf(i), nic: i < 10 ? 'eth1' : 'eth0', state: 'announcing' }, 1);
  table.visited = 0;
  g.removeMatching({ nic: 'eth1' });
  assert.ok(table.visited <= 2 * 10, `removing eth1's 10 series visited ${table.visited}`);
  assert.equal(table.size, 990);
});

/**
 * The exposition as a plain scan produces it: series in first-write order, removeMatching dropping
 * every series whose label pairs include all asked for. The registry must render exactly this.
 * (The scan it replaced split keys on ',' and so never matched a label value containing a comma.)
 */
class ReferenceMetric {
  readonly series = new Map<string, { pairs: string[]; value: number }>();
  static pairs(labels: Record<string, string>): string[] {
    const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
    return Object.keys(labels)
      .sort()
      .map((k) => `${k}="${esc(labels[k]!)}"`);
  }
  write(labels: Record<string, string>, f: (old: number) => number): void {
    const pairs = ReferenceMetric.pairs(labels);
    const key = pairs.join(',');
    this.series.set(key, { pairs, value: f(this.series.get(key)?.value ?? 0) });
  }
  remove(labels: Record<string, string>): void {
    this.series.delete(ReferenceMetric.pairs(labels).join(','));
  }
  removeMatching(match: Record<string, string>): void {
    const want = ReferenceMetric.pairs(match);
    for (const [key, s] of [...this.series]) if (want.every((p) => s.pairs.includes(p))) this.series.delete(key);
  }
  render(name: string, help: string, type: string): string {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
    for (const [key, s] of this.series) lines.push(key ? `${name}{${key}} ${s.value}` : `${name} ${s.value}`);
    return lines.join('\n');
  }
}

test('exposition output is unchanged: 5,000 random writes and removals render as a plain scan over label pairs does', () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n); // high bits: an LCG's low bits repeat with a short period
  };
  // Values that need escaping, and ones with commas and '=' that a split(',') would cut apart.
  const ips = ['10.0.0.1', '10.0.0.2', 'fd00::1', 'a,b', 'x="y"', 'back\\slash', 'new\nline', ''];
  const nics = ['eth0', 'eth1', 'nic,0'];
  const r = new Registry();
  const c = r.counter('c_total', 'c');
  const g = r.gauge('g', 'g');
  const refC = new ReferenceMetric();
  const refG = new ReferenceMetric();
  const labels = (): Record<string, string> => {
    const l: Record<string, string> = {};
    if (rnd(4) > 0) l['ip'] = ips[rnd(ips.length)]!;
    if (rnd(3) > 0) l['nic'] = nics[rnd(nics.length)]!;
    if (rnd(3) === 0) l['state'] = ['probing', 'announcing'][rnd(2)]!;
    return l;
  };
  for (let i = 0; i < 5000; i++) {
    const l = labels();
    switch (rnd(6)) {
      case 0:
      case 1: {
        const by = rnd(5) + 1;
        c.inc(l, by);
        refC.write(l, (v) => v + by);
        break;
      }
      case 2: {
        const v = rnd(3);
        g.set(l, v);
        refG.write(l, () => v);
        break;
      }
      case 3:
        c.remove(l);
        refC.remove(l);
        g.remove(l);
        refG.remove(l);
        break;
      default: {
        const m: Record<string, string> = rnd(20) === 0 ? {} : rnd(2) === 0 ? { ip: ips[rnd(ips.length)]! } : { ip: ips[rnd(ips.length)]!, nic: nics[rnd(nics.length)]! };
        c.removeMatching(m);
        refC.removeMatching(m);
        g.removeMatching(m);
        refG.removeMatching(m);
      }
    }
    {
      assert.equal(r.render(), refC.render('c_total', 'c', 'counter') + '\n' + refG.render('g', 'g', 'gauge') + '\n', `after step ${i}`);
    }
  }
  assert.ok(refC.series.size > 0 && refG.series.size > 0, 'the sequence should end with series left to compare');
});
