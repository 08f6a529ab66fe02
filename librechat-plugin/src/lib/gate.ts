import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import {
  BodyError,
  TtlCache,
  accessTokenUser,
  flatQuotaExceededBody,
  readJwtSecrets,
  readRawBody,
  sendJson,
  type JwtSecrets,
  type QuotaEngine,
  type SolarisConfig,
} from '@solaris/server-extension';
import { countTextTokens, maxTokensOf, modelOf, promptTextOf } from './estimate';
import type { InflightRegistry } from './inflight';
import { errorMessage, log } from './log';

/** LibreChat parses JSON bodies up to 3 MB (`express.json({ limit: '3mb' })`, LibreChat api/server/index.js). */
const BODY_LIMIT = 3 * 1024 * 1024;

export interface GateRuntime {
  engine: QuotaEngine;
  config: SolarisConfig;
}

export interface GateDeps {
  /** Rejects when token control could not start (config missing, startup failed). */
  runtime: () => Promise<GateRuntime>;
  registry: InflightRegistry;
  failMode: () => 'open' | 'closed';
  secrets?: () => JwtSecrets;
  /** Longest we wait for the quota store before applying the fail mode (default 5 s; Redis itself fails within SOLARIS_REDIS_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Longest we wait for token control to start (first request). Default 5 s. */
  startTimeoutMs?: number;
  /**
   * The user of a LibreChat agents API key (`Authorization: Bearer sk-…` on /api/agents/v1/*), given the key's
   * SHA-256 hex (LibreChat's `keyHash`), or null. Without it those requests pass ungated. Lookups are cached
   * briefly (AGENT_KEY_CACHE_MS).
   */
  agentKeyUser?: (keyHash: string) => Promise<string | null>;
}

/** A revoked or expired agents API key stops being recognised by the gate within this time (LibreChat refuses it at once). */
const AGENT_KEY_CACHE_MS = 60_000;

// LibreChat's access token is read by the server's own helper (accessTokenUser, adapters/auth/librechat-tokens.ts).

function isJson(req: IncomingMessage): boolean {
  const ct = String(req.headers['content-type'] ?? '').toLowerCase();
  return ct.includes('application/json') || ct.includes('+json');
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`quota store did not answer within ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Our answers are never cached (the quota changes with every request). */
const NO_STORE = { 'cache-control': 'no-store' };

/**
 * The pre-flight check in front of LibreChat's chat routes. A blocked user gets the 402 (and, through
 * engine.reserve, the `blocked` socket event); anyone else gets a bounded reservation for the generation and
 * the request continues to LibreChat untouched (its JSON body, which we had to read to size the estimate, is
 * handed over as `req.body`: Express 5's body-parser skips a request whose body was already read).
 */
export function createGate(deps: GateDeps) {
  const secrets = deps.secrets ?? (() => readJwtSecrets());
  // A backstop for what has no bound of its own (a Postgres that vanished mid-rebuild: its connect gives up after
  // 5 s). Not shorter: a burst of first requests that all wait for one counter rebuild is slow, not broken.
  // Redis failures end far sooner (SOLARIS_REDIS_TIMEOUT_MS).
  const timeoutMs = deps.timeoutMs ?? 5_000;
  const startTimeoutMs = deps.startTimeoutMs ?? 5_000;

  function failed(res: ServerResponse, pass: () => void, why: string | null): void {
    // why = null: start-up failed, which the runtime already logged (one line, not one per request).
    if (why) log.errorOnce('gate-unavailable', `Solaris: quota check unavailable (${why}); fail mode ${deps.failMode()}`);
    if (deps.failMode() === 'open') return pass();
    sendJson(
      res,
      503,
      { error: { code: 'store_unavailable', message: 'O controle de cota está indisponível no momento. Tente novamente em instantes.' } },
      NO_STORE,
    );
  }

  // Once started, the runtime is kept: no timer and promise per request for what cannot change any more.
  let started: GateRuntime | null = null;

  // Agents API keys → user id, per key hash, for a minute (a Mongo read per API call otherwise).
  const agentKeys = new TtlCache<string | null>(AGENT_KEY_CACHE_MS);
  async function agentKeyUserOf(authorization: string | undefined): Promise<string | null> {
    const lookup = deps.agentKeyUser;
    if (!lookup || typeof authorization !== 'string') return null;
    const m = /^bearer\s+(sk-[a-f0-9]{16,128})\s*$/i.exec(authorization);
    if (!m) return null;
    const keyHash = createHash('sha256').update(m[1]!).digest('hex');
    return agentKeys.get(keyHash, () => lookup(keyHash)).catch((e: unknown) => {
      log.errorOnce('agent-key', 'Solaris: agents API key lookup failed; such requests pass ungated', { error: errorMessage(e) });
      return null; // not cached: the next request asks again
    });
  }

  return async function gate(req: IncomingMessage, res: ServerResponse, pass: () => void): Promise<void> {
    const userId = accessTokenUser(req.headers.authorization, secrets().access) ?? (await agentKeyUserOf(req.headers.authorization));
    if (!userId) return pass(); // LibreChat answers 401 itself

    let rt = started;
    if (!rt) {
      try {
        rt = started = await withTimeout(deps.runtime(), startTimeoutMs);
      } catch {
        return failed(res, pass, null);
      }
    }

    let body: unknown = undefined;
    let promptTokens: number;
    if (isJson(req)) {
      let raw: Buffer;
      try {
        raw = await readRawBody(req, BODY_LIMIT);
      } catch (e) {
        if (e instanceof BodyError && e.status === 413) {
          return sendJson(res, 413, { error: { code: 'payload_too_large', message: 'Mensagem grande demais (máximo 3 MB).' } }, { ...NO_STORE, connection: 'close' });
        }
        return; // the client went away
      }
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return sendJson(res, 400, { error: { code: 'invalid_input', message: 'Corpo JSON inválido.' } }, NO_STORE);
        }
      }
      (req as IncomingMessage & { body?: unknown }).body = body;
      promptTokens = countTextTokens(promptTextOf(body), modelOf(body));
    } else {
      // Not JSON (LibreChat's chat always is): do not consume the stream, size the estimate from its length.
      promptTokens = Math.ceil(Number(req.headers['content-length'] ?? 0) / 4) || 0;
    }

    const engine = rt.engine;
    // Raw tokens for the model: the engine weighs them with the user's plan (NUL cannot be a model name in Postgres).
    const model = modelOf(body).split('\u0000').join('') || 'unknown';
    const tokens = promptTokens + (maxTokensOf(body) ?? rt.config.SOLARIS_DEFAULT_MAX_TOKENS);
    const requestId = `lcgate:${randomUUID()}`;
    let outcome;
    try {
      // Reserve up to (docs/reservation-policy.md): admitted when the prompt and one answer token fit; the hold
      // is then as much of the asked completion as is left. A default max_tokens never refuses a user with tokens left.
      outcome = await withTimeout(engine.reserve({ userId, requestId, model, tokens, minTokens: promptTokens + 1 }), timeoutMs);
    } catch (e) {
      return failed(res, pass, errorMessage(e));
    }
    if (!outcome.ok) {
      const reason = outcome.outcome === 'too_many_inflight' ? 'too_many_inflight' : 'quota_exceeded';
      const body = flatQuotaExceededBody(reason, outcome.balance, outcome.estimate, promptTokens, outcome.balance.timeZone || 'America/Sao_Paulo');
      return sendJson(res, 402, body, NO_STORE);
    }

    const conv = body && typeof body === 'object' ? (body as Record<string, unknown>).conversationId : undefined;
    const now = Date.now();
    deps.registry.add({
      requestId,
      userId,
      conversationId: typeof conv === 'string' && conv !== 'new' ? conv : null,
      startedAt: now,
      expiresAt: now + rt.config.SOLARIS_RESERVATION_TTL_MS,
      completionTokens: Math.max(1, outcome.tokens - promptTokens),
    });
    // LibreChat refused the request (validation, permissions, ...): nothing will be generated.
    res.once('finish', () => {
      if (res.statusCode < 400) return;
      if (!deps.registry.remove(userId, requestId)) return;
      engine.release(requestId, userId).catch((e: unknown) => log.errorOnce('gate-release', 'Solaris: releasing a reservation failed', { error: errorMessage(e) }));
    });
    pass();
  };
}
