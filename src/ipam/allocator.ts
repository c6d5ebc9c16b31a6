// Per-pool allocation state: which offsets of a range are in use, and the lowest free one.
//
// Used offsets are kept in a sorted array. For a sorted array of distinct non-negative integers,
// used[i] - i never decreases, and used[i] === i exactly while there is no gap before index i. So
// the lowest free offset is the first index i with used[i] > i (or used.length when there is none),
// found by binary search: O(log n) per decision, whatever the pool size (an IPv6 /64 included),
// never a scan of the pool. Insert/remove are a binary search plus one splice (a memmove; at
// 10,000 entries that costs a few microseconds, see BENCHMARKS.md).
import type { AddressRange } from './address.ts';

/** Sorted set of bigint offsets with a first-gap query. */
export class OffsetSet {
  private readonly items: bigint[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Index of the first element >= o. */
  private lowerBound(o: bigint): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.items[mid] as bigint) < o) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(o: bigint): boolean {
    const i = this.lowerBound(o);
    return i < this.items.length && this.items[i] === o;
  }

  /** Adds o; returns false if it was already present. */
  add(o: bigint): boolean {
    const i = this.lowerBound(o);
    if (i < this.items.length && this.items[i] === o) return false;
    this.items.splice(i, 0, o);
    return true;
  }

  /** Removes o; returns false if it was absent. */
  delete(o: bigint): boolean {
    const i = this.lowerBound(o);
    if (i >= this.items.length || this.items[i] !== o) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Lowest offset >= 0 not in the set (may be >= the pool size: the caller checks). */
  firstFree(): bigint {
    // Only offsets >= 0 are ever stored, so the used[i] - i invariant holds.
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.items[mid] as bigint) > BigInt(mid)) hi = mid;
      else lo = mid + 1;
    }
    return BigInt(lo);
  }

  values(): readonly bigint[] {
    return this.items;
  }
}

/**
 * Allocation state of one address range. Addresses are absolute values; offsets are internal.
 * Marking an address outside the range is ignored (it cannot block anything in this range).
 */
export class RangeAllocator {
  private readonly used = new OffsetSet();

  constructor(readonly range: AddressRange) {}

  contains(value: bigint): boolean {
    return value >= this.range.first && value <= this.range.last;
  }

  /** Number of addresses of this range in use. */
  get inUse(): number {
    return this.used.size;
  }

  isUsed(value: bigint): boolean {
    return this.contains(value) && this.used.has(value - this.range.first);
  }

  markUsed(value: bigint): void {
    if (this.contains(value)) this.used.add(value - this.range.first);
  }

  markFree(value: bigint): void {
    if (this.contains(value)) this.used.delete(value - this.range.first);
  }

  /** Lowest free address of the range, or undefined when every address is in use. */
  nextFree(): bigint | undefined {
    const off = this.used.firstFree();
    return off < this.range.size ? this.range.first + off : undefined;
  }

  full(): boolean {
    return this.nextFree() === undefined;
  }
}
