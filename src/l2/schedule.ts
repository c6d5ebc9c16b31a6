// One timer for many items: a min-heap of due times with a single setTimeout armed for the
// earliest. The announcer keeps one of these instead of a Node timer per address: a Timeout with
// its closure and context is ~0.35 KB of heap, for thousands of addresses that each wait 30 s for
// their next refresh; here an address costs its due time and heap slot. Items carry their own
// due time and heap position (intrusive), so scheduling and cancelling allocate nothing and cost
// O(log n).

export interface Scheduled {
  /** When the item is due (the clock's milliseconds); meaningful only while slot >= 0. */
  due: number;
  /** Position in the heap, -1 when not scheduled. */
  slot: number;
}

export class Schedule<T extends Scheduled> {
  readonly #heap: T[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #armedFor = Infinity;

  constructor(
    private readonly fire: (item: T) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Fires `item` after `delayMs` (replacing an earlier schedule of it). */
  at(item: T, delayMs: number): void {
    this.cancel(item);
    item.due = this.now() + delayMs;
    item.slot = this.#heap.length;
    this.#heap.push(item);
    this.#up(item.slot);
    this.#arm();
  }

  /** Unschedules `item` (no-op if it is not scheduled). */
  cancel(item: T): void {
    const i = item.slot;
    if (i < 0) return;
    item.slot = -1;
    const last = this.#heap.pop()!;
    if (last === item) return;
    this.#heap[i] = last;
    last.slot = i;
    this.#down(i);
    this.#up(last.slot);
    // The timer may now be armed for an earlier time than needed: it then fires, finds nothing
    // due and arms again. Cheaper than re-arming on every cancel.
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Stops the timer and forgets every item. */
  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = Infinity;
    for (const item of this.#heap) item.slot = -1;
    this.#heap.length = 0;
  }

  #arm(): void {
    const top = this.#heap[0];
    if (top === undefined) {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      this.#armedFor = Infinity;
      return;
    }
    if (this.#timer !== null && this.#armedFor <= top.due) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#armedFor = top.due;
    this.#timer = setTimeout(this.#run, Math.max(0, top.due - this.now()));
  }

  readonly #run = (): void => {
    this.#timer = null;
    this.#armedFor = Infinity;
    const t = this.now();
    try {
      for (let top = this.#heap[0]; top !== undefined && top.due <= t; top = this.#heap[0]) {
        this.cancel(top);
        this.fire(top);
      }
    } finally {
      // Armed again even if an item's step threw: the other items must keep their schedule.
      this.#arm();
    }
  };

  #up(i: number): void {
    const h = this.#heap;
    const item = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (parent.due <= item.due) break;
      h[i] = parent;
      parent.slot = i;
      i = p;
    }
    h[i] = item;
    item.slot = i;
  }

  #down(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const item = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.due < h[l]!.due ? r : l;
      const child = h[c]!;
      if (child.due >= item.due) break;
      h[i] = child;
      child.slot = i;
      i = c;
    }
    h[i] = item;
    item.slot = i;
  }
}
