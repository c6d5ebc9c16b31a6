// When the next Layer 2 reconcile round may start. A round is O(Services): during a burst of
// changes (IPAM assigning 1,000 Services) back-to-back rounds would starve the packet path and the
// Lease renewals, so after each round the loop rests for a multiple of that round's own cost,
// capped. A cheap round (a small cluster) rests next to nothing: a change that takes an IP away from
// this node (a Local Service's only endpoint moving off it) must stop its answers at once. A fixed
// 100 ms after any earlier round left the old node answering, next to the new one, for up to that
// long whenever an unrelated round had just run. Pure.

/** Rest after a round, as a multiple of its duration: reconciles take at most 1/(1+3) of a core. */
export const REST_PER_ROUND_MS = 3;
/** The longest rest, whatever a round cost (a starved event loop makes rounds look expensive). */
export const MAX_REST_MS = 100;

/** Milliseconds to wait before the next round (0: run now), given when the last one started and how long it took. */
export function reconcileDelayMs(now: number, lastStart: number, lastDurationMs: number): number {
  if (!Number.isFinite(lastStart)) return 0; // no round yet
  const rest = Math.min(MAX_REST_MS, REST_PER_ROUND_MS * Math.max(0, lastDurationMs));
  return Math.max(0, lastStart + Math.max(0, lastDurationMs) + rest - now);
}
