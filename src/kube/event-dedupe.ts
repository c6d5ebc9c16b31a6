// The decision behind "one event per change, not per resync" (SPEC §4, MetalLB #2387), kept pure
// so it is tested without an API server.
//
// Memory is per (object, slot) -> last (type, message). A slot is the event's reason unless the
// caller groups reasons (AssignIP and AssignIPFailed share a slot, so "assigned, failed, assigned"
// is three changes while a resync that repeats "assigned" is none). Bounded as an LRU: an entry
// that falls out only means one repeated event later, never a lost one.

export interface DedupeKey {
  /** Stable object identity: its uid, else kind/namespace/name. */
  object: string;
  slot: string;
}

export class EventDedupe {
  private readonly last = new Map<string, string>();

  constructor(readonly maxEntries = 4096) {
    if (!(maxEntries >= 1)) throw new Error('maxEntries must be at least 1');
  }

  private static k(key: DedupeKey): string {
    return `${key.object}\u0000${key.slot}`;
  }

  /**
   * True when this (type, message) differs from the last one recorded for (object, slot), and
   * records it. A caller whose write then fails calls forget() so the next attempt is not skipped.
   */
  shouldEmit(key: DedupeKey, type: string, message: string): boolean {
    const k = EventDedupe.k(key);
    const value = `${type}\u0000${message}`;
    const prev = this.last.get(k);
    // Refresh recency either way: an object that keeps being reconciled stays remembered.
    this.last.delete(k);
    this.last.set(k, value);
    if (this.last.size > this.maxEntries) {
      const oldest = this.last.keys().next().value;
      if (oldest !== undefined) this.last.delete(oldest);
    }
    return prev !== value;
  }

  /** Undo the record for one (object, slot), e.g. after a failed write. */
  forget(key: DedupeKey): void {
    this.last.delete(EventDedupe.k(key));
  }

  /** Drop everything about an object (it was deleted). */
  forgetObject(object: string): void {
    const prefix = `${object}\u0000`;
    for (const k of [...this.last.keys()]) if (k.startsWith(prefix)) this.last.delete(k);
  }

  get size(): number {
    return this.last.size;
  }
}
