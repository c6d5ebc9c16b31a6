// Per-pool allocation state: which offsets of a range are in use, and the lowest free one.
//
// Used offsets are kept in a sorted array. For a sorted array of distinct non-negative integers,
// used[i] - i never decreases, and used[i] === i exactly while there is no gap before index i. So
// the lowest free offset is the first index i with used[i] > i (or used.length when there is none),
// found by binary search: O(log n) per decision, whatever the pool size (an IPv6 /64 included),
// never a scan of the pool. Insert/remove are a binary search plus one memmove (about a
// microsecond at 10,000 entries, see BENCHMARKS.md).
import { type AddressRange } from './range.ts';

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Sorted set of bigint offsets with a first-gap query.
 *
 * Offsets below 2^53 (all automatic allocations, in practice) live in a growable Float64Array as
 * exact numbers: number comparisons and memmove-based inserts (copyWithin) cost ~1 µs at 10,000
 * entries wherever they land, where Array#splice of bigints costs ~15 µs near the front. Larger
 * offsets (a requested IP high in an IPv6 /64) go to a small sorted bigint array; they can never
 * be the first gap because the low part cannot fill [0, 2^53).
 */
export class OffsetSet {
  private low = new Float64Array(64);
  private n = 0;
  private readonly high: bigint[] = [];

  get size(): number {
    return this.n + this.high.length;
  }

  /** Index of the first low element >= o. */
  private lowerBound(o: number): number {
    let lo = 0;
    let hi = this.n;
    const a = this.low;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((a[mid] as number) < o) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private highIndex(o: bigint): number {
    let lo = 0;
    let hi = this.high.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.high[mid] as bigint) < o) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(o: bigint): boolean {
    if (o > SAFE) {
      const i = this.highIndex(o);
      return this.high[i] === o;
    }
    const v = Number(o);
    const i = this.lowerBound(v);
    return i < this.n && this.low[i] === v;
  }

  /** Adds o; returns false if it was already present. */
  add(o: bigint): boolean {
    if (o > SAFE) {
      const i = this.highIndex(o);
      if (this.high[i] === o) return false;
      this.high.splice(i, 0, o);
      return true;
    }
    const v = Number(o);
    const i = this.lowerBound(v);
    if (i < this.n && this.low[i] === v) return false;
    if (this.n === this.low.length) {
      const grown = new Float64Array(this.low.length * 2);
      grown.set(this.low);
      this.low = grown;
    }
    this.low.copyWithin(i + 1, i, this.n);
    this.low[i] = v;
    this.n++;
    return true;
  }

  /** Removes o; returns false if it was absent. */
  delete(o: bigint): boolean {
    if (o > SAFE) {
      const i = this.highIndex(o);
      if (this.high[i] !== o) return false;
      this.high.splice(i, 1);
      return true;
    }
    const v = Number(o);
    const i = this.lowerBound(v);
    if (i >= this.n || this.low[i] !== v) return false;
    this.low.copyWithin(i, i + 1, this.n);
    this.n--;
    return true;
  }

  /** Lowest offset >= 0 not in the set (may be >= the pool size: the caller checks). */
  firstFree(): bigint {
    // Sorted distinct non-negative values: low[i] - i never decreases; the first i with low[i] > i is the gap.
    let lo = 0;
    let hi = this.n;
    const a = this.low;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((a[mid] as number) > mid) hi = mid;
      else lo = mid + 1;
    }
    return BigInt(lo);
  }

  /** All offsets in ascending order. */
  values(): bigint[] {
    const out: bigint[] = [];
    for (let i = 0; i < this.n; i++) out.push(BigInt(this.low[i] as number));
    return out.concat(this.high);
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
