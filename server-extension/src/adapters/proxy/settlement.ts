import type { ProxyContext, Metered } from './context';
import type { UpstreamUsage } from './sse-meter';
import { countTextTokens } from './tokens';

/** Longest the end of an answer waits for its settlement (see settledOrTimeout). */
const ACK_WAIT_MS = 3_000;

/**
 * The fate of every reservation, decided exactly once per request (Metered.fated): settled (something was
 * served: charged once) or released (nothing charged). Both run after the answer and are tracked, so drain()
 * waits for them.
 */
export interface Settlement {
  /** `outputText` is only called when the upstream reported no usage (it may parse the whole answer). */
  settleLater(m: Metered, usage: UpstreamUsage | null, outputText: () => string, reportedCost: number | null): Promise<void>;
  releaseLater(m: Metered): void;
}

export function createSettlement(ctx: ProxyContext, track: (p: Promise<void>) => void): Settlement {
  const { engine, logger } = ctx;

  const releaseHold = (m: Metered): Promise<void> =>
    engine.release(m.requestId, m.caller.userId).then(
      () => undefined,
      (e: unknown) => {
        logger?.warn('proxy release failed; the reservation will expire by itself', { requestId: m.requestId, err: e });
      },
    );

  async function settleOrQueue(m: Metered, usage: UpstreamUsage | null, outputText: () => string, reportedCost: number | null): Promise<void> {
    if (!ctx.writesLedger) {
      // Another source (LibreChat's Transaction hook, or LiteLLM's webhook) writes this request's ledger row:
      // the proxy only gated it. Free the hold; that source settles the real usage (never counted twice).
      await releaseHold(m);
      return;
    }
    await settleQueued(ctx, m, usage, outputText, reportedCost);
  }

  return {
    settleLater(m, usage, outputText, reportedCost) {
      fate(m, 'settled');
      if (!m.metered) return Promise.resolve();
      const p = settleOrQueue(m, usage, outputText, reportedCost);
      track(p);
      return p;
    },
    releaseLater(m) {
      fate(m, 'released');
      if (!m.metered) return;
      track(releaseHold(m));
    },
  };
}

/** Charges what was served: the upstream's usage when it reported it, else the estimate (prompt) and the counted answer. */
async function settleQueued(ctx: ProxyContext, m: Metered, usage: UpstreamUsage | null, outputText: () => string, reportedCost: number | null): Promise<void> {
  const { engine, logger, metrics, debug } = ctx;
  const hasUsage = usage != null && typeof usage.prompt_tokens === 'number';
  const promptTokens = hasUsage ? toInt(usage.prompt_tokens) : m.promptEstimate;
  const completionTokens = hasUsage
    ? toInt(usage.completion_tokens ?? Math.max(0, (usage.total_tokens ?? 0) - (usage.prompt_tokens ?? 0)))
    : m.kind === 'embeddings'
      ? 0
      : countTextTokens(outputText(), m.model);
  const cost = reportedCost ?? (typeof usage?.cost === 'number' && Number.isFinite(usage.cost) && usage.cost >= 0 ? usage.cost : null);
  // Never dropped: a settlement no store can take now waits in the engine's queue and is retried until it
  // lands (docs/architecture.md, "One outbox"). Only a refusal for good (bad input) ends here.
  try {
    const r = await engine.settleQueued({
      requestId: m.requestId,
      userId: m.caller.userId,
      model: m.model,
      promptTokens,
      completionTokens,
      reportedCost: cost,
      source: 'proxy',
      estimated: !hasUsage,
      conversationId: m.caller.conversationId,
      messageId: m.caller.messageId,
      planId: m.planId,
    });
    if (!r.duplicate && metrics) {
      metrics.tokens.inc({ kind: 'prompt' }, promptTokens);
      metrics.tokens.inc({ kind: 'completion' }, completionTokens);
      metrics.tokens.inc({ kind: 'weighted' }, r.entry.weightedTokens);
    }
    debug?.debug('proxy settled', { requestId: m.requestId, userId: m.caller.userId, promptTokens, completionTokens, estimated: !hasUsage });
  } catch (e) {
    metrics?.settleErrors.inc();
    logger?.error('proxy settlement refused; the reservation will expire by itself', { requestId: m.requestId, userId: m.caller.userId, err: e });
  }
}

function fate(m: Metered, f: 'settled' | 'released'): void {
  if (m.fated) return;
  m.fated = true;
  m.onFate?.(f);
}

/**
 * The client's last byte is the acknowledgement: it is sent only once the settlement is durable (ledger,
 * or the Redis outbox while Postgres is down), so a proxy killed at any moment never loses a request its
 * client saw complete. Bounded: a store that cannot answer in ACK_WAIT_MS does not hold the answer back
 * (the settlement keeps waiting in the engine's queue). See docs/architecture.md "Reliability guarantees".
 */
export function settledOrTimeout(p: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((r) => {
    timer = setTimeout(r, ACK_WAIT_MS);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function toInt(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}
