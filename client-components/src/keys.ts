/** Query keys, in one place so mutations invalidate exactly what they change. */
export const keys = {
  me: ['solaris', 'me'] as const,
  balance: ['solaris', 'balance'] as const,
  statementRoot: ['solaris', 'statement'] as const,
  statement: (f: object) => ['solaris', 'statement', f] as const,
  usageDailyRoot: ['solaris', 'usageDaily'] as const,
  usageDaily: (from: string, to: string) => ['solaris', 'usageDaily', from, to] as const,
  adminRoot: ['solaris', 'admin'] as const,
  adminUsers: (q: string, sort: string) => ['solaris', 'admin', 'users', q, sort] as const,
  adminUsersRoot: ['solaris', 'admin', 'users'] as const,
  adminUser: (id: string) => ['solaris', 'admin', 'user', id] as const,
  adminUserStatement: (id: string) => ['solaris', 'admin', 'userStatement', id] as const,
  adminPlans: ['solaris', 'admin', 'plans'] as const,
  adminAudit: ['solaris', 'admin', 'audit'] as const,
  adminUsageDaily: (from: string, to: string) => ['solaris', 'admin', 'usageDaily', from, to] as const,
  adminUsageModels: (from: string, to: string) => ['solaris', 'admin', 'usageModels', from, to] as const,
};
