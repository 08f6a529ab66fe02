import type { ServerResponse } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';
import { sendError } from './http-errors';

const FORWARDED_RESPONSE_HEADER = /^x-litellm-|^openai-/;

export interface UpstreamOptions {
  /** Base URL without a trailing slash or `/v1`. */
  base: string;
  apiKey?: string;
  /** Headers / body timeout of the own Agent (SOLARIS_UPSTREAM_TIMEOUT_MS). */
  timeout: number;
  /** undici dispatcher for upstream calls. Default: an own keep-alive Agent with `timeout`. */
  dispatcher?: Dispatcher;
}

/** The LiteLLM side: one keep-alive connection pool, the headers it is sent and the headers passed back. */
export interface Upstream {
  /** POSTs a metered request (`path` is the client's, e.g. /v1/chat/completions). */
  post(path: string, requestId: string, streaming: boolean, body: Buffer, signal: AbortSignal): Promise<Dispatcher.ResponseData>;
  get(path: string): Promise<Dispatcher.ResponseData>;
  /** The upstream headers the client gets (LiteLLM's / OpenAI's own, the content type, our request id). */
  responseHeaders(up: Dispatcher.ResponseData['headers'], requestId: string | null): Record<string, string>;
  /** Closes the own Agent (a dispatcher passed in belongs to the caller). */
  close(): Promise<void>;
}

export function createUpstream(o: UpstreamOptions): Upstream {
  const { base, apiKey, timeout } = o;
  const ownAgent = o.dispatcher
    ? null
    : new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: timeout, bodyTimeout: timeout, pipelining: 1 });
  const dispatcher: Dispatcher = o.dispatcher ?? ownAgent!;

  const headers = (requestId: string | null, accept: string): Record<string, string> => {
    const h: Record<string, string> = { 'content-type': 'application/json', accept };
    if (apiKey) h.authorization = `Bearer ${apiKey}`;
    // LiteLLM logs under the call id it is given, so its logs, spend rows and our ledger share one id.
    if (requestId) {
      h['x-litellm-call-id'] = requestId;
      h['x-request-id'] = requestId;
    }
    return h;
  };

  return {
    post: (path, requestId, streaming, body, signal) =>
      request(base + path, {
        method: 'POST',
        headers: headers(requestId, streaming ? 'text/event-stream' : 'application/json'),
        body,
        signal,
        dispatcher,
      }),
    get: (path) => request(base + path, { method: 'GET', headers: headers(null, 'application/json'), dispatcher }),
    responseHeaders(up, requestId) {
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(up)) {
        if (typeof v === 'string' && FORWARDED_RESPONSE_HEADER.test(k)) h[k] = v;
      }
      const ct = up['content-type'];
      h['content-type'] = typeof ct === 'string' ? ct : 'application/json';
      if (requestId) h['x-solaris-request-id'] = requestId;
      return h;
    },
    async close() {
      await ownAgent?.close();
    },
  };
}

/** The upstream could not be reached or did not answer in time: 504 on a timeout, 502 otherwise. */
export function upstreamFailure(res: ServerResponse, e: unknown): void {
  const code = (e as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    sendError(res, 504, 'upstream_error', 'O modelo demorou demais para responder (tempo esgotado).');
  } else {
    sendError(res, 502, 'upstream_error', 'Não foi possível contatar o serviço de modelos (LiteLLM).');
  }
}

/** The cost LiteLLM reports for the call (x-litellm-response-cost), when it is a usable number. */
export function headerCost(headers: Dispatcher.ResponseData['headers']): number | null {
  const v = headers['x-litellm-response-cost'];
  const n = typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : null;
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
