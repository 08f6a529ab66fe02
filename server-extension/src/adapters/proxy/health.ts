import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { QuotaEngine } from '../../core/engine';
import type { SolarisConfig } from '../../core/config';
import type { Metrics } from '../metrics';

export interface HealthOptions {
  engine: QuotaEngine;
  config: SolarisConfig;
  redis: Redis | null;
  metrics?: Metrics;
  /** Default: config.LITELLM_URL (unset: the upstream check is skipped). */
  upstreamUrl?: string;
  /** Per-check time budget. Default 2 s. */
  checkTimeoutMs?: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface HealthHandlers {
  /** Liveness: the process answers. Never touches a dependency (a DB outage must not restart pods). */
  healthz: Handler;
  /** Readiness: Postgres, Redis (when configured) and the upstream answer in time. 503 otherwise. */
  readyz: Handler;
  /** Prometheus exposition of `metrics.registry` (404 without metrics). */
  metrics: Handler;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(payload);
}

export function createHealthHandlers(opts: HealthOptions): HealthHandlers {
  const budget = opts.checkTimeoutMs ?? 2_000;
  const upstream = (opts.upstreamUrl ?? opts.config.LITELLM_URL ?? '').replace(/\/+$/, '').replace(/\/v1$/, '');

  const checks: Record<string, () => Promise<unknown>> = {
    postgres: () => opts.engine.db.pool.query('SELECT 1'),
  };
  if (opts.redis) {
    const redis = opts.redis;
    checks.redis = () => redis.ping();
  }
  if (upstream) {
    // LiteLLM's unauthenticated liveness route; any answer below 500 means it is up.
    checks.upstream = async () => {
      // undici on the first check only: inside LibreChat health is served before (or without) the proxy's code.
      const { request } = await import('undici');
      const r = await request(`${upstream}/health/liveliness`, { method: 'GET', headersTimeout: budget, bodyTimeout: budget });
      await r.body.dump();
      if (r.statusCode >= 500) throw new Error(`status ${r.statusCode}`);
    };
  }

  return {
    healthz(_req, res) {
      send(res, 200, { status: 'ok' });
    },
    readyz(_req, res) {
      const names = Object.keys(checks);
      void Promise.allSettled(names.map((n) => withTimeout(checks[n]!(), budget))).then((results) => {
        const out: Record<string, string> = {};
        let ok = true;
        results.forEach((r, i) => {
          // Only a short reason: connection strings and hosts stay out of a public endpoint.
          out[names[i]!] = r.status === 'fulfilled' ? 'ok' : 'down';
          if (r.status === 'rejected') ok = false;
        });
        send(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks: out });
      });
    },
    metrics(_req, res) {
      const registry = opts.metrics?.registry;
      if (!registry) {
        send(res, 404, { error: { code: 'not_found', message: 'Métricas desativadas.' } });
        return;
      }
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (e: unknown) => send(res, 500, { error: { code: 'internal_error', message: String((e as Error).message) } }),
      );
    },
  };
}
