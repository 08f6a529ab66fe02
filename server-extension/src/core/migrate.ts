import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/** Finds the migrations/ folder: $SOLARIS_MIGRATIONS_DIR, else the nearest one above this file or the cwd. */
export function findMigrationsDir(): string {
  const fromEnv = process.env.SOLARIS_MIGRATIONS_DIR;
  if (fromEnv) return resolve(fromEnv);
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    let dir = start;
    for (let i = 0; i < 8; i++) {
      const candidate = join(dir, 'migrations');
      if (existsSync(candidate) && readdirSync(candidate).some((f) => f.endsWith('.sql'))) return candidate;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error('migrations folder not found (set SOLARIS_MIGRATIONS_DIR)');
}

export interface MigrateOptions {
  /** A connected client; the caller ends it. */
  client: pg.ClientBase;
  schema?: string;
  log?: (msg: string) => void;
}

/**
 * Applies pending forward-only migrations with node-pg-migrate, then creates the ledger's next monthly partitions.
 * Its advisory lock in `wait` mode makes two replicas starting together safe: the second waits, then finds
 * nothing to do.
 */
export async function migrate(opts: MigrateOptions): Promise<string[]> {
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    dbClient: opts.client,
    dir: findMigrationsDir(),
    direction: 'up',
    migrationsTable: 'solaris_migrations',
    schema: opts.schema ?? 'public',
    createSchema: Boolean(opts.schema),
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    log: opts.log ?? (() => undefined),
  });
  await ensureLedgerPartitions(opts.client, opts.schema);
  return applied.map((m) => m.name);
}

/**
 * Creates the ledger's monthly partitions ahead (this month and the next three), those not there yet: every
 * `migrate` runs it, so running migrate at start-up or monthly keeps inserts out of the DEFAULT partition
 * (docs/ledger-partitions.md). Returns the partitions it created.
 */
export async function ensureLedgerPartitions(client: pg.ClientBase, schema?: string, monthsAhead = 3): Promise<string[]> {
  await client.query('BEGIN');
  try {
    if (schema) await client.query(`SELECT set_config('search_path', quote_ident($1) || ', public', true)`, [schema]);
    const { rows } = await client.query<{ created: string[] }>(`SELECT solaris_ledger_ensure_partitions(now(), $1) AS created`, [monthsAhead]);
    await client.query('COMMIT');
    return rows[0]?.created ?? [];
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
