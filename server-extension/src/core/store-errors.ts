/** Postgres could not be reached (vs. a bad row or a bug): connection refused / reset / timed out, shutting down, no slots. */
export function isPostgresUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN'].includes(e.code)) return true;
    // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown / cannot connect now), 53300 (too many connections).
    if (/^08...$/.test(e.code) || /^57P0[123]$/.test(e.code) || e.code === '53300') return true;
  }
  return typeof e.message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(e.message);
}

/** Redis could not be reached (refused, reset, closed, timed out, offline queue off): not an answer of Redis. */
export function isRedisUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(e.code)) return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  return (
    typeof e.message === 'string' &&
    /Connection is closed|Command timed out|enableOfflineQueue|Stream isn't writeable|Reached the max retries|LOADING|connect ECONNREFUSED/i.test(e.message)
  );
}

/**
 * A settlement no retry can land: our own refusal of its input (4xx), or Postgres refusing the row itself
 * (SQLSTATE class 22 data exception, 23 integrity violation). Everything else — outages, timeouts, a bug that
 * may be fixed by a restart — is worth another try.
 */
export function isPermanentFailure(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown; name?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'SolarisError' && typeof e.status === 'number') return e.status < 500;
  return typeof e.code === 'string' && /^2[23][0-9A-Z]{3}$/.test(e.code);
}
