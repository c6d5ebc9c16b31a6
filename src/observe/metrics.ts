// A minimal Prometheus registry: counters and gauges with labels, rendered in the text
// exposition format (version 0.0.4). Small on purpose: no runtime dependency for metrics.

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  return names.map((n) => `${n}="${escapeLabel(labels[n]!)}"`).join(',');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

abstract class Metric {
  protected readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}

  /** Forget one series (e.g. an IP that is no longer owned) so /metrics does not grow forever. */
  remove(labels: Labels = {}): void {
    this.values.delete(labelKey(labels));
  }

  /** Forget every series whose labels include all of `match`. */
  removeMatching(match: Labels): void {
    const parts = Object.entries(match).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
    for (const key of [...this.values.keys()]) {
      const have = key.split(',');
      if (parts.every((p) => have.includes(p))) this.values.delete(key);
    }
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
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
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
}

export class Gauge extends Metric {
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
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
