/**
 * The one composition root: engine, extras, authenticator, REST API + widget + socket.io, the LiteLLM webhook,
 * the metering proxy, health and metrics, and the graceful shutdown. The standalone server, the demo and the
 * LibreChat plugin all build this; they differ only in what they pass (authenticator or its parts, upstream URL,
 * where the routes are mounted) and in whether they `listen()` on a server of their own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { SolarisConfig } from './core/config';
import { createEngine, type EngineRuntime } from './core/create-engine';
import { createFeatureServices as createExtras, type FeatureServices as SolarisExtras } from './core/feature-services';
import type { QuotaEngine } from './core/engine';
import type { Logger } from './core/logger';
import { createSolarisServer, type SolarisServer } from './app';
import { createLibreChatAuthenticator, type LibreChatAuthOptions } from './adapters/auth';
import type { Authenticator } from './adapters/auth/types';
import { createHealthHandlers, createMeteringProxy, type AdmittedTurn, type HealthHandlers, type MeteringProxy } from './adapters/proxy';
import { createMetrics, watchQueues, type Metrics } from './adapters/metrics';
import { createLiteLLMWebhookRouter } from './adapters/litellm-webhook';

export interface SolarisRuntimeOptions {
  logger: Logger;
  /** Reuse an engine (tests); its owner closes it. Otherwise one is built from the configuration. */
  engine?: EngineRuntime;
  /** For the engine built here: a Redis client of the caller's (the plugin's), `null` = Postgres store. */
  redis?: Redis | null;
  /** For the engine built here: apply pending migrations first (default: only on the embedded database). */
  migrate?: boolean;
  /** Who calls /solaris/*. Default: LibreChat's tokens (createLibreChatAuthenticator) with the parts below. */
  authenticator?: Authenticator;
  /** Parts of the default authenticator: LibreChat's sessions / users (plugin), demo secrets and cache. */
  auth?: Pick<LibreChatAuthOptions, 'sessionChecker' | 'userDirectory' | 'secrets' | 'cacheTtlMs'>;
  /** The metering proxy's upstream. Default: LITELLM_URL. The proxy runs when SOLARIS_PROXY_KEY and an upstream are set. */
  upstreamUrl?: string;
  /** The host's chat gate, for the proxy in gate-only mode (MeteringProxyOptions.admittedTurn): the plugin. */
  admittedTurn?: AdmittedTurn;
  /**
   * Where health, metrics and the proxy sit: '' → /healthz, /readyz, /metrics, /v1/* (standalone, demo);
   * '/solaris' inside LibreChat, whose own routes own the rest of the path space (matched in any casing).
   */
  mount?: '' | '/solaris';
  /** How long in-flight requests (long LLM streams) may finish after a shutdown signal. Default 10 s. */
  drainTimeoutMs?: number;
}

export interface ListenOptions {
  port: number;
  host: string;
  /** Requests that are none of ours (the demo's page). Default: our JSON 404. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface SolarisRuntime {
  config: SolarisConfig;
  engine: QuotaEngine;
  authenticator: Authenticator;
  solaris: SolarisServer;
  metrics: Metrics;
  /** Everything of ours (see `mount`); anything else goes to `next`, or gets our JSON 404. */
  handle(req: IncomingMessage, res: ServerResponse, next?: () => void): void;
  /** socket.io on a host's server (the plugin: LibreChat's). `listen()` attaches its own. */
  attach(server: Server): void;
  /** Serves `handle` on a server of our own (standalone, demo). */
  listen(opts: ListenOptions): Promise<{ server: Server; url: string }>;
  /** Our server, once listening. */
  server: Server | null;
  url: string | null;
  /** Stop accepting, close socket.io, let requests finish (bounded), drain the proxy, close extras and engine. Idempotent. */
  shutdown(): Promise<void>;
}

function notFound(res: ServerResponse, message: string): void {
  res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: { code: 'not_found', message } }));
}

/** The path below `mount`, or null when the request is not under it (the mount is matched in any casing, like isSolarisPath). */
function below(mount: string, url: string | undefined): string | null {
  const path = (url ?? '/').split('?')[0]!;
  if (!mount) return path;
  return path.slice(0, mount.length).toLowerCase() === mount ? path.slice(mount.length) : null;
}

function buildProxy(engine: QuotaEngine, config: SolarisConfig, opts: SolarisRuntimeOptions, metrics: Metrics): MeteringProxy | null {
  const upstreamUrl = opts.upstreamUrl ?? config.LITELLM_URL;
  if (config.SOLARIS_PROXY_KEY && upstreamUrl) return createMeteringProxy({ engine, config, logger: opts.logger, metrics, upstreamUrl, admittedTurn: opts.admittedTurn });
  opts.logger.warn(`metering proxy disabled: ${config.SOLARIS_PROXY_KEY ? 'LITELLM_URL' : 'SOLARIS_PROXY_KEY'} is not set`);
  return null;
}

/** Routes health, metrics and the proxy (below `mount`), then /solaris/*, then `next`. */
function router(mount: string, health: HealthHandlers, proxy: MeteringProxy | null, solaris: SolarisServer) {
  const table: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/healthz': health.healthz,
    '/readyz': health.readyz,
  };
  // Metrics are unauthenticated (Prometheus scrapes them): only on our own port, never on LibreChat's public
  // origin, where anyone could read them (docs/security.md).
  if (mount === '') table['/metrics'] = health.metrics;
  return (req: IncomingMessage, res: ServerResponse, next?: () => void): void => {
    const rel = below(mount, req.url);
    if (rel !== null) {
      const route = table[rel];
      if (route) return route(req, res);
      if (rel === '/v1' || rel.startsWith('/v1/')) {
        if (!proxy) return notFound(res, 'Metering proxy disabled: set SOLARIS_PROXY_KEY and LITELLM_URL');
        req.url = req.url!.slice(mount.length);
        return proxy(req, res, () => notFound(res, 'Route not found'));
      }
    }
    solaris.handle(req, res, next ?? (() => notFound(res, 'Route not found')));
  };
}

export async function createSolarisRuntime(config: SolarisConfig, opts: SolarisRuntimeOptions): Promise<SolarisRuntime> {
  const { logger } = opts;
  const engineRuntime = opts.engine ?? (await createEngine({ config, logger, redis: opts.redis, migrate: opts.migrate }));
  const { engine, redis } = engineRuntime;
  // Process metrics (prom-client's defaults) only where /metrics is served (our own port): inside LibreChat nobody
  // can read them, and their event-loop-lag monitor wakes the process every 10 ms (bench:gate, idle CPU).
  const metrics = createMetrics({ defaultMetrics: (opts.mount ?? '') === '' });
  const proxy = buildProxy(engine, config, opts, metrics);
  const health = createHealthHandlers({ engine, config, redis, metrics, upstreamUrl: opts.upstreamUrl });
  // Caps, quota requests, role plans and webhooks: created next to the engine, closed before it.
  const extras: SolarisExtras = createExtras(engine, { logger });
  extras.start();
  watchQueues(metrics, engine, { webhooks: () => extras.webhooks.outbox.stats() });
  const authenticator = opts.authenticator ?? createLibreChatAuthenticator({ engine, config, logger, ...opts.auth });
  const solaris = createSolarisServer({
    engine,
    config,
    redis,
    logger,
    authenticator,
    extras,
    extraRoutes: [createLiteLLMWebhookRouter({ engine, config, logger })],
  });
  const handle = router(opts.mount ?? '', health, proxy, solaris);

  let server: Server | null = null;
  let stopping: Promise<void> | null = null;
  const rt: SolarisRuntime = {
    config,
    engine,
    authenticator,
    solaris,
    metrics,
    handle,
    server: null,
    url: null,
    attach(host) {
      solaris.attach(host);
    },
    async listen({ port, host, fallback }) {
      server = createServer((req, res) => handle(req, res, fallback && (() => fallback(req, res))));
      solaris.attach(server);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => {
          server!.off('error', reject);
          resolve();
        });
      });
      const addr = server.address() as AddressInfo;
      rt.server = server;
      rt.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
      logger.info('solaris listening', { url: rt.url, proxy: Boolean(proxy) });
      return { server, url: rt.url };
    },
    shutdown() {
      stopping ??= (async () => {
        const drained = server ? drain(server, solaris, opts.drainTimeoutMs ?? 10_000, logger) : solaris.close();
        await step(logger, 'closing the server', drained);
        await step(logger, 'draining the metering proxy', proxy?.close());
        await step(logger, 'closing webhooks', extras.close());
        if (!opts.engine) await step(logger, 'closing the engine', engineRuntime.close());
      })();
      return stopping;
    },
  };
  return rt;
}

/** One shutdown step: a failure is logged and the next steps still run (the engine must close). */
async function step(logger: Logger, what: string, p: Promise<void> | undefined): Promise<void> {
  try {
    await p;
  } catch (e) {
    logger.warn(`shutdown: ${what} failed`, { error: e instanceof Error ? e.message : String(e) });
  }
}

/** Stop accepting, close socket.io, let requests end (bounded by the drain timeout), then cut what is left. */
async function drain(server: Server, solaris: SolarisServer, timeoutMs: number, logger: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await solaris.close(); // websockets would keep server.close() waiting forever
  server.closeIdleConnections();
  // A keep-alive connection whose last stream just ended is idle now: close it at once instead of waiting
  // for the client (or keepAliveTimeout) — otherwise exit lags the last answer by seconds.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
  const how = await Promise.race([closed, timeout]);
  clearInterval(sweep);
  if (how === 'timeout') {
    logger.warn('shutdown: closing connections still open after the drain timeout');
    server.closeAllConnections();
  }
}
