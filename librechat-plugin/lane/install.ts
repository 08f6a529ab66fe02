/**
 * The real-LibreChat lane's install: exactly the steps of docs/operators.md, with the Docker parts replaced by
 * local ones (one table in docs/operators.md, "Without Docker"):
 *   1. `npm run build` (done by scripts/test-librechat.mjs), copy dist/solaris into the LC folder;
 *   2./3. the `api` service environment of docker-compose.override.yml, evaluated against an LC/.env made from
 *      .env.example (every change-me replaced), with /solaris → LC/solaris and the service hosts → local ones;
 *   4. librechat-plugin/librechat.yaml merged into a librechat.yaml (the only edit: baseURL's port);
 *   5. the solaris-migrate service's command, then `doctor`.
 * LibreChat itself runs from the kit (shared/librechat-host): unmodified v0.8.7, in-memory MongoDB stand-in.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import YAML from 'yaml';

export const ROOT = resolve(__dirname, '..', '..');

/** $SOLARIS_LIBRECHAT_KIT, else <repo>/../shared/librechat-host (CI: a copy of shared/ beside the clone). */
export function kitDir(): string {
  const candidates = [process.env.SOLARIS_LIBRECHAT_KIT, join(ROOT, '..', 'shared', 'librechat-host')].filter(Boolean) as string[];
  for (const c of candidates) if (existsSync(join(c, 'setup'))) return resolve(c);
  throw new Error(`LibreChat kit not found (tried ${candidates.join(', ')}); set SOLARIS_LIBRECHAT_KIT`);
}

/** Runs the kit's `setup` (cached: < 1 s; first run 4–6 min) and returns LibreChat's root. */
export function setupKit(kit: string): string {
  const r = spawnSync(join(kit, 'setup'), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 15 * 60_000 });
  if (r.status !== 0) throw new Error(`LibreChat kit setup failed (exit ${r.status}); see its output above`);
  const root = r.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(root)) throw new Error(`LibreChat kit setup printed no root (${r.stdout})`);
  return root;
}

/** `${VAR}`, `${VAR:-default}`, `${VAR:?message}` as docker compose interpolates them. */
export function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string | undefined) => {
    const v = vars[name];
    if (op === '-') return v ? v : (arg ?? '');
    if (op === '?' && !v) throw new Error(`compose: ${arg ?? name + ' is required'}`);
    return v ?? '';
  });
}

/** Parses a .env file (KEY=VALUE lines, # comments) the way docker compose reads LC/.env. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

export interface LaneInstall {
  /** The LC folder (LibreChat's compose folder in the docs). */
  lc: string;
  /** Environment of LibreChat's `api` process (the override's `environment:` after interpolation and the local swaps). */
  env: Record<string, string>;
  /** The merged librechat.yaml. */
  configFile: string;
  /** An env file for the kit's `start` (bash syntax). */
  envFile: string;
  databaseUrl: string;
  dropDatabase(): Promise<void>;
}

export interface InstallOptions {
  /** LibreChat's own port (the snippet's baseURL points there). */
  port: number;
  /** The fake LiteLLM (LITELLM_URL). */
  litellmUrl: string;
  /** A second OpenAI-compatible server LibreChat calls directly (not through the proxy). */
  directUrl: string;
  redisUrl: string;
  /** Extra variables for LC/.env (e.g. SOLARIS_THRESHOLDS); they win over .env.example's. */
  dotenv?: Record<string, string>;
  /** Reuse this LC folder / database (a second LibreChat process of the same install). */
  reuse?: { lc: string; databaseUrl: string };
}

const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `solaris_lane_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = '/' + name;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await c.end();
    },
  };
}

/** Steps 1–4 of docs/operators.md into a fresh LC folder (or the given one), step 5's migrate and doctor. */
export async function installLikeOperator(opts: InstallOptions): Promise<LaneInstall> {
  const lc = opts.reuse?.lc ?? mkdtempSync(join(tmpdir(), 'solaris-lane-lc-'));
  const db = opts.reuse ? { url: opts.reuse.databaseUrl, drop: async () => undefined } : await createDatabase();

  // 1. copy the built plugin folder: `cp -r dist/solaris LC/solaris`.
  const built = join(ROOT, 'dist', 'solaris');
  if (!existsSync(join(built, 'librechat-plugin', 'register.cjs'))) throw new Error('dist/solaris is not built: run `npm run build` first');
  if (!opts.reuse) cpSync(built, join(lc, 'solaris'), { recursive: true });

  // 2. + 3. the override next to LibreChat's compose file, LC/.env from .env.example with every change-me replaced.
  cpSync(join(ROOT, 'docker-compose.override.yml'), join(lc, 'docker-compose.override.yml'));
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
  const secret = () => randomBytes(16).toString('hex');
  const dotenvText = example.replace(/change-me[a-z-]*/g, () => secret()).replace(/^LITELLM_MASTER_KEY=.*$/m, `LITELLM_MASTER_KEY=sk-${secret()}`);
  const dotenv = { ...parseDotEnv(dotenvText), ...(opts.dotenv ?? {}) };
  if (Object.values(dotenv).some((v) => v.includes('change-me'))) throw new Error('.env still has a change-me value');
  writeFileSync(join(lc, '.env'), Object.entries(dotenv).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');

  const compose = YAML.parse(readFileSync(join(lc, 'docker-compose.override.yml'), 'utf8')) as {
    services: Record<string, { environment?: Record<string, string>; volumes?: string[]; command?: string[] }>;
  };
  const api = compose.services.api!;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(api.environment ?? {})) env[k] = interpolate(String(v), dotenv);
  // Mounts: ${SOLARIS_PLUGIN_DIR:-./solaris}:/solaris → the container path /solaris is LC/solaris here.
  const pluginMount = (api.volumes ?? []).map((v) => interpolate(v, dotenv)).find((v) => v.endsWith(':/solaris:ro'));
  if (!pluginMount) throw new Error('override: the api service no longer mounts the plugin folder at /solaris');
  const pluginDir = resolve(lc, pluginMount.split(':')[0]!);
  const local = (v: string) => v.replaceAll('/solaris/', pluginDir + '/');
  for (const k of Object.keys(env)) env[k] = local(env[k]!);
  // The compose service names (postgres, redis, litellm) → this machine's services.
  const swaps: Record<string, string> = { DATABASE_URL: db.url, REDIS_URL: opts.redisUrl, LITELLM_URL: opts.litellmUrl };
  for (const [k, v] of Object.entries(swaps)) {
    if (!(k in env)) throw new Error(`override: the api service no longer sets ${k}`);
    env[k] = v;
  }
  for (const k of Object.keys(env)) if (env[k] === '') delete env[k]; // compose passes "" for unset optional ones
  if (!env.NODE_OPTIONS?.includes(join(pluginDir, 'librechat-plugin', 'register.cjs'))) throw new Error(`override NODE_OPTIONS does not load the preload: ${env.NODE_OPTIONS}`);
  env.LANE_DIRECT_URL = opts.directUrl;
  env.LANE_DIRECT_KEY = 'direct-' + secret();

  // 4. merge the shipped snippet's endpoints.custom into a librechat.yaml; the only edit is baseURL's port.
  const snippet = YAML.parse(readFileSync(join(ROOT, 'librechat-plugin', 'librechat.yaml'), 'utf8')) as {
    version: string;
    endpoints: { custom: Array<Record<string, unknown>> };
  };
  const custom = snippet.endpoints.custom.map((e) => ({ ...e, baseURL: String(e.baseURL).replace(/:\d+\//, `:${opts.port}/`) }));
  const config = {
    version: '1.3.13', // the operator's own file keeps its own version (the snippet says so)
    cache: true,
    endpoints: {
      custom: [
        ...custom,
        // A direct endpoint (not through the proxy): only LibreChat's own transactions see its usage.
        {
          name: 'Direct',
          apiKey: '${LANE_DIRECT_KEY}',
          baseURL: '${LANE_DIRECT_URL}/v1',
          models: { default: ['fake-model'], fetch: false },
          titleConvo: false,
          modelDisplayLabel: 'Direct',
          // A provider that reports usage when asked (OpenAI, LiteLLM): ask, as an operator would.
          addParams: { stream_options: { include_usage: true } },
        },
      ],
    },
  };
  const configFile = join(lc, 'librechat.yaml');
  writeFileSync(configFile, YAML.stringify(config));

  // The kit's env file: bash syntax, single-quoted values.
  const envFile = join(lc, `lane-${opts.port}.env`);
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}='${v.replaceAll("'", "'\\''")}'`).join('\n') + '\n');

  // 5. solaris-migrate's command (node /solaris/server/cli.cjs migrate) with its environment.
  if (!opts.reuse) {
    const migrate = compose.services['solaris-migrate']!;
    const cmd = (migrate.command ?? []).map(local);
    const menv: Record<string, string> = {};
    for (const [k, v] of Object.entries(migrate.environment ?? {})) menv[k] = local(interpolate(String(v), dotenv));
    menv.DATABASE_URL = db.url;
    execFileSync(process.execPath, cmd.slice(1), { env: { PATH: process.env.PATH ?? '', ...menv }, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  mkdirSync(join(lc, 'logs'), { recursive: true });
  return { lc, env, configFile, envFile, databaseUrl: db.url, dropDatabase: db.drop };
}
