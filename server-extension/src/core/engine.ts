import { EventEmitter } from 'node:events';
import type { BalanceDTO, LedgerEntryDTO, MeteringSource, StatementPageDTO, StatementQuery } from '@solaris/wire';
import type { Database } from './db';
import type { SolarisConfig } from './config';
import { systemClock, type Clock } from './clock';
import { invalid } from './errors';
import { Pricing } from './pricing';
import { readStatementJson } from './statement';
import { toBalance, usedPercentOf, type CounterState, type QuotaStore, type ReserveOutcome } from './quota-store';
import { validateReserve, validateSettle, validateUserId } from './validation';
import { AdminService } from './admin';
import type { EngineEvents } from './engine-events';
import { PlanWeights } from './plan-weights';
import type { Logger } from './logger';
import { RetryQueue } from './retry-queue';
import { isPermanentFailure } from './store-errors';

export type { EngineEvents } from './engine-events';

export interface ReserveRequest {
  userId: string;
  requestId: string;
  /**
   * Raw tokens to hold (prompt estimate + max completion) for `model`: the engine weighs them with the user's
   * plan (its own model weights beat the deployment table). Preferred over `estimate`.
   */
  model?: string;
  tokens?: number;
  /** Or: weighted tokens to hold, already weighted by the caller (deployment weights only). */
  estimate?: number;
  /**
   * "Reserve up to" (with model + tokens; docs/reservation-policy.md): the raw tokens that must fit (the prompt
   * and one completion token per choice). The hold is then up to `tokens`, as much as is available; the
   * response's `tokens` says how many raw tokens it covers. Absent: all of `tokens` or nothing.
   */
  minTokens?: number;
}

export interface ReserveResponse {
  ok: boolean;
  outcome: ReserveOutcome;
  balance: BalanceDTO;
  /** The weighted tokens held (or that did not fit). */
  estimate: number;
  /** Raw tokens the hold covers (≤ the request's `tokens`; reserve-up-to may hold less). Refused: what was asked. */
  tokens: number;
}

export interface SettleRequest {
  requestId: string;
  userId: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** Cost reported by the upstream (USD); when absent the price table decides. */
  reportedCost?: number | null;
  source: MeteringSource;
  estimated?: boolean;
  conversationId?: string | null;
  messageId?: string | null;
  /** What the spend was for, when the source says ('message', 'title', …): the statement names title generations. */
  context?: string | null;
  /** Default: the engine clock. */
  occurredAt?: number;
  /**
   * The plan the request was reserved under (ReserveResponse.balance.planId): its model weights apply. When
   * absent and some plan weights this model itself, the engine reads the user's counter for the plan.
   */
  planId?: string | null;
  /**
   * The hold this settlement ends when its id is not `requestId` (the LibreChat gate reserves a turn as
   * `lcgate:<uuid>`, its spend settles as `lc:<transaction id>`): freed by the store's settle step itself.
   */
  releaseRequestId?: string | null;
}

export interface SettleResponse {
  duplicate: boolean;
  entry: LedgerEntryDTO;
  balance: BalanceDTO;
}

export interface EngineOptions {
  config: SolarisConfig;
  db: Database;
  store: QuotaStore;
  clock?: Clock;
  logger?: Logger;
}

/**
 * The facade every adapter (proxy, LibreChat gate and hook, REST API, webhook, CLI) calls.
 * Holds no per-user state: counters live in the store (Redis or Postgres), records in Postgres.
 */
export class QuotaEngine {
  readonly events = new EventEmitter<EngineEvents>();
  readonly pricing: Pricing;
  readonly admin: AdminService;
  readonly thresholds: number[];
  readonly clock: Clock;
  readonly config: SolarisConfig;
  readonly db: Database;
  readonly store: QuotaStore;
  readonly planWeights: PlanWeights;
  /**
   * Settlements neither store could take yet (docs/architecture.md, "One outbox"): adapters settle through
   * `settleQueued`, which never drops one — it waits here, retried with the one back-off, until it lands.
   */
  readonly settlements: RetryQueue<SettleRequest, SettleResponse>;
  private readonly logger?: Logger;

  constructor(opts: EngineOptions) {
    this.config = opts.config;
    this.db = opts.db;
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger;
    this.thresholds = opts.config.SOLARIS_THRESHOLDS;
    this.pricing = new Pricing(opts.config.SOLARIS_MODEL_WEIGHTS, opts.config.SOLARIS_PRICES);
    this.planWeights = new PlanWeights(opts.db.pool, { logger: opts.logger });
    this.admin = new AdminService(this);
    this.events.setMaxListeners(50);
    this.settlements = new RetryQueue<SettleRequest, SettleResponse>({
      name: 'settlements',
      write: async ([req]) => [await this.settle(req!)],
      permanent: isPermanentFailure,
      logger: opts.logger,
      describe: (r) => `${r.source}:${r.userId}:${r.requestId}`,
    });
  }

  /**
   * (prompt estimate + max completion) × the DEPLOYMENT weight of the model (SOLARIS_MODEL_WEIGHTS). A plan's own
   * weights are applied by reserve({model, tokens}), which callers should prefer.
   */
  estimateWeighted(model: string, promptTokens: number, maxCompletionTokens?: number | null): number {
    const completion = maxCompletionTokens ?? this.config.SOLARIS_DEFAULT_MAX_TOKENS;
    return this.pricing.weighted(model, Math.max(0, promptTokens) + Math.max(0, completion));
  }

  /**
   * Weighted tokens for `tokens` of `model` charged to this user: the plan's own weight when their plan has one
   * for the model, else the deployment table's. The plan is only looked up (`planId` given, else the counter)
   * when some plan weights this model itself — otherwise this is the deployment weight, with no I/O.
   */
  private weigh(userId: string, model: string, tokens: number, planId: string | null | undefined, now: number): number | Promise<number> {
    const w = this.weightOf(userId, model, planId, now);
    return typeof w === 'number' ? this.pricing.weighted(model, tokens, w) : w.then((x) => this.pricing.weighted(model, tokens, x));
  }

  /** The multiplier of `model` for this user: their plan's own weight, else the deployment table's (see weigh). */
  private weightOf(userId: string, model: string, planId: string | null | undefined, now: number): number | Promise<number> {
    const byPlan = this.planWeights.forModel(model);
    // The usual case — fresh tables, no plan weighs this model — is synchronous: no promise on the hot path.
    if (!(byPlan instanceof Promise) && byPlan.size === 0) return this.pricing.weight(model);
    return this.weightWithPlan(userId, model, planId, now, byPlan);
  }

  private async weightWithPlan(
    userId: string,
    model: string,
    planId: string | null | undefined,
    now: number,
    pending: ReadonlyMap<string, number> | Promise<ReadonlyMap<string, number>>,
  ): Promise<number> {
    const byPlan = await pending;
    if (byPlan.size === 0) return this.pricing.weight(model);
    let plan = planId;
    if (plan === undefined) {
      try {
        plan = (await this.store.state(userId, now)).planId;
      } catch (e) {
        // The counter could not be read (store outage): charge the deployment weight rather than lose the request.
        this.logger?.warn('plan unknown for weighting: deployment weight used', { userId, model, err: e });
        plan = null;
      }
    }
    return (plan == null ? undefined : byPlan.get(plan)) ?? this.pricing.weight(model);
  }

  toBalance(state: CounterState): BalanceDTO {
    // Every BalanceDTO (REST, socket events, admin DTOs, webhooks) is built here: it carries the deployment zone.
    const balance = toBalance(state, this.thresholdsFor(state), this.config.SOLARIS_TIMEZONE);
    // Personal settings are additive fields: present only when the user chose them.
    if (state.personalCap != null) balance.personalCap = state.personalCap;
    if (state.warnPercent != null) balance.warnPercent = state.warnPercent;
    return balance;
  }

  /**
   * The deployment thresholds, or — when the user chose their own warning percentage — that percentage
   * followed by the deployment thresholds above it (the lowest one is the warning modal).
   */
  thresholdsFor(state: Pick<CounterState, 'warnPercent'>): number[] {
    const warn = state.warnPercent;
    if (warn == null) return this.thresholds;
    return [warn, ...this.thresholds.filter((t) => t > warn)];
  }

  async balance(userId: string): Promise<BalanceDTO> {
    validateUserId(userId);
    return this.toBalance(await this.store.state(userId, this.clock()));
  }

  /** Pre-flight: hold `estimate` tokens (or, reserving up to, as many as fit) or refuse. A refusal emits `blocked`. */
  async reserve(req: ReserveRequest): Promise<ReserveResponse> {
    validateReserve(req);
    const now = this.clock();
    let estimate = req.estimate!;
    let minimum: number | undefined;
    let weight = 1;
    if (req.model !== undefined && req.tokens !== undefined) {
      const w = this.weightOf(req.userId, req.model, undefined, now);
      weight = typeof w === 'number' ? w : await w;
      estimate = this.pricing.weighted(req.model, req.tokens, weight);
      if (req.minTokens !== undefined) minimum = Math.min(estimate, this.pricing.weighted(req.model, Math.min(req.minTokens, req.tokens), weight));
    }
    const r = await this.store.reserve({ userId: req.userId, requestId: req.requestId, estimate, ...(minimum !== undefined ? { minimum } : {}) }, now);
    const balance = this.toBalance(r.state);
    // No `balance` event for a hold: percent and state follow settled usage (toBalance), and the turn's settlement
    // pushes the balance once the hold is over (docs/architecture.md, "Chat path").
    if (!r.ok) {
      this.events.emit('blocked', { userId: req.userId, reason: r.outcome === 'too_many_inflight' ? 'too_many_inflight' : 'quota_exceeded', balance });
    }
    const raw = req.tokens ?? r.held;
    const tokens = !r.ok || r.held >= estimate || req.model === undefined ? raw : this.rawWithin(req.model, raw, r.held, weight);
    return { ok: r.ok, outcome: r.outcome, balance, estimate: r.ok ? r.held : estimate, tokens };
  }

  /** The most raw tokens (≤ max) whose weighted charge fits in `held`. */
  private rawWithin(model: string, max: number, held: number, weight: number): number {
    let n = Math.min(max, Math.floor(held / weight));
    while (n > 0 && this.pricing.weighted(model, n, weight) > held) n--;
    while (n < max && this.pricing.weighted(model, n + 1, weight) <= held) n++;
    return n;
  }

  async release(requestId: string, userId: string): Promise<boolean> {
    validateUserId(userId);
    if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 200) throw invalid('requestId must be 1-200 characters');
    const released = await this.store.release(requestId, userId, this.clock());
    if (released) this.events.emit('balance', await this.balance(userId));
    return released;
  }

  /** Records the real usage: ledger row (durable, idempotent) → counter → thresholds → events. */
  async settle(req: SettleRequest): Promise<SettleResponse> {
    validateSettle(req);
    const total = req.promptTokens + req.completionTokens;
    const now = this.clock();
    const w = this.weigh(req.userId, req.model, total, req.planId, now);
    const weightedTokens = typeof w === 'number' ? w : await w;
    const r = await this.store.settle(
      {
        requestId: req.requestId,
        userId: req.userId,
        model: req.model,
        promptTokens: req.promptTokens,
        completionTokens: req.completionTokens,
        weightedTokens,
        cost: this.pricing.cost(req.model, req.promptTokens, req.completionTokens, req.reportedCost),
        source: req.source,
        estimated: req.estimated ?? false,
        conversationId: req.conversationId ?? null,
        messageId: req.messageId ?? null,
        context: req.context ?? null,
        occurredAt: req.occurredAt ?? now,
        ...(req.releaseRequestId ? { release: req.releaseRequestId } : {}),
      },
      now,
    );
    const balance = this.toBalance(r.state);
    if (!r.duplicate) {
      const entry = { ...r.entry, balanceAfter: balance.remaining + balance.reserved };
      // Deferred (outbox ack): the drainer emits `ledger` once the row is in Postgres, so a statement
      // refetched on that event shows it.
      if (!r.deferred) this.events.emit('ledger', { userId: req.userId, entry });
      this.events.emit('balance', balance);
      // Buffered (Postgres down): threshold_notifications cannot be written now; the next settlement fires them.
      if (r.deferred) {
        // Outbox ack: the settlement is recorded and counted already; Postgres being down must not turn that
        // into an error for the caller. The next settlement fires what was missed (fired-once by primary key).
        await this.fireThresholds(r.state, balance).catch((e: unknown) => {
          this.logger?.warn('thresholds not fired now (will be at the next settlement)', { userId: req.userId, err: e });
        });
      } else if (!r.buffered) await this.fireThresholds(r.state, balance);
      return { duplicate: false, entry, balance };
    }
    return { duplicate: true, entry: r.entry, balance };
  }

  /**
   * `settle`, but never lost to a store outage: the settlement waits in `settlements` and is retried until it
   * lands (its time is fixed now, so a late write charges the period it happened in). Rejects only when it is
   * refused for good (invalid input, a row Postgres can never store).
   */
  settleQueued(req: SettleRequest): Promise<SettleResponse> {
    return this.settlements.push({ ...req, occurredAt: req.occurredAt ?? this.clock() });
  }

  /** Fires each crossed threshold once per user and period (the primary key of threshold_notifications decides). */
  private async fireThresholds(state: CounterState, balance: BalanceDTO): Promise<void> {
    const pct = usedPercentOf(state);
    const crossed = balance.thresholds.filter((t) => pct >= t && !state.fired.includes(t));
    for (const threshold of crossed) {
      const { rows } = await this.db.pool.query<{ created_at: Date }>(
        `INSERT INTO threshold_notifications (user_id, period_key, threshold) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING created_at`,
        [state.userId, state.periodKey, threshold],
      );
      await this.store.markFired(state.userId, state.periodKey, threshold);
      if (rows.length === 1) {
        this.logger?.info('threshold crossed', { userId: state.userId, threshold, periodKey: state.periodKey });
        const firedAt = rows[0]!.created_at.toISOString();
        this.events.emit('threshold', { userId: state.userId, threshold, periodKey: state.periodKey, firedAt, balance });
      }
    }
  }

  async statement(userId: string, query: StatementQuery): Promise<StatementPageDTO> {
    return JSON.parse(await this.statementJson(userId, query)) as StatementPageDTO;
  }

  /** The same page as the JSON text of a StatementPageDTO, as Postgres built it (what the HTTP API sends). */
  async statementJson(userId: string, query: StatementQuery): Promise<string> {
    validateUserId(userId);
    return readStatementJson(this.db.pool, userId, query, { now: this.clock(), timeZone: this.config.SOLARIS_TIMEZONE });
  }

  /**
   * Opens, during the host's start-up, what the first chat would otherwise open: two Postgres connections, the
   * plan-weight table, the store's scripts. Never throws (a store that is down is the first request's business).
   */
  async warmUp(): Promise<void> {
    await Promise.allSettled([
      this.db.pool.query('SELECT 1'),
      this.db.pool.query('SELECT 1'),
      Promise.resolve(this.planWeights.forModel('')),
      this.store.warmUp?.(),
    ]);
  }

  async close(): Promise<void> {
    await this.settlements.close();
    await this.store.close();
  }
}
