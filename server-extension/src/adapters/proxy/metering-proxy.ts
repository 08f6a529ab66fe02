import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import type { QuotaEngine } from '../../core/engine';
import type { SolarisConfig } from '../../core/config';
import type { Logger } from '../../core/logger';
import { isSolarisError } from '../../core/errors';
import type { Metrics } from '../metrics';
import { BodyError, readJsonBody } from './body';
import { quotaExceededBody, sendError, sendJson } from './http-errors';
import { createServiceKeyCheck, hasIdempotencyKey, requestIdFor, type Caller } from './identity';
import { SseMeter, answerText, type UpstreamUsage } from './sse-meter';
import { countTextTokens, estimatePromptTokens } from './tokens';
import { checkRequest, isRefusal, upstreamBody, type CheckedRequest } from './request-check';
import { claimOrReplay, createIdempotencyStore, type IdempotencyStore, type ReplayDeps, type StoredAnswer } from './idempotency';
import { validateSettle } from '../../core/validation';

export interface MeteringProxyOptions {
  engine: QuotaEngine;
  config: SolarisConfig;
  logger?: Logger;
  metrics?: Metrics;
  /** Upstream base URL (LiteLLM). Default: config.LITELLM_URL. The demo passes the fake upstream's URL. */
  upstreamUrl?: string;
  /** Default: config.LITELLM_API_KEY. */
  upstreamApiKey?: string;
  /** Largest accepted request body (images travel as base64). Default 20 MiB. */
  maxBodyBytes?: number;
  /** Settle into the ledger (true) or only gate: reserve, then release (false). Default: SOLARIS_METERING_SOURCE === 'proxy'. */
  writesLedger?: boolean;
  /** How long GET /v1/models answers are reused. Default 30 s. */
  modelsCacheMs?: number;
  /** Upsert the caller into users_cache (email, last seen) on each request. Default true. */
  touchUsers?: boolean;
  /** undici dispatcher for upstream calls. Default: an own keep-alive Agent with the configured timeouts. */
  dispatcher?: Dispatcher;
  /** Where Idempotency-Key outcomes are kept. Default: Postgres (idempotency_keys), shared by every replica. */
  idempotency?: IdempotencyStore;
}

export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

export interface MeteringProxy extends NodeHandler {
  /** Resolves when every settlement started so far has finished (tests, graceful shutdown). */
  drain(): Promise<void>;
  /** Drains, then closes the own upstream Agent. */
  close(): Promise<void>;
}

type RouteKind = 'chat' | 'completions' | 'embeddings' | 'models';
const ROUTES: Record<string, { kind: RouteKind; method: 'GET' | 'POST' }> = {
  '/v1/chat/completions': { kind: 'chat', method: 'POST' },
  '/v1/completions': { kind: 'completions', method: 'POST' },
  '/v1/embeddings': { kind: 'embeddings', method: 'POST' },
  '/v1/models': { kind: 'models', method: 'GET' },
};

/** What the pre-flight hands to the upstream call. */
interface Pre {
  m: Metered;
  c: CheckedRequest;
  json: Record<string, unknown>;
  /** Completion tokens per choice the reservation covers (the limit forwarded); null: none (embeddings). */
  perChoice: number | null;
}

/** Everything a metered request carries from pre-flight to settlement. */
interface Metered {
  kind: RouteKind;
  requestId: string;
  caller: Caller;
  model: string;
  promptEstimate: number;
  /** The plan the request was reserved under (its model weights apply to the settlement); undefined: not reserved. */
  planId?: string | null;
  /** false when the quota store failed and SOLARIS_FAIL_MODE=open let the request through. */
  metered: boolean;
  /** Called once, by settleLater (something was served) or releaseLater (nothing charged): the replay record follows it. */
  onFate?: (fate: 'settled' | 'released') => void;
  fated?: boolean;
  /** The answer as sent (non-streamed), for the replay record. */
  answer?: StoredAnswer;
}

const FORWARDED_RESPONSE_HEADER = /^x-litellm-|^openai-/;
/** Longest the end of an answer waits for its settlement (see settledOrTimeout). */
const ACK_WAIT_MS = 3_000;
/** Longest close() waits for requests still being answered before it drains the settlements. */
const CLOSE_WAIT_MS = 2_000;

/**
 * The metering proxy: an OpenAI-compatible gate in front of LiteLLM for `/v1/*`.
 * A plain Node handler (no framework on the streaming path): mount it in Express or a bare node:http
 * server. Per request: service key → user → size-limited JSON body → tokenizer estimate → reserve
 * (402 when out of quota) → upstream via undici → answer streamed through chunk by chunk → the ledger
 * settlement runs after the client has its last byte (`drain()` waits for it).
 */
export function createMeteringProxy(opts: MeteringProxyOptions): MeteringProxy {
  const { engine, config, logger, metrics } = opts;
  const upstreamBase = (opts.upstreamUrl ?? config.LITELLM_URL ?? '').replace(/\/+$/, '').replace(/\/v1$/, '');
  if (!upstreamBase) throw new Error('metering proxy: no upstream (set LITELLM_URL or pass upstreamUrl)');
  if (!config.SOLARIS_PROXY_KEY) throw new Error('metering proxy: SOLARIS_PROXY_KEY is required');
  const checkKey = createServiceKeyCheck(config.SOLARIS_PROXY_KEY);
  // Exactly one source writes the ledger (SOLARIS_METERING_SOURCE): elsewhere the proxy gates only.
  const writesLedger = opts.writesLedger ?? config.SOLARIS_METERING_SOURCE === 'proxy';
  const apiKey = opts.upstreamApiKey ?? config.LITELLM_API_KEY;
  const maxBody = opts.maxBodyBytes ?? 20 * 1024 * 1024;
  const modelsCacheMs = opts.modelsCacheMs ?? 30_000;
  const touchUsers = opts.touchUsers ?? true;
  // users_cache is a directory for the admin tab ("last seen" to the minute is plenty): touch each user at
  // most every 5 minutes per process instead of one Postgres write per request. A throttle, not state:
  // another replica touching the same user again is harmless.
  const lastTouch = new Map<string, number>();
  const shouldTouch = (userId: string): boolean => {
    const now = Date.now();
    if ((lastTouch.get(userId) ?? 0) + 5 * 60_000 > now) return false;
    if (lastTouch.size > 50_000) lastTouch.clear();
    lastTouch.set(userId, now);
    return true;
  };
  const timeout = config.SOLARIS_UPSTREAM_TIMEOUT_MS;
  const ownAgent = opts.dispatcher
    ? null
    : new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: timeout, bodyTimeout: timeout, pipelining: 1 });
  const dispatcher: Dispatcher = opts.dispatcher ?? ownAgent!;
  const pending = new Set<Promise<void>>();
  const idempotency = opts.idempotency ?? createIdempotencyStore(engine.db.pool);
  const debug = logger?.isDebugEnabled() ? logger : undefined;

  // Requests still being answered (handler running, or a stream being relayed): close() lets them end first,
  // so a stream cut by a shutdown is settled (as estimated) before the engine closes.
  const active = new Set<Promise<void>>();
  const trackActive = (p: Promise<void>) => {
    active.add(p);
    void p.finally(() => active.delete(p));
  };

  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const upstreamHeaders = (requestId: string | null, accept: string): Record<string, string> => {
    const h: Record<string, string> = { 'content-type': 'application/json', accept };
    if (apiKey) h.authorization = `Bearer ${apiKey}`;
    // LiteLLM logs under the call id it is given, so its logs, spend rows and our ledger share one id.
    if (requestId) {
      h['x-litellm-call-id'] = requestId;
      h['x-request-id'] = requestId;
    }
    return h;
  };

  const responseHeaders = (up: Dispatcher.ResponseData['headers'], requestId: string | null): Record<string, string> => {
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(up)) {
      if (typeof v === 'string' && FORWARDED_RESPONSE_HEADER.test(k)) h[k] = v;
    }
    const ct = up['content-type'];
    h['content-type'] = typeof ct === 'string' ? ct : 'application/json';
    if (requestId) h['x-solaris-request-id'] = requestId;
    return h;
  };

  // ---------- settlement (after the answer) ----------

  /** `outputText` is only called when the upstream reported no usage (it may parse the whole answer). */
  async function settleOrQueue(m: Metered, usage: UpstreamUsage | null, outputText: () => string, reportedCost: number | null): Promise<void> {
    if (!writesLedger) {
      // Another source (LibreChat's Transaction hook, or LiteLLM's webhook) writes this request's ledger row:
      // the proxy only gated it. Free the hold; that source settles the real usage (never counted twice).
      await engine.release(m.requestId, m.caller.userId).catch((e: unknown) => {
        logger?.warn('proxy release failed; the reservation will expire by itself', { requestId: m.requestId, err: e });
      });
      return;
    }
    const hasUsage = usage != null && typeof usage.prompt_tokens === 'number';
    const promptTokens = hasUsage ? toInt(usage.prompt_tokens) : m.promptEstimate;
    const completionTokens = hasUsage
      ? toInt(usage.completion_tokens ?? Math.max(0, (usage.total_tokens ?? 0) - (usage.prompt_tokens ?? 0)))
      : m.kind === 'embeddings'
        ? 0
        : countTextTokens(outputText(), m.model);
    const cost = reportedCost ?? (typeof usage?.cost === 'number' && Number.isFinite(usage.cost) && usage.cost >= 0 ? usage.cost : null);
    // Never dropped: a settlement no store can take now waits in the engine's queue and is retried until it
    // lands (docs/architecture.md, "One outbox"). Only a refusal for good (bad input) ends here.
    try {
      const r = await engine.settleQueued({
        requestId: m.requestId,
        userId: m.caller.userId,
        model: m.model,
        promptTokens,
        completionTokens,
        reportedCost: cost,
        source: 'proxy',
        estimated: !hasUsage,
        conversationId: m.caller.conversationId,
        messageId: m.caller.messageId,
        planId: m.planId,
      });
      if (!r.duplicate && metrics) {
        metrics.tokens.inc({ kind: 'prompt' }, promptTokens);
        metrics.tokens.inc({ kind: 'completion' }, completionTokens);
        metrics.tokens.inc({ kind: 'weighted' }, r.entry.weightedTokens);
      }
      debug?.debug('proxy settled', { requestId: m.requestId, userId: m.caller.userId, promptTokens, completionTokens, estimated: !hasUsage });
    } catch (e) {
      metrics?.settleErrors.inc();
      logger?.error('proxy settlement refused; the reservation will expire by itself', { requestId: m.requestId, userId: m.caller.userId, err: e });
    }
  }

  function settleLater(m: Metered, usage: UpstreamUsage | null, outputText: () => string, reportedCost: number | null): Promise<void> {
    fate(m, 'settled');
    if (!m.metered) return Promise.resolve();
    const p = settleOrQueue(m, usage, outputText, reportedCost);
    track(p);
    return p;
  }

  /**
   * The client's last byte is the acknowledgement: it is sent only once the settlement is durable (ledger,
   * or the Redis outbox while Postgres is down), so a proxy killed at any moment never loses a request its
   * client saw complete. Bounded: a store that cannot answer in ACK_WAIT_MS does not hold the answer back
   * (the settlement keeps waiting in the engine's queue). See docs/architecture.md "Reliability guarantees".
   */
  function settledOrTimeout(p: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => {
      timer = setTimeout(r, ACK_WAIT_MS);
      timer.unref();
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  function fate(m: Metered, f: 'settled' | 'released'): void {
    if (m.fated) return;
    m.fated = true;
    m.onFate?.(f);
  }

  function releaseLater(m: Metered): void {
    fate(m, 'released');
    if (!m.metered) return;
    track(
      engine.release(m.requestId, m.caller.userId).then(
        () => undefined,
        (e: unknown) => {
          logger?.warn('proxy release failed; the reservation will expire by itself', { requestId: m.requestId, err: e });
        },
      ),
    );
  }

  // ---------- pre-flight ----------

  /**
   * Identity, body, checks, estimate, replay guard and reservation. Returns null when a response was already sent.
   * Everything the settlement will store is validated here (request-check.ts + a dry run of the settlement's
   * validation), so nothing accepted can fail to be charged later.
   */
  async function preflight(req: IncomingMessage, res: ServerResponse, kind: Exclude<RouteKind, 'models'>): Promise<Pre | null> {
    let json: Record<string, unknown>;
    try {
      ({ json } = await readJsonBody(req, maxBody));
    } catch (e) {
      if (e instanceof BodyError) sendError(res, e.status, e.code, e.message);
      else throw e;
      return null;
    }
    const c = checkRequest(kind, json, req.headers);
    if (isRefusal(c)) {
      sendError(res, c.status, c.code, c.message);
      return null;
    }
    const { caller, model } = c;
    const requestId = requestIdFor(req.headers, caller.userId);
    try {
      validateSettle({ requestId, userId: caller.userId, model, promptTokens: 0, completionTokens: 0, source: 'proxy', conversationId: caller.conversationId, messageId: caller.messageId });
    } catch (e) {
      sendError(res, 400, 'invalid_input', isSolarisError(e) ? e.message : 'Requisição inválida.');
      return null;
    }
    const promptEstimate = estimatePromptTokens(json, model);
    const askedPerChoice = kind === 'embeddings' ? 0 : (c.askedPerChoice ?? config.SOLARIS_DEFAULT_MAX_TOKENS);
    // Raw tokens: the engine weighs them with the user's plan. Reserve up to prompt + the asked completion, as
    // long as the prompt and one token per choice fit (docs/reservation-policy.md).
    const tokens = promptEstimate + askedPerChoice * c.choices;
    const minTokens = promptEstimate + (kind === 'embeddings' ? 0 : c.choices);
    // Keeps the admin's user list fresh (email, last seen), blocked users included. Fire-and-forget and
    // deferred until the reservation is on the wire, so its Postgres round trip overlaps the wait.
    if (touchUsers && shouldTouch(caller.userId)) track(
      new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => engine.admin.touchUser({ userId: caller.userId, email: caller.email, emailUnverified: true }))
        .catch((e: unknown) => {
          debug?.debug('touchUser failed', { err: e });
        }),
    );
    const m: Metered = { kind, requestId, caller, model, promptEstimate, metered: true };
    if (hasIdempotencyKey(req.headers)) {
      const fated = new Promise<'settled' | 'released'>((r) => (m.onFate = r));
      if (!(await claimOrReplay(replayDeps, res, m.requestId, caller.userId, fated, () => m.answer))) return null;
    }
    const t0 = performance.now();
    let perChoice: number | null = kind === 'embeddings' ? null : askedPerChoice;
    try {
      const r = await engine.reserve({ userId: caller.userId, requestId, model, tokens, minTokens });
      m.planId = r.balance.planId;
      metrics?.reservationSeconds.observe({ outcome: r.outcome }, (performance.now() - t0) / 1000);
      if (!r.ok) {
        releaseLater(m); // nothing held; drops the replay claim so a retry runs afresh
        const reason = r.outcome === 'too_many_inflight' ? 'too_many_inflight' : 'quota_exceeded';
        metrics?.blocked.inc({ reason });
        sendJson(res, 402, quotaExceededBody(reason, r.balance, r.estimate, promptEstimate, config.SOLARIS_TIMEZONE), { 'x-solaris-request-id': requestId });
        return null;
      }
      // The hold may be smaller than asked (reserve up to): the upstream gets the limit it covers, per choice.
      if (perChoice !== null) perChoice = Math.max(1, Math.floor((r.tokens - promptEstimate) / c.choices));
    } catch (e) {
      metrics?.reservationSeconds.observe({ outcome: 'error' }, (performance.now() - t0) / 1000);
      if (isSolarisError(e) && e.code !== 'store_unavailable' && e.code !== 'internal_error') {
        releaseLater(m);
        sendError(res, e.status, e.code, e.message);
        return null;
      }
      // Postgres / Redis could not answer: the operator chose what happens (SOLARIS_FAIL_MODE).
      if (config.SOLARIS_FAIL_MODE === 'closed') {
        releaseLater(m);
        logger?.warn('quota store unavailable: request refused (SOLARIS_FAIL_MODE=closed)', { requestId, ...storeError(e) });
        sendError(res, 503, 'store_unavailable', 'O controle de cota está indisponível no momento. Tente de novo em instantes.', { 'retry-after': '5' });
        return null;
      }
      logger?.warn('quota store unavailable: request passed through UNMETERED (SOLARIS_FAIL_MODE=open)', { requestId, userId: caller.userId, ...storeError(e) });
      metrics?.failOpen.inc();
      m.metered = false;
    }
    return { m, c, json, perChoice };
  }

  /**
   * During a store outage every request logs a line (operators reconcile unmetered ones by id), but the full
   * error (stack) only once a minute: serialising it per request cost more than the request (bench:proxy).
   */
  let storeErrorLoggedAt = 0;
  function storeError(e: unknown): Record<string, unknown> {
    const now = Date.now();
    if (now - storeErrorLoggedAt >= 60_000) {
      storeErrorLoggedAt = now;
      return { err: e };
    }
    const x = e as { code?: unknown; message?: unknown } | null;
    return { errCode: x?.code ?? null, errMessage: typeof x?.message === 'string' ? x.message.slice(0, 200) : String(e) };
  }

  const replayDeps: ReplayDeps = { store: idempotency, track, logger, storeError: (e) => storeError(e), failOpen: config.SOLARIS_FAIL_MODE === 'open' };

  // ---------- upstream ----------

  function upstreamFailure(res: ServerResponse, e: unknown): void {
    const code = (e as { code?: string }).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      sendError(res, 504, 'upstream_error', 'O modelo demorou demais para responder (tempo esgotado).');
    } else {
      sendError(res, 502, 'upstream_error', 'Não foi possível contatar o serviço de modelos (LiteLLM).');
    }
  }

  async function handleMetered(req: IncomingMessage, res: ServerResponse, kind: Exclude<RouteKind, 'models'>, path: string): Promise<void> {
    // Watch for the client leaving from the start: a hang-up during the pre-flight must not start a call.
    const ac = new AbortController();
    let clientGone = false;
    res.once('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        ac.abort();
      }
    });
    const pre = await preflight(req, res, kind);
    if (!pre) return;
    const { m } = pre;
    try {
      await forward(req, res, pre, path, ac, () => clientGone);
    } catch (e) {
      // A bug after the reservation: free the hold now rather than leave it until it expires.
      if (!m.fated) releaseLater(m);
      throw e;
    }
  }

  async function forward(_req: IncomingMessage, res: ServerResponse, pre: Pre, path: string, ac: AbortController, gone: () => boolean): Promise<void> {
    const { m, c, json } = pre;
    const kind = m.kind;
    if (gone()) {
      releaseLater(m);
      return;
    }
    const streaming = c.streaming;
    const { body, clientAskedUsage } = upstreamBody(json, c, pre.perChoice);
    let up: Dispatcher.ResponseData;
    const t0 = performance.now();
    try {
      up = await request(upstreamBase + path, {
        method: 'POST',
        headers: upstreamHeaders(m.requestId, streaming ? 'text/event-stream' : 'application/json'),
        body,
        signal: ac.signal,
        dispatcher,
      });
    } catch (e) {
      metrics?.upstreamSeconds.observe({ route: kind, status: 'error' }, (performance.now() - t0) / 1000);
      releaseLater(m);
      if (!gone()) {
        logger?.warn('upstream request failed', { requestId: m.requestId, err: e });
        upstreamFailure(res, e);
      }
      return;
    }
    metrics?.upstreamSeconds.observe({ route: kind, status: String(up.statusCode) }, (performance.now() - t0) / 1000);
    const headers = responseHeaders(up.headers, m.requestId);
    const contentType = headers['content-type'] ?? '';

    if (up.statusCode >= 400 || !streaming || !contentType.includes('text/event-stream')) {
      // Whole answer (JSON or an error): small; read it, then answer and settle.
      let buf: Buffer;
      try {
        buf = Buffer.from(await up.body.arrayBuffer());
      } catch (e) {
        releaseLater(m);
        if (!gone()) upstreamFailure(res, e);
        return;
      }
      if (up.statusCode >= 400) {
        releaseLater(m); // the upstream refused or failed: nothing is charged
        res.writeHead(up.statusCode, headers);
        res.end(buf);
        return;
      }
      const parsed = tryJson(buf);
      const usage = (parsed as { usage?: UpstreamUsage } | null)?.usage ?? null;
      m.answer = { status: up.statusCode, contentType: headers['content-type'] ?? 'application/json', body: buf };
      await settledOrTimeout(settleLater(m, usage, () => answerText(parsed), headerCost(up.headers)));
      if (res.destroyed) return;
      res.writeHead(up.statusCode, { ...headers, 'content-length': String(buf.length) });
      res.end(buf);
      return;
    }

    relayStream(res, up.body, m, clientAskedUsage, gone, headers);
  }

  /** SSE pass-through with backpressure; settles on end, on client abort and on mid-stream failure. */
  function relayStream(res: ServerResponse, body: Readable, m: Metered, clientAskedUsage: boolean, clientGone: () => boolean, headers: Record<string, string>): void {
    // The usage chunk we asked for is cut out for a client that did not ask, unless another source meters from
    // what the client records: LibreChat's transactions (source librechat) then carry the upstream's exact usage
    // instead of LibreChat's own estimate (LangChain reads `usage` from any chunk; docs/librechat-integration.md).
    const meter = new SseMeter(!clientAskedUsage && writesLedger);
    res.writeHead(200, { ...headers, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    let done = false;
    let waitingDrain = false;
    const resume = () => {
      waitingDrain = false;
      body.resume();
    };
    // `data: [DONE]` (the last event) is held back until the settlement is durable: see settledOrTimeout.
    let held: Buffer | null = null;
    let relayEnded!: () => void;
    trackActive(new Promise<void>((r) => (relayEnded = r)));
    const finish = (how: 'complete' | 'client_abort' | 'upstream_error'): Promise<void> => {
      if (done) return Promise.resolve();
      done = true;
      relayEnded(); // resolves after this tick: the release / settlement below is in `pending` by then
      if (how === 'upstream_error' && !meter.usage && meter.generatedText() === '') {
        releaseLater(m); // failed before producing anything: charge nothing
        return Promise.resolve();
      }
      // Usage, when it arrived, is final; otherwise the text produced so far is counted (estimated).
      return settleLater(m, meter.usage, () => meter.generatedText(), null);
    };
    body.on('data', (chunk: Buffer) => {
      let out = meter.process(chunk);
      const doneAt = out ? out.indexOf('data: [DONE]') : -1;
      if (out && doneAt !== -1) {
        held = held ? Buffer.concat([held, out.subarray(doneAt)]) : out.subarray(doneAt);
        out = doneAt > 0 ? out.subarray(0, doneAt) : null;
      }
      if (out && !res.write(out) && !waitingDrain) {
        waitingDrain = true;
        body.pause();
        res.once('drain', resume);
      }
    });
    body.on('end', () => {
      const rest = meter.flush();
      const tail = held && rest ? Buffer.concat([held, rest]) : (held ?? rest);
      void settledOrTimeout(finish('complete')).then(() => {
        if (res.destroyed) return;
        if (tail) res.write(tail);
        res.end();
      });
    });
    body.on('error', (e: unknown) => {
      meter.flush();
      if (clientGone()) {
        finish('client_abort');
        return;
      }
      logger?.warn('upstream stream failed mid-answer', { requestId: m.requestId, err: e });
      // An error event the openai client raises as APIError, then a clean end of the SSE response.
      const err = { error: { message: 'O serviço de modelos interrompeu a resposta.', type: 'api_error', code: 'upstream_error' } };
      if (!res.writableEnded && !res.destroyed) res.end(`data: ${JSON.stringify(err)}\n\n`);
      finish('upstream_error');
    });
  }

  // ---------- models (pass-through, cached briefly) ----------

  let modelsCache: { until: number; status: number; body: Buffer; headers: Record<string, string> } | null = null;
  let modelsInflight: Promise<{ status: number; body: Buffer; headers: Record<string, string> }> | null = null;

  async function handleModels(res: ServerResponse): Promise<void> {
    const now = Date.now();
    if (modelsCache && modelsCache.until > now) {
      res.writeHead(modelsCache.status, modelsCache.headers);
      res.end(modelsCache.body);
      return;
    }
    modelsInflight ??= (async () => {
      try {
        const up = await request(upstreamBase + '/v1/models', { method: 'GET', headers: upstreamHeaders(null, 'application/json'), dispatcher });
        const body = Buffer.from(await up.body.arrayBuffer());
        const headers = responseHeaders(up.headers, null);
        if (up.statusCode === 200) modelsCache = { until: Date.now() + modelsCacheMs, status: 200, body, headers };
        return { status: up.statusCode, body, headers };
      } finally {
        modelsInflight = null;
      }
    })();
    try {
      const r = await modelsInflight;
      res.writeHead(r.status, r.headers);
      res.end(r.body);
    } catch (e) {
      logger?.warn('upstream /v1/models failed', { err: e });
      upstreamFailure(res, e);
    }
  }

  // ---------- entry ----------

  const handler = ((req, res, next) => {
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const q = url.indexOf('?');
    let path = q === -1 ? url : url.slice(0, q);
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    if (!path.startsWith('/v1/')) {
      if (next) next();
      else sendError(res, 404, 'not_found', 'Rota não encontrada.');
      return;
    }
    const route = ROUTES[path];
    const kind = route?.kind ?? 'unknown';
    if (metrics) res.once('close', () => metrics.requests.inc({ route: kind, status: String(res.statusCode) }));
    if (!route) {
      req.resume();
      sendError(res, 404, 'not_found', `Rota ${path} não existe neste proxy.`);
      return;
    }
    if (req.method !== route.method) {
      req.resume();
      sendError(res, 405, 'invalid_input', `Use ${route.method} em ${path}.`, { allow: route.method });
      return;
    }
    // The service key first: without it the user headers mean nothing (no spoofing) and no body is read.
    if (!checkKey(req.headers.authorization)) {
      req.resume();
      sendError(res, 401, 'unauthorized', 'Chave de serviço ausente ou inválida (Authorization: Bearer <SOLARIS_PROXY_KEY>).');
      return;
    }
    const work = route.kind === 'models' ? handleModels(res) : handleMetered(req, res, route.kind, path);
    trackActive(work.then(() => undefined, () => undefined));
    work.catch((e: unknown) => {
      logger?.error('proxy request failed', { path, err: e });
      sendError(res, 500, 'internal_error', 'Erro interno do proxy.');
    });
  }) as MeteringProxy;

  handler.drain = async () => {
    while (pending.size) await Promise.allSettled([...pending]);
  };
  handler.close = async () => {
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (active.size && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...active]), new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())).unref())]);
    }
    // Settlements still waiting for a store go on waiting in the engine's queue (engine.close bounds that wait
    // and logs what it leaves): do not hold the shutdown on them here.
    await Promise.race([handler.drain(), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    await ownAgent?.close();
  };
  return handler;
}

/**
 * Streaming bodies get `stream_options.include_usage = true` upstream so usage is exact. When the client
 * sent no stream_options, the field is spliced in after the opening brace, so every other byte (tools,
 * response_format, images) reaches the upstream exactly as the client wrote it.
 */
export function withStreamUsage(raw: Buffer, json: Record<string, unknown>): { body: Buffer; clientAskedUsage: boolean } {
  const so = json.stream_options;
  if (so && typeof so === 'object' && (so as { include_usage?: unknown }).include_usage === true) return { body: raw, clientAskedUsage: true };
  if (so === undefined) {
    const brace = raw.indexOf(0x7b); // '{' (only whitespace / a BOM can precede it in a JSON object)
    return {
      body: Buffer.concat([raw.subarray(0, brace + 1), Buffer.from('"stream_options":{"include_usage":true},'), raw.subarray(brace + 1)]),
      clientAskedUsage: false,
    };
  }
  const merged = { ...json, stream_options: { ...(so && typeof so === 'object' ? so : {}), include_usage: true } };
  return { body: Buffer.from(JSON.stringify(merged)), clientAskedUsage: false };
}

function tryJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
}

function headerCost(headers: Dispatcher.ResponseData['headers']): number | null {
  const v = headers['x-litellm-response-cost'];
  const n = typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : null;
}

function toInt(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}
