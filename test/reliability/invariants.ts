// The invariants the reliability suite checks after every fault (issue 7, item 1), over a SeedLab:
//   1. every Service has exactly the IP it had (or got one if it was pending);
//   2. no IP is held by two Services that do not share it;
//   3. every assigned IP (of the sampled ones) is answered by exactly one node, the one the pure
//      election picks for the API's current state, within the failover bound;
//   4. the client's curl works (Services with pods).
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import type { LabService, SeedLab } from '../../scripts/lab/lab.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const ipOf = (s: V1Service | undefined): string[] => (s?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);

export interface InvariantReport {
  services: number;
  checkedArp: number;
  /** Longest time until an IP was answered by exactly its elected node (ms). */
  settleMs: number;
  curls: number;
}

/**
 * Checks 1-4. `known`: Service name -> the IP it must keep ('' = was pending: must have one now;
 * updated in place). `arpSample`: IPs to check on the wire (all web Services plus a sample).
 */
export async function checkInvariants(
  lab: SeedLab,
  when: string,
  known: Map<string, string>,
  opts: { arpSample?: string[]; web?: LabService[]; boundMs?: number } = {},
): Promise<InvariantReport> {
  const list = (await lab.admin.core.listNamespacedService({ namespace: lab.namespace })).items;
  const byName = new Map(list.map((s) => [s.metadata!.name!, s]));
  // 1. IPs kept (or assigned if pending).
  for (const [name, ip] of known) {
    const got = ipOf(byName.get(name));
    if (ip) assert.deepEqual(got, [ip], `${when}: ${name} must keep ${ip}, has ${got.join(',') || 'none'}`);
    else {
      assert.equal(got.length, 1, `${when}: pending ${name} must have an IP now`);
      known.set(name, got[0]!);
    }
  }
  // 2. No IP on two Services (nothing in these labs shares an IP).
  const holders = new Map<string, string[]>();
  for (const s of list) for (const ip of ipOf(s)) holders.set(ip, [...(holders.get(ip) ?? []), s.metadata!.name!]);
  const dup = [...holders].filter(([, v]) => v.length > 1).map(([ip, v]) => `${ip}: ${v.join(', ')}`);
  assert.deepEqual(dup, [], `${when}: IPs on two Services`);

  // 3. Exactly one answer, from the elected node, within the bound.
  const bound = opts.boundMs ?? 5000;
  let settleMs = 0;
  const sample = opts.arpSample ?? [...known.values()];
  for (const ip of sample) {
    const t0 = performance.now();
    for (;;) {
      const expected = (await lab.expectedOwners()).get(ip)?.node;
      const macs = await lab.arpingAll(ip, 1);
      const want = expected ? lab.node(expected).mac : undefined;
      if (want && macs.length === 1 && macs[0] === want) break;
      const last = `expected ${expected ?? 'no owner'} (${want}), answers ${JSON.stringify(macs)}`;
      if (performance.now() - t0 > bound) assert.fail(`${when}: ${ip} not answered by exactly its elected node within ${bound} ms: ${last}\n${lab.logs(15)}`);
      await sleep(100);
    }
    settleMs = Math.max(settleMs, performance.now() - t0);
  }
  // 4. curl through the VIP.
  let curls = 0;
  for (const w of opts.web ?? []) {
    let body = '';
    for (let i = 0; i < 3 && !body.startsWith("You've hit"); i++) {
      body = await lab.curl(w.ip).catch((e: unknown) => String(e));
    }
    assert.match(body, new RegExp(`^You've hit ${w.name}-\\d+$`), `${when}: curl ${w.ip}`);
    curls++;
  }
  return { services: known.size, checkedArp: sample.length, settleMs: Math.round(settleMs), curls };
}

/** While a fault lasts: each IP is answered by exactly `owners.get(ip)` (fail-static) and curl works. */
export async function assertStatic(lab: SeedLab, when: string, owners: Map<string, string>, web: LabService[]): Promise<void> {
  for (const [ip, node] of owners) {
    const macs = await lab.arpingAll(ip, 1);
    assert.deepEqual(macs, [lab.node(node).mac], `${when}: ${ip} answered by exactly ${node}\n${lab.logs(10)}`);
  }
  for (const w of web) assert.match(await lab.curl(w.ip), new RegExp(`^You've hit ${w.name}-\\d+$`), `${when}: curl ${w.ip}`);
}
