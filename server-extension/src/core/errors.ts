import type { ErrorCode } from '@solaris/wire';

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  quota_exceeded: 402,
  too_many_inflight: 402,
  unknown_request: 404,
  conflict: 409,
  rate_limited: 429,
  payload_too_large: 413,
  store_unavailable: 503,
  upstream_error: 502,
  internal_error: 500,
  invalid_max_tokens: 400,
  json_too_deep: 400,
  json_too_large: 400,
  idempotency_in_flight: 409,
  idempotency_key_reused: 409,
};

/** Every error we raise on purpose: a machine-readable code, an HTTP status and a human message. */
export class SolarisError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'SolarisError';
    this.code = code;
    this.status = STATUS[code];
    this.details = details;
  }
}

export const invalid = (message: string, details?: unknown) => new SolarisError('invalid_input', message, details);

export function isSolarisError(e: unknown): e is SolarisError {
  return e instanceof SolarisError;
}
