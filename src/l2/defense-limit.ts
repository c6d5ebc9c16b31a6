// How often we defend one address against Duplicate Address Detection probes. A DAD probe (an NS
// from ::) for an address we own must be answered with an NA multicast to all nodes (RFC 4861
// §7.2.4), so without a limit anyone on the segment turns each spoofed probe into one multicast
// frame to every host: a cheap amplifier, and a flood of our own frames. RFC 4861 bounds every
// other NA a node sends on its own (§7.2.6: a few, spaced out); this is the same spirit for defences.
//
// The rule: at most one defending NA per address per interval, sent at once. The first probe in a
// while is answered immediately (a real prober needs one answer within its RetransTimer, 1 s by
// default, to give the address up); the probes that follow it within the interval are dropped, not
// delayed. The interval equals a prober's default spacing between probes (RFC 4862 §5.4.1:
// DupAddrDetectTransmits probes RetransTimer apart), so a real prober that sends several still gets
// an answer to each. Pure apart from the injected clock.

/** Default spacing of defences for one address: RFC 4861's RETRANS_TIMER, a prober's probe spacing. */
export const DAD_DEFENSE_INTERVAL_MS = 1000;

/** Past this many tracked addresses, allow() forgets the ones whose interval is over. */
const SWEEP_ABOVE = 1024;

export class DefenseLimiter {
  /** Address (canonical text) -> when we last defended it. */
  readonly #last = new Map<string, number>();

  /** `now` in milliseconds, monotonic (performance.now in the responder, a counter in tests). */
  constructor(
    private readonly now: () => number,
    readonly intervalMs: number = DAD_DEFENSE_INTERVAL_MS,
  ) {}

  /** Whether to send a defence for `ip` now; true counts as sent. */
  allow(ip: string): boolean {
    const t = this.now();
    const last = this.#last.get(ip);
    if (last !== undefined && t - last < this.intervalMs) return false;
    this.#last.set(ip, t);
    if (this.#last.size > SWEEP_ABOVE) this.#sweep(t);
    return true;
  }

  /** Addresses currently inside their interval (for tests and the sweep). */
  get tracked(): number {
    return this.#last.size;
  }

  // Only owned addresses ever reach allow(), so the map is bounded by the owned set; the sweep
  // drops the ones withdrawn since, which would otherwise stay for the process's life.
  #sweep(t: number): void {
    for (const [ip, last] of this.#last) if (t - last >= this.intervalMs) this.#last.delete(ip);
  }
}
