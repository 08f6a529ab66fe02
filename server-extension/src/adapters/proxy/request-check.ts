import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isWellFormed, toWellFormed } from '../../core/text';
import { readCaller, type Caller } from './identity';

/**
 * The pre-flight's input rules (docs/reservation-policy.md). Everything the settlement will store and everything
 * the upstream will obey is validated and normalised here, BEFORE the reservation and the upstream call: nothing
 * the proxy has accepted can make its settlement fail, and the upstream is sent exactly the limit we reserved
 * for (one field, a number), never a value a lax upstream reads differently from us.
 */

export type RouteKind = 'chat' | 'completions' | 'embeddings';

export interface Refusal {
  status: 400;
  code: string;
  message: string;
}

export interface CheckedRequest {
  model: string;
  caller: Caller;
  streaming: boolean;
  /** Choices generated per request (`n`, or `best_of` on completions): each may use the completion limit. */
  choices: number;
  /** The completion tokens per choice the client asked for (the smaller of both fields), or null. */
  askedPerChoice: number | null;
  /** The field the limit is forwarded in. */
  limitField: 'max_tokens' | 'max_completion_tokens' | null;
}

/** The largest completion limit accepted (no model answers more; the quota engine refuses far less anyway). */
export const MAX_COMPLETION_LIMIT = 1_000_000;
const MAX_CHOICES = 128;
/** Longest conversation / message id stored as given (the ledger's limit); longer ones are stored hashed. */
const MAX_ID = 200;

const refuse = (code: string, message: string): Refusal => ({ status: 400, code, message });

/**
 * A conversation or message id as the ledger can store it: as given when it is ≤ 200 well-formed characters
 * without control characters, else `sha256:<hex>` of it — stable (the same conversation groups together on the
 * statement), never refused: LibreChat fills these headers from the request body, which a client chooses.
 */
export function normaliseLabel(id: string | null): string | null {
  if (id == null) return null;
  // eslint-disable-next-line no-control-regex
  if (id.length <= MAX_ID && isWellFormed(id) && !/[\u0000-\u001f\u007f]/.test(id)) return id;
  return `sha256:${createHash('sha256').update(toWellFormed(id), 'utf8').digest('hex')}`;
}

function positiveInt(v: unknown, max: number): number | null | 'bad' {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) return 'bad';
  return v;
}

/** Validates a parsed body (already shape-checked: checkJsonShape) and the caller; returns what the pre-flight needs. */
export function checkRequest(kind: RouteKind, json: Record<string, unknown>, headers: IncomingHttpHeaders): CheckedRequest | Refusal {
  const model = json.model;
  // NUL cannot be stored in the ledger; a lone surrogate would not be the model the upstream was asked for.
  if (typeof model !== 'string' || model.trim() === '' || model.length > 200 || model.includes('\u0000') || !isWellFormed(model)) {
    return refuse('invalid_input', 'Informe o campo "model" (texto de até 200 caracteres).');
  }
  // A chat without a list of messages, each an object with a role, can never be answered (OpenAI and LiteLLM
  // answer 400): refuse it before holding any quota, with our code.
  const msgs = json.messages;
  if (
    kind === 'chat' &&
    (!Array.isArray(msgs) ||
      msgs.length === 0 ||
      msgs.some((m) => !m || typeof m !== 'object' || Array.isArray(m) || typeof (m as { role?: unknown }).role !== 'string'))
  ) {
    return refuse('invalid_input', 'Informe "messages": uma lista não vazia de mensagens, cada uma com "role".');
  }
  // `stream: "true"` would make a lax upstream stream an answer we then read as JSON (and count as empty).
  if (json.stream !== undefined && json.stream !== null && typeof json.stream !== 'boolean') {
    return refuse('invalid_input', 'O campo "stream" deve ser true ou false.');
  }
  const so = json.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) {
    return refuse('invalid_input', 'O campo "stream_options" deve ser um objeto.');
  }
  const limits: Array<['max_tokens' | 'max_completion_tokens', number]> = [];
  for (const field of ['max_completion_tokens', 'max_tokens'] as const) {
    if (kind === 'embeddings') break;
    const v = positiveInt(json[field], MAX_COMPLETION_LIMIT);
    if (v === 'bad') return refuse('invalid_max_tokens', `O campo "${field}" deve ser um número inteiro entre 1 e ${MAX_COMPLETION_LIMIT}.`);
    if (v !== null) limits.push([field, v]);
  }
  if (kind === 'completions' && json.max_completion_tokens != null) {
    return refuse('invalid_max_tokens', 'Use "max_tokens" em /v1/completions.');
  }
  let choices = 1;
  for (const field of ['n', 'best_of'] as const) {
    if (kind === 'embeddings' || (field === 'best_of' && kind !== 'completions')) continue;
    const v = positiveInt(json[field], MAX_CHOICES);
    if (v === 'bad') return refuse('invalid_input', `O campo "${field}" deve ser um número inteiro entre 1 e ${MAX_CHOICES}.`);
    if (v !== null) choices = Math.max(choices, v);
  }
  const raw = readCaller(headers, json);
  if (!raw) return refuse('invalid_input', 'Usuário não identificado: envie o cabeçalho X-Solaris-User-Id ou o campo "user".');
  if (raw.userId.length > 128 || raw.userId.includes('\u0000') || !isWellFormed(raw.userId)) {
    return refuse('invalid_input', 'O identificador do usuário deve ter até 128 caracteres válidos.');
  }
  const caller: Caller = { ...raw, conversationId: normaliseLabel(raw.conversationId), messageId: normaliseLabel(raw.messageId) };
  // Both fields given: the smaller one is the limit, and the only one forwarded.
  limits.sort((a, b) => a[1] - b[1]);
  const asked = limits[0] ?? null;
  return {
    model,
    caller,
    streaming: kind !== 'embeddings' && json.stream === true,
    choices,
    askedPerChoice: asked ? asked[1] : null,
    limitField: kind === 'embeddings' ? null : asked ? asked[0] : kind === 'completions' || !usesCompletionField(model) ? 'max_tokens' : 'max_completion_tokens',
  };
}

/** Reasoning models refuse `max_tokens` upstream (OpenAI): they get `max_completion_tokens`. */
function usesCompletionField(model: string): boolean {
  return /^(o\d|gpt-5)/.test(model.toLowerCase().replace(/^.*\//, ''));
}

export const isRefusal = (r: CheckedRequest | Refusal): r is Refusal => (r as Refusal).status === 400;

/**
 * The body sent upstream, serialised from the parsed (validated) object: duplicate keys or other bytes a lax
 * parser could read differently from ours do not survive. The completion limit is ONE field holding the
 * tokens per choice the reservation covers; a streaming request asks for usage (exact settlement).
 */
export function upstreamBody(json: Record<string, unknown>, c: CheckedRequest, perChoice: number | null): { body: Buffer; clientAskedUsage: boolean } {
  const out: Record<string, unknown> = { ...json };
  delete out.max_tokens;
  delete out.max_completion_tokens;
  if (c.limitField && perChoice !== null) out[c.limitField] = perChoice;
  let clientAskedUsage = false;
  if (c.streaming) {
    const so = (json.stream_options ?? {}) as Record<string, unknown>;
    clientAskedUsage = so.include_usage === true;
    out.stream_options = { ...so, include_usage: true };
  }
  return { body: Buffer.from(JSON.stringify(out)), clientAskedUsage };
}
