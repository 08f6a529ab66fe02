/**
 * Plugin log lines: one JSON object a line on stderr (LibreChat's own logs go through its winston logger).
 * Secrets never reach here: callers pass messages and ids only. Repeated identical errors are throttled so a
 * Postgres or Redis outage logs one clear line a minute, not one per request.
 */
const lastSeen = new Map<string, number>();
const THROTTLE_MS = 60_000;

function write(level: 'error' | 'warn' | 'info', message: string, meta?: Record<string, unknown>): void {
  if (level === 'info' && process.env.SOLARIS_QUIET === 'true') return;
  const line = JSON.stringify({ level, service: 'solaris-librechat', message, ...meta, timestamp: new Date().toISOString() });
  process.stderr.write(line + '\n');
}

export const log = {
  info: (message: string, meta?: Record<string, unknown>) => write('info', message, meta),
  warn: (message: string, meta?: Record<string, unknown>) => write('warn', message, meta),
  error: (message: string, meta?: Record<string, unknown>) => write('error', message, meta),
  /** Logs `message` at most once a minute per key. */
  errorOnce(key: string, message: string, meta?: Record<string, unknown>) {
    const now = Date.now();
    if ((lastSeen.get(key) ?? 0) + THROTTLE_MS > now) return;
    lastSeen.set(key, now);
    write('error', message, meta);
  },
};

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
