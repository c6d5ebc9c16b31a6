// Failover bounds the lab tests assert and the failover benchmark reports against, in one place.
//
// PROMISE: what the current design promises, seen from a client on the segment (README "Why another
// one" and "Tests and benchmarks", BENCHMARKS.md "Speaker failover"): the new owner's first ARP
// within 250 ms of a graceful stop (SIGTERM: the Lease is released at once) and within 2 s of a
// crash (membership Lease 1.5 s, renewed every 500 ms). SPEC.md §2 asks for more (100 ms and 1 s):
// that needs liveness on the wire (beacons), which is not built yet; when it lands these tighten.
export const GRACEFUL_PROMISE_MS = 250;
export const CRASH_PROMISE_MS = 2000;

// MARGIN for a loaded CI machine: every step of the failover path (SIGTERM handler or Lease
// expiry -> watch event -> reconcile -> gratuitous ARP) waits for a CPU. On 2 shared cores at load
// average 10-15 (BENCHMARKS.md "Speaker failover"), the worst graceful run took 461 ms, the
// promise plus 211 ms, and the worst crash run 1638 ms, inside its promise. 250 ms covers that
// measured starvation and no more: a run slower than promise + margin is the design missing its
// promise, not the machine being busy.
export const CI_LOAD_MARGIN_MS = 250;

export const GRACEFUL_BOUND_MS = GRACEFUL_PROMISE_MS + CI_LOAD_MARGIN_MS;
export const CRASH_BOUND_MS = CRASH_PROMISE_MS + CI_LOAD_MARGIN_MS;
