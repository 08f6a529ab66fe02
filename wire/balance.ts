/** A user's balance and the ledger rows it is made of: the DTOs of GET /me, /balance and every balance event. */

export type PeriodKind = 'month' | 'week' | 'day';
export type QuotaState = 'ok' | 'warning' | 'blocked';
export type MeteringSource = 'proxy' | 'librechat' | 'litellm';

/** A user's position in the current period. Token amounts are *weighted* tokens (model weight applied). */
export interface BalanceDTO {
  userId: string;
  planId: string | null;
  periodKind: PeriodKind;
  periodKey: string; // e.g. '2026-11', '2026-W48', '2026-11-27'
  periodStart: string; // ISO-8601
  periodEnd: string; // ISO-8601 (exclusive): the moment the quota resets
  /**
   * IANA zone of the deployment (SOLARIS_TIMEZONE, e.g. 'America/Sao_Paulo'): periods are calendar
   * months/weeks/days there, so clients show periodEnd and statement dates in it, not the browser's zone.
   * Always set by the server; a client talking to an older server treats it as optional.
   */
  timeZone: string;
  limit: number; // plan limit or per-user override
  granted: number; // active grants in this period
  used: number; // settled weighted tokens in this period (since the last reset)
  reserved: number; // open reservations (in-flight requests)
  remaining: number; // limit + granted - used - reserved (may be negative after an overshoot)
  percent: number; // used / (limit + granted) * 100, one decimal (may exceed 100 after an overshoot)
  state: QuotaState;
  /** Thresholds (percent) configured for this deployment, e.g. [80, 100]. */
  thresholds: number[];
  /**
   * The user's own monthly cap (personal setting), present only when set. `limit` is already
   * min(quota, personalCap); `thresholds` then starts with the user's own warning percentage.
   */
  personalCap?: number | null;
  /** The user's own warning percentage (1..99), present only when set; equals thresholds[0]. */
  warnPercent?: number | null;
}

/** One row of the statement ("extrato"). */
export interface LedgerEntryDTO {
  id: string; // opaque, stable (ledger seq)
  requestId: string;
  createdAt: string; // ISO-8601
  model: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  weightedTokens: number;
  cost: number; // USD
  source: MeteringSource;
  estimated: boolean;
  conversationId: string | null;
  messageId: string | null;
  periodKey: string;
  balanceAfter: number | null; // remaining after this request, within its period
}

export interface MeDTO {
  userId: string;
  email: string | null;
  name: string | null;
  role: string | null;
  isAdmin: boolean;
  balance: BalanceDTO;
}

/**
 * The warning threshold (percent) when none is configured: the server's default SOLARIS_THRESHOLDS starts with it, and
 * both the server (a balance's `warning` state) and the widget (the warning modal, the personal setting's default)
 * fall back to it.
 */
export const DEFAULT_WARN_PERCENT = 80;
