import type { Redis, RedisOptions } from 'ioredis';
import { createRedis } from './redis-client';
import pg from 'pg';
import type { SolarisConfig } from './config';
import { openDatabase, type Database } from './db';
import { QuotaEngine } from './engine';
import { PostgresQuotaStore } from './postgres-quota-store';
import { RedisQuotaStore } from './redis-quota-store';
import type { QuotaStore } from './quota-store';
import type { Clock } from './clock';
import type { Logger } from './logger';
import { migrate } from './migrate';
import { SettleOutbox, assertAppendOnly } from './settle-outbox';
import { toEntry } from './ledger';

export interface EngineRuntime {
  engine: QuotaEngine;
  db: Database;
  /** Present when REDIS_URL is set (also used by the socket.io adapter). */
  redis: Redis | null;
  close(): Promise<void>;
}

export interface CreateEngineOptions {
  config: SolarisConfig;
  /** Reuse an open database (tests); otherwise DATABASE_URL or the embedded PGlite. */
  db?: Database;
  /** Reuse a Redis connection (tests); otherwise REDIS_URL. `null` forces the Postgres store. */
  redis?: Redis | null;
  clock?: Clock;
  logger?: Logger;
  /** Apply pending migrations first (default: only for the embedded database). */
  migrate?: boolean;
}

/**
 * Options of every Redis client we open (standalone and the LibreChat plugin): a command fails after
 * SOLARIS_REDIS_TIMEOUT_MS — also one waiting in ioredis's offline queue while Redis is disconnected — so a Redis
 * that stopped answering turns into SOLARIS_FAIL_MODE within that bound instead of requests hanging through
 * reconnect attempts; reconnects are retried every ≤ 500 ms (docs/architecture.md, "Fail-closed answers within a
 * bounded time").
 */
export function redisClientOptions(config: Pick<SolarisConfig, 'SOLARIS_REDIS_TIMEOUT_MS'>): RedisOptions {
  return {
    commandTimeout: config.SOLARIS_REDIS_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    connectTimeout: 3_000,
    retryStrategy: (times: number) => Math.min(50 * times, 500),
  };
}

/**
 * Once connected, a command issued while Redis is disconnected fails at once (no offline queue) instead of
 * waiting out SOLARIS_REDIS_TIMEOUT_MS: Redis down → the fail mode answers in a few ms. Before the first
 * connection the queue stays on, so start-up does not race the connect.
 */
export function failFastWhenDisconnected(redis: Redis): Redis {
  redis.once('ready', () => {
    redis.options.enableOfflineQueue = false;
  });
  return redis;
}

export function createStore(
  config: SolarisConfig,
  db: Database,
  redis: Redis | null,
  settleOutbox: SettleOutbox | null = null,
): QuotaStore {
  const common = { timezone: config.SOLARIS_TIMEZONE, reservationTtlMs: config.SOLARIS_RESERVATION_TTL_MS, maxInflight: config.SOLARIS_MAX_INFLIGHT };
  if (redis) return new RedisQuotaStore({ ...common, redis, pool: db.pool, settleOutbox, settleAck: config.SOLARIS_SETTLE_ACK });
  return new PostgresQuotaStore({ ...common, pool: db.pool });
}


/** Wires database, Redis and store into an engine, from the validated configuration. */
export async function createEngine(opts: CreateEngineOptions): Promise<EngineRuntime> {
  const { config } = opts;
  const ownDb = !opts.db;
  const db = opts.db ?? (await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.SOLARIS_DATA_DIR }));
  if (opts.migrate ?? db.embedded) {
    const client = await db.pool.connect();
    try {
      await migrate({ client: client as unknown as pg.ClientBase });
    } finally {
      client.release();
    }
  }
  const ownRedis = opts.redis === undefined && Boolean(config.REDIS_URL);
  const redis = opts.redis === undefined ? (config.REDIS_URL ? failFastWhenDisconnected(createRedis({ ...config, REDIS_URL: config.REDIS_URL }, redisClientOptions(config))) : null) : opts.redis;
  // The one outbox of ledger rows, the users' streams (docs/architecture.md, "One outbox"): drained on every
  // replica in either ack mode (rows arrive there with SOLARIS_SETTLE_ACK=outbox, and while Postgres is down).
  if (redis && config.SOLARIS_SETTLE_ACK === 'outbox') await assertAppendOnly(redis); // only as durable as Redis's AOF
  const settleOutbox = redis ? new SettleOutbox({ redis, pool: db.pool, timezone: config.SOLARIS_TIMEZONE, logger: opts.logger }) : null;
  const store = createStore(config, db, redis, settleOutbox);
  const engine = new QuotaEngine({ config, db, store, clock: opts.clock, logger: opts.logger });
  if (settleOutbox) {
    // Rows reach the ledger here (on whichever replica drained them): now the statement shows them.
    settleOutbox.onWritten = (rows) => {
      for (const row of rows) engine.events.emit('ledger', { userId: row.user_id, entry: { ...toEntry(row), balanceAfter: null } });
    };
    settleOutbox.start('drain');
  }
  return {
    engine,
    db,
    redis,
    async close() {
      await engine.close();
      if (ownRedis) redis?.disconnect();
      if (ownDb) await db.close();
    },
  };
}
