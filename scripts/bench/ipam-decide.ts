// Pure IPAM decision cost with 10,000 addresses in use (issue 4: must be <= 50 µs per decision).
// Run: npx tsx scripts/bench/ipam-decide.ts   -> one JSON object on stdout.
//
// Cases:
//  - allocator.nextFree: RangeAllocator (IPv4 /16 and IPv6 /64) with 10,000 used offsets scattered
//    over the first 12,000 (so there are gaps to find), time to find the lowest free address.
//  - allocator.allocateRelease: nextFree + markUsed + markFree of that address.
//  - state.*: the whole decision through IpamState (pool choice, sharing check, bookkeeping,
//    event text) while 10,000 Services hold addresses: one Service assigned and released again
//    and again (same key, same IP), and steady churn (release a random one, assign a new one).
//    Also: reconcileAll from scratch for 10,000 Services, and one Eip status with 10,000 entries.
import { type AddressRange, parseAddressSpec } from '../../src/ipam/range.ts';
import { RangeAllocator } from '../../src/ipam/allocator.ts';
import { reconcileAll } from '../../src/ipam/plan.ts';
import type { ServiceRequest } from '../../src/ipam/service-request.ts';

const IN_USE = 10_000;
const ITER = 20_000;

function range(spec: string): AddressRange {
  const r = parseAddressSpec(spec);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

let seed = 7;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}

/** 10,000 distinct offsets out of the first 12,000, shuffled. */
function scattered(): bigint[] {
  const all = Array.from({ length: 12_000 }, (_, i) => i);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [all[i], all[j]] = [all[j] as number, all[i] as number];
  }
  return all.slice(0, IN_USE).map(BigInt);
}

function stats(samplesNs: number[]): { medianUs: number; p99Us: number; maxUs: number } {
  const s = [...samplesNs].sort((a, b) => a - b);
  const at = (q: number) => (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number) / 1000;
  return { medianUs: +at(0.5).toFixed(3), p99Us: +at(0.99).toFixed(3), maxUs: +at(1).toFixed(3) };
}

function time(fn: () => void, iter = ITER): number[] {
  for (let i = 0; i < 2000; i++) fn(); // warm-up (JIT)
  const out: number[] = [];
  for (let i = 0; i < iter; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t0));
  }
  return out;
}

function allocatorCase(spec: string) {
  const r = range(spec);
  const a = new RangeAllocator(r);
  for (const o of scattered()) a.markUsed(r.first + o);
  let sink = 0n;
  const next = time(() => {
    sink ^= a.nextFree() ?? 0n;
  });
  const cycle = time(() => {
    const v = a.nextFree() as bigint;
    a.markUsed(v);
    a.markFree(v);
  });
  if (a.inUse !== IN_USE || sink === -1n) throw new Error('allocator state drifted');
  return { inUse: a.inUse, nextFree: stats(next), allocateRelease: stats(cycle) };
}

function svc(i: number): ServiceRequest {
  return {
    key: `ns${i % 50}/svc-${i}`,
    namespace: `ns${i % 50}`,
    creationTimestamp: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
    annotations: { 'lb.kubesphere.io/v1alpha1': 'openelb' },
    type: 'LoadBalancer',
    ports: [{ port: 80, protocol: 'TCP' }],
    externalTrafficPolicy: 'Cluster',
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    assigned: [],
  };
}

function stateCase() {
  const pools = [
    { name: 'big', creationTimestamp: '2024-01-01T00:00:00Z', annotations: { 'eip.openelb.kubesphere.io/is-default-eip': 'true' }, spec: { address: '10.0.0.0/16', protocol: 'layer2' } },
  ];
  const services = Array.from({ length: IN_USE }, (_, i) => svc(i));
  const t0 = process.hrtime.bigint();
  const { state, pools: st } = reconcileAll({ pools, services, namespaces: {} });
  const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (st.get('big')?.usage !== IN_USE) throw new Error('expected 10,000 in use');
  // Free 200 scattered holes and refill them, so the lowest free address is not simply the end.
  const victims = new Set<number>();
  while (victims.size < 200) victims.add(Math.floor(rnd() * IN_USE));
  for (const i of victims) state.removeService(svc(i).key);
  for (let i = 0; i < 200; i++) state.upsertService({ ...svc(IN_USE + 1 + i), key: `fill/f${i}`, namespace: 'fill' });
  const inUse = state.eipStatus('big')?.usage ?? 0;
  // Worst case for hash tables: the same Service key and the same IP assigned and released again and again.
  const probe = { ...svc(IN_USE + 500), key: 'bench/probe', namespace: 'bench' };
  const sameKey = time(() => {
    const r = state.upsertService(probe);
    if (r.state !== 'assigned') throw new Error(JSON.stringify(r));
    state.removeService(probe.key);
  }, 5_000);
  // Steady churn: release a random holder, then assign a brand-new Service (it gets the freed hole or lower).
  const holders = Array.from({ length: IN_USE }, (_, i) => svc(i).key).filter((k) => state.lastResult(k)?.state === 'assigned');
  let n = 0;
  const churn = time(() => {
    const j = Math.floor(rnd() * holders.length);
    state.removeService(holders[j] as string);
    const s = { ...svc(2 * IN_USE + n), key: `churn/c${n++}`, namespace: 'churn' };
    if (state.upsertService(s).state !== 'assigned') throw new Error('churn assign failed');
    holders[j] = s.key;
  }, 5_000);
  if ((state.eipStatus('big')?.usage ?? 0) !== inUse) throw new Error('usage drifted during churn');
  const t1 = process.hrtime.bigint();
  const status = state.eipStatus('big');
  const statusMs = Number(process.hrtime.bigint() - t1) / 1e6;
  return { inUse, assignReleaseSameKey: stats(sameKey), releaseThenAssignNew: stats(churn), reconcileAll10kMs: +buildMs.toFixed(1), eipStatus10kMs: +statusMs.toFixed(2), usage: status?.usage };
}

const result = {
  node: process.version,
  addressesInUse: IN_USE,
  allocatorIPv4_16: allocatorCase('10.0.0.0/16'),
  allocatorIPv6_64: allocatorCase('2001:db8::/64'),
  state: stateCase(),
  budgetUs: 50,
};
console.log(JSON.stringify(result, null, 2));
