// The router namespace's kernel FIB: what BIRD and FRR installed, read with `ip -j route`. This is
// the independent check the issue asks for (the router's kernel route for a VIP has one next hop
// per eligible node), beside each router's own RIB view.
import type { Netns } from '../netns.ts';

interface IpRoute {
  dst?: string;
  gateway?: string;
  protocol?: string;
  type?: string;
  nexthops?: Array<{ gateway?: string }>;
}

/**
 * The next hops of the route to exactly `prefix` in `ip -j route show <prefix>` output (sorted):
 * one `gateway` for a single-path route, each `nexthops[].gateway` for an ECMP route, [] when the
 * FIB has no such route (or only a blackhole/unreachable one).
 */
export function nextHopsFromIpJson(json: string, prefix: string): string[] {
  const routes = JSON.parse(json || '[]') as IpRoute[];
  const bare = prefix.replace(/\/(32|128)$/, '');
  const r = routes.find((x) => x.dst === prefix || x.dst === bare);
  if (!r || (r.type && r.type !== 'unicast')) return [];
  const hops = r.nexthops?.length ? r.nexthops.map((h) => h.gateway ?? '') : [r.gateway ?? ''];
  return hops.filter((h) => h !== '').sort();
}

/** The next hops ns's kernel FIB has for prefix (exact match, not the route covering it). */
export async function fibNextHops(ns: Netns, prefix: string): Promise<string[]> {
  const family = prefix.includes(':') ? '-6' : '-4';
  return nextHopsFromIpJson(await ns.ip(family, '-j', 'route', 'show', 'exact', prefix), prefix);
}

/**
 * Polls until the FIB's next hops for prefix equal `want` (sorted compare; [] = no route); returns
 * the time it took. Throws with what it last saw.
 */
export async function waitForFib(ns: Netns, prefix: string, want: readonly string[], timeoutMs = 10_000, pollMs = 5): Promise<number> {
  const t0 = performance.now();
  const goal = [...want].sort().join(',');
  let last: string[] = [];
  while (performance.now() - t0 < timeoutMs) {
    last = await fibNextHops(ns, prefix);
    if (last.join(',') === goal) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`${ns.name}: FIB route ${prefix} has next hops [${last.join(', ')}], not [${goal}] after ${timeoutMs} ms`);
}
