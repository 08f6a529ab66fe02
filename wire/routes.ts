/** Paths and REST routes of ours (documented in docs/api.md); the extras' routes are in extras.ts. */

/** Path prefixes. Every route of ours lives under SOLARIS_PREFIX (LibreChat's app never sees it). */
export const SOLARIS_PREFIX = '/solaris';
export const API_PREFIX = '/solaris/api';
export const SOCKET_PATH = '/solaris/socket.io';
export const WIDGET_PATH = '/solaris/widget.js';

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
