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
 * Applies pending forward-only migrations with node-pg-migrate. Its advisory lock in `wait` mode makes two
 * replicas starting together safe: the second waits, then finds nothing to do.
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
  return applied.map((m) => m.name);
}
