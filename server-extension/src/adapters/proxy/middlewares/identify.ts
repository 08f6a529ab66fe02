import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSolarisError } from '../../../core/errors';
import { validateSettle } from '../../../core/validation';
import type { QuotaEngine } from '../../../core/engine';
import type { Logger } from '../../../core/logger';
import { sendError } from '../http-errors';
import { requestIdFor, type Caller } from '../identity';
import { checkRequest, isRefusal, type CheckedRequest } from '../request-check';
import type { MeteredKind } from '../context';

/**
 * The caller, model and request id, checked. Everything the settlement will store is validated here
 * (request-check.ts + a dry run of the settlement's validation), so nothing accepted can fail to be charged
 * later. Returns null when it answered 400.
 */
export function identify(kind: MeteredKind, json: Record<string, unknown>, req: IncomingMessage, res: ServerResponse): { c: CheckedRequest; requestId: string } | null {
  const c = checkRequest(kind, json, req.headers);
  if (isRefusal(c)) {
    sendError(res, c.status, c.code, c.message);
    return null;
  }
  const { caller, model } = c;
  const requestId = requestIdFor(req.headers, caller.userId);
  try {
    validateSettle({ requestId, userId: caller.userId, model, promptTokens: 0, completionTokens: 0, source: 'proxy', conversationId: caller.conversationId, messageId: caller.messageId });
  } catch (e) {
    sendError(res, 400, 'invalid_input', isSolarisError(e) ? e.message : 'Requisição inválida.');
    return null;
  }
  return { c, requestId };
}

/**
 * Keeps the admin's user list fresh (email, last seen), blocked users included. Fire-and-forget and deferred
 * until the reservation is on the wire, so its Postgres round trip overlaps the wait.
 * users_cache is a directory for the admin tab ("last seen" to the minute is plenty): each user is touched at
 * most every 5 minutes per process instead of one Postgres write per request. A throttle, not state: another
 * replica touching the same user again is harmless.
 */
export function createUserTouch(engine: QuotaEngine, track: (p: Promise<void>) => void, debug: Logger | undefined): (caller: Caller) => void {
  const lastTouch = new Map<string, number>();
  const shouldTouch = (userId: string): boolean => {
    const now = Date.now();
    if ((lastTouch.get(userId) ?? 0) + 5 * 60_000 > now) return false;
    if (lastTouch.size > 50_000) lastTouch.clear();
    lastTouch.set(userId, now);
    return true;
  };
  return (caller) => {
    if (!shouldTouch(caller.userId)) return;
    track(
      new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => engine.admin.touchUser({ userId: caller.userId, email: caller.email, emailUnverified: true }))
        .catch((e: unknown) => {
          debug?.debug('touchUser failed', { err: e });
        }),
    );
  };
}
