import type { ServerResponse } from 'node:http';
import type { BalanceDTO, ErrorCode, QuotaExceededBody } from '@solaris/wire';

/** OpenAI-shaped error body `{error: {message, type, code}}`: what every OpenAI client already parses. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param?: string | null };
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  502: 'api_error',
  503: 'api_error',
  504: 'api_error',
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

export function openAIError(status: number, code: ErrorCode | string, message: string): OpenAIErrorBody {
  return { error: { message, type: TYPE_BY_STATUS[status] ?? 'api_error', code } };
}

export function sendError(res: ServerResponse, status: number, code: ErrorCode | string, message: string, headers?: Record<string, string>): void {
  sendJson(res, status, openAIError(status, code, message), headers);
}

const resetFormats = new Map<string, Intl.DateTimeFormat>();
/**
 * "dd/mm/aaaa hh:mm" of an instant in an IANA zone (the quota period's, `BalanceDTO.timeZone`), one formatter
 * per zone; a zone Intl does not know falls back to the process's. Used by every 402 message (proxy, gate).
 */
export function formatResetPtBr(iso: string, timeZone: string): string {
  let fmt = resetFormats.get(timeZone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('pt-BR', { dateStyle: 'short', timeStyle: 'short', timeZone });
    } catch {
      fmt = new Intl.DateTimeFormat('pt-BR', { dateStyle: 'short', timeStyle: 'short' });
    }
    resetFormats.set(timeZone, fmt);
  }
  return fmt.format(new Date(iso));
}

/**
 * The 402 of a refused request. Three audiences:
 * - LibreChat's UI: it scans the error text for the first balanced JSON object and renders its own
 *   "Insufficient funds" line when that object has `type: 'token_balance'`. Through a custom endpoint
 *   that text is "<status> <error.message>" as raised by the openai client, so `error.message` carries
 *   the flat token_balance JSON (and no other braces before it);
 * - a gate/direct caller reading the body: the same fields flat at the top level (QuotaExceededBody);
 * - any OpenAI client: the `error` object.
 */
export function quotaExceededBody(
  reason: 'quota_exceeded' | 'too_many_inflight',
  balance: BalanceDTO,
  tokenCost: number,
  promptTokens: number,
  timeZone: string,
): QuotaExceededBody & OpenAIErrorBody {
  const resetAt = balance.periodEnd;
  const when = formatResetPtBr(resetAt, timeZone);
  const message =
    reason === 'too_many_inflight'
      ? 'Há respostas demais em andamento para este usuário. Aguarde uma terminar e tente de novo.'
      : `Sua cota de tokens deste período acabou (${balance.percent}% usado). Ela renova em ${when}.`;
  const flat = { type: 'token_balance' as const, balance: Math.max(0, balance.remaining), tokenCost, promptTokens };
  return {
    ...flat,
    reason,
    message,
    resetAt,
    percentUsed: balance.percent,
    error: { message: `${message} ${JSON.stringify(flat)}`, type: 'insufficient_quota', code: reason },
  };
}
