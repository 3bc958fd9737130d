/**
 * Prometheus metrics through prom-client, every series labelled by `protocol` (the adapter name).
 *
 * The per-message counters (and accepted handshakes) are plain numbers on one
 * {@link ProtocolStats} object per adapter, shared by its connections; prom-client reads them in
 * `collect()` at scrape time. That keeps
 * the hot path at two additions per message: `counter.labels(p).inc()` would hash and validate
 * the label set and allocate on every call (prom-client 15 re-binds the labels per `inc`).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger, MetricLabels, Metrics } from '@protoplex/core';
import type { RefusalReason } from './handshake.js';

/** Transport counters of one adapter, shared by all its connections. */
export class ProtocolStats {
  open = 0;
  messagesReceived = 0;
  messagesSent = 0;
  bytesReceived = 0;
  bytesSent = 0;
  overflows = 0;
  handshakesAccepted = 0;
  constructor(readonly protocol: string) {}
}

type StatKey = Exclude<keyof ProtocolStats, 'protocol' | 'handshakesAccepted'>;

// Prometheus data model: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*.
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Kind = 'counter' | 'gauge' | 'histogram';
interface AdapterMetric {
  readonly kind: Kind;
  readonly labelNames: readonly string[];
  readonly metric: Counter<string> | Gauge<string> | Histogram<string>;
}

export class ServerMetrics {
  readonly registry: Registry;
  private readonly stats = new Map<string, ProtocolStats>();
  /** Refusals by protocol and reason; accepted handshakes are counted on ProtocolStats. */
  private readonly refusals = new Map<string, { readonly protocol: string; readonly reason: RefusalReason; count: number }>();
  private readonly custom = new Map<string, AdapterMetric>();
  private readonly reported = new Set<string>();

  constructor(registry: Registry, private readonly log: Logger) {
    this.registry = registry;
    const stats = this.stats;
    const fromStats = (name: string, help: string, key: StatKey, type: 'counter' | 'gauge'): void => {
      if (type === 'gauge') {
        new Gauge({
          name,
          help,
          labelNames: ['protocol'],
          registers: [registry],
          collect(this: Gauge<'protocol'>) {
            for (const s of stats.values()) this.set({ protocol: s.protocol }, s[key]);
          },
        });
        return;
      }
      new Counter({
        name,
        help,
        labelNames: ['protocol'],
        registers: [registry],
        collect(this: Counter<'protocol'>) {
          // Counters have no set(): rebuild from the running totals at each scrape.
          this.reset();
          for (const s of stats.values()) this.inc({ protocol: s.protocol }, s[key]);
        },
      });
    };
    fromStats('protoplex_connections_open', 'WebSocket connections currently open.', 'open', 'gauge');
    fromStats('protoplex_messages_received_total', 'WebSocket messages received from peers.', 'messagesReceived', 'counter');
    fromStats('protoplex_messages_sent_total', 'WebSocket messages queued to peers.', 'messagesSent', 'counter');
    fromStats('protoplex_bytes_received_total', 'Payload bytes of WebSocket messages received.', 'bytesReceived', 'counter');
    fromStats('protoplex_bytes_sent_total', 'Payload bytes of WebSocket messages queued to peers.', 'bytesSent', 'counter');
    fromStats(
      'protoplex_send_buffer_overflows_total',
      'Connections closed because their send buffer passed maxBufferedAmount.',
      'overflows',
      'counter',
    );
    const refusals = this.refusals;
    new Counter({
      name: 'protoplex_handshakes_total',
      help: 'WebSocket opening handshakes by result; refusals carry a reason.',
      labelNames: ['protocol', 'result', 'reason'],
      registers: [registry],
      collect(this: Counter<'protocol' | 'result' | 'reason'>) {
        this.reset();
        for (const s of stats.values()) if (s.handshakesAccepted > 0) this.inc({ protocol: s.protocol, result: 'accepted' }, s.handshakesAccepted);
        for (const r of refusals.values()) this.inc({ protocol: r.protocol, result: 'refused', reason: r.reason }, r.count);
      },
    });
  }

  /** The shared stats object of an adapter, created (with zeroed series) on first use. */
  statsFor(protocol: string): ProtocolStats {
    let s = this.stats.get(protocol);
    if (!s) {
      s = new ProtocolStats(protocol);
      this.stats.set(protocol, s);
    }
    return s;
  }

  /** All adapters' stats, for `handle.stats()`. */
  allStats(): IterableIterator<ProtocolStats> {
    return this.stats.values();
  }

  refused(protocol: string, reason: RefusalReason): void {
    const key = `${protocol}\u0000${reason}`;
    const entry = this.refusals.get(key);
    if (entry) entry.count++;
    else this.refusals.set(key, { protocol, reason, count: 1 });
  }

  /**
   * Core's `Metrics` for one adapter: each name becomes `protoplex_<name>` on first use, with
   * label names `protocol` plus the sorted keys of the labels given then. Misuse (a name reused
   * with another kind or other labels, an invalid name) is logged once and the sample dropped:
   * metrics never break a session.
   */
  forAdapter(protocol: string): Metrics {
    const base: MetricLabels = Object.freeze({ protocol });
    const withProtocol = (labels: MetricLabels | undefined): Record<string, string> => {
      if (labels === undefined) return base as Record<string, string>;
      // `protocol` first so the exposition reads protocol="x",...; set again so no label can spoof it.
      const out: Record<string, string> = { protocol, ...labels };
      out.protocol = protocol;
      return out;
    };
    // Counters without labels of their own are the per-message ones: their child (labelled with
    // `protocol` only) is looked up once, so an increment does not hash a label object each time.
    const plainCounters = new Map<string, { inc(value: number): void }>();
    // One try/catch per call and no closure: adapters may record per message.
    return {
      increment: (name, labels, value = 1) => {
        if (labels === undefined) {
          let child = plainCounters.get(name);
          if (child === undefined) {
            const counter = this.metricFor(protocol, name, 'counter', labels) as Counter<string> | undefined;
            if (!counter) return;
            try {
              child = counter.labels(base as Record<string, string>);
            } catch (error) {
              this.reportOnce(protocol, name, `metric ${name}: ${(error as Error).message}`);
              return;
            }
            plainCounters.set(name, child);
          }
          try {
            child.inc(value);
          } catch (error) {
            this.reportOnce(protocol, name, `metric ${name}: ${(error as Error).message}`);
          }
          return;
        }
        const m = this.metricFor(protocol, name, 'counter', labels) as Counter<string> | undefined;
        if (!m) return;
        try {
          m.inc(withProtocol(labels), value);
        } catch (error) {
          this.reportOnce(protocol, name, `metric ${name}: ${(error as Error).message}`);
        }
      },
      set: (name, value, labels) => {
        const m = this.metricFor(protocol, name, 'gauge', labels) as Gauge<string> | undefined;
        if (!m) return;
        try {
          m.set(withProtocol(labels), value);
        } catch (error) {
          this.reportOnce(protocol, name, `metric ${name}: ${(error as Error).message}`);
        }
      },
      observe: (name, value, labels) => {
        const m = this.metricFor(protocol, name, 'histogram', labels) as Histogram<string> | undefined;
        if (!m) return;
        try {
          m.observe(withProtocol(labels), value);
        } catch (error) {
          this.reportOnce(protocol, name, `metric ${name}: ${(error as Error).message}`);
        }
      },
    };
  }

  private metricFor(protocol: string, name: string, kind: Kind, labels: MetricLabels | undefined): AdapterMetric['metric'] | undefined {
    const existing = this.custom.get(name);
    if (existing) {
      if (existing.kind !== kind) {
        this.reportOnce(protocol, name, `metric ${name} is a ${existing.kind}, used as a ${kind}`);
        return undefined;
      }
      return existing.metric;
    }
    const keys = labels ? Object.keys(labels).sort() : [];
    if (!METRIC_NAME.test(name) || keys.some((k) => !LABEL_NAME.test(k) || k === 'protocol')) {
      this.reportOnce(protocol, name, `invalid metric name or label names for ${name}`);
      return undefined;
    }
    const config = {
      name: `protoplex_${name}`,
      help: `Adapter metric ${name}.`,
      labelNames: ['protocol', ...keys],
      registers: [this.registry],
    };
    let metric: AdapterMetric['metric'];
    try {
      metric = kind === 'counter' ? new Counter(config) : kind === 'gauge' ? new Gauge(config) : new Histogram(config);
    } catch (error) {
      this.reportOnce(protocol, name, `cannot register metric protoplex_${name}: ${(error as Error).message}`);
      return undefined;
    }
    this.custom.set(name, { kind, labelNames: config.labelNames, metric });
    return metric;
  }

  private reportOnce(protocol: string, name: string, message: string): void {
    const key = `${protocol}\u0000${name}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.log.error({ adapter: protocol, metric: name }, message);
  }
}
