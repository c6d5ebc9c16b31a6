// bench-helper: started by scripts/bench/memory-per-address.ts (and test/netns/memory-per-address.test.ts)
// inside a network namespace that holds the veth NIC `d0` (up, no addresses). Not a benchmark on its own.
//   ip netns exec NS node --import tsx scripts/bench/memory-per-address-child.ts [N]   -> JSON on stdout
//
// What one announced address costs in live V8 heap, in steady state: the real Announcer
// (src/l2/announcer.ts) on a real AF_PACKET socket on d0 with its defaults but a one-frame burst
// (so every address is past its burst and waits for its refresh, as after 4.4 s in production),
// and a scrape done (the per-IP series exist, as in a speaker scraped by Prometheus). Per family:
// heap after N addresses and after 2N in the same Announcer, each after forced full collections;
// bytes per address = (heap(2N) - heap(N)) / N, so the fixed cost (sockets, code, the first
// Map growth) cancels out. Deterministic up to V8's hash table doubling, which the averaging over
// N addresses keeps to a few bytes.
import process from 'node:process';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Announcer } from '../../src/l2/announcer.ts';
import { setLogSink } from '../../src/log.ts';
import { Registry } from '../../src/observe/metrics.ts';

const NIC = 'd0';

setLogSink(() => undefined);
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function ipOf(family: 4 | 6, i: number): string {
  return family === 4 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `fd00:0:0:12::${i.toString(16)}`;
}

async function liveHeap(): Promise<number> {
  await sleep(10); // let pending immediates and the bursts' first timers run
  for (let i = 0; i < 4; i++) gc();
  return v8.getHeapStatistics().used_heap_size;
}

function desired(family: 4 | 6, n: number): Map<string, { nic: string; probe: boolean }> {
  const want = new Map<string, { nic: string; probe: boolean }>();
  for (let i = 1; i <= n; i++) want.set(ipOf(family, i), { nic: NIC, probe: false });
  return want;
}

/** Announces addresses 1..n of `family` (the desired map is dropped afterwards: not the announcer's cost). */
function announce(a: Announcer, registry: Registry, family: 4 | 6, n: number): void {
  a.update(desired(family, n));
  registry.render(); // a scrape: the per-IP counters are published
  const announcing = [...a.states().values()].filter((s) => s.state === 'announcing').length;
  if (announcing !== n) throw new Error(`announcer: ${announcing}/${n} announcing on ${NIC}`);
}

/** Live heap bytes per announced address of `family`, from N to 2N addresses. */
async function perAddress(family: 4 | 6, n: number): Promise<number> {
  const registry = new Registry();
  const a = new Announcer({ registry, probeMs: 0, burstCount: 1, linkCheckMs: 60_000 });
  announce(a, registry, family, n);
  const h1 = await liveHeap();
  announce(a, registry, family, 2 * n);
  const h2 = await liveHeap();
  await a.close();
  return (h2 - h1) / n;
}

const n = Number(process.argv[2] ?? 2000);
if (!Number.isInteger(n) || n < 100 || n > 30_000) {
  process.stderr.write('usage: memory-per-address-child.ts [N] (100..30000)\n');
  process.exit(2);
}
await perAddress(4, 200); // warm-up: code compiled, sockets' first open path run
const out = { n, ipv4: +(await perAddress(4, n)).toFixed(1), ipv6: +(await perAddress(6, n)).toFixed(1) };
process.stdout.write(JSON.stringify(out) + '\n');
