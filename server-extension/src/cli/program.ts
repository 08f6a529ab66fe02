/**
 * The admin CLI (`npx solaris ...`). Every mutation goes through the engine's AdminService with actor
 * `cli`, so it lands in the audit log exactly like a change made in the admin tab.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { AdminUserDTO, PlanDTO } from '@solaris/wire';
import { loadConfig, ConfigError } from '../core/config';
import { createEngine, type EngineRuntime } from '../core/create-engine';
import { isSolarisError, SolarisError } from '../core/errors';
import { migrate } from '../core/migrate';
import { resolveUserRef } from '../adapters/user-lookup';
import { formatChecks, runDoctor } from './doctor';
import { monthlyReportCsv, parseMonth } from './report';

const ACTOR = { id: 'cli' };

export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Whole token counts; `1_000_000` is accepted. `Err` decides who prints the message (commander or us). */
function wholeNumber(label: string, allowZero: boolean, Err: new (m: string) => Error = InvalidArgumentError) {
  return (v: string): number => {
    const n = Number(v.replace(/_/g, ''));
    if (!/^\d[\d_]*$/.test(v) || !Number.isSafeInteger(n) || (!allowZero && n === 0)) {
      throw new Err(`${label} must be a whole number${allowZero ? ' ≥ 0' : ' > 0'}, got "${v}"`);
    }
    return n;
  };
}
/** A JSON object option; its values are checked by the engine (a bad weight is a typed error there). */
function jsonObject(label: string) {
  return (v: string): Record<string, number> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      throw new InvalidArgumentError(`${label} must be a JSON object, e.g. '{"gpt-4o*":2}'`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError(`${label} must be a JSON object, e.g. '{"gpt-4o*":2}'`);
    return parsed as Record<string, number>;
  };
}
const invalidInput = class extends SolarisError {
  constructor(m: string) {
    super('invalid_input', m);
  }
};

/** `-c search_path=<schema>,...` in the URL's `options` (how tests and multi-tenant setups pin a schema). */
export function schemaFromUrl(url: string): string | undefined {
  try {
    const options = new URL(url).searchParams.get('options') ?? '';
    return /search_path=([A-Za-z0-9_]+)/.exec(options)?.[1];
  } catch {
    return undefined;
  }
}

const fmt = (n: number) => n.toLocaleString('pt-BR');

function planLine(p: PlanDTO): string {
  const weights = Object.entries(p.modelWeights ?? {}).map(([m, w]) => `${m}×${w}`);
  return `${p.id.padEnd(16)} ${p.name.padEnd(24)} ${fmt(p.tokenLimit).padStart(16)} tokens / ${p.period}${p.isDefault ? '  (padrão / default)' : ''}${
    weights.length ? `  pesos/weights: ${weights.join(', ')}` : ''
  }`;
}

function userLine(u: AdminUserDTO): string {
  const b = u.balance;
  return [
    u.userId.padEnd(26),
    (u.email ?? '-').padEnd(30),
    (u.planId ?? 'default').padEnd(12),
    `${fmt(b.used)} / ${fmt(b.limit + b.granted)}`.padStart(24),
    `${b.percent}%`.padStart(7),
    b.state,
  ].join(' ');
}

export function buildProgram(io: CliIO): Command {
  const program = new Command('solaris')
    .description('Solaris Token Control — admin CLI (quotas, plans, grants, reports, health)')
    .option('--env-file <path>', 'read variables from this file first (variables already set win)', '.env')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  program.hook('preAction', () => {
    const file = resolve(program.opts<{ envFile: string }>().envFile);
    if (existsSync(file)) process.loadEnvFile(file);
  });

  /** Opens the engine from the environment, runs `fn`, always closes. */
  async function withEngine<T>(fn: (rt: EngineRuntime) => Promise<T>): Promise<T> {
    const config = loadConfig();
    if (!config.DATABASE_URL) throw new SolarisError('invalid_input', 'DATABASE_URL is not set (see .env.example)');
    const rt = await createEngine({ config, migrate: false });
    try {
      return await fn(rt);
    } finally {
      await rt.close();
    }
  }

  async function userId(rt: EngineRuntime, ref: string): Promise<string> {
    const id = await resolveUserRef(rt.db.pool, ref);
    if (!id) throw new SolarisError('not_found', `no user with email ${ref} (users appear after their first visit; use the LibreChat user id)`);
    return id;
  }

  function printBalance(label: string, b: { used: number; limit: number; granted: number; remaining: number; periodKey: string; state: string }) {
    io.out(`${label}: used ${fmt(b.used)} of ${fmt(b.limit + b.granted)} (limit ${fmt(b.limit)} + grants ${fmt(b.granted)}), remaining ${fmt(b.remaining)}, period ${b.periodKey}, ${b.state}\n`);
  }

  program
    .command('migrate')
    .description('apply pending database migrations (safe to run from several replicas at once)')
    .action(async () => {
      const config = loadConfig();
      if (!config.DATABASE_URL) throw new SolarisError('invalid_input', 'DATABASE_URL is not set (see .env.example)');
      const client = new pg.Client({ connectionString: config.DATABASE_URL });
      await client.connect();
      try {
        const applied = await migrate({ client, schema: schemaFromUrl(config.DATABASE_URL) });
        io.out(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'database is up to date (nothing to apply)\n');
      } finally {
        await client.end();
      }
    });

  const plans = program.command('plans').description('list or create/update plans');
  plans
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) =>
      withEngine(async (rt) => {
        const list = await rt.engine.admin.listPlans();
        io.out(opts.json ? JSON.stringify(list, null, 2) + '\n' : list.map(planLine).join('\n') + '\n');
      }),
    );
  plans
    .command('set <id>')
    .description('create or update a plan')
    .requiredOption('--name <name>', 'display name')
    // --token-limit = the API's `tokenLimit`; --limit is kept (hidden) for scripts written before it.
    .option('--token-limit <tokens>', 'tokens per period (required)', wholeNumber('--token-limit', true))
    .addOption(new Option('--limit <tokens>', 'old name of --token-limit').argParser(wholeNumber('--limit', true)).hideHelp())
    .addOption(new Option('--period <period>', 'period').choices(['month', 'week', 'day']).default('month'))
    .option('--default', 'make it the default plan (users without a plan)')
    .option('--weights <json>', 'model weights of this plan, e.g. \'{"gpt-4o*":2}\' (first match wins; {} clears; omitted: kept)', jsonObject('--weights'))
    .action(async (id: string, opts: { name: string; tokenLimit?: number; limit?: number; period: string; default?: boolean; weights?: Record<string, number> }) =>
      withEngine(async (rt) => {
        const tokenLimit = opts.tokenLimit ?? opts.limit;
        if (tokenLimit === undefined) throw new invalidInput("required option '--token-limit <tokens>' not specified");
        const plan = await rt.engine.admin.upsertPlan(
          { id, name: opts.name, tokenLimit, period: opts.period, isDefault: Boolean(opts.default), modelWeights: opts.weights },
          ACTOR,
        );
        io.out(`saved: ${planLine(plan)}\n`);
      }),
    );

  program
    .command('users')
    .description('users and their usage this period')
    .command('list')
    .option('--q <text>', 'filter by id, email or name')
    .option('--limit <n>', 'rows (max 500)', wholeNumber('--limit', false), 50)
    .option('--json', 'print JSON')
    .action(async (opts: { q?: string; limit: number; json?: boolean }) =>
      withEngine(async (rt) => {
        const page = await rt.engine.admin.listUsers({ q: opts.q, limit: opts.limit });
        if (opts.json) return io.out(JSON.stringify(page, null, 2) + '\n');
        io.out(page.items.map(userLine).join('\n') + (page.items.length ? '\n' : ''));
        io.out(`${page.items.length} of ${page.total} user(s)\n`);
      }),
    );

  program
    .command('quota')
    .description("per-user limit override")
    .command('set <user> <tokens>')
    .description('set the user\'s limit (id or email); "default" removes the override and the plan decides')
    .action(async (ref: string, tokensArg: string) => {
      const limit = tokensArg === 'default' ? null : wholeNumber('<tokens>', true, invalidInput)(tokensArg);
      await withEngine(async (rt) => {
        const b = await rt.engine.admin.setLimitOverride({ userId: await userId(rt, ref), limit }, ACTOR);
        printBalance(ref, b);
      });
    });

  program
    .command('grant <user> <tokens>')
    .description('give extra tokens for the current period')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--expires <iso-date>', 'expiry, e.g. 2026-12-31T23:59:59-03:00')
    .action(async (ref: string, tokensArg: string, opts: { reason?: string; expires?: string }) => {
      const tokens = wholeNumber('<tokens>', false, invalidInput)(tokensArg);
      let expiresAt: string | null = null;
      if (opts.expires) {
        const t = Date.parse(opts.expires);
        if (Number.isNaN(t)) throw new SolarisError('invalid_input', `--expires is not a date: "${opts.expires}"`);
        expiresAt = new Date(t).toISOString();
      }
      await withEngine(async (rt) => {
        const b = await rt.engine.admin.grant({ userId: await userId(rt, ref), tokens, reason: opts.reason ?? null, expiresAt }, ACTOR);
        printBalance(ref, b);
      });
    });

  program
    .command('reset <user>')
    .description("zero the user's usage for the current period (the ledger keeps every row)")
    .option('--reason <text>', 'why (kept in the audit log)')
    .action(async (ref: string, opts: { reason?: string }) =>
      withEngine(async (rt) => {
        const b = await rt.engine.admin.reset({ userId: await userId(rt, ref), reason: opts.reason ?? null }, ACTOR);
        printBalance(ref, b);
      }),
    );

  program
    .command('report')
    .description('usage per user for a month, as CSV on stdout')
    .requiredOption('--month <YYYY-MM>', 'month, in SOLARIS_TIMEZONE')
    .action(async (opts: { month: string }) => {
      parseMonth(opts.month); // a bad month fails before any connection
      await withEngine(async (rt) => {
        io.out(await monthlyReportCsv(rt.db.pool, opts.month, rt.engine.config.SOLARIS_TIMEZONE));
      });
    });

  program
    .command('doctor')
    .description('check configuration, Postgres, Redis, LiteLLM and LibreChat secrets')
    .action(async () => {
      const results = await runDoctor(process.env);
      io.out(formatChecks(results) + '\n');
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });

  return program;
}

/** Runs the CLI; returns the exit code (errors are printed as one line, never a stack). */
export async function runCli(argv: string[], io: CliIO = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) {
      // commander already printed its message (help and version exit 0)
      return ce.exitCode ?? 1;
    }
    if (isSolarisError(e) || e instanceof ConfigError) io.err(`error: ${e.message}\n`);
    else io.err(`error: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  }
}
