import type { ErrorRequestHandler, Response } from 'express';
import type { ApiErrorDTO, ErrorCode } from '@solaris/wire';
import { SolarisError, isSolarisError } from '../../core/errors';
import type { Logger } from '../../core/logger';

/** Turns anything thrown into our error shape. Unknown errors become a bare 500: no SQL, no stack. */
export function toApiError(err: unknown): { status: number; body: ApiErrorDTO } {
  if (isSolarisError(err)) {
    const body: ApiErrorDTO = { error: { code: err.code, message: err.message } };
    if (err.details !== undefined) body.error.details = err.details;
    return { status: err.status, body };
  }
  // body-parser / raw-body errors carry `type` and `status`.
  const e = err as { type?: unknown; status?: unknown } | null;
  if (e && typeof e === 'object') {
    if (e.type === 'entity.too.large') return simple(413, 'payload_too_large', 'Request body is too large');
    if (e.type === 'entity.parse.failed') return simple(400, 'invalid_input', 'Request body is not valid JSON');
    if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') return simple(400, 'invalid_input', 'Unsupported body encoding');
    if (e.type === 'request.aborted') return simple(400, 'invalid_input', 'Request aborted');
    // Other client errors raised by express itself (e.g. a path parameter with broken %-encoding: URIError,
    // status 400) are the caller's fault, not ours: a 4xx, never a 500.
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return simple(400, 'invalid_input', 'Malformed request');
  }
  // Postgres data exceptions (SQLSTATE class 22: NUL byte, impossible date, out-of-range number) come from a value
  // the caller sent that slipped past validation: a 400, and the SQL text stays in our logs.
  const sqlState = (err as { code?: unknown } | null)?.code;
  if (typeof sqlState === 'string' && /^22[0-9A-Z]{3}$/.test(sqlState)) return simple(400, 'invalid_input', 'A value in the request is not valid');
  if (isOutage(err)) return simple(503, 'store_unavailable', 'Serviço temporariamente indisponível / storage unavailable, try again');
  return simple(500, 'internal_error', 'Internal error');
}

// Postgres / Redis unreachable (vs. a bug): the client may retry. pg SQLSTATE 57P0x = shutdown, 53300 = too many connections.
const OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', '57P01', '57P02', '57P03', '53300']);
function isOutage(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && OUTAGE_CODES.has(e.code)) return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  return typeof e.message === 'string' && /Connection is closed|Connection terminated|timeout exceeded when trying to connect/i.test(e.message);
}

function simple(status: number, code: ErrorCode, message: string) {
  return { status, body: { error: { code, message } } satisfies ApiErrorDTO };
}

export function sendError(res: Response, err: unknown): void {
  const { status, body } = toApiError(err);
  if (res.headersSent) {
    res.destroy(); // mid-stream (CSV): the client sees a truncated download, never a half-JSON
    return;
  }
  if (status === 429 && isSolarisError(err) && typeof (err.details as { retryAfterSeconds?: number })?.retryAfterSeconds === 'number') {
    res.setHeader('Retry-After', String((err.details as { retryAfterSeconds: number }).retryAfterSeconds));
  }
  res.status(status).setHeader('Cache-Control', 'no-store').json(body);
}

export function errorHandler(logger?: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { status } = toApiError(err);
    if (status >= 500) logger?.error('api request failed', { method: req.method, path: req.path, error: err });
    sendError(res, err);
  };
}

export const notFound = (message = 'Route not found') => new SolarisError('not_found', message);
