import { EventEmitter } from 'node:events';
import type {
  BalanceDTO,
  BlockedEventDTO,
  LedgerEntryDTO,
  MeteringSource,
  QuotaRequestEventDTO,
  QuotaRequestDecidedEventDTO,
  StatementPageDTO,
  StatementQuery,
  ThresholdEventDTO,
} from '@solaris/wire';
import type { Database } from './db';
import type { SolarisConfig } from './config';
import { systemClock, type Clock } from './clock';
import { invalid } from './errors';
import { Pricing } from './pricing';
import { readStatementJson } from './ledger';
import { toBalance, usedPercentOf, type CounterState, type QuotaStore, type ReserveOutcome } from './quota-store';
import { validateReserve, validateSettle, validateUserId } from './validation';
import { AdminService } from './admin';
import { PlanWeights } from './plan-weights';
import type { Logger } from './logger';

/** Events the engine emits after each state change; the realtime adapter forwards them to socket rooms. */
export interface EngineEvents {
  balance: [BalanceDTO];
  threshold: [ThresholdEventDTO];
  ledger: [{ userId: string; entry: LedgerEntryDTO }];
  blocked: [BlockedEventDTO];
  /** A quota request was opened (admins' room; core/quota-requests.ts). */
  request: [QuotaRequestEventDTO];
  /** A quota request was approved/denied (the requester's room). */
  request_decided: [QuotaRequestDecidedEventDTO];
}

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
}

export interface ReserveResponse {
  ok: boolean;
  outcome: ReserveOutcome;
  balance: BalanceDTO;
  /** The weighted tokens held (or that did not fit). */
  estimate: number;
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
  /** Default: the engine clock. */
  occurredAt?: number;
  /**
   * The plan the request was reserved under (ReserveResponse.balance.planId): its model weights apply. When
   * absent and some plan weights this model itself, the engine reads the user's counter for the plan.
   */
  planId?: string | null;
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
    const byPlan = this.planWeights.forModel(model);
    // The usual case — fresh tables, no plan weighs this model — is synchronous: no promise on the hot path.
    if (!(byPlan instanceof Promise) && byPlan.size === 0) return this.pricing.weighted(model, tokens);
    return this.weighWithPlan(userId, model, tokens, planId, now, byPlan);
  }

  private async weighWithPlan(
    userId: string,
    model: string,
    tokens: number,
    planId: string | null | undefined,
    now: number,
    pending: ReadonlyMap<string, number> | Promise<ReadonlyMap<string, number>>,
  ): Promise<number> {
    const byPlan = await pending;
    if (byPlan.size === 0) return this.pricing.weighted(model, tokens);
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
    return this.pricing.weighted(model, tokens, plan == null ? undefined : byPlan.get(plan));
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

  /** Pre-flight: hold `estimate` tokens or refuse. A refusal emits `blocked` for the user's modal. */
  async reserve(req: ReserveRequest): Promise<ReserveResponse> {
    validateReserve(req);
    const now = this.clock();
    let estimate = req.estimate!;
    if (req.model !== undefined && req.tokens !== undefined) {
      const w = this.weigh(req.userId, req.model, req.tokens, undefined, now);
      estimate = typeof w === 'number' ? w : await w;
    }
    const r = await this.store.reserve({ userId: req.userId, requestId: req.requestId, estimate }, now);
    const balance = this.toBalance(r.state);
    if (!r.ok) {
      this.events.emit('blocked', { userId: req.userId, reason: r.outcome === 'too_many_inflight' ? 'too_many_inflight' : 'quota_exceeded', balance });
    } else if (r.outcome === 'reserved') {
      this.events.emit('balance', balance);
    }
    return { ok: r.ok, outcome: r.outcome, balance, estimate };
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
        occurredAt: req.occurredAt ?? now,
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
    // The counter read runs alongside the totals query (readStatementJson needs the limit for the page query).
    return readStatementJson(this.db.pool, userId, query, this.store.state(userId, this.clock()).then((s) => s.limit));
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
