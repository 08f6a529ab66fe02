/** Error bodies of our REST endpoints, and the 402 of a refused request. */

/** Error body of every REST endpoint of ours (4xx/5xx). */
export interface ApiErrorDTO {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export const ERROR_CODES = [
  'invalid_input',
  'unauthorized',
  'forbidden',
  'not_found',
  'quota_exceeded',
  'too_many_inflight',
  'unknown_request',
  'conflict',
  'rate_limited',
  'payload_too_large',
  'store_unavailable',
  'upstream_error',
  'internal_error',
  // Metering proxy input rules (docs/reservation-policy.md).
  'invalid_max_tokens',
  'json_too_deep',
  'json_too_large',
  'idempotency_in_flight',
  'idempotency_key_reused',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * 402 body of a refused request (gate and proxy). Flat `type: 'token_balance'` fields make LibreChat
 * render its own localized "Insufficient funds" line; the rest is ours (and OpenAI-shaped `error`).
 */
export interface QuotaExceededBody {
  type: 'token_balance';
  balance: number;
  tokenCost: number;
  promptTokens: number;
  /**
   * Why it was refused. Not named `code`: LibreChat's client picks its error text by `json.code || json.type`, so
   * any `code` other than 'token_balance' would make it show the raw JSON instead of its "Insufficient Funds" line.
   */
  reason: 'quota_exceeded' | 'too_many_inflight';
  message: string; // pt-BR
  resetAt: string; // ISO-8601
  percentUsed: number;
}
