// Disagreement resolved on the wire. Two speakers can disagree about who is alive (asymmetric loss:
// A hears B's beacons but B does not hear A's), and then both elect themselves for some IPs. Each
// sees the other's gratuitous ARP / unsolicited NA for an IP it announces. The rule, the same on
// every speaker: of the two, the node the election ranks higher for that IP (rendezvous score,
// election.ts) keeps it; the other yields it. The decision depends only on (IP, the two names),
// so both sides reach it independently, and a yield lasts until the views agree again: no fight,
// no loop. A claim from a MAC that is not a speaker we know is a foreign host: reported, not fought.
//
// The rank rule is for liveness disagreements only, where the claimant is a candidate for the IP
// in our view too. A claimant that may not serve the IP at all by our API view (no ready endpoint
// of a Local Service, excluded, no NIC for the pool) means our API views differ, and one of us has
// not seen the latest change yet: rank says nothing about which. Keeping (and re-announcing) right
// away then pulls clients back to us when it is we who are behind, e.g. the old node of a Local
// Service whose only endpoint just moved, which has nothing to serve them with and withdraws a
// moment later (clients stay pointed at it until their ARP/ND entries expire). So we neither fight
// nor yield: each side follows its own view, the API watch brings the views together, and only if
// we still own the IP once that had time to happen do we re-announce (clients the claimant pulled
// away come back, in case it was the claimant that was behind and has since withdrawn).
import { rendezvousScore } from './election.ts';

export type ClaimVerdict =
  | { action: 'keep' } // we outrank the claimant: keep answering (and re-announce, so caches come back)
  | { action: 'yield'; to: string } // the claimant outranks us: stop answering until the views agree
  | { action: 'recheck' } // our API views differ: follow our own view; re-announce later only if we still own the IP
  | { action: 'foreign' }; // not a speaker: an address conflict for a human to fix

/**
 * What to do about `claimant` (a node name, undefined if the MAC is no speaker's) claiming `ip`.
 * `claimantMayServe`: whether, by our API view and liveness aside, the claimant may announce `ip`
 * (mayAnnounce in election.ts). Pure.
 */
export function judgeClaim(ip: string, self: string, claimant: string | undefined, claimantMayServe: boolean): ClaimVerdict {
  if (claimant === undefined || claimant === self) return { action: 'foreign' };
  if (!claimantMayServe) return { action: 'recheck' };
  return outranks(claimant, self, ip) ? { action: 'yield', to: claimant } : { action: 'keep' };
}

/** Whether node `a` ranks above `b` for `ip` (the election's order: higher score, then lower name). */
export function outranks(a: string, b: string, ip: string): boolean {
  const sa = rendezvousScore(a, ip);
  const sb = rendezvousScore(b, ip);
  return sa > sb || (sa === sb && a < b);
}

/**
 * When the wait after a 'recheck' verdict is over: announce the IP again only if we still own it,
 * and not if a recheck already did so within `holdDownMs`. A disagreement that outlasts the API
 * watch (views frozen apart by an API outage) would otherwise have the two speakers re-announce in
 * turn, each one's burst the other's next claim, flipping clients between them every second; with
 * the hold-down the exchange stops after one round each. Pure.
 */
export function reannounceAfterRecheck(stillOwned: boolean, lastReannounceAt: number | undefined, now: number, holdDownMs: number): boolean {
  if (!stillOwned) return false;
  return lastReannounceAt === undefined || now - lastReannounceAt >= holdDownMs;
}

export interface Yield {
  to: string;
  /** The pool (Eip) of the IP, whose alive set decides when the yield ends. */
  pool: string;
}

/**
 * The yields still in force: one ends when the node we yielded to is no longer in the roster (its
 * Lease expired or was released: it is gone) or is alive in our own view of the pool (then the
 * election itself gives it the IP). Until then the views disagree and the other keeps the IP. Pure.
 */
export function yieldsInForce(
  yields: ReadonlyMap<string, Yield>,
  roster: ReadonlySet<string>,
  aliveFor: (pool: string) => ReadonlySet<string> | undefined,
): Map<string, Yield> {
  const out = new Map<string, Yield>();
  for (const [ip, y] of yields) {
    if (!roster.has(y.to)) continue;
    if (aliveFor(y.pool)?.has(y.to)) continue;
    out.set(ip, y);
  }
  return out;
}
