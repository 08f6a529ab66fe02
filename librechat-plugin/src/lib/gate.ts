import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { BalanceDTO, QuotaExceededBody } from '@solaris/wire';
import type { QuotaEngine } from '../../../server-extension/src/core/engine';
import type { SolarisConfig } from '../../../server-extension/src/core/config';
import { hmacKey, readJwtSecrets, type JwtSecrets } from '../../../server-extension/src/adapters/auth/secrets';
import { TtlCache } from '../../../server-extension/src/adapters/auth/ttl-cache';
import { formatResetPtBr } from '../../../server-extension/src/adapters/proxy/http-errors';
import { countTextTokens, maxTokensOf, modelOf, promptTextOf } from './estimate';
import type { InflightRegistry } from './inflight';
import { errorMessage, log } from './log';

/** LibreChat parses JSON bodies up to 3 MB (`express.json({ limit: '3mb' })`, LibreChat api/server/index.js). */
const BODY_LIMIT = 3 * 1024 * 1024;
const OBJECT_ID = /^[a-f0-9]{24}$/i;

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
  /** Longest we wait for the quota store before applying the fail mode. */
  timeoutMs?: number;
  /**
   * The user of a LibreChat agents API key (`Authorization: Bearer sk-…` on /api/agents/v1/*), given the key's
   * SHA-256 hex (LibreChat's `keyHash`), or null. Without it those requests pass ungated. Lookups are cached
   * briefly (AGENT_KEY_CACHE_MS).
   */
  agentKeyUser?: (keyHash: string) => Promise<string | null>;
}

/** A revoked or expired agents API key stops being recognised by the gate within this time (LibreChat refuses it at once). */
const AGENT_KEY_CACHE_MS = 60_000;

class BodyTooLarge extends Error {}

/**
 * LibreChat's access token: `Authorization: Bearer <JWT>` signed with JWT_SECRET (HS256, jsonwebtoken default),
 * payload `{ id, username, provider, email }` (LibreChat api/strategies/jwtStrategy.js reads `payload.id`).
 * Returns the user id, or null for anything LibreChat itself would refuse (we then let LibreChat answer 401, so
 * its client refreshes the token as usual).
 */
export function accessTokenUser(authorization: string | undefined, secret: string | undefined): string | null {
  if (!secret || typeof authorization !== 'string') return null;
  const m = /^bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m || m[1]!.length > 8192) return null;
  try {
    const p = jwt.verify(m[1]!, hmacKey(secret), { algorithms: ['HS256'] }); // KeyObject: no PEM parse attempt per call
    if (!p || typeof p !== 'object') return null;
    const id = (p as Record<string, unknown>).id;
    if ((p as Record<string, unknown>).sessionId !== undefined) return null; // a refresh token is not an access token
    return typeof id === 'string' && OBJECT_ID.test(id) ? id : null;
  } catch {
    return null;
  }
}

function isJson(req: IncomingMessage): boolean {
  const ct = String(req.headers['content-type'] ?? '').toLowerCase();
  return ct.includes('application/json') || ct.includes('+json');
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
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

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

/** The 402 body LibreChat's client renders as its own "Insufficient funds" error (flat `type: 'token_balance'`). */
export function quotaExceededBody(outcome: string, balance: BalanceDTO, tokenCost: number, promptTokens: number): QuotaExceededBody {
  const tooMany = outcome === 'too_many_inflight';
  return {
    type: 'token_balance',
    balance: Math.max(0, balance.remaining),
    tokenCost,
    promptTokens,
    reason: tooMany ? 'too_many_inflight' : 'quota_exceeded',
    message: tooMany
      ? 'Há respostas demais em andamento ao mesmo tempo. Aguarde uma terminar e tente de novo.'
      : `Sua cota de tokens deste período acabou. Ela será renovada em ${formatResetPtBr(balance.periodEnd, balance.timeZone || 'America/Sao_Paulo')}.`,
    resetAt: balance.periodEnd,
    percentUsed: balance.percent,
  };
}

/**
 * The pre-flight check in front of LibreChat's chat routes. A blocked user gets the 402 (and, through
 * engine.reserve, the `blocked` socket event); anyone else gets a bounded reservation for the generation and
 * the request continues to LibreChat untouched (its JSON body, which we had to read to size the estimate, is
 * handed over as `req.body`: Express 5's body-parser skips a request whose body was already read).
 */
export function createGate(deps: GateDeps) {
  const secrets = deps.secrets ?? (() => readJwtSecrets());
  const timeoutMs = deps.timeoutMs ?? 5_000;

  function failed(res: ServerResponse, pass: () => void, why: string | null): void {
    // why = null: start-up failed, which the runtime already logged (one line, not one per request).
    if (why) log.errorOnce('gate-unavailable', `Solaris: quota check unavailable (${why}); fail mode ${deps.failMode()}`);
    if (deps.failMode() === 'open') return pass();
    sendJson(res, 503, {
      error: { code: 'store_unavailable', message: 'O controle de cota está indisponível no momento. Tente novamente em instantes.' },
    });
  }

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

    let rt: GateRuntime;
    try {
      rt = await withTimeout(deps.runtime(), timeoutMs);
    } catch {
      return failed(res, pass, null);
    }

    let body: unknown = undefined;
    let promptTokens: number;
    if (isJson(req)) {
      let raw: Buffer;
      try {
        raw = await readBody(req, BODY_LIMIT);
      } catch (e) {
        if (e instanceof BodyTooLarge) {
          return sendJson(res, 413, { error: { code: 'payload_too_large', message: 'Mensagem grande demais (máximo 3 MB).' } }, { Connection: 'close' });
        }
        return; // the client went away
      }
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return sendJson(res, 400, { error: { code: 'invalid_input', message: 'Corpo JSON inválido.' } });
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
      outcome = await withTimeout(engine.reserve({ userId, requestId, model, tokens }), timeoutMs);
    } catch (e) {
      return failed(res, pass, errorMessage(e));
    }
    if (!outcome.ok) {
      return sendJson(res, 402, quotaExceededBody(outcome.outcome, outcome.balance, outcome.estimate, promptTokens));
    }

    const conv = body && typeof body === 'object' ? (body as Record<string, unknown>).conversationId : undefined;
    const now = Date.now();
    deps.registry.add({
      requestId,
      userId,
      conversationId: typeof conv === 'string' && conv !== 'new' ? conv : null,
      startedAt: now,
      expiresAt: now + rt.config.SOLARIS_RESERVATION_TTL_MS,
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
