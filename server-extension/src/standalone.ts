import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SOLARIS_PREFIX } from '@solaris/wire';
import type { SolarisConfig } from './core/config';
import { createEngine, type EngineRuntime } from './core/create-engine';
import { createExtras } from './core/feature-services';
import type { Logger } from './core/logger';
import { createSolarisServer, type SolarisServer } from './app';
import { createLibreChatAuthenticator } from './adapters/auth';
import type { SessionChecker } from './adapters/auth/types';
import { createHealthHandlers, createMeteringProxy, type MeteringProxy } from './adapters/proxy';
import { createMetrics, watchQueues } from './adapters/metrics';
import { createLiteLLMWebhookRouter } from './adapters/litellm-webhook';

export interface StandaloneOptions {
  config: SolarisConfig;
  logger: Logger;
  /** Reuse an engine (tests); otherwise built from the configuration. */
  runtime?: EngineRuntime;
  /**
   * Checks that a refresh cookie's LibreChat session still exists (embedding code that can reach LibreChat's
   * `sessions`). Without it the standalone server accepts bearer access tokens only.
   */
  sessionChecker?: SessionChecker;
  /** How long in-flight requests (e.g. long LLM streams) may finish after a shutdown signal. Default 10 s. */
  drainTimeoutMs?: number;
}

export interface Standalone {
  server: Server;
  url: string;
  solaris: SolarisServer;
  /** Stop accepting, close socket.io, let requests finish (bounded), close the engine. Idempotent. */
  shutdown(): Promise<void>;
}

function notFound(res: ServerResponse, message: string) {
  res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: { code: 'not_found', message } }));
}

/**
 * The standalone server on PORT: the metering proxy (/v1/*), health and metrics, and everything under
 * /solaris (REST API, widget, LiteLLM webhook, socket.io) — what runs beside LiteLLM without LibreChat's process.
 */
export async function startStandalone(opts: StandaloneOptions): Promise<Standalone> {
  const { config, logger } = opts;
  const runtime = opts.runtime ?? (await createEngine({ config, logger }));
  const { engine, redis } = runtime;
  const metrics = createMetrics();
  let proxy: MeteringProxy | null = null;
  if (config.SOLARIS_PROXY_KEY) proxy = createMeteringProxy({ engine, config, logger, metrics });
  else logger.warn('SOLARIS_PROXY_KEY is not set: the metering proxy (/v1/*) is disabled');
  const health = createHealthHandlers({ engine, config, redis, metrics });
  // Caps, quota requests, role plans and webhooks: created next to the engine, closed before it.
  const extras = createExtras(engine, { logger });
  extras.start();
  watchQueues(metrics, engine, { webhooks: () => extras.webhooks.outbox.stats() });
  const solaris = createSolarisServer({
    engine,
    config,
    redis,
    logger,
    authenticator: createLibreChatAuthenticator({ engine, config, logger, sessionChecker: opts.sessionChecker }),
    extras,
    extraRoutes: [createLiteLLMWebhookRouter({ engine, config, logger })],
  });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === SOLARIS_PREFIX || path.startsWith(SOLARIS_PREFIX + '/')) return solaris.handle(req, res);
    if (path === '/healthz') return health.healthz(req, res);
    if (path === '/readyz') return health.readyz(req, res);
    if (path === '/metrics') return health.metrics(req, res);
    if (path.startsWith('/v1/') || path === '/v1') {
      if (proxy) return proxy(req, res, () => notFound(res, 'Route not found'));
      return notFound(res, 'Metering proxy disabled: set SOLARIS_PROXY_KEY');
    }
    notFound(res, 'Route not found');
  });
  solaris.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  logger.info('solaris standalone listening', { url, proxy: Boolean(proxy) });

  let stopping: Promise<void> | null = null;
  return {
    server,
    url,
    solaris,
    shutdown() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await solaris.close(); // websockets would keep server.close() waiting forever
        server.closeIdleConnections();
        // A keep-alive connection whose last stream just ended is idle now: close it at once instead of
        // waiting for the client (or keepAliveTimeout) — otherwise exit lags the last answer by seconds.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), opts.drainTimeoutMs ?? 10_000).unref());
        const how = await Promise.race([closed, timeout]);
        clearInterval(sweep);
        if (how === 'timeout') {
          logger.warn('shutdown: closing connections still open after the drain timeout');
          server.closeAllConnections();
        }
        await proxy?.close();
        await extras.close();
        if (!opts.runtime) await runtime.close();
      })();
      return stopping;
    },
  };
}
