/**
 * Wire contract shared by the server extension and the client widget.
 * Types and constants only: no runtime dependency, no server code. Both sides import `@solaris/wire`.
 */

/** Path prefixes. Every route of ours lives under SOLARIS_PREFIX (LibreChat's app never sees it). */
export const SOLARIS_PREFIX = '/solaris';
export const API_PREFIX = '/solaris/api';
export const SOCKET_PATH = '/solaris/socket.io';
export const WIDGET_PATH = '/solaris/widget.js';

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
  limit: number; // plan limit or per-user override
  granted: number; // active grants in this period
  used: number; // settled weighted tokens in this period (since the last reset)
  reserved: number; // open reservations (in-flight requests)
  remaining: number; // limit + granted - used - reserved (may be negative after an overshoot)
  percent: number; // used / (limit + granted) * 100, one decimal (may exceed 100 after an overshoot)
  state: QuotaState;
  /** Thresholds (percent) configured for this deployment, e.g. [80, 100]. */
  thresholds: number[];
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

export interface StatementPageDTO {
  items: LedgerEntryDTO[];
  nextCursor: string | null; // keyset cursor, pass back as ?cursor=
  totals: { requests: number; promptTokens: number; completionTokens: number; weightedTokens: number; cost: number };
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

export interface MeDTO {
  userId: string;
  email: string | null;
  name: string | null;
  role: string | null;
  isAdmin: boolean;
  balance: BalanceDTO;
}

export interface PlanDTO {
  id: string;
  name: string;
  tokenLimit: number;
  period: PeriodKind;
  isDefault: boolean;
}

export interface AdminUserDTO {
  userId: string;
  email: string | null;
  name: string | null;
  role: string | null;
  lastSeenAt: string | null;
  planId: string | null;
  limitOverride: number | null;
  balance: BalanceDTO;
}

export interface AdminUsersPageDTO {
  items: AdminUserDTO[];
  total: number;
}

export interface AdjustmentDTO {
  id: string;
  userId: string;
  kind: 'grant' | 'reset';
  tokens: number;
  periodKey: string;
  reason: string | null;
  expiresAt: string | null;
  createdBy: string | null;
  createdAt: string;
}

export interface AuditEntryDTO {
  id: string;
  actorId: string;
  actorEmail: string | null;
  action: string; // e.g. 'grant', 'reset', 'plan.assign', 'plan.upsert', 'limit.override'
  targetUserId: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}

/** Error body of every REST endpoint of ours (4xx/5xx). */
export interface ApiErrorDTO {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export const ERROR_CODES = [
  'invalid_input',
  'unauthorized',
  'forbidden',
  'not_found',
  'quota_exceeded',
  'too_many_inflight',
  'unknown_request',
  'conflict',
  'rate_limited',
  'payload_too_large',
  'store_unavailable',
  'upstream_error',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * 402 body of a refused request (gate and proxy). Flat `type: 'token_balance'` fields make LibreChat
 * render its own localized "Insufficient funds" line; the rest is ours (and OpenAI-shaped `error`).
 */
export interface QuotaExceededBody {
  type: 'token_balance';
  balance: number;
  tokenCost: number;
  promptTokens: number;
  code: 'quota_exceeded' | 'too_many_inflight';
  message: string; // pt-BR
  resetAt: string; // ISO-8601
  percentUsed: number;
}

/** socket.io events, server → client. Rooms: `user:<id>` for each user, `admins` for admins. */
export const SocketEvents = {
  balance: 'balance',
  threshold: 'threshold',
  ledger: 'ledger',
  blocked: 'blocked',
  usage: 'usage', // admins only: live feed
} as const;

export interface ThresholdEventDTO {
  userId: string;
  threshold: number; // 80, 100, ...
  periodKey: string;
  balance: BalanceDTO;
}

export interface BlockedEventDTO {
  userId: string;
  reason: 'quota_exceeded' | 'too_many_inflight';
  balance: BalanceDTO;
}

export interface UsageEventDTO {
  userId: string;
  email: string | null;
  entry: LedgerEntryDTO;
  balance: BalanceDTO;
}

export interface ServerToClientEvents {
  balance: (b: BalanceDTO) => void;
  threshold: (e: ThresholdEventDTO) => void;
  ledger: (e: LedgerEntryDTO) => void;
  blocked: (e: BlockedEventDTO) => void;
  usage: (e: UsageEventDTO) => void;
}

/** REST endpoints under API_PREFIX (documented in docs/api.md). */
export const ApiRoutes = {
  me: '/me', // GET → MeDTO
  balance: '/balance', // GET → BalanceDTO
  statement: '/statement', // GET ?StatementQuery → StatementPageDTO
  statementCsv: '/statement.csv', // GET → text/csv
  usageDaily: '/usage/daily', // GET ?from&to → DailyUsageDTO[]
  adminUsers: '/admin/users', // GET ?q&sort&limit&offset → AdminUsersPageDTO
  adminUser: '/admin/users/:userId', // GET → AdminUserDTO
  adminUserStatement: '/admin/users/:userId/statement', // GET → StatementPageDTO
  adminGrant: '/admin/users/:userId/grants', // POST {tokens, reason, expiresAt?} → BalanceDTO
  adminReset: '/admin/users/:userId/reset', // POST {reason?} → BalanceDTO
  adminOverride: '/admin/users/:userId/limit', // PUT {limit: number|null} → BalanceDTO
  adminAssignPlan: '/admin/users/:userId/plan', // PUT {planId} → BalanceDTO
  adminPlans: '/admin/plans', // GET → PlanDTO[]; POST PlanDTO → PlanDTO
  adminPlan: '/admin/plans/:planId', // PUT PlanDTO → PlanDTO
  adminAudit: '/admin/audit', // GET ?cursor&limit → {items: AuditEntryDTO[], nextCursor}
  adminUsageDaily: '/admin/usage/daily', // GET ?from&to → DailyUsageDTO[]
  adminUsageByModel: '/admin/usage/models', // GET ?from&to → ModelUsageDTO[]
} as const;
