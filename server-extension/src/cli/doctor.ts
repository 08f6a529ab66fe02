/**
 * `solaris doctor`: one line per dependency, ✔ or ✘ with a one-line reason, so an operator sees at once
 * what is wrong (bad variable, Postgres down or wrong password, Redis down or wrong password, LiteLLM
 * unreachable, LibreChat secrets missing). No secret is ever printed.
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import { aofEnabled } from '../core/settle-outbox';
import { loadConfig, type SolarisConfig } from '../core/config';
import { scrubText } from '../core/logger';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

const TIMEOUT_MS = 4000;

/** Error text without credentials (connection strings may carry passwords). */
function reason(e: unknown): string {
  const err = e as { message?: string; code?: string };
  const msg = (err?.message ?? String(e)).split('\n')[0]!.replace(/\/\/[^@/\s]*@/g, '//***@');
  const text = scrubText(msg || err?.code || 'unknown error');
  return err?.code && !text.includes(err.code) ? `${text} (${err.code})` : text;
}

/** Host:port/database of a URL, for messages (never user or password). */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '(default port)'}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function checkPostgres(url: string | undefined): Promise<CheckResult> {
  const name = 'Postgres';
  if (!url) return { name, ok: false, detail: 'DATABASE_URL is not set (production needs a real PostgreSQL; the embedded one is for the demo)' };
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await withTimeout(client.connect(), 'connect');
    const { rows } = await client.query<{ migrated: boolean }>(`SELECT to_regclass('solaris_migrations') IS NOT NULL AS migrated`);
    if (!rows[0]?.migrated) return { name, ok: false, detail: `connected to ${where(url)} but the schema is not migrated: run \`npx solaris migrate\`` };
    const n = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM solaris_migrations`);
    return { name, ok: true, detail: `${where(url)}, ${n.rows[0]!.n} migration(s) applied` };
  } catch (e) {
    return { name, ok: false, detail: `${where(url)}: ${reason(e)}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function checkRedis(url: string | undefined, settleAck: 'ledger' | 'outbox' = 'ledger'): Promise<CheckResult> {
  const name = 'Redis';
  if (!url) return { name, ok: true, detail: 'REDIS_URL not set: the Postgres quota store is used (single process realtime)' };
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // ioredis reports the socket error (ECONNREFUSED, ...) here and rejects connect() with a vaguer one.
  let socketError: unknown = null;
  redis.on('error', (e) => {
    socketError ??= e;
  });
  try {
    await withTimeout(redis.connect(), 'connect');
    const pong = await withTimeout(redis.ping(), 'PING');
    const info = await redis.info(); // every section: server (version) and persistence (AOF)
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    // SOLARIS_SETTLE_ACK=outbox acknowledges settlements from Redis: only as durable as its AOF.
    const aof = aofEnabled(info);
    if (settleAck === 'outbox' && !aof) {
      return { name, ok: false, detail: `${where(url)}, Redis ${version}: SOLARIS_SETTLE_ACK=outbox needs appendonly yes (the engine will refuse to start)` };
    }
    return { name, ok: pong === 'PONG', detail: `${where(url)}, Redis ${version}, appendonly ${aof ? 'yes' : 'no'}` };
  } catch (e) {
    return { name, ok: false, detail: `${where(url)}: ${reason(socketError ?? e)}` };
  } finally {
    redis.disconnect();
  }
}

export async function checkLiteLLM(url: string | undefined, apiKey: string | undefined, source: SolarisConfig['SOLARIS_METERING_SOURCE'] = 'librechat'): Promise<CheckResult> {
  const name = 'LiteLLM';
  if (!url) {
    // Agree with the metering setup: with source = proxy the proxy is on and needs LiteLLM.
    if (source === 'proxy') return { name, ok: false, detail: 'LITELLM_URL not set: SOLARIS_METERING_SOURCE=proxy sends chats through the metering proxy, which calls LiteLLM' };
    return { name, ok: true, detail: `LITELLM_URL not set: the metering proxy is off (metering source = ${source})` };
  }
  const target = new URL('health/liveliness', url.endsWith('/') ? url : url + '/');
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
    if (!res.ok) return { name, ok: false, detail: `${where(url)}: GET /health/liveliness answered HTTP ${res.status}` };
    return { name, ok: true, detail: `${where(url)} is alive` };
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    return { name, ok: false, detail: `${where(url)}: ${reason(cause ?? e)}` };
  }
}

/** LibreChat signs its sessions with these; the plugin verifies the same tokens. */
export function checkLibreChatSecrets(env: Record<string, string | undefined>): CheckResult {
  const name = 'LibreChat secrets';
  const missing = ['JWT_SECRET', 'JWT_REFRESH_SECRET'].filter((k) => !env[k]);
  if (missing.length) return { name, ok: false, detail: `${missing.join(' and ')} not set (LibreChat's .env; the plugin verifies LibreChat's tokens with them)` };
  return { name, ok: true, detail: 'JWT_SECRET and JWT_REFRESH_SECRET are set' };
}

/** Settings that only make sense together. */
export function checkCoherence(config: SolarisConfig): CheckResult {
  const name = 'Metering setup';
  const src = config.SOLARIS_METERING_SOURCE;
  if (src === 'litellm' && !config.SOLARIS_LITELLM_WEBHOOK_SECRET) {
    return { name, ok: false, detail: 'SOLARIS_METERING_SOURCE=litellm needs SOLARIS_LITELLM_WEBHOOK_SECRET' };
  }
  if (src === 'proxy' && (!config.SOLARIS_PROXY_KEY || !config.LITELLM_URL)) {
    const missing = [!config.SOLARIS_PROXY_KEY && 'SOLARIS_PROXY_KEY', !config.LITELLM_URL && 'LITELLM_URL'].filter(Boolean).join(' and ');
    return {
      name,
      ok: false,
      detail: `SOLARIS_METERING_SOURCE=proxy (the default outside LibreChat) needs ${missing}; inside LibreChat set SOLARIS_METERING_SOURCE=librechat`,
    };
  }
  return { name, ok: true, detail: `source = ${src}` };
}

/** The `change-me…` values of .env.example left in place: a known password is no password. */
export function checkPlaceholders(env: Record<string, string | undefined>): CheckResult {
  const name = 'Secrets';
  const left = Object.keys(env)
    .filter((k) => /change-?me/i.test(env[k] ?? ''))
    .sort();
  if (left.length) return { name, ok: false, detail: `${left.join(', ')} still hold the change-me placeholder of .env.example (openssl rand -hex 32)` };
  return { name, ok: true, detail: 'no change-me placeholder left' };
}

export async function runDoctor(env: Record<string, string | undefined> = process.env): Promise<CheckResult[]> {
  let config: SolarisConfig;
  try {
    config = loadConfig(env);
  } catch (e) {
    // Without a valid configuration the other checks would test the wrong thing; still report secrets.
    return [{ name: 'Configuration', ok: false, detail: (e as Error).message }, checkPlaceholders(env), checkLibreChatSecrets(env)];
  }
  const [postgres, redis, litellm] = await Promise.all([
    checkPostgres(config.DATABASE_URL),
    checkRedis(config.REDIS_URL, config.SOLARIS_SETTLE_ACK),
    checkLiteLLM(config.LITELLM_URL, config.LITELLM_API_KEY, config.SOLARIS_METERING_SOURCE),
  ]);
  return [
    { name: 'Configuration', ok: true, detail: 'every SOLARIS_* variable is valid' },
    checkCoherence(config),
    checkPlaceholders(env),
    postgres,
    redis,
    litellm,
    checkLibreChatSecrets(env),
  ];
}

export function formatChecks(results: CheckResult[]): string {
  return results.map((r) => `${r.ok ? '✔' : '✘'} ${r.name}: ${r.detail}`).join('\n');
}
