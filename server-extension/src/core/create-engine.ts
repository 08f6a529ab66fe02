import type { Redis } from 'ioredis';
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
import { LedgerOutbox } from './ledger-outbox';
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
  /**
   * Redis store only: buffer settlements in the Redis ledger outbox while Postgres is down and run its
   * drainer (core/ledger-outbox.ts). Default true; `{ intervalMs, claimIdleMs }` tune the drainer.
   */
  outbox?: boolean | { intervalMs?: number; claimIdleMs?: number };
}

export function createStore(
  config: SolarisConfig,
  db: Database,
  redis: Redis | null,
  outbox: LedgerOutbox | null = null,
  settleOutbox: SettleOutbox | null = null,
): QuotaStore {
  const common = { timezone: config.SOLARIS_TIMEZONE, reservationTtlMs: config.SOLARIS_RESERVATION_TTL_MS, maxInflight: config.SOLARIS_MAX_INFLIGHT };
  if (redis) return new RedisQuotaStore({ ...common, redis, pool: db.pool, outbox, settleOutbox, settleAck: config.SOLARIS_SETTLE_ACK });
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
  const redis = opts.redis === undefined ? (config.REDIS_URL ? createRedis({ ...config, REDIS_URL: config.REDIS_URL }, { maxRetriesPerRequest: 2 }) : null) : opts.redis;
  // Every replica drains the outbox (consumer group); the store stops the drainer when it closes.
  const outboxOpts = opts.outbox ?? true;
  const outbox =
    redis && outboxOpts !== false
      ? new LedgerOutbox({ redis, pool: db.pool, timezone: config.SOLARIS_TIMEZONE, logger: opts.logger, ...(typeof outboxOpts === 'object' ? outboxOpts : {}) })
      : null;
  // The users' outbox streams: drained continuously with SOLARIS_SETTLE_ACK=outbox, swept every 30 s otherwise
  // (rows left by an earlier outbox configuration or by replicas mid-switch still reach the ledger).
  if (redis && config.SOLARIS_SETTLE_ACK === 'outbox') await assertAppendOnly(redis); // only as durable as Redis's AOF
  const settleOutbox = redis ? new SettleOutbox({ redis, pool: db.pool, timezone: config.SOLARIS_TIMEZONE, logger: opts.logger }) : null;
  const store = createStore(config, db, redis, outbox, settleOutbox);
  outbox?.start();
  const engine = new QuotaEngine({ config, db, store, clock: opts.clock, logger: opts.logger });
  if (settleOutbox) {
    // Rows reach the ledger here (on whichever replica drained them): now the statement shows them.
    settleOutbox.onWritten = (rows) => {
      for (const row of rows) engine.events.emit('ledger', { userId: row.user_id, entry: { ...toEntry(row), balanceAfter: null } });
    };
    settleOutbox.start(config.SOLARIS_SETTLE_ACK === 'outbox' ? 'drain' : 'sweep');
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
