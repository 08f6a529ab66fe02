import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Mongoose } from 'mongoose';
import type { Redis } from 'ioredis';
import {
  createLogger,
  createRedis,
  createSolarisRuntime,
  failFastWhenDisconnected,
  loadConfig,
  redisClientOptions,
  type AdmittedTurn,
  type QuotaEngine,
  type SolarisConfig,
} from '@solaris/server-extension';
import { mongoSessionChecker, mongoUserDirectory } from './mongo-directory';
import { errorMessage, log } from './log';

export interface PluginRuntime {
  config: SolarisConfig;
  engine: QuotaEngine;
  /** Everything under /solaris: health, the metering proxy at /solaris/v1/*, the REST API, the widget, socket.io. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** socket.io on LibreChat's server, from its first socket request (polling or upgrade) on. */
  attach(server: Server): void;
  /** Connections opened and scripts loaded (or failed: never rejects). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds our side inside LibreChat's process: config (read now, after LibreChat's dotenv ran), engine
 * (Postgres ledger + Redis counters), authenticator (LibreChat's tokens, sessions and users through LibreChat's
 * mongoose), then the one runtime every entry point builds (server-extension/src/runtime.ts), mounted under
 * /solaris: LibreChat reaches the metering proxy at /solaris/v1 (librechat.yaml `baseURL`), probes use
 * /solaris/healthz (no metrics on LibreChat's public origin). Nothing here connects eagerly: a database that is down makes
 * requests fail (and the gate apply its fail mode), never LibreChat's start-up. Built `lazy`: the chat path needs
 * only the engine, so the REST API, socket.io and the metering proxy load at their first request, not with LibreChat.
 */
export async function startRuntime(mongoose: Mongoose | null, env: NodeJS.ProcessEnv = process.env, admittedTurn?: AdmittedTurn): Promise<PluginRuntime> {
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
  const rt = await createSolarisRuntime(config, {
    logger,
    redis,
    migrate: false,
    mount: '/solaris',
    admittedTurn,
    lazy: true,
    auth: { sessionChecker: mongoSessionChecker(mongoose), userDirectory: mongoUserDirectory(mongoose) },
  });
  // Before LibreChat listens (preload.ts listenWhenReady): the first chat finds connections open and scripts loaded.
  const ready = rt.engine.warmUp().catch(() => undefined);
  return {
    config,
    engine: rt.engine,
    handle: (req, res) => rt.handle(req, res),
    attach: (server) => rt.attach(server),
    ready,
    async close() {
      await rt.shutdown().catch((e: unknown) => log.warn('Solaris: shutdown failed', { error: errorMessage(e) }));
      redis?.disconnect();
    },
  };
}
