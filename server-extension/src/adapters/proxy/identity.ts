import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Constant-time check of `Authorization: Bearer <key>`. Both sides are hashed first so the comparison
 * takes the same time whatever the length of the presented key.
 */
export function createServiceKeyCheck(serviceKey: string): (authorization: string | undefined) => boolean {
  const expected = sha256(serviceKey);
  return (authorization) => {
    if (!authorization) return false;
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (!m) return false;
    return timingSafeEqual(sha256(m[1]!.trim()), expected);
  };
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  if (typeof s !== 'string') return null;
  const t = s.trim();
  // LibreChat leaves a placeholder unresolved when it has no value (e.g. no conversation yet).
  if (t === '' || /^\{\{[A-Z_]+\}\}$/.test(t)) return null;
  return t;
}

export interface Caller {
  userId: string;
  email: string | null;
  conversationId: string | null;
  messageId: string | null;
}

/** The end user: X-Solaris-User-Id (LibreChat's {{LIBRECHAT_USER_ID}}), else the OpenAI `user` field. */
export function readCaller(headers: IncomingHttpHeaders, body: Record<string, unknown> | null): Caller | null {
  const fromBody = typeof body?.user === 'string' && body.user.trim() !== '' ? body.user.trim() : null;
  const userId = header(headers, 'x-solaris-user-id') ?? fromBody;
  if (!userId) return null;
  return {
    userId,
    email: header(headers, 'x-solaris-user-email'),
    conversationId: header(headers, 'x-solaris-conversation-id'),
    messageId: header(headers, 'x-solaris-message-id'),
  };
}

/**
 * The request id the reservation, the ledger row and the upstream call (`x-litellm-call-id`) share.
 * A client retry that repeats `Idempotency-Key` / `X-Solaris-Request-Id` maps to the same id, so the
 * retry is charged once. The key is namespaced by user (hashed into UUID form) so one user's key can
 * never collide with another user's ledger row.
 */
/** Whether the client named its request (Idempotency-Key / X-Solaris-Request-Id): a repeat must not be served twice. */
export function hasIdempotencyKey(headers: IncomingHttpHeaders): boolean {
  return (header(headers, 'idempotency-key') ?? header(headers, 'x-solaris-request-id')) !== null;
}

export function requestIdFor(headers: IncomingHttpHeaders, userId: string): string {
  const key = header(headers, 'idempotency-key') ?? header(headers, 'x-solaris-request-id');
  if (!key) return randomUUID();
  const h = createHash('sha256').update(userId).update('\0').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
