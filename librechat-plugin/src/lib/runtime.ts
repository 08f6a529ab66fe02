import { Redis } from 'ioredis';
import type { Mongoose } from 'mongoose';
import { loadConfig, type SolarisConfig } from '../../../server-extension/src/core/config';
import { createEngine, type EngineRuntime } from '../../../server-extension/src/core/create-engine';
import { createLogger } from '../../../server-extension/src/core/logger';
import { createLibreChatAuthenticator } from '../../../server-extension/src/adapters/auth/librechat-auth';
import { createSolarisServer, type SolarisServer } from '../../../server-extension/src/app';
import { mongoSessionChecker, mongoUserDirectory } from './mongo-directory';
import { errorMessage, log } from './log';

export interface PluginRuntime {
  config: SolarisConfig;
  engine: EngineRuntime['engine'];
  server: SolarisServer;
  close(): Promise<void>;
}

/**
 * Builds our side inside LibreChat's process: config (read now, after LibreChat's dotenv ran), engine
 * (Postgres ledger + Redis counters), authenticator (LibreChat's tokens, sessions and users through LibreChat's
 * mongoose) and the REST/socket.io server. Nothing here connects eagerly: a database that is down makes
 * requests fail (and the gate apply its fail mode), never LibreChat's start-up.
 */
export async function startRuntime(mongoose: Mongoose | null, env: NodeJS.ProcessEnv = process.env): Promise<PluginRuntime> {
  // PORT and HOST are LibreChat's own (it even allows PORT=0); ours only matter for the standalone server.
  const { PORT: _port, HOST: _host, ...ours } = env;
  const config = loadConfig(ours);
  if (!config.DATABASE_URL) {
    throw new Error('DATABASE_URL is not set (Solaris needs PostgreSQL for its ledger inside LibreChat)');
  }
  if (!mongoose) throw new Error("LibreChat's mongoose could not be loaded (set SOLARIS_LIBRECHAT_API_DIR)");
  const logger = createLogger({ level: config.LOG_LEVEL, service: 'solaris-librechat' });

  let redis: Redis | null = null;
  if (config.REDIS_URL) {
    // Fail fast while Redis is down (one retry), keep reconnecting in the background, log the outage once a minute.
    redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 3_000, enableAutoPipelining: false });
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
  const server = createSolarisServer({ engine: rt.engine, config, authenticator, redis, logger });
  return {
    config,
    engine: rt.engine,
    server,
    async close() {
      await server.close().catch((e: unknown) => log.warn('Solaris: closing socket.io failed', { error: errorMessage(e) }));
      await rt.close().catch(() => undefined);
      redis?.disconnect();
    },
  };
}
