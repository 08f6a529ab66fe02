import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

// BIGINT and NUMERIC come back as strings by default; our amounts fit in a double (< 2^53).
pg.types.setTypeParser(20, (v) => Number(v)); // int8
pg.types.setTypeParser(1700, (v) => Number(v)); // numeric

export interface Database {
  pool: pg.Pool;
  /** true when running on the embedded PGlite (demo / fresh machine), false on a real Postgres. */
  embedded: boolean;
  /** Connection string a second client (e.g. the migration runner) can use. */
  url: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir?: string;
  /** Schema to put first on search_path (tests isolate themselves this way). */
  schema?: string;
  max?: number;
  /** Give up connecting after this long (real Postgres). Default 5 s. */
  connectTimeoutMs?: number;
}

function withSearchPath(url: string, schema?: string): pg.PoolConfig {
  return schema ? { connectionString: url, options: `-c search_path=${schema},public` } : { connectionString: url };
}

/**
 * Real Postgres when a URL is given. Otherwise an embedded PGlite served over the Postgres wire protocol
 * (pglite-socket) so the very same `pg` code runs unchanged; PGlite has one session, hence a pool of 1.
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    // A Postgres that stops answering (host down, network partition: no RST) must fail a connect in bounded
    // time — the Redis store then buffers settlements in the outbox and readiness reports it — instead of
    // hanging every caller. TCP keepalive notices dead established connections.
    const pool = new pg.Pool({
      ...withSearchPath(opts.databaseUrl, opts.schema),
      max: opts.max ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
      keepAlive: true,
    });
    pool.on('error', () => undefined); // idle-client errors surface on the next query instead of crashing
    return { pool, embedded: false, url: opts.databaseUrl, close: () => pool.end() };
  }
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ]);
  const dataDir = resolve(opts.dataDir ?? '.solaris-data');
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  const conn = server.getServerConn(); // host:port
  const url = `postgres://postgres@${conn}/postgres?sslmode=disable`;
  const pool = new pg.Pool({ ...withSearchPath(url, opts.schema), max: 1 });
  pool.on('error', () => undefined);
  return {
    pool,
    embedded: true,
    url,
    async close() {
      await pool.end();
      await server.stop();
      await db.close();
    },
  };
}
