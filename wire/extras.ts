import type { BalanceDTO } from './balance';

/** Personal caps, quota requests, notices, plans by role (additive features; docs/webhooks.md); webhooks are in webhooks.ts. */

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
