import winston from 'winston';

// Keys whose values never reach a log line, wherever they are nested.
const SECRET_KEY = /authorization|cookie|secret|password|passwd|token$|api[-_]?key|master[-_]?key|jwt/i;
const MAX_DEPTH = 6;

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: scrubText(value.message), code: (value as { code?: unknown }).code };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEY.test(k) && v != null && v !== '' ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

// Also scrub secrets that end up inside strings (messages, error texts, URLs): bearer tokens, JWTs,
// sk-style API keys and the password of a connection string (postgres://user:password@host).
const BEARER = /(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b/g;
const API_KEY = /\bsk-[A-Za-z0-9_-]{16,}/g;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]+@/gi;
export function scrubText(s: string): string {
  if (s.length < 8) return s;
  return s
    .replace(BEARER, '$1[redacted]')
    .replace(JWT, '[redacted-jwt]')
    .replace(API_KEY, '[redacted-key]')
    .replace(URL_PASSWORD, '$1[redacted]@');
}

const redactFormat = winston.format((info) => {
  const redacted = redact({ ...info }) as winston.Logform.TransformableInfo;
  if (typeof redacted.message === 'string') redacted.message = scrubText(redacted.message);
  // winston keeps level/message under symbols too; copy them back.
  for (const sym of Object.getOwnPropertySymbols(info)) (redacted as unknown as Record<symbol, unknown>)[sym] = (info as unknown as Record<symbol, unknown>)[sym];
  return redacted;
});

export type Logger = winston.Logger;

/** Structured JSON logs (one object a line) with secrets redacted. */
export function createLogger(opts: { level?: string; service?: string; stream?: NodeJS.WritableStream } = {}): Logger {
  return winston.createLogger({
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    defaultMeta: { service: opts.service ?? 'solaris' },
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [
      opts.stream
        ? new winston.transports.Stream({ stream: opts.stream })
        : new winston.transports.Console({ stderrLevels: ['error', 'warn'] }),
    ],
  });
}
