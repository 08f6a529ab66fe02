import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

/**
 * An OpenAI / LiteLLM-compatible fake model server. Runtime code: the demo answers with it when
 * LITELLM_URL is unset, and the tests and the benchmark use it as the upstream fixture.
 *
 * Behaves like LiteLLM where the proxy depends on it: SSE `chat.completion.chunk`s, a usage-only chunk
 * (`choices: []`) before `[DONE]` only when `stream_options.include_usage` is set (other chunks then carry
 * `usage: null`), `x-litellm-call-id` (echoing the caller's when given) and `x-litellm-response-cost` on
 * non-streamed answers, `/v1/models`, `/v1/embeddings` (float or base64), `/health/liveliness`.
 */
export type FakeMode =
  | 'normal'
  /** Never sends usage (neither in the stream nor in JSON answers). */
  | 'no-usage'
  /** Streams: cuts the connection after half of the chunks. JSON answers: cuts before answering. */
  | 'fail-mid-stream'
  /** Answers 400 with an OpenAI-shaped error. */
  | 'error-4xx'
  /** Answers 500 with an OpenAI-shaped error. */
  | 'error-5xx'
  /** Like normal, plus `usage.cost` in the stream's usage chunk (LiteLLM include_cost_in_streaming_usage). */
  | 'stream-cost'
  /** Streams end with the usage chunk even when the caller did not ask (providers that always report usage). */
  | 'usage-always';

export interface FakeUpstreamOptions {
  port?: number;
  host?: string;
  /** Delay between SSE chunks. Default 0. */
  chunkDelayMs?: number;
  /** Content chunks per answer (each one "token"). Default 20. */
  chunks?: number;
  mode?: FakeMode;
  /** Keep every request in `requests` (tests). Default true; the benchmark turns it off. */
  record?: boolean;
  /** Cost (USD) reported in x-litellm-response-cost / usage.cost. Default: 1e-6 per token. */
  costPerToken?: number;
  /**
   * Stop at the request's `max_completion_tokens` / `max_tokens`, as OpenAI and LiteLLM do. Default false: the
   * fake always writes `chunks` tokens, the worst case (an upstream that overruns what the proxy reserved).
   */
  honourMaxTokens?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** Body exactly as received. */
  raw: string;
  json: Record<string, unknown> | null;
}

/** One answer the fake served, with the usage it counted (reported to the caller or not). */
export interface ServedAnswer {
  path: string;
  model: string;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  /** Whether the usage reached the caller (JSON `usage`, or the stream's usage chunk). */
  usageReported: boolean;
  /** The caller's `user` field (LibreChat sends its user id), when present. */
  user: string | null;
  /** The call id it answered under (the caller's `x-litellm-call-id`, e.g. the proxy's request id). */
  callId: string;
}

export interface FakeUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Every completed answer and the tokens it served (kept when `record` is on). */
  served: ServedAnswer[];
  /** Streams the client (the proxy) hung up on before their end. */
  stats: { streamsAborted: number };
  /** Live options: tests switch `mode` / `chunkDelayMs` between requests. */
  options: Required<Omit<FakeUpstreamOptions, 'port' | 'host'>>;
  close(): Promise<void>;
}

const MODELS = ['fake-model', 'gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'];

/** Deterministic "tokenizer" of the fake: ~4 characters a token, 3 per message. */
export function fakePromptTokens(json: Record<string, unknown> | null): number {
  if (!json) return 0;
  let chars = 0;
  let framing = 0;
  if (Array.isArray(json.messages)) {
    for (const m of json.messages as Array<{ content?: unknown }>) {
      framing += 3;
      if (typeof m?.content === 'string') chars += m.content.length;
      else if (Array.isArray(m?.content)) for (const p of m.content as Array<{ text?: unknown }>) if (typeof p?.text === 'string') chars += p.text.length;
    }
  }
  for (const k of ['prompt', 'input'] as const) {
    const v = json[k];
    if (typeof v === 'string') chars += v.length;
    else if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') chars += s.length;
  }
  return framing + Math.ceil(chars / 4);
}

function lastUserText(json: Record<string, unknown> | null): string {
  const msgs = Array.isArray(json?.messages) ? (json.messages as Array<{ role?: unknown; content?: unknown }>) : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (!m || typeof m !== 'object') continue;
    if (m.role === 'user' && typeof m.content === 'string') return m.content;
    if (m.role === 'user' && Array.isArray(m.content)) {
      const t = (m.content as Array<{ text?: unknown }>).map((p) => (typeof p?.text === 'string' ? p.text : '')).join(' ');
      if (t.trim()) return t;
    }
  }
  return typeof json?.prompt === 'string' ? json.prompt : '';
}

/** The completion limit a request names (`max_completion_tokens`, else `max_tokens`), or null. */
export function askedLimit(json: Record<string, unknown> | null): number | null {
  const asked = json?.max_completion_tokens ?? json?.max_tokens;
  return typeof asked === 'number' && Number.isInteger(asked) && asked > 0 ? asked : null;
}

/** How many completion tokens the fake writes for this request (its `max_*tokens` when it honours them). */
export function fakeCompletionTokens(json: Record<string, unknown> | null, options: { chunks: number; honourMaxTokens: boolean }): number {
  if (!options.honourMaxTokens || !json) return options.chunks;
  const asked = askedLimit(json);
  return asked !== null ? Math.min(options.chunks, asked) : options.chunks;
}

/** A chat-like reply (pt-BR) in exactly `n` pieces: each piece is one "token" of the fake. */
export function replyPieces(json: Record<string, unknown> | null, n: number): string[] {
  const asked = lastUserText(json).replace(/\s+/g, ' ').trim().slice(0, 60);
  const base = (
    `Olá! Sou o modelo de demonstração do IA SOLARIS. ${asked ? `Você perguntou: "${asked}". ` : ''}` +
    'Esta resposta é gerada localmente, sem custo, para mostrar o contador de tokens, o extrato e os avisos de cota em ação. ' +
    'Configure LITELLM_URL para conversar com um modelo de verdade.'
  ).split(' ');
  const pieces: string[] = [];
  for (let i = 0; i < n; i++) pieces.push((i === 0 ? '' : ' ') + (base[i % base.length] ?? '…'));
  return pieces;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers });
  res.end(payload);
}

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const options: FakeUpstream['options'] = {
    chunkDelayMs: opts.chunkDelayMs ?? 0,
    chunks: opts.chunks ?? 20,
    mode: opts.mode ?? 'normal',
    record: opts.record ?? true,
    costPerToken: opts.costPerToken ?? 0.000001,
    honourMaxTokens: opts.honourMaxTokens ?? false,
  };
  const requests: RecordedRequest[] = [];
  const served: ServedAnswer[] = [];
  const recordServed = (path: string, json: Record<string, unknown>, stream: boolean, promptTokens: number, completionTokens: number, usageReported: boolean, callId: string) => {
    if (!options.record) return;
    const user = typeof json.user === 'string' ? json.user : null;
    served.push({ path, model: String(json.model), stream, promptTokens, completionTokens, usageReported, user, callId });
  };
  const stats = { streamsAborted: 0 };

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!.replace(/^\/v1(?=\/)/, '');
    const raw = req.method === 'POST' ? await readBody(req) : '';
    let json: Record<string, unknown> | null;
    try {
      json = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
    } catch {
      json = null;
    }
    if (options.record) requests.push({ method: req.method ?? 'GET', path, headers: req.headers, raw, json });

    if (path === '/health/liveliness' || path === '/health/readiness') return sendJson(res, 200, "I'm alive!");
    if (path === '/models' && req.method === 'GET') {
      return sendJson(res, 200, { object: 'list', data: MODELS.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'solaris-fake' })) });
    }
    if (req.method !== 'POST' || !['/chat/completions', '/completions', '/embeddings'].includes(path)) {
      return sendJson(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'not_found_error', code: '404' } });
    }
    if (!json || typeof json.model !== 'string') {
      return sendJson(res, 400, { error: { message: 'model is required', type: 'invalid_request_error', code: '400' } });
    }
    // Like OpenAI / LiteLLM: chat messages must be objects with a role (a 400, never a crash of the fake).
    if (path === '/chat/completions') {
      const msgs = json.messages;
      if (!Array.isArray(msgs) || msgs.some((m) => !m || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string')) {
        return sendJson(res, 400, { error: { message: 'messages must be an array of objects with a role', type: 'invalid_request_error', code: '400', param: 'messages' } });
      }
    }
    const mode = options.mode;
    if (mode === 'error-4xx') {
      return sendJson(res, 400, { error: { message: 'Fake upstream: invalid request (simulated 400).', type: 'invalid_request_error', code: 'bad_request', param: null } });
    }
    if (mode === 'error-5xx') {
      return sendJson(res, 500, { error: { message: 'Fake upstream: provider failure (simulated 500).', type: 'api_error', code: 'internal_error', param: null } });
    }
    const callId = (typeof req.headers['x-litellm-call-id'] === 'string' && req.headers['x-litellm-call-id']) || randomUUID();
    const promptTokens = fakePromptTokens(json);

    if (path === '/embeddings') return embeddings(res, json, promptTokens, callId);

    const isChat = path === '/chat/completions';
    const pieces = replyPieces(json, fakeCompletionTokens(json, options));
    const completionTokens = pieces.length;
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const cost = Number(((promptTokens + completionTokens) * options.costPerToken).toFixed(10));
    const id = `${isChat ? 'chatcmpl' : 'cmpl'}-${callId.slice(0, 12)}`;
    const created = Math.floor(Date.now() / 1000);
    const model = json.model;

    if (json.stream !== true) {
      if (mode === 'fail-mid-stream') return void res.destroy();
      const text = pieces.join('');
      const body: Record<string, unknown> = isChat
        ? { id, object: 'chat.completion', created, model, choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }] }
        : { id, object: 'text_completion', created, model, choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }] };
      if (mode !== 'no-usage') body.usage = usage;
      recordServed(path, json, false, promptTokens, completionTokens, mode !== 'no-usage', callId);
      return sendJson(res, 200, body, { 'x-litellm-call-id': callId, 'x-litellm-response-cost': String(cost), 'x-litellm-model-id': 'fake' });
    }

    const includeUsage = mode === 'usage-always' || (mode !== 'no-usage' && (json.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-litellm-call-id': callId });
    let aborted = false;
    res.once('close', () => {
      aborted = !res.writableFinished;
      if (aborted) stats.streamsAborted++;
    });
    const extra = includeUsage ? { usage: null } : {};
    const chunk = (choice: Record<string, unknown>) =>
      `data: ${JSON.stringify({ id, object: isChat ? 'chat.completion.chunk' : 'text_completion', created, model, choices: [{ index: 0, ...choice }], ...extra })}\n\n`;
    if (isChat) res.write(chunk({ delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }));
    const failAt = mode === 'fail-mid-stream' ? Math.floor(pieces.length / 2) : -1;
    for (let i = 0; i < pieces.length; i++) {
      if (options.chunkDelayMs > 0) await sleep(options.chunkDelayMs);
      if (aborted) return;
      if (i === failAt) return void res.destroy();
      res.write(isChat ? chunk({ delta: { content: pieces[i] }, logprobs: null, finish_reason: null }) : chunk({ text: pieces[i], logprobs: null, finish_reason: null }));
    }
    res.write(isChat ? chunk({ delta: {}, logprobs: null, finish_reason: 'stop' }) : chunk({ text: '', logprobs: null, finish_reason: 'stop' }));
    if (includeUsage) {
      const u = mode === 'stream-cost' ? { ...usage, cost } : usage;
      res.write(`data: ${JSON.stringify({ id, object: isChat ? 'chat.completion.chunk' : 'text_completion', created, model, choices: [], usage: u })}\n\n`);
    }
    res.end('data: [DONE]\n\n');
    recordServed(path, json, true, promptTokens, completionTokens, includeUsage, callId);
  }

  function embeddings(res: ServerResponse, json: Record<string, unknown>, promptTokens: number, callId: string): void {
    const inputs = Array.isArray(json.input) ? json.input : [json.input];
    const base64 = json.encoding_format === 'base64';
    const data = inputs.map((_, index) => {
      const vec = Float32Array.from({ length: 8 }, (_v, k) => Math.sin(index + k + 1));
      return { object: 'embedding', index, embedding: base64 ? Buffer.from(vec.buffer).toString('base64') : Array.from(vec) };
    });
    const body: Record<string, unknown> = { object: 'list', data, model: json.model };
    if (options.mode !== 'no-usage') body.usage = { prompt_tokens: promptTokens, total_tokens: promptTokens };
    const cost = Number((promptTokens * options.costPerToken).toFixed(10));
    sendJson(res, 200, body, { 'x-litellm-call-id': callId, 'x-litellm-response-cost': String(cost) });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    served,
    stats,
    options,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
