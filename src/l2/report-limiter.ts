// Bounds how often "another host claims this address" is reported (log line, onConflict callback,
// and through it a Kubernetes Event). Anyone on the segment can send gratuitous ARPs for a VIP,
// alternating between two MACs so every frame is a "new" claimer; without a bound each frame
// became a report. Two token buckets must both allow a report: one per IP (a VIP under attack is
// reported a few times, then every ipIntervalMs) and one per source MAC (one spoofer claiming many
// VIPs is reported a few times in all). What is held back is counted and handed to the next report.
// Pure: time comes from the caller, so tests drive it with a fake clock.

export interface ReportLimiterOptions {
  /** Reports for one IP allowed back to back (default 2: a claimer, and the next one). */
  ipBurst?: number;
  /** One more report for an IP each this long after the burst is used (default 30 000 ms). */
  ipIntervalMs?: number;
  /** Reports naming one source MAC allowed back to back, over all IPs (default 3). */
  macBurst?: number;
  /** One more report for a MAC each this long after its burst is used (default 30 000 ms). */
  macIntervalMs?: number;
  /** Buckets kept at most per kind; idle (full) ones are dropped first (default 4096). */
  maxKeys?: number;
}

export type ReportVerdict = { report: true; /** Claims held back for this IP since its last report. */ suppressed: number } | { report: false };

interface Bucket {
  tokens: number;
  at: number;
}

export class ReportLimiter {
  readonly #ipBurst: number;
  readonly #ipIntervalMs: number;
  readonly #macBurst: number;
  readonly #macIntervalMs: number;
  readonly #maxKeys: number;
  readonly #ips = new Map<string, Bucket>();
  readonly #macs = new Map<string, Bucket>();
  readonly #suppressed = new Map<string, number>();

  constructor(opts: ReportLimiterOptions = {}) {
    this.#ipBurst = Math.max(1, opts.ipBurst ?? 2);
    this.#ipIntervalMs = Math.max(1, opts.ipIntervalMs ?? 30_000);
    this.#macBurst = Math.max(1, opts.macBurst ?? 3);
    this.#macIntervalMs = Math.max(1, opts.macIntervalMs ?? 30_000);
    this.#maxKeys = Math.max(1, opts.maxKeys ?? 4096);
  }

  /** Whether a claim of `ip` by `mac` at time `now` (ms) may be reported; takes a token from both buckets if so. */
  check(ip: string, mac: string, now: number): ReportVerdict {
    const ipBucket = this.#bucket(this.#ips, ip, this.#ipBurst, this.#ipIntervalMs, now);
    const macBucket = this.#bucket(this.#macs, mac, this.#macBurst, this.#macIntervalMs, now);
    if (ipBucket.tokens < 1 || macBucket.tokens < 1) {
      this.#suppressed.set(ip, (this.#suppressed.get(ip) ?? 0) + 1);
      return { report: false };
    }
    ipBucket.tokens -= 1;
    macBucket.tokens -= 1;
    const suppressed = this.#suppressed.get(ip) ?? 0;
    this.#suppressed.delete(ip);
    return { report: true, suppressed };
  }

  /** Forgets an IP (it is no longer ours): a later owner starts with a full bucket. */
  forget(ip: string): void {
    this.#ips.delete(ip);
    this.#suppressed.delete(ip);
  }

  /** Number of buckets held (for tests of the memory bound). */
  get size(): { ips: number; macs: number } {
    return { ips: this.#ips.size, macs: this.#macs.size };
  }

  #bucket(map: Map<string, Bucket>, key: string, burst: number, intervalMs: number, now: number): Bucket {
    let b = map.get(key);
    if (b) {
      b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) / intervalMs);
      b.at = now;
      return b;
    }
    if (map.size >= this.#maxKeys) this.#prune(map, burst, intervalMs, now);
    b = { tokens: burst, at: now };
    map.set(key, b);
    return b;
  }

  /** Drops buckets that have refilled (forgetting them changes nothing), else the oldest ones. */
  #prune(map: Map<string, Bucket>, burst: number, intervalMs: number, now: number): void {
    for (const [k, b] of map) {
      if (b.tokens + (now - b.at) / intervalMs >= burst) {
        map.delete(k);
        if (map === this.#ips) this.#suppressed.delete(k);
      }
    }
    for (const k of map.keys()) {
      if (map.size < this.#maxKeys) break;
      map.delete(k);
      if (map === this.#ips) this.#suppressed.delete(k);
    }
  }
}
