import { DEFAULT_WARN_PERCENT, type BalanceDTO, type LedgerEntryDTO, type MeteringSource, type PeriodKind } from '@solaris/wire';

/** Raw counter state of one user in the current period, as a store sees it. */
export interface CounterState {
  userId: string;
  planId: string | null;
  periodKind: PeriodKind;
  periodKey: string;
  periodStart: number; // ms
  periodEnd: number; // ms (exclusive)
  limit: number;
  granted: number;
  used: number;
  reserved: number;
  /** Thresholds already fired this period (persisted in threshold_notifications). */
  fired: number[];
  /** The user's own cap (already applied to `limit`), when they set one. */
  personalCap?: number | null;
  /** The user's own warning percentage, when they chose one. */
  warnPercent?: number | null;
}

export interface ReserveInput {
  userId: string;
  /** Idempotency key of the request: reserving the same id twice holds once. */
  requestId: string;
  /** Weighted tokens to hold (prompt estimate + max completion, times the model weight). */
  estimate: number;
  /**
   * "Reserve up to" (docs/reservation-policy.md): when given (≤ estimate), the store holds min(estimate,
   * available) as long as `minimum` fits, in the same atomic step. Absent: all of `estimate` or nothing.
   */
  minimum?: number;
}

export type ReserveOutcome = 'reserved' | 'already_reserved' | 'quota_exceeded' | 'too_many_inflight';

export interface ReserveResult {
  ok: boolean;
  outcome: ReserveOutcome;
  state: CounterState;
  /** Weighted tokens held for this request (already_reserved: the existing hold); refused: the estimate. */
  held: number;
}

/** What one metered request cost. Tokens are raw; `weightedTokens` already has the model weight. */
export interface Settlement {
  requestId: string;
  userId: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  weightedTokens: number;
  cost: number;
  source: MeteringSource;
  estimated: boolean;
  conversationId?: string | null;
  messageId?: string | null;
  /** What the spend was for, when the source says ('message', 'title', …): shown in the statement. */
  context?: string | null;
  /** When the usage happened (ms). Decides the period. Default: the engine clock. */
  occurredAt: number;
  /**
   * Another hold of this user that the settlement ends (the LibreChat gate's `lcgate:` hold of the turn, whose id
   * differs from the spend's): freed by the settle step itself, also when it is a replay, so a turn needs no
   * separate release (docs/architecture.md, "Chat path").
   */
  release?: string | null;
}

export interface SettleResult {
  /** true when this request id was already in the ledger: nothing moved. */
  duplicate: boolean;
  entry: LedgerEntryDTO;
  state: CounterState;
  /** true when Postgres was down and the row waits in the ledger outbox (written later; `entry.id` is ''). */
  buffered?: boolean;
  /**
   * true when the row was acknowledged from the user's Redis outbox (SOLARIS_SETTLE_ACK=outbox): the drainer
   * writes it to the ledger moments later and emits its `ledger` event; `entry.id` is ''.
   */
  deferred?: boolean;
}

/**
 * The hot counter. Implementations: RedisQuotaStore (Lua) and PostgresQuotaStore (SQL); both pass
 * server-extension/test/quota-store.contract.ts. `now` is passed in by the engine (injected clock).
 */
export interface QuotaStore {
  readonly kind: 'redis' | 'postgres';
  reserve(input: ReserveInput, now: number): Promise<ReserveResult>;
  /** Durable (ledger row committed) and idempotent on requestId before it resolves. */
  settle(s: Settlement, now: number): Promise<SettleResult>;
  /** Frees a reservation without charging. false when it was unknown (already settled, released or expired). */
  release(requestId: string, userId: string, now: number): Promise<boolean>;
  state(userId: string, now: number): Promise<CounterState>;
  /** Drop cached state after an admin change (limit, plan, grant, reset): the next call rebuilds it. */
  invalidate(userId: string): Promise<void>;
  /** Record that a threshold fired (the engine persists it first). */
  markFired(userId: string, periodKey: string, threshold: number): Promise<void>;
  /** Optional: opens what the first request would (connections, scripts), so it does not pay for it. Never required. */
  warmUp?(): Promise<void>;
  close(): Promise<void>;
}

/** Turn a counter into the wire balance. `timeZone`: the deployment's (SOLARIS_TIMEZONE), the zone its periods follow. */
export function toBalance(s: CounterState, thresholds: number[], timeZone: string): BalanceDTO {
  const capacity = s.limit + s.granted;
  // Percent and state follow *settled* usage (what the user really spent); open reservations only
  // shrink `remaining`, so a burst of in-flight requests does not flash the warning modal.
  const usedPercent = usedPercentOf(s);
  const percent = Math.round(usedPercent * 10) / 10;
  const warnAt = thresholds[0] ?? DEFAULT_WARN_PERCENT;
  const state = usedPercent >= 100 || capacity - s.used <= 0 ? 'blocked' : usedPercent >= warnAt ? 'warning' : 'ok';
  return {
    userId: s.userId,
    planId: s.planId,
    periodKind: s.periodKind,
    periodKey: s.periodKey,
    periodStart: isoOf(s.periodStart),
    periodEnd: isoOf(s.periodEnd),
    timeZone,
    limit: s.limit,
    granted: s.granted,
    used: s.used,
    reserved: s.reserved,
    remaining: capacity - s.used - s.reserved,
    percent,
    state,
    thresholds,
  };
}

/**
 * Period bounds as ISO strings. Every balance carries two, and nearly every user shares the same few bounds
 * (this month, this week, today): formatting a Date each time was ~2 % of the engine's CPU in bench:quota.
 */
const isoCache = new Map<number, string>();
function isoOf(ms: number): string {
  let s = isoCache.get(ms);
  if (s === undefined) {
    if (isoCache.size >= 256) isoCache.clear();
    s = new Date(ms).toISOString();
    isoCache.set(ms, s);
  }
  return s;
}

export function usedPercentOf(s: Pick<CounterState, 'limit' | 'granted' | 'used'>): number {
  const capacity = s.limit + s.granted;
  return capacity > 0 ? (s.used / capacity) * 100 : s.used > 0 ? 100 : 0;
}
