import { z } from 'zod';
import { DEFAULT_WARN_PERCENT } from '@solaris/wire';

/**
 * Every setting comes from the environment and is validated here, once, at start-up.
 * docs/configuration.md is generated from this schema (`npm run docs:config`), so keep `describe()` texts
 * meaningful: they are the operator's documentation.
 */

const intFromEnv = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const jsonRecordOfNumbers = z
  .string()
  .default('{}')
  .transform((s, ctx) => {
    try {
      const v: unknown = JSON.parse(s);
      const parsed = z.record(z.string(), z.number().positive()).safeParse(v);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of positive numbers, e.g. {"gpt-4o*":2}' });
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be valid JSON, e.g. {"gpt-4o*":2}' });
    }
    return z.NEVER;
  });

const priceTable = z
  .string()
  .default('{}')
  .transform((s, ctx) => {
    try {
      const v: unknown = JSON.parse(s);
      const parsed = z
        .record(z.string(), z.object({ prompt: z.number().min(0), completion: z.number().min(0) }))
        .safeParse(v);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: 'must be JSON like {"gpt-4o*":{"prompt":2.5,"completion":10}} (USD per 1M tokens)' });
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
    }
    return z.NEVER;
  });

const optionalUrl = z
  .string()
  .trim()
  .optional()
  .transform((s) => (s === '' ? undefined : s))
  .pipe(z.url().optional());

const optionalSecret = z
  .string()
  .optional()
  .transform((s) => (s === '' ? undefined : s));

// SOLARIS_WEBHOOK_URLS: endpoints configured by the operator (their secrets never reach the database or logs).
const envWebhooks = z
  .string()
  .default('[]')
  .transform((s, ctx) => {
    const item = z.object({
      url: z.url({ protocol: /^https?$/ }),
      secret: z.string().min(16, 'secret must have at least 16 characters'),
      name: z.string().max(200).optional(),
      events: z.array(z.string()).optional(),
      format: z.enum(['json', 'slack']).optional(),
    });
    try {
      const parsed = z.array(item).max(20).safeParse(JSON.parse(s));
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: `must be a JSON array like [{"url":"https://...","secret":"...","events":[],"format":"json"}] (${parsed.error.issues[0]?.message})` });
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
    }
    return z.NEVER;
  });

export const configSchema = z.object({
  DATABASE_URL: optionalUrl.describe(
    'PostgreSQL connection string (the ledger). Unset: an embedded PGlite database in SOLARIS_DATA_DIR (demo / tests only).',
  ),
  REDIS_URL: optionalUrl.describe(
    'Redis connection string (hot counters, reservations, socket.io adapter). Unset: the Postgres store is used and realtime is single-process.',
  ),
  SOLARIS_REDIS_MODE: z
    .enum(['single', 'cluster'])
    .default('single')
    .describe('`cluster`: REDIS_URL is one node of a Redis Cluster (7+); the others are discovered from it (docs/operators.md, "Pointing at a Redis Cluster").'),
  SOLARIS_DATA_DIR: z.string().default('.solaris-data').describe('Folder of the embedded database when DATABASE_URL is unset.'),
  SOLARIS_TIMEZONE: z
    .string()
    .default('America/Sao_Paulo')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as America/Sao_Paulo')
    .describe('Time zone of the calendar periods (month / week / day boundaries).'),
  SOLARIS_THRESHOLDS: z
    .string()
    .default(`${DEFAULT_WARN_PERCENT},100`) // the lowest is the warning (wire: DEFAULT_WARN_PERCENT)
    .transform((s, ctx) => {
      const list = s.split(',').map((x) => Number(x.trim()));
      if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of whole percentages, e.g. 80,100' });
        return z.NEVER;
      }
      return [...new Set(list)].sort((a, b) => a - b);
    })
    .describe('Usage percentages that raise a one-time alert per period (the lowest one is the warning modal).'),
  SOLARIS_MODEL_WEIGHTS: jsonRecordOfNumbers.describe(
    'Token multiplier per model for the whole deployment, glob patterns, first match wins, default 1. A plan\'s own model weights (admin tab, docs/per-plan-weights.md) win for its users. Example: {"gpt-4o*":2,"claude-3-opus*":5}.',
  ),
  SOLARIS_PRICES: priceTable.describe(
    'USD per 1M tokens per model (glob), used when the upstream reports no cost. Example: {"gpt-4o*":{"prompt":2.5,"completion":10}}.',
  ),
  SOLARIS_RESERVATION_TTL_MS: intFromEnv(600_000, 1_000, 86_400_000).describe(
    'How long an unsettled reservation holds quota before it expires by itself (a crashed request frees its hold).',
  ),
  SOLARIS_MAX_INFLIGHT: intFromEnv(4, 1, 1000).describe('Open reservations (parallel generations) allowed per user.'),
  SOLARIS_DEFAULT_MAX_TOKENS: intFromEnv(4096, 1, 1_000_000).describe(
    'Completion tokens reserved when a request sets no max_tokens; also the longest answer such a request gets (the proxy forwards the limit its hold covers).',
  ),
  SOLARIS_SETTLE_ACK: z
    .enum(['ledger', 'outbox'])
    .default('ledger')
    .describe(
      'Redis store: when a settlement is acknowledged. ledger = after its row is committed in Postgres (every decision waits ' +
        'for a commit); outbox = once the row is in the user\'s Redis outbox stream, written by the same atomic step that moves ' +
        'the counter and drained to Postgres in batches (several times the decisions/s; needs Redis with appendonly yes — ' +
        'the engine refuses to start without it). See docs/architecture.md.',
    ),
  SOLARIS_REDIS_TIMEOUT_MS: intFromEnv(1_000, 20, 60_000).describe(
    'Longest a Redis command may take (also while Redis is disconnected): past it the quota check fails and SOLARIS_FAIL_MODE ' +
      'decides, so a Redis that stopped answering never makes requests hang. See docs/architecture.md.',
  ),
  SOLARIS_FAIL_MODE: z
    .enum(['closed', 'open'])
    .default('closed')
    .describe('When Postgres/Redis cannot answer a quota check: closed = refuse the request (503), open = let it through.'),
  SOLARIS_PROXY_KEY: optionalSecret.describe('Service key LibreChat sends to the metering proxy (Authorization: Bearer ...). Required for the proxy.'),
  LITELLM_URL: optionalUrl.describe('LiteLLM base URL, e.g. http://litellm:4000. Unset in the demo: a built-in fake model answers.'),
  LITELLM_API_KEY: optionalSecret.describe('Key the proxy sends to LiteLLM (its master key or a virtual key).'),
  SOLARIS_UPSTREAM_TIMEOUT_MS: intFromEnv(600_000, 1_000, 3_600_000).describe('Upstream request timeout of the metering proxy.'),
  SOLARIS_ADMIN_EMAILS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim().toLowerCase())
        .filter(Boolean),
    )
    .describe('Comma-separated emails treated as admins in addition to LibreChat role ADMIN.'),
  SOLARIS_LITELLM_WEBHOOK_SECRET: optionalSecret.describe('Shared secret of the LiteLLM generic_api callback (POST /solaris/litellm/usage).'),
  SOLARIS_METERING_SOURCE: z
    .enum(['librechat', 'proxy', 'litellm'])
    .default('proxy')
    .describe(
      'Which source writes the ledger, exactly one, so nothing is counted twice: librechat = the Transaction hook inside LibreChat ' +
        '(the metering proxy then only gates: reserve + release); proxy = the metering proxy settles, the hook is off; ' +
        'litellm = the LiteLLM generic_api webhook settles, hook off, proxy gates only. Set the same value in every process. ' +
        'Default: proxy in the standalone server, librechat inside LibreChat (the plugin sets it when unset).',
    ),
  PORT: intFromEnv(3001, 1, 65535).describe('Port of the standalone server (proxy + API).'),
  HOST: z.string().default('0.0.0.0').describe('Listen address of the standalone server.'),
  SOLARIS_WEBHOOK_URLS: envWebhooks.describe(
    'Webhook endpoints set by the operator, JSON: [{"url":"https://...","secret":"≥16 chars","events":["user.blocked"],"format":"json|slack","name":"..."}]. ' +
      'Empty events = all. More endpoints can be added in the admin tab. See docs/webhooks.md.',
  ),
  SOLARIS_WEBHOOK_TIMEOUT_MS: intFromEnv(5_000, 100, 60_000).describe('Timeout of one webhook delivery attempt.'),
  SOLARIS_WEBHOOK_MAX_ATTEMPTS: intFromEnv(8, 1, 50).describe('Delivery attempts per event and endpoint (exponential back-off with jitter) before it is marked failed.'),
  SOLARIS_WEBHOOK_DIGEST_HOUR: intFromEnv(8, 0, 24).describe('Local hour (SOLARIS_TIMEZONE) after which the previous day\'s usage digest is sent; 24 = no digest.'),
  SOLARIS_ORG_USAGE_ALERTS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const list = s.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
      if (list.some((n) => !Number.isSafeInteger(n) || n <= 0)) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of token amounts, e.g. 50000000,100000000' });
        return z.NEVER;
      }
      return [...new Set(list)].sort((a, b) => a - b);
    })
    .describe('Organisation-wide weighted tokens per calendar month that raise an org_usage.crossed webhook once each, e.g. 50000000,100000000.'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info').describe('Log level (JSON logs on stdout).'),
});

export type SolarisConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parse the environment. A bad value throws one clear line naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): SolarisConfig {
  // An empty value means "not set": docker compose passes `${VAR:-}` through as '' (see docker-compose.override.yml).
  const result = configSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (result.success) {
    if (result.data.SOLARIS_REDIS_MODE === 'cluster' && result.data.SOLARIS_SETTLE_ACK === 'outbox') {
      // Its append-only check sees one node of the cluster (docs/operators.md, "Pointing at a Redis Cluster").
      throw new ConfigError('Invalid configuration: SOLARIS_SETTLE_ACK=outbox is not supported with SOLARIS_REDIS_MODE=cluster; use SOLARIS_SETTLE_ACK=ledger');
    }
    return result.data;
  }
  const issue = result.error.issues[0]!;
  const name = String(issue.path[0] ?? 'environment');
  throw new ConfigError(`Invalid configuration: ${name} ${issue.message}`);
}
