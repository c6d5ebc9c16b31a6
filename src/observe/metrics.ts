// A minimal Prometheus registry: counters and gauges with labels, rendered in the text
// exposition format (version 0.0.4). Small on purpose: no runtime dependency for metrics.

type Labels = Record<string, string>;

/** One `name="value"` pair of a series key, escaped as it appears in the exposition text. */
function labelPair(name: string, value: string): string {
  return `${name}="${escapeLabel(value)}"`;
}

/** The series' label pairs, sorted by label name: the key is these joined with ','. */
function labelPairs(labels: Labels): string[] {
  return Object.keys(labels)
    .sort()
    .map((n) => labelPair(n, labels[n]!));
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

abstract class Metric {
  /** Series key (the label text between the braces) -> value, in insertion order (= render order). */
  protected readonly values = new Map<string, number>();
  /**
   * Label pair -> keys of the series that carry it, and key -> its pairs: removeMatching visits only
   * the series that carry the first pair asked for. Scanning every key instead made withdrawing N
   * addresses (one removeMatching per metric per address) cost N^2: 5.5 s of blocked event loop at
   * 4,000 IPs (issue 10, defect 3; scripts/bench/withdraw.ts).
   */
  readonly #byPair = new Map<string, Set<string>>();
  readonly #pairsOf = new Map<string, string[]>();
  /** Key -> the labels it was made from, for aliases that re-label a series (Registry.alias). */
  readonly #labelsOf = new Map<string, Labels>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}

  /** The key of a series, indexed on first use. */
  protected seriesKey(labels: Labels): string {
    const pairs = labelPairs(labels);
    const key = pairs.join(',');
    if (!this.#pairsOf.has(key)) {
      this.#pairsOf.set(key, pairs);
      this.#labelsOf.set(key, { ...labels });
      for (const p of pairs) {
        let keys = this.#byPair.get(p);
        if (!keys) this.#byPair.set(p, (keys = new Set()));
        keys.add(key);
      }
    }
    return key;
  }

  #delete(key: string): void {
    this.values.delete(key);
    const pairs = this.#pairsOf.get(key);
    if (!pairs) return;
    this.#pairsOf.delete(key);
    this.#labelsOf.delete(key);
    for (const p of pairs) {
      const keys = this.#byPair.get(p);
      keys?.delete(key);
      if (keys?.size === 0) this.#byPair.delete(p);
    }
  }

  /** Forget one series (e.g. an IP that is no longer owned) so /metrics does not grow forever. */
  remove(labels: Labels = {}): void {
    this.#delete(labelPairs(labels).join(','));
  }

  /** Forget every series whose labels include all of `match` (`{}`: every series). */
  removeMatching(match: Labels): void {
    const want = Object.entries(match).map(([k, v]) => labelPair(k, v));
    const [first, ...rest] = want;
    if (first === undefined) {
      this.values.clear();
      this.#byPair.clear();
      this.#pairsOf.clear();
      this.#labelsOf.clear();
      return;
    }
    const candidates = this.#byPair.get(first);
    if (!candidates) return;
    for (const key of [...candidates]) {
      const have = this.#pairsOf.get(key)!;
      if (rest.every((p) => have.includes(p))) this.#delete(key);
    }
  }

  /** Every series as (labels, value). */
  series(): Array<[Labels, number]> {
    return [...this.values].map(([key, v]) => [this.#labelsOf.get(key) ?? {}, v]);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelPairs(labels).join(',')) ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [key, value] of this.values) lines.push(key ? `${this.name}{${key}} ${value}` : `${this.name} ${value}`);
    return lines.join('\n');
  }
}

export class Counter extends Metric {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = this.seriesKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
}

export class Gauge extends Metric {
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(labels: Labels, value: number): void {
    this.values.set(this.seriesKey(labels), value);
  }
}

/**
 * Another name for an existing metric (upstream OpenELB's names, see upstream-metrics.ts): its
 * series are the source's, with labels renamed by `labels` (ours -> theirs); labels not listed are
 * dropped and the series that differ only in them are summed. Computed at render: no second count.
 */
class Alias extends Metric {
  constructor(
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    private readonly source: () => Metric | undefined,
    private readonly labels: Readonly<Record<string, string>>,
  ) {
    super(name, help, type);
  }

  override render(): string {
    this.removeMatching({});
    for (const [l, v] of this.source()?.series() ?? []) {
      const mapped: Labels = {};
      for (const [ours, theirs] of Object.entries(this.labels)) if (l[ours] !== undefined) mapped[theirs] = l[ours];
      const key = this.seriesKey(mapped);
      this.values.set(key, (this.values.get(key) ?? 0) + v);
    }
    return super.render();
  }
}

/** What a collected metric's source hands out at each scrape: (labels, value) per series. */
export type SeriesSource = () => Iterable<readonly [Labels, number]>;

/**
 * A metric whose series are read from their owner's own state at each render, never stored here:
 * for series per address (thousands per speaker), where a stored series (its key, label pairs and
 * index entries, ~0.5 KB) would cost more than the state it reports. Several owners (sources) may
 * publish under one name; each series appears once, in its source's order.
 */
class Collected extends Metric {
  readonly sources = new Set<SeriesSource>();

  override series(): Array<[Labels, number]> {
    const out: Array<[Labels, number]> = [];
    for (const source of this.sources) for (const [l, v] of source()) out.push([l, v]);
    return out;
  }

  override get(labels: Labels = {}): number {
    const key = labelPairs(labels).join(',');
    for (const [l, v] of this.series()) if (labelPairs(l).join(',') === key) return v;
    return 0;
  }

  override render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [l, v] of this.series()) {
      const key = labelPairs(l).join(',');
      lines.push(key ? `${this.name}{${key}} ${v}` : `${this.name} ${v}`);
    }
    return lines.join('\n');
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors = new Set<() => void>();

  /**
   * Runs `fn` at the start of every render(), so a hot path can count in plain numbers and publish
   * them only when scraped (Counter.inc builds a label key per call). Returns an unregister function.
   */
  onCollect(fn: () => void): () => void {
    this.collectors.add(fn);
    return () => void this.collectors.delete(fn);
  }

  counter(name: string, help: string): Counter {
    return this.register(name, () => new Counter(name, help)) as Counter;
  }

  gauge(name: string, help: string): Gauge {
    return this.register(name, () => new Gauge(name, help)) as Gauge;
  }

  /**
   * Publishes `name` from `source`, read at every render (see Collected). Returns a function that
   * removes this source (its series vanish from the next render).
   */
  collected(name: string, help: string, kind: 'counter' | 'gauge', source: SeriesSource): () => void {
    const m = this.register(name, () => new Collected(name, help, kind));
    if (!(m instanceof Collected)) throw new TypeError(`metric ${name} is already registered as a stored ${m.type}`);
    m.sources.add(source);
    return () => void m.sources.delete(source);
  }

  /**
   * Publishes `name` as a re-labelled copy of the metric `sourceName`, looked up at each render (the
   * source may be registered later, or never in this process: then the alias has no series).
   */
  alias(name: string, help: string, sourceName: string, kind: 'counter' | 'gauge', labels: Readonly<Record<string, string>>): void {
    this.register(name, () => new Alias(name, help, kind, () => this.metrics.get(sourceName), labels));
  }

  private register(name: string, make: () => Metric): Metric {
    let m = this.metrics.get(name);
    if (!m) {
      m = make();
      this.metrics.set(name, m);
    }
    return m;
  }

  render(): string {
    for (const collect of this.collectors) collect();
    return [...this.metrics.values()].map((m) => m.render()).join('\n') + '\n';
  }
}
