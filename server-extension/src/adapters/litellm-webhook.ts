/**
 * LiteLLM metering source: LiteLLM's `generic_api` logging callback posts StandardLoggingPayload
 * objects here (log_format json_array | ndjson | single; LiteLLM sends all three as
 * Content-Type: application/json, so the body is read as text and sniffed).
 *
 *   POST /solaris/litellm/usage   Authorization: Bearer <SOLARIS_LITELLM_WEBHOOK_SECRET>
 *   → 200 { accepted, duplicates, failures, rejected: [{ index, id, code, message }] }
 *
 * Each success event is settled idempotently on the payload `id` (a retried batch moves nothing);
 * failure events charge nothing; a malformed item is rejected on its own, the rest of the batch lands.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { ErrorCode } from '@solaris/wire';
import type { QuotaEngine, SettleRequest } from '../core/engine';
import type { SolarisConfig } from '../core/config';
import type { Logger } from '../core/logger';
import { isSolarisError } from '../core/errors';
import { isPermanentFailure } from '../core/store-errors';
import { resolveUserRef } from './user-lookup';

export const LITELLM_WEBHOOK_PATH = '/solaris/litellm/usage';
/** LiteLLM's default batch_size is small; this bounds one request's work. */
export const MAX_WEBHOOK_ITEMS = 1000;

export interface LiteLLMWebhookOptions {
  engine: QuotaEngine;
  config: SolarisConfig;
  logger?: Logger;
  /** Body size limit (express/body-parser syntax). Default 5mb. */
  limit?: string;
}

export interface RejectedItem {
  index: number;
  id: string | null;
  code: ErrorCode;
  message: string;
}

export interface WebhookReport {
  accepted: number;
  duplicates: number;
  /** Failure events (status "failure"): recorded as seen, charged nothing. */
  failures: number;
  /**
   * Accepted events no store could record yet: they wait in the engine's settlement queue and land once a
   * store is back (docs/architecture.md, "One outbox"). Present only when some did.
   */
  queued?: number;
  rejected: RejectedItem[];
}

type Json = Record<string, unknown>;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison (hashing first makes the lengths equal and hides the secret's length). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  return timingSafeEqual(sha256(given), sha256(expected));
}

function presentedSecret(req: Request): string | undefined {
  const auth = req.get('authorization');
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return req.get('x-solaris-webhook-secret') ?? undefined;
}

function sendError(res: Response, status: number, code: ErrorCode, message: string) {
  res.status(status).json({ error: { code, message } });
}

/** Parsed items, or a per-line parse error (ndjson) kept at its index. */
type ParsedItem = { ok: true; value: unknown } | { ok: false; message: string };

/** json_array → array; single → one object; ndjson → one object per non-empty line. */
export function parseWebhookBody(body: unknown): ParsedItem[] | null {
  if (Array.isArray(body)) return body.map((value) => ({ ok: true, value }));
  if (body && typeof body === 'object' && !Buffer.isBuffer(body)) return [{ ok: true, value: body }];
  const text = (Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '').trim();
  if (!text) return null;
  try {
    const whole: unknown = JSON.parse(text);
    if (Array.isArray(whole)) return whole.map((value) => ({ ok: true, value }));
    return [{ ok: true, value: whole }];
  } catch {
    // not one JSON document: try newline-delimited JSON
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) return null;
  return lines.map((line, i) => {
    try {
      return { ok: true, value: JSON.parse(line) as unknown };
    } catch {
      return { ok: false, message: `line ${i + 1} is not valid JSON` };
    }
  });
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);

/** Case-insensitive header lookup in LiteLLM's `requester_custom_headers` / legacy `headers` maps. */
function header(map: Json | undefined, name: string): string | undefined {
  if (!map) return undefined;
  const key = Object.keys(map).find((k) => k.toLowerCase() === name);
  return key ? str(map[key]) : undefined;
}

/**
 * Who used it, most specific first: the OpenAI `user` field (LiteLLM's `end_user`; LibreChat sends its
 * user id there), the end-user id LiteLLM attached to the key, our own headers forwarded by LiteLLM,
 * then requester metadata. An email is accepted as a last resort and resolved via users_cache.
 */
export function userRefOf(item: Json): string | undefined {
  const md = obj(item.metadata) ?? {};
  const headers = obj(md.requester_custom_headers) ?? obj(md.headers);
  const requester = obj(md.requester_metadata);
  return (
    str(item.end_user) ??
    str(md.user_api_key_end_user_id) ??
    header(headers, 'x-solaris-user-id') ??
    str(requester?.solaris_user_id) ??
    str(requester?.user_id) ??
    header(headers, 'x-solaris-user-email') ??
    str(requester?.user_email)
  );
}

function tokenCount(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

class ItemError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The router the lead mounts in the plugin's /solaris/* handler (and in the standalone server). */
export function createLiteLLMWebhookRouter(opts: LiteLLMWebhookOptions): Router {
  const { engine, config, logger } = opts;
  const router = express.Router();

  router.post(LITELLM_WEBHOOK_PATH, express.text({ type: () => true, limit: opts.limit ?? '5mb' }), async (req, res) => {
    const secret = config.SOLARIS_LITELLM_WEBHOOK_SECRET;
    if (!secret) return sendError(res, 404, 'not_found', 'LiteLLM webhook is disabled: set SOLARIS_LITELLM_WEBHOOK_SECRET');
    if (!secretMatches(presentedSecret(req), secret)) return sendError(res, 401, 'unauthorized', 'missing or wrong webhook secret');
    if (config.SOLARIS_METERING_SOURCE !== 'litellm') {
      // Another source already meters these requests: charging them here too would count them twice.
      return sendError(res, 409, 'conflict', `SOLARIS_METERING_SOURCE is "${config.SOLARIS_METERING_SOURCE}", not "litellm": events not charged`);
    }
    const items = parseWebhookBody(req.body);
    if (!items) return sendError(res, 400, 'invalid_input', 'body must be a JSON array, a JSON object or newline-delimited JSON');
    if (items.length > MAX_WEBHOOK_ITEMS) return sendError(res, 413, 'payload_too_large', `at most ${MAX_WEBHOOK_ITEMS} events per request`);

    const report: WebhookReport = { accepted: 0, duplicates: 0, failures: 0, rejected: [] };
    let infraFailure = false;
    // Sequential on purpose: batches are small, and one user's events then settle in order.
    for (const [index, parsed] of items.entries()) {
      if (!parsed.ok) {
        report.rejected.push({ index, id: null, code: 'invalid_input', message: parsed.message });
        continue;
      }
      const item = obj(parsed.value);
      const id = item ? str(item.id) ?? null : null;
      try {
        if (!item) throw new ItemError('invalid_input', 'event must be a JSON object');
        if (!id) throw new ItemError('invalid_input', 'id is missing');
        const outcome = await settleItem(engine, item, id, logger);
        if (outcome === 'queued') report.queued = (report.queued ?? 0) + 1;
        else report[outcome] += 1;
      } catch (e) {
        if (e instanceof ItemError || (isSolarisError(e) && e.status < 500)) {
          report.rejected.push({ index, id, code: e.code, message: e.message });
        } else {
          infraFailure = true;
          const code: ErrorCode = isSolarisError(e) ? e.code : 'store_unavailable';
          report.rejected.push({ index, id, code, message: 'could not record the event (database unavailable); send it again' });
          logger?.error('litellm webhook: settle failed', { id, error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
    if (report.rejected.length) logger?.warn('litellm webhook: events rejected', { rejected: report.rejected.length, first: report.rejected[0] });
    res.status(infraFailure ? 503 : 200).json(report);
  });

  return router;
}

async function settleItem(engine: QuotaEngine, item: Json, id: string, logger?: Logger): Promise<'accepted' | 'duplicates' | 'failures' | 'queued'> {
  const status = item.status;
  if (status === 'failure') return 'failures';
  if (status !== 'success') throw new ItemError('invalid_input', 'status must be "success" or "failure"');

  const ref = userRefOf(item);
  if (!ref) throw new ItemError('invalid_input', 'no user: set end_user (the OpenAI "user" field) or the X-Solaris-User-Id header');
  const userId = await resolveUserRef(engine.db.pool, ref);
  if (!userId) throw new ItemError('not_found', `unknown user email ${ref}`);

  const promptTokens = tokenCount(item.prompt_tokens);
  const completionTokens = tokenCount(item.completion_tokens);
  if (promptTokens === undefined || completionTokens === undefined) {
    throw new ItemError('invalid_input', 'prompt_tokens and completion_tokens must be whole numbers ≥ 0');
  }
  const cost = item.response_cost;
  if (cost != null && !(typeof cost === 'number' && Number.isFinite(cost) && cost >= 0)) {
    throw new ItemError('invalid_input', 'response_cost must be a number ≥ 0');
  }
  // model_group is the name the client asked for (what weights and prices are written against).
  const model = str(item.model_group) ?? str(item.model);
  if (!model) throw new ItemError('invalid_input', 'model is missing');

  const md = obj(item.metadata) ?? {};
  const headers = obj(md.requester_custom_headers) ?? obj(md.headers);
  const requester = obj(md.requester_metadata);
  const req: SettleRequest = {
    requestId: id,
    userId,
    model,
    promptTokens,
    completionTokens,
    reportedCost: typeof cost === 'number' ? cost : null,
    source: 'litellm',
    conversationId: header(headers, 'x-solaris-conversation-id') ?? str(requester?.conversation_id) ?? null,
    messageId: header(headers, 'x-solaris-message-id') ?? str(requester?.message_id) ?? null,
    occurredAt: engine.clock(),
  };
  try {
    const r = await engine.settle(req);
    return r.duplicate ? 'duplicates' : 'accepted';
  } catch (e) {
    if (isPermanentFailure(e)) throw e;
    // No store can record it now: LiteLLM does not resend reliably, so it waits in the engine's queue (never
    // dropped) and the answer says so.
    void engine.settleQueued(req).catch((err: unknown) => logger?.error('litellm webhook: queued settlement refused', { id, error: err instanceof Error ? err.message : String(err) }));
    return 'queued';
  }
}
