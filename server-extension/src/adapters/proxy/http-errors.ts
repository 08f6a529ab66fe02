import type { ServerResponse } from 'node:http';
import type { BalanceDTO, ErrorCode, QuotaExceededBody } from '@solaris/wire';
import { coreFormats } from '@solaris/wire/format';

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

const ptBR = coreFormats('pt-BR');
/** Friendly pt-BR names of zones, said after a time: "01/01/2027, 00:00 (horário de Brasília)". Same as the widget's. */
const ZONE_NAMES_PT: Record<string, string> = { 'America/Sao_Paulo': 'horário de Brasília' };

/**
 * "dd/mm/aaaa, hh:mm" of an instant in an IANA zone (the quota period's, `BalanceDTO.timeZone`), through
 * the shared formatter (`@solaris/wire/format`); a zone Intl does not know falls back to the process's.
 * Used by every 402 message (proxy, gate).
 */
export function formatResetPtBr(iso: string, timeZone: string): string {
  const zone = ZONE_NAMES_PT[timeZone];
  return zone ? `${ptBR.dateTime(iso, timeZone)} (${zone})` : ptBR.dateTime(iso, timeZone);
}

type Refusal = 'quota_exceeded' | 'too_many_inflight';

/**
 * The words of a refusal, by who refuses: the metering proxy (an API caller reads them) and the LibreChat gate
 * (LibreChat's client shows its own line; the message reaches API callers of LibreChat's agents routes).
 */
const REFUSAL_TEXT: Record<'proxy' | 'gate', Record<Refusal, (b: BalanceDTO, when: string) => string>> = {
  proxy: {
    too_many_inflight: () => 'Há muitas respostas em andamento ao mesmo tempo. Aguarde uma terminar e tente de novo.',
    quota_exceeded: (b, when) => `Você usou ${ptBR.percent(b.percent)} da sua cota de tokens deste período. Ela renova em ${when}.`,
  },
  gate: {
    too_many_inflight: () => 'Há respostas demais em andamento ao mesmo tempo. Aguarde uma terminar e tente de novo.',
    quota_exceeded: (_b, when) => `Sua cota de tokens deste período acabou. Ela será renovada em ${when}.`,
  },
};

/**
 * The flat 402 body LibreChat's client renders as its own "Insufficient funds" error (`type: 'token_balance'`
 * and no `code`: any other would make it show the raw JSON). The LibreChat gate sends exactly this.
 */
export function flatQuotaExceededBody(
  reason: Refusal,
  balance: BalanceDTO,
  tokenCost: number,
  promptTokens: number,
  timeZone: string,
  by: 'proxy' | 'gate' = 'gate',
): QuotaExceededBody {
  const resetAt = balance.periodEnd;
  const message = REFUSAL_TEXT[by][reason](balance, formatResetPtBr(resetAt, timeZone));
  return { type: 'token_balance', balance: Math.max(0, balance.remaining), tokenCost, promptTokens, reason, message, resetAt, percentUsed: balance.percent };
}

/**
 * The 402 of a request the metering proxy refused. Three audiences:
 * - LibreChat's UI: it scans the error text for the first balanced JSON object and renders its own
 *   "Insufficient funds" line when that object has `type: 'token_balance'`. Through a custom endpoint
 *   that text is "<status> <error.message>" as raised by the openai client, so `error.message` carries
 *   the flat token_balance JSON (and no other braces before it);
 * - a gate/direct caller reading the body: the same fields flat at the top level (QuotaExceededBody);
 * - any OpenAI client: the `error` object.
 */
export function quotaExceededBody(reason: Refusal, balance: BalanceDTO, tokenCost: number, promptTokens: number, timeZone: string): QuotaExceededBody & OpenAIErrorBody {
  const body = flatQuotaExceededBody(reason, balance, tokenCost, promptTokens, timeZone, 'proxy');
  const flat = { type: body.type, balance: body.balance, tokenCost, promptTokens };
  return { ...body, error: { message: `${body.message} ${JSON.stringify(flat)}`, type: 'insufficient_quota', code: reason } };
}
