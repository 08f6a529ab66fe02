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
  /** Model glob → token multiplier for this plan's users, first match wins; beats the deployment weights. */
  modelWeights: Record<string, number>;
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
  /** The target's e-mail as LibreChat last told us (users_cache); null when unknown or no target. */
  targetEmail?: string | null;
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
  // Metering proxy input rules (docs/reservation-policy.md).
  'invalid_max_tokens',
  'json_too_deep',
  'json_too_large',
  'idempotency_in_flight',
  'idempotency_key_reused',
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
  /**
   * Why it was refused. Not named `code`: LibreChat's client picks its error text by `json.code || json.type`, so
   * any `code` other than 'token_balance' would make it show the raw JSON instead of its "Insufficient Funds" line.
   */
  reason: 'quota_exceeded' | 'too_many_inflight';
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
  request: 'request', // admins only: a quota request was opened (QuotaRequestEventDTO)
  request_decided: 'request_decided', // the requester: approved / denied (QuotaRequestDecidedEventDTO)
  notice: 'notice', // the user: a grant or a reset (NoticeDTO; also kept for GET /me/notices until seen)
} as const;

export interface ThresholdEventDTO {
  userId: string;
  threshold: number; // 80, 100, ...
  periodKey: string;
  /**
   * When it fired (ISO-8601). A threshold fires once per period and again after an admin reset, so the widget
   * keys a dismissal on (period, threshold, firedAt): the same event twice is one warning, a re-fire is a new one.
   */
  firedAt?: string;
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
  request: (e: QuotaRequestEventDTO) => void;
  request_decided: (e: QuotaRequestDecidedEventDTO) => void;
  notice: (e: NoticeDTO) => void;
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
  adminUserStatementCsv: '/admin/users/:userId/statement.csv', // GET (filters as statementCsv) → text/csv
  adminGrant: '/admin/users/:userId/grants', // POST {tokens, reason, expiresAt?} → BalanceDTO
  adminReset: '/admin/users/:userId/reset', // POST {reason?} → BalanceDTO
  adminOverride: '/admin/users/:userId/limit', // PUT {limit: number|null} → BalanceDTO
  adminAssignPlan: '/admin/users/:userId/plan', // PUT {planId} → BalanceDTO
  adminPlans: '/admin/plans', // GET → PlanDTO[]; POST {id, name, tokenLimit, period, isDefault?, modelWeights?} → 201 PlanDTO
  adminPlan: '/admin/plans/:planId', // PUT {name, tokenLimit, period, isDefault?, modelWeights?} → PlanDTO
  adminAudit: '/admin/audit', // GET ?cursor&limit → {items: AuditEntryDTO[], nextCursor}
  adminUsageDaily: '/admin/usage/daily', // GET ?from&to → DailyUsageDTO[]
  adminUsageByModel: '/admin/usage/models', // GET ?from&to → ModelUsageDTO[]
} as const;

// ---------- Personal caps, quota requests, plans by role, webhooks (additive; docs/webhooks.md) ----------

/** GET/PUT {API_PREFIX}/me/settings: the caller's own cap and warning percentage. */
export interface MySettingsDTO {
  personalCap: number | null;
  warnPercent: number | null;
  /** Highest cap the user may set: their quota (plan or override) + grants of this period. */
  maxPersonalCap: number;
  /** Deployment thresholds; the lowest is the default warning percentage. */
  defaultThresholds: number[];
  balance: BalanceDTO;
}
/** PUT body; null clears a setting. */
export interface MySettingsInput {
  personalCap: number | null;
  warnPercent: number | null;
}

export type QuotaRequestStatus = 'pending' | 'approved' | 'denied' | 'cancelled';

export interface QuotaRequestDTO {
  id: string;
  userId: string;
  email: string | null;
  name: string | null;
  tokens: number; // asked for
  reason: string | null;
  periodKey: string;
  status: QuotaRequestStatus;
  autoApproved: boolean;
  grantedTokens: number | null; // approved amount (admins may change it)
  grantExpiresAt: string | null;
  message: string | null; // the admin's message (deny / approve)
  decidedBy: string | null;
  decidedAt: string | null;
  createdAt: string;
}

export interface QuotaRequestSuggestionDTO {
  /** Suggested amount: average daily use of the last 7 days × days left in the period, at least `minimum`. */
  tokens: number;
  avgDailyUse: number;
  daysLeft: number;
  minimum: number;
  /** Requests up to this many tokens are approved at once (plan rule), null = no rule. */
  autoApproveTokens: number | null;
  /** false when this period's automatic approval was already used. */
  autoApproveAvailable: boolean;
  /** The caller's open request, if any (only one may be open). */
  open: QuotaRequestDTO | null;
}

export interface QuotaRequestInput {
  tokens: number;
  reason?: string | null;
}
/** Approve: amount editable (default: the amount asked for), optional expiry. */
export interface QuotaRequestApproveInput {
  tokens?: number;
  expiresAt?: string | null;
  message?: string | null;
}
export interface QuotaRequestDenyInput {
  message?: string | null;
}
export interface AdminQuotaRequestsPageDTO {
  items: QuotaRequestDTO[];
  pendingCount: number;
}
/** socket `request` (room `admins`). */
export interface QuotaRequestEventDTO {
  request: QuotaRequestDTO;
  pendingCount: number;
}
/** socket `request_decided` (room `user:<id>`): `message` is ready-to-show pt-BR text; the balance is the new one. */
export interface QuotaRequestDecidedEventDTO {
  request: QuotaRequestDTO;
  balance: BalanceDTO;
  message: string;
  /** The stored notice of this decision (GET /me/notices until seen): mark it seen once shown. */
  noticeId?: string;
}

/**
 * A notice kept for the user until they see it (a decision, a grant, a reset made while they were away):
 * GET {API_PREFIX}/me/notices lists the unseen ones (oldest first), POST …/me/notices/seen {ids} marks them seen.
 */
export interface NoticeDTO {
  id: string;
  kind: 'request_decided' | 'grant' | 'reset';
  createdAt: string;
  /** Ready-to-show pt-BR text. */
  message: string;
  /** request_decided: the request as decided. */
  request: QuotaRequestDTO | null;
  /** grant: the tokens granted. */
  tokens: number | null;
  /** grant / reset: the administrator's reason. */
  reason: string | null;
}

export interface RolePlanDTO {
  role: string; // LibreChat role: USER, ADMIN, custom
  planId: string;
  updatedBy: string | null;
  updatedAt: string;
}

export const WEBHOOK_EVENT_TYPES = [
  'threshold.crossed',
  'user.blocked',
  'quota_request.opened',
  'quota_request.decided',
  'org_usage.crossed',
  'usage.daily_digest',
  'test',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Body of every JSON webhook (format 'json'). `id` = X-Solaris-Event-Id (de-duplicate on it). */
export interface WebhookEventEnvelope<T = Record<string, unknown>> {
  id: string;
  type: WebhookEventType;
  createdAt: string;
  data: T;
}

export interface WebhookEndpointDTO {
  id: string;
  name: string;
  url: string;
  /** Event types delivered; empty = all. */
  events: WebhookEventType[];
  format: 'json' | 'slack';
  active: boolean;
  /** 'env' endpoints come from SOLARIS_WEBHOOK_URLS and are read-only here. */
  source: 'admin' | 'env';
  createdAt: string | null;
}
/** Returned once, on creation: the signing secret is never shown again. */
export interface WebhookEndpointCreatedDTO extends WebhookEndpointDTO {
  secret: string;
}
export interface WebhookEndpointInput {
  name?: string;
  url: string;
  events?: WebhookEventType[];
  format?: 'json' | 'slack';
  active?: boolean;
}
export interface WebhookDeliveryDTO {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  attempt: number;
  statusCode: number | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
  createdAt: string;
}

/** REST endpoints under API_PREFIX for the features above (server: adapters/http/personal-settings-, quota-request-, notice-, role-plan- and webhook-routes.ts). */
export const ExtrasRoutes = {
  mySettings: '/me/settings', // GET → MySettingsDTO; PUT MySettingsInput → MySettingsDTO
  myRequests: '/me/quota-requests', // GET → QuotaRequestDTO[] (newest first); POST QuotaRequestInput → 201 QuotaRequestDTO
  myRequestSuggestion: '/me/quota-requests/suggestion', // GET → QuotaRequestSuggestionDTO
  myRequestCancel: '/me/quota-requests/:requestId/cancel', // POST → QuotaRequestDTO
  myNotices: '/me/notices', // GET → NoticeDTO[] (unseen, oldest first)
  myNoticesSeen: '/me/notices/seen', // POST {ids: string[]} → {seen: number}
  adminRequests: '/admin/quota-requests', // GET ?status&limit → AdminQuotaRequestsPageDTO
  adminRequestApprove: '/admin/quota-requests/:requestId/approve', // POST QuotaRequestApproveInput → QuotaRequestDTO
  adminRequestDeny: '/admin/quota-requests/:requestId/deny', // POST QuotaRequestDenyInput → QuotaRequestDTO
  adminRolePlans: '/admin/role-plans', // GET → RolePlanDTO[]
  adminRolePlan: '/admin/role-plans/:role', // PUT {planId} → RolePlanDTO; DELETE → 204
  adminPlanAutoApprove: '/admin/plans/:planId/auto-approve', // PUT {tokens: number|null} → {planId, autoApproveTokens}
  adminWebhooks: '/admin/webhooks', // GET → WebhookEndpointDTO[]; POST WebhookEndpointInput → 201 WebhookEndpointCreatedDTO
  adminWebhook: '/admin/webhooks/:endpointId', // PUT Partial<WebhookEndpointInput> → WebhookEndpointDTO; DELETE → 204
  adminWebhookTest: '/admin/webhooks/:endpointId/test', // POST → 202 {eventId}
  adminWebhookDeliveries: '/admin/webhook-deliveries', // GET ?endpointId&limit → WebhookDeliveryDTO[]
} as const;
