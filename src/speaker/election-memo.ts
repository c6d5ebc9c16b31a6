// electAll() for a stream of reconcile rounds, recomputing only what changed. Each IP's election
// depends only on its own claims (Eips, Services, their ready nodes) and on the candidates (members
// and Node facts), and the 64-bit BigInt hashing is the expensive part of a round over 1,000
// Services; so while the candidates are unchanged, an IP whose claims are unchanged keeps its result.
// The output is always exactly electAll(claims, members, nodes) (unit-tested against it).
import { type Election, type IpClaim, type Member, type NodeFacts, electAll } from './election.ts';

export class ElectionMemo {
  private base = '';
  private readonly byIp = new Map<string, { sig: string; election: Election }>();

  elect(claims: readonly IpClaim[], members: readonly Member[], nodes: ReadonlyMap<string, NodeFacts>): Map<string, Election> {
    const base = JSON.stringify([
      [...members].map((m) => [m.node, [...m.cannotServe].sort()]).sort(),
      [...nodes.values()].map((n) => [n.name, n.excluded, n.networkUnavailable]).sort(),
    ]);
    if (base !== this.base) {
      this.base = base;
      this.byIp.clear();
    }
    // Group claims per IP (electAll merges them the same way) and sign each group.
    const groups = new Map<string, IpClaim[]>();
    for (const c of claims) {
      const g = groups.get(c.ip);
      if (g) g.push(c);
      else groups.set(c.ip, [c]);
    }
    const stale: IpClaim[] = [];
    const sigs = new Map<string, string>();
    for (const [ip, g] of groups) {
      const sig = signature(g);
      sigs.set(ip, sig);
      const hit = this.byIp.get(ip);
      if (!hit || hit.sig !== sig) stale.push(...g);
    }
    const fresh = stale.length ? electAll(stale, members, nodes) : new Map<string, Election>();
    for (const [ip, e] of fresh) this.byIp.set(ip, { sig: sigs.get(ip)!, election: e });
    for (const ip of [...this.byIp.keys()]) if (!groups.has(ip)) this.byIp.delete(ip);
    // Same order as electAll (sorted by IP text).
    const out = new Map<string, Election>();
    for (const ip of [...groups.keys()].sort()) out.set(ip, this.byIp.get(ip)!.election);
    return out;
  }
}

function signature(group: readonly IpClaim[]): string {
  return JSON.stringify(
    group
      .map((c) => [c.eip, c.services.map((s) => [s.key, s.externalTrafficPolicy, s.readyNodes ? [...s.readyNodes].sort() : null])])
      .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
  );
}
