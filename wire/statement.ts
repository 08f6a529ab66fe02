import type { LedgerEntryDTO } from './balance';

/**
 * The statement is an account (docs/architecture.md, "Statement page"): every change of the balance is a line —
 * usage, the opening of a period, grants, their expiry, resets and changes of limit or plan. Within a period,
 * each line's `balanceAfter` is the previous line's plus its `amount` (a period opens at its starting balance).
 */
export type StatementLineKind = 'usage' | 'period_start' | 'grant' | 'grant_expiry' | 'reset' | 'limit';

/** A usage line: a ledger row. `context` says what LibreChat spent it on ('message', 'title', …) when known. */
export interface StatementUsageDTO extends LedgerEntryDTO {
  kind: 'usage';
  context: string | null;
  amount: number; // −weightedTokens
  balanceAfter: number;
}

/** Why a limit line happened: the user's own override, plan, cap; a plan's limit; a role's plan; their role. */
export type LimitChangeCause = 'limit' | 'plan' | 'personal_cap' | 'plan_limit' | 'role_plan' | 'role';

/** Any other line of the account. */
export interface AccountLineDTO {
  kind: Exclude<StatementLineKind, 'usage'>;
  id: string; // opaque, stable: 'grant:12', 'limit:3', 'period:2026-11'
  createdAt: string; // ISO-8601: when it took effect (an expiry: the grant's expiry time)
  periodKey: string;
  amount: number; // change of the balance (period_start: the opening balance)
  balanceAfter: number;
  /** grant / grant_expiry: the grant's tokens. */
  tokens: number | null;
  /** grant / reset: the admin's reason; limit: the cause (LimitChangeCause). */
  reason: string | null;
  /** limit: the limit (plan or override, before the personal cap) before and after; period_start: the limit then. */
  limitBefore: number | null;
  limitAfter: number | null;
  planId: string | null;
}

export type StatementItemDTO = StatementUsageDTO | AccountLineDTO;

/** The account of one period now (or at its end), equal to the counter for the current period. */
export interface StatementAccountDTO {
  periodKey: string;
  limit: number; // = BalanceDTO.limit
  granted: number; // = BalanceDTO.granted
  used: number; // since the last reset, = BalanceDTO.used
  balance: number; // limit + granted − used = BalanceDTO.remaining + reserved
}

export interface StatementPageDTO {
  items: StatementItemDTO[];
  nextCursor: string | null; // keyset cursor, pass back as ?cursor=
  /** Usage rows of the whole filter (every period shown, resets included), and the account of the period. */
  totals: { requests: number; promptTokens: number; completionTokens: number; weightedTokens: number; cost: number; account: StatementAccountDTO };
}

export interface StatementQuery {
  cursor?: string;
  limit?: number; // 1..200, default 50
  period?: string; // period key, e.g. '2026-11'
  model?: string;
  conversationId?: string;
  from?: string; // ISO date
  to?: string; // ISO date
}

export interface DailyUsageDTO {
  day: string; // YYYY-MM-DD in the deployment time zone
  weightedTokens: number;
  promptTokens: number;
  completionTokens: number;
  cost: number;
  requests: number;
}

export interface ModelUsageDTO {
  model: string;
  weightedTokens: number;
  requests: number;
  cost: number;
}
