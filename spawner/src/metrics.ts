/** A small Prometheus text-format registry: counters, histograms and gauges read at scrape time. */
type Labels = Record<string, string>;
const key = (l: Labels) => JSON.stringify(Object.entries(l).sort());
const fmt = (l: Labels) => {
  const e = Object.entries(l);
  return e.length ? `{${e.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}` : '';
};

/** Lines of one metric family, for collectors that compute their series at scrape time. */
export function renderFamily(name: string, help: string, type: 'counter' | 'gauge', series: readonly [Labels, number][]): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...series.map(([l, v]) => `${name}${fmt(l)} ${v}`)].join('\n');
}

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const cur = this.values.get(k) ?? { labels, value: 0 };
    cur.value += by;
    this.values.set(k, cur);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${fmt(labels)} ${value}`);
    return lines.join('\n');
  }
}

export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; n: number }>();
  constructor(readonly name: string, readonly help: string,
    readonly buckets: number[] = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]) {}
  observe(labels: Labels, seconds: number): void {
    const k = key(labels);
    const s = this.series.get(k) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, n: 0 };
    this.buckets.forEach((b, i) => { if (seconds <= b) s.counts[i] = (s.counts[i] ?? 0) + 1; });
    s.sum += seconds;
    s.n += 1;
    this.series.set(k, s);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${fmt({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${fmt({ ...s.labels, le: '+Inf' })} ${s.n}`);
      lines.push(`${this.name}_sum${fmt(s.labels)} ${s.sum}`, `${this.name}_count${fmt(s.labels)} ${s.n}`);
    }
    return lines.join('\n');
  }
}

export class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly read: () => [Labels, number][]) {}
  render(): string {
    return renderFamily(this.name, this.help, 'gauge', this.read());
  }
}

export class Registry {
  private readonly items: { render(): string }[] = [];
  add<T extends { render(): string }>(m: T): T {
    this.items.push(m);
    return m;
  }
  render(): string {
    return `${this.items.map((m) => m.render()).join('\n')}\n`;
  }
}

export interface SpawnerMetrics {
  registry: Registry;
  deploys: Counter;
  wakes: Counter;
  stops: Counter;
  wakePhase: Histogram;
}

export function createMetrics(): SpawnerMetrics {
  const registry = new Registry();
  return {
    registry,
    deploys: registry.add(new Counter('spawner_deploys_total', 'Deploy requests by result')),
    wakes: registry.add(new Counter('spawner_wakes_total', 'Wakes by result')),
    stops: registry.add(new Counter('spawner_stops_total', 'Container stops by reason')),
    wakePhase: registry.add(new Histogram('spawner_wake_phase_seconds', 'Wake duration by phase (start, health, route, probe, total)')),
  };
}
