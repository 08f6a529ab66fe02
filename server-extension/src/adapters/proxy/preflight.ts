import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MeteredKind, Metered, Pre, ProxyContext } from './context';
import { hasIdempotencyKey } from './identity';
import { claimOrReplay, type IdempotencyStore, type ReplayDeps } from './idempotency';
import { estimatePromptTokens } from './tokens';
import type { Settlement } from './settlement';
import type { Tasks } from './tasks';
import { jsonBody } from './middlewares/json-body';
import { createUserTouch, identify } from './middlewares/identify';
import { createReservation, createStoreErrorLog } from './middlewares/reservation';

export interface PreflightOptions {
  maxBody: number;
  touchUsers: boolean;
  idempotency: IdempotencyStore;
}

export type Preflight = (req: IncomingMessage, res: ServerResponse, kind: MeteredKind) => Promise<Pre | null>;

/**
 * The middlewares a metered request passes before the upstream call, in order: body → identity (checks and
 * request id) → estimate → replay guard (Idempotency-Key) → reservation. Resolves null when one of them
 * already answered.
 */
export function createPreflight(ctx: ProxyContext, settlement: Settlement, tasks: Tasks, o: PreflightOptions): Preflight {
  const { engine, config } = ctx;
  const storeError = createStoreErrorLog();
  const touch = createUserTouch(engine, tasks.track, ctx.debug);
  const reserve = createReservation(ctx, settlement, storeError);
  const replayDeps: ReplayDeps = { store: o.idempotency, track: tasks.track, logger: ctx.logger, storeError: (e) => storeError(e), failOpen: config.SOLARIS_FAIL_MODE === 'open' };

  return async (req, res, kind) => {
    const json = await jsonBody(req, res, o.maxBody);
    if (!json) return null;
    const id = identify(kind, json, req, res);
    if (!id) return null;
    const { c, requestId } = id;
    const { caller, model } = c;
    const promptEstimate = estimatePromptTokens(json, model);
    const askedPerChoice = kind === 'embeddings' ? 0 : (c.askedPerChoice ?? config.SOLARIS_DEFAULT_MAX_TOKENS);
    // Raw tokens: the engine weighs them with the user's plan. Reserve up to prompt + the asked completion, as
    // long as the prompt and one token per choice fit (docs/reservation-policy.md).
    const tokens = promptEstimate + askedPerChoice * c.choices;
    const minTokens = promptEstimate + (kind === 'embeddings' ? 0 : c.choices);
    if (o.touchUsers) touch(caller);
    const m: Metered = { kind, requestId, caller, model, promptEstimate, metered: true };
    if (hasIdempotencyKey(req.headers)) {
      const fated = new Promise<'settled' | 'released'>((r) => (m.onFate = r));
      if (!(await claimOrReplay(replayDeps, res, m.requestId, caller.userId, fated, () => m.answer))) return null;
    }
    const turn = ctx.admittedTurn?.(caller.userId, caller.conversationId) ?? null;
    if (turn) {
      // The host's gate holds this turn's tokens: no second hold. When another source charges the turn there is
      // nothing left to do here; when this proxy does, it settles without a hold of its own (as the hook's spends do).
      if (!ctx.writesLedger) m.metered = false;
      const perChoice = kind === 'embeddings' ? null : Math.max(1, Math.min(askedPerChoice, Math.floor(turn.completionTokens / c.choices)));
      return { m, c, json, perChoice };
    }
    const held = await reserve(res, m, { tokens, minTokens, choices: c.choices, perChoice: kind === 'embeddings' ? null : askedPerChoice });
    if (!held) return null;
    return { m, c, json, perChoice: held.perChoice };
  };
}
