import type { Redis } from 'ioredis';
import { createRedis } from '../../../server-extension/src/core/redis-client';
import type { Mongoose } from 'mongoose';
import { loadConfig, type SolarisConfig } from '../../../server-extension/src/core/config';
import { createEngine, failFastWhenDisconnected, redisClientOptions, type EngineRuntime } from '../../../server-extension/src/core/create-engine';
import { createLogger } from '../../../server-extension/src/core/logger';
import { createLibreChatAuthenticator } from '../../../server-extension/src/adapters/auth/librechat-auth';
import { createSolarisServer, type SolarisServer } from '../../../server-extension/src/app';
import { createExtras } from '../../../server-extension/src/core/feature-services';
import { createLiteLLMWebhookRouter } from '../../../server-extension/src/adapters/litellm-webhook';
import { createMeteringProxy, createMetrics, type MeteringProxy } from '../../../server-extension/src/adapters/proxy';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mongoSessionChecker, mongoUserDirectory } from './mongo-directory';
import { errorMessage, log } from './log';

export interface PluginRuntime {
  config: SolarisConfig;
  engine: EngineRuntime['engine'];
  server: SolarisServer;
  /** Everything under /solaris: the metering proxy at /solaris/v1/*, the rest to `server`. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/** LibreChat reaches the metering proxy in its own process at /solaris/v1 (librechat.yaml `baseURL`). */
const PROXY_PREFIX = '/solaris/v1/';

/**
 * Builds our side inside LibreChat's process: config (read now, after LibreChat's dotenv ran), engine
 * (Postgres ledger + Redis counters), authenticator (LibreChat's tokens, sessions and users through LibreChat's
 * mongoose) and the REST/socket.io server. Nothing here connects eagerly: a database that is down makes
 * requests fail (and the gate apply its fail mode), never LibreChat's start-up.
 */
export async function startRuntime(mongoose: Mongoose | null, env: NodeJS.ProcessEnv = process.env): Promise<PluginRuntime> {
  // PORT and HOST are LibreChat's own (it even allows PORT=0); ours only matter for the standalone server.
  const { PORT: _port, HOST: _host, ...ours } = env;
  // Inside LibreChat the Transaction hook meters every provider by default (the standalone default is proxy).
  const config = loadConfig({ ...ours, SOLARIS_METERING_SOURCE: ours.SOLARIS_METERING_SOURCE || 'librechat' });
  if (!config.DATABASE_URL) {
    throw new Error('DATABASE_URL is not set (Solaris needs PostgreSQL for its ledger inside LibreChat)');
  }
  if (!mongoose) throw new Error("LibreChat's mongoose could not be loaded (set SOLARIS_LIBRECHAT_API_DIR)");
  const logger = createLogger({ level: config.LOG_LEVEL, service: 'solaris-librechat' });

  let redis: Redis | null = null;
  if (config.REDIS_URL) {
    // Fail fast while Redis is down (SOLARIS_REDIS_TIMEOUT_MS per command, the fail mode then decides), keep
    // reconnecting in the background, log the outage once a minute.
    redis = failFastWhenDisconnected(createRedis({ ...config, REDIS_URL: config.REDIS_URL }, { ...redisClientOptions(config), enableAutoPipelining: false }));
    redis.on('error', (e: Error) => log.errorOnce('redis', 'Solaris: Redis unavailable', { error: e.message }));
  }
  const rt = await createEngine({ config, redis, logger, migrate: false });
  const authenticator = createLibreChatAuthenticator({
    engine: rt.engine,
    config,
    sessionChecker: mongoSessionChecker(mongoose),
    userDirectory: mongoUserDirectory(mongoose),
    logger,
  });
  // Caps, quota requests, role plans and webhooks (their API routes, listeners and dispatcher).
  const extras = createExtras(rt.engine, { logger });
  extras.start();
  const server = createSolarisServer({
    engine: rt.engine,
    config,
    authenticator,
    redis,
    logger,
    extras,
    extraRoutes: [createLiteLLMWebhookRouter({ engine: rt.engine, config, logger })],
  });
  // The metering proxy needs its service key and LiteLLM; without them /solaris/v1 answers our 404.
  let proxy: MeteringProxy | null = null;
  if (config.SOLARIS_PROXY_KEY && config.LITELLM_URL) {
    proxy = createMeteringProxy({ engine: rt.engine, config, logger, metrics: createMetrics() });
  }
  return {
    config,
    engine: rt.engine,
    server,
    handle(req, res) {
      const url = req.url ?? '/';
      if (proxy && url.toLowerCase().startsWith(PROXY_PREFIX)) {
        req.url = url.slice('/solaris'.length);
        proxy(req, res);
        return;
      }
      server.handle(req, res);
    },
    async close() {
      await server.close().catch((e: unknown) => log.warn('Solaris: closing socket.io failed', { error: errorMessage(e) }));
      await extras.close().catch(() => undefined);
      await rt.close().catch(() => undefined);
      redis?.disconnect();
    },
  };
}
