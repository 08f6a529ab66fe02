import type { ServerResponse } from 'node:http';
import { isSolarisError } from '../../../core/errors';
import { quotaExceededBody, sendError, sendJson } from '../http-errors';
import type { Metered, ProxyContext } from '../context';
import type { Settlement } from '../settlement';

/** What to hold for a request: raw tokens (the engine weighs them with the user's plan). */
export interface HoldAsk {
  /** prompt + the asked completion for every choice. */
  tokens: number;
  /** The least worth holding: the prompt and one token per choice. */
  minTokens: number;
  /** Number of choices the completion limit is shared by. */
  choices: number;
  /** Completion tokens per choice asked for; null: none (embeddings). */
  perChoice: number | null;
}

/**
 * Reserve up to `tokens` (docs/reservation-policy.md). Resolves with the completion limit per choice the hold
 * covers (what the upstream is sent), or null when it answered: 402 (out of quota / too many in flight), the
 * engine's own refusal, or 503 when the store is down and SOLARIS_FAIL_MODE=closed. With the store down and
 * SOLARIS_FAIL_MODE=open the request goes on unmetered (m.metered = false).
 */
export function createReservation(
  ctx: ProxyContext,
  settlement: Settlement,
  storeError: (e: unknown) => Record<string, unknown>,
): (res: ServerResponse, m: Metered, ask: HoldAsk) => Promise<{ perChoice: number | null } | null> {
  const { engine, config, logger, metrics } = ctx;
  return async (res, m, ask) => {
    const { requestId, caller, model, promptEstimate } = m;
    const t0 = performance.now();
    let perChoice = ask.perChoice;
    try {
      const r = await engine.reserve({ userId: caller.userId, requestId, model, tokens: ask.tokens, minTokens: ask.minTokens });
      m.planId = r.balance.planId;
      metrics?.reservationSeconds.observe({ outcome: r.outcome }, (performance.now() - t0) / 1000);
      if (!r.ok) {
        settlement.releaseLater(m); // nothing held; drops the replay claim so a retry runs afresh
        const reason = r.outcome === 'too_many_inflight' ? 'too_many_inflight' : 'quota_exceeded';
        metrics?.blocked.inc({ reason });
        sendJson(res, 402, quotaExceededBody(reason, r.balance, r.estimate, promptEstimate, config.SOLARIS_TIMEZONE), { 'x-solaris-request-id': requestId });
        return null;
      }
      // The hold may be smaller than asked (reserve up to): the upstream gets the limit it covers, per choice.
      if (perChoice !== null) perChoice = Math.max(1, Math.floor((r.tokens - promptEstimate) / ask.choices));
    } catch (e) {
      metrics?.reservationSeconds.observe({ outcome: 'error' }, (performance.now() - t0) / 1000);
      if (isSolarisError(e) && e.code !== 'store_unavailable' && e.code !== 'internal_error') {
        settlement.releaseLater(m);
        sendError(res, e.status, e.code, e.message);
        return null;
      }
      // Postgres / Redis could not answer: the operator chose what happens (SOLARIS_FAIL_MODE).
      if (config.SOLARIS_FAIL_MODE === 'closed') {
        settlement.releaseLater(m);
        logger?.warn('quota store unavailable: request refused (SOLARIS_FAIL_MODE=closed)', { requestId, ...storeError(e) });
        sendError(res, 503, 'store_unavailable', 'O controle de cota está indisponível no momento. Tente de novo em instantes.', { 'retry-after': '5' });
        return null;
      }
      logger?.warn('quota store unavailable: request passed through UNMETERED (SOLARIS_FAIL_MODE=open)', { requestId, userId: caller.userId, ...storeError(e) });
      metrics?.failOpen.inc();
      m.metered = false;
    }
    return { perChoice };
  };
}

/**
 * During a store outage every request logs a line (operators reconcile unmetered ones by id), but the full
 * error (stack) only once a minute: serialising it per request cost more than the request (bench:proxy).
 */
export function createStoreErrorLog(): (e: unknown) => Record<string, unknown> {
  let storeErrorLoggedAt = 0;
  return (e) => {
    const now = Date.now();
    if (now - storeErrorLoggedAt >= 60_000) {
      storeErrorLoggedAt = now;
      return { err: e };
    }
    const x = e as { code?: unknown; message?: unknown } | null;
    return { errCode: x?.code ?? null, errMessage: typeof x?.message === 'string' ? x.message.slice(0, 200) : String(e) };
  };
}
