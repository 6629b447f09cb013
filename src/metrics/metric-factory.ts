/**
 * Declaring prom-client metrics on one `Registry` (the relay's, the connector's; never the global one)
 * without repeating the option boilerplate: counters, histograms, and gauges read at scrape time.
 * Shared by relay and connector, which never import each other.
 *
 * @example
 * const m = metricFactory(registry);
 * const refused = m.counter('airlock_relay_routing_failures_total', 'Refused connections', ['reason']);
 * m.gauge('airlock_relay_tunnels', 'Live tunnels per tenant', ['tenant'], (g) => g.set({ tenant: 'acme' }, 2));
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface MetricFactory {
  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ): Histogram<L>;
  /**
   * A gauge; with `collect`, a snapshot taken at each scrape: the gauge is reset, then `collect` sets
   * the current series (so a label that went away disappears).
   */
  gauge<L extends string = never>(
    name: string,
    help: string,
    labelNames?: readonly L[],
    collect?: (gauge: Gauge<L>) => void | Promise<void>,
  ): Gauge<L>;
}

/** Metrics registered on `registry` only. */
export function metricFactory(registry: Registry): MetricFactory {
  const registers = [registry];
  return {
    counter: (name, help, labelNames = []) => new Counter({ name, help, labelNames, registers }),
    histogram: (name, help, labelNames, buckets) =>
      new Histogram({ name, help, labelNames, buckets, registers }),
    gauge: (name, help, labelNames = [], collect = undefined) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        ...(collect
          ? {
              async collect() {
                this.reset();
                await collect(this);
              },
            }
          : {}),
      }),
  };
}
