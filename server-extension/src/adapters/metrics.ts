import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QuotaEngine } from '../core/engine';

/**
 * Prometheus metrics of the server extension (LiteLLM operators scrape Prometheus already).
 * One registry per instance, never prom-client's global one, so two servers in one process (tests,
 * the benchmark) do not collide on metric names.
 */
export interface Metrics {
  registry: Registry;
  /** Proxied requests by route and final HTTP status. */
  requests: Counter<'route' | 'status'>;
  /** Tokens settled into the ledger by the proxy: raw prompt / completion and weighted. */
  tokens: Counter<'kind'>;
  /** Requests refused before any LLM call (quota_exceeded, too_many_inflight). */
  blocked: Counter<'reason'>;
  /** Requests let through unmetered because the quota store failed and SOLARIS_FAIL_MODE=open. */
  failOpen: Counter<string>;
  /** Settlements that failed after the answer was delivered (the reservation then expires by itself). */
  settleErrors: Counter<string>;
  /** Time of engine.reserve (the pre-flight's round trip to Redis/Postgres). */
  reservationSeconds: Histogram<'outcome'>;
  /** Time from sending the upstream request to its response headers. */
  upstreamSeconds: Histogram<'route' | 'status'>;
}

export interface MetricsOptions {
  /** Also export process/GC/event-loop metrics (default true). */
  defaultMetrics?: boolean;
  registry?: Registry;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = opts.registry ?? new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'solaris_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'solaris_proxy_requests_total',
      help: 'Requests handled by the metering proxy, by route and HTTP status.',
      labelNames: ['route', 'status'],
      registers,
    }),
    tokens: new Counter({
      name: 'solaris_proxy_tokens_metered_total',
      help: 'Tokens settled into the ledger by the metering proxy (kind: prompt, completion, weighted).',
      labelNames: ['kind'],
      registers,
    }),
    blocked: new Counter({
      name: 'solaris_proxy_blocked_total',
      help: 'Requests refused before any LLM call, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    failOpen: new Counter({
      name: 'solaris_proxy_fail_open_total',
      help: 'Requests passed through unmetered because the quota store was unavailable (SOLARIS_FAIL_MODE=open).',
      registers,
    }),
    settleErrors: new Counter({
      name: 'solaris_proxy_settle_errors_total',
      help: 'Settlements that failed after the answer was delivered.',
      registers,
    }),
    reservationSeconds: new Histogram({
      name: 'solaris_proxy_reservation_duration_seconds',
      help: 'Latency of the quota reservation (pre-flight) by outcome.',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    upstreamSeconds: new Histogram({
      name: 'solaris_proxy_upstream_duration_seconds',
      help: 'Time from the upstream request to its response headers, by route and upstream status.',
      labelNames: ['route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}

/**
 * What waits in the outbox (docs/architecture.md, "One outbox"): `solaris_queue_waiting{queue}` and
 * `solaris_queue_oldest_seconds{queue}` for the engine's settlement queue ("settlements"), the webhook events
 * ("webhooks", when given) and the Redis outbox's rows held in memory / seen waiting ("redis-outbox").
 */
export function watchQueues(metrics: Metrics, engine: QuotaEngine, more: Record<string, () => { waiting: number; oldestMs: number }> = {}): void {
  const sources: Record<string, () => { waiting: number; oldestMs: number }> = { settlements: () => engine.settlements.stats(), ...more };
  const store = engine.store as { outboxStats?: () => { waiting: number; oldestMs: number } };
  if (typeof store.outboxStats === 'function') sources['redis-outbox'] = () => store.outboxStats!();
  const read = (pick: (s: { waiting: number; oldestMs: number }) => number) =>
    function (this: Gauge<'queue'>) {
      for (const [queue, stats] of Object.entries(sources)) this.set({ queue }, pick(stats()));
    };
  new Gauge({ name: 'solaris_queue_waiting', help: 'Items not landed yet in a store, by queue.', labelNames: ['queue'], registers: [metrics.registry], collect: read((s) => s.waiting) });
  new Gauge({
    name: 'solaris_queue_oldest_seconds',
    help: 'Age of the oldest item waiting, by queue (0 when none waits).',
    labelNames: ['queue'],
    registers: [metrics.registry],
    collect: read((s) => s.oldestMs / 1000),
  });
}
