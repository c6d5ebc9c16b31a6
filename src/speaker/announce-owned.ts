// The Layer 2 controller's one effect on the announcer per reconcile: own exactly `desired`, and
// announce again the IPs we keep against another speaker's claim (wire-conflict.ts: we rank higher),
// so caches that took the other's MAC come back.
//
// Re-announcing restarts the burst on the sockets already open; the IP stays answered throughout.
// It used to be a remove and re-add, which closed the NIC's sockets when every IP on it was being
// re-announced at once, and that is what a node whose NIC comes back meets: its stand-in still
// announces all of the node's IPs. Requests queued on those sockets were dropped with them
// (`arping -c 3` got 2 answers right after the node announced again).
import type { Announcer } from '../l2/announcer.ts';

export type OwnedSet = ReadonlyMap<string, { nic: string; probe: boolean }>;

/** Makes the announcer own `desired`; re-announces each IP of `reassert` that was owned before and still is. */
export function announceOwned(announcer: Pick<Announcer, 'update' | 'reannounce'>, desired: OwnedSet, before: ReadonlyMap<string, unknown>, reassert: Iterable<string>): void {
  announcer.update(desired);
  for (const ip of reassert) if (before.has(ip) && desired.has(ip)) announcer.reannounce(ip);
}
