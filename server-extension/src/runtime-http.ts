/**
 * The HTTP side of the runtime: authenticator, REST API + widget + LiteLLM webhook (express), socket.io, the
 * metering proxy (undici) and the Prometheus metrics. runtime.ts reaches it only through `import()`, so a bundle
 * evaluates it (and express, socket.io, undici, prom-client) when it is first needed: at once for the standalone
 * server and the demo, on the first request under /solaris or the first socket inside LibreChat (`lazy`).
 */
import type { Redis } from 'ioredis';
import type { SolarisConfig } from './core/config';
import type { QuotaEngine } from './core/engine';
import type { FeatureServices } from './core/feature-services';
import { createSolarisServer, type SolarisServer } from './app';
import { createLibreChatAuthenticator, type LibreChatAuthOptions } from './adapters/auth';
import type { Authenticator } from './adapters/auth/types';
import { createMeteringProxy, type MeteringProxy } from './adapters/proxy/metering-proxy';
import { createMetrics, watchQueues, type Metrics } from './adapters/metrics';
import { createLiteLLMWebhookRouter } from './adapters/litellm-webhook';
import type { RealtimeFeed } from './adapters/realtime-feed';
import type { AdmittedTurn } from './adapters/proxy/context';
import type { Logger } from './core/logger';

export interface SolarisHttp {
  authenticator: Authenticator;
  solaris: SolarisServer;
  /** null when disabled (no SOLARIS_PROXY_KEY or no upstream). */
  proxy: MeteringProxy | null;
  metrics: Metrics;
}

export interface SolarisHttpDeps {
  engine: QuotaEngine;
  config: SolarisConfig;
  redis: Redis | null;
  logger: Logger;
  extras: FeatureServices;
  /** The process's feed of engine events: socket.io takes it over when attached. */
  feed: RealtimeFeed;
  authenticator?: Authenticator;
  auth?: Pick<LibreChatAuthOptions, 'sessionChecker' | 'userDirectory' | 'secrets' | 'cacheTtlMs'>;
  /** The proxy's upstream, when the proxy is enabled (runtime.ts decides and logs). */
  upstreamUrl: string | null;
  /** Process metrics (event-loop lag, GC, ...) only where /metrics is served: inside LibreChat nobody reads them. */
  defaultMetrics: boolean;
  channelPrefix?: string;
  /** The host's chat gate (MeteringProxyOptions.admittedTurn). */
  admittedTurn?: AdmittedTurn;
}

export function createSolarisHttp(deps: SolarisHttpDeps): SolarisHttp {
  const { engine, config, logger, extras } = deps;
  const metrics = createMetrics({ defaultMetrics: deps.defaultMetrics });
  watchQueues(metrics, engine, { webhooks: () => extras.webhooks.outbox.stats() });
  const proxy = deps.upstreamUrl ? createMeteringProxy({ engine, config, logger, metrics, upstreamUrl: deps.upstreamUrl, admittedTurn: deps.admittedTurn }) : null;
  const authenticator = deps.authenticator ?? createLibreChatAuthenticator({ engine, config, logger, ...deps.auth });
  const solaris = createSolarisServer({
    engine,
    config,
    redis: deps.redis,
    logger,
    authenticator,
    extras,
    extraRoutes: [createLiteLLMWebhookRouter({ engine, config, logger })],
    realtime: { feed: deps.feed, channelPrefix: deps.channelPrefix },
  });
  return { authenticator, solaris, proxy, metrics };
}
