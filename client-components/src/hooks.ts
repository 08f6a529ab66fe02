import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiRoutes,
  type AdminUserDTO,
  type AdminUsersPageDTO,
  type AuditEntryDTO,
  type BalanceDTO,
  type DailyUsageDTO,
  type MeDTO,
  type ModelUsageDTO,
  type PlanDTO,
  type StatementPageDTO,
  type StatementQuery,
} from '@solaris/wire';
import { useSolaris } from './provider';
import { keys } from './keys';
import type { QueryParams } from './api/client';

export type StatementFilters = Omit<StatementQuery, 'cursor'>;

/** Who is logged in (401 → error with status 401). */
export function useMe(opts: { enabled?: boolean } = {}) {
  const { api } = useSolaris();
  const qc = useQueryClient();
  return useQuery({
    queryKey: keys.me,
    enabled: opts.enabled ?? true,
    queryFn: async () => {
      const me = await api.get<MeDTO>(ApiRoutes.me);
      if (!qc.getQueryData(keys.balance)) qc.setQueryData(keys.balance, me.balance);
      return me;
    },
  });
}

/** The user's balance: fetched once, then kept current by socket `balance` events (no polling). */
export function useBalance() {
  const { api } = useSolaris();
  return useQuery({ queryKey: keys.balance, queryFn: () => api.get<BalanceDTO>(ApiRoutes.balance) });
}

/**
 * The deployment's IANA zone (BalanceDTO.timeZone — one server setting, the same in every balance) for
 * dates shown outside any one balance: the user's quota request, and in the admin tab the audit log, the
 * live feed, webhook deliveries, quota requests, "last seen" and the expiry date an admin picks.
 * Source, everywhere: the signed-in user's own balance (`keys.balance`; in the admin tab, the admin's).
 * It is always there: the widget seeds it from `/me` (initialBalance) before it shows any admin
 * control, the counter keeps it current, and a host app without that seed fetches it once. A user
 * detail's or a feed event's balance would carry the same zone but is not there on every admin view.
 * undefined (→ the browser's zone, no zone name) while loading or from an older server.
 */
export function useDeploymentTimeZone(): string | undefined {
  return useBalance().data?.timeZone;
}

const PAGE = 50;

/** Keyset-paged statement (newest first): `fetchNextPage` follows `nextCursor`. */
export function useStatement(filters: StatementFilters = {}, opts: { userId?: string; enabled?: boolean } = {}) {
  const { api } = useSolaris();
  const route = opts.userId ? ApiRoutes.adminUserStatement : ApiRoutes.statement;
  const params = opts.userId ? { userId: opts.userId } : undefined;
  return useInfiniteQuery({
    queryKey: opts.userId ? [...keys.adminUserStatement(opts.userId), filters] : keys.statement(filters),
    enabled: opts.enabled ?? true,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      api.get<StatementPageDTO>(route, params, { limit: PAGE, ...filters, cursor: pageParam } as QueryParams),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
}

/** CSV export link for the same filters (a plain same-origin link keeps the cookie). */
export function useStatementCsvUrl(filters: StatementFilters = {}): string {
  const { api } = useSolaris();
  return api.url(ApiRoutes.statementCsv, undefined, filters as QueryParams);
}

/** The row of a day without usage (the usage routes leave those days out; the charts fill them in). */
export const noUsage = (day: string): DailyUsageDTO => ({ day, weightedTokens: 0, promptTokens: 0, completionTokens: 0, cost: 0, requests: 0 });

export function useDailyUsage(range: { from: string; to: string } | null) {
  const { api } = useSolaris();
  return useQuery({
    queryKey: keys.usageDaily(range?.from ?? '', range?.to ?? ''),
    enabled: !!range,
    queryFn: () => api.get<DailyUsageDTO[]>(ApiRoutes.usageDaily, undefined, range ?? {}),
  });
}

export type AdminSort = 'usage' | 'email' | 'lastSeen';

export function useAdminUsers(q: string, sort: AdminSort = 'usage', limit = 100) {
  const { api } = useSolaris();
  return useQuery({
    queryKey: keys.adminUsers(q, sort),
    queryFn: () => api.get<AdminUsersPageDTO>(ApiRoutes.adminUsers, undefined, { q, sort, limit }),
    placeholderData: keepPreviousData,
  });
}

export function useAdminUser(userId: string | null) {
  const { api } = useSolaris();
  return useQuery({
    queryKey: keys.adminUser(userId ?? ''),
    enabled: !!userId,
    queryFn: () => api.get<AdminUserDTO>(ApiRoutes.adminUser, { userId: userId ?? '' }),
  });
}

export function usePlans(enabled = true) {
  const { api } = useSolaris();
  return useQuery({ queryKey: keys.adminPlans, enabled, queryFn: () => api.get<PlanDTO[]>(ApiRoutes.adminPlans) });
}

export function useAuditLog(pageSize = PAGE) {
  const { api } = useSolaris();
  return useInfiniteQuery({
    queryKey: [...keys.adminAudit, pageSize],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      api.get<{ items: AuditEntryDTO[]; nextCursor: string | null }>(ApiRoutes.adminAudit, undefined, { limit: pageSize, cursor: pageParam }),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
}

/** Everyone's usage per day of the deployment zone; `null` = not yet (the range is not known). */
export function useAdminUsageDaily(range: { from: string; to: string } | null) {
  const { api } = useSolaris();
  return useQuery({
    queryKey: keys.adminUsageDaily(range?.from ?? '', range?.to ?? ''),
    enabled: !!range,
    queryFn: () => api.get<DailyUsageDTO[]>(ApiRoutes.adminUsageDaily, undefined, range ?? {}),
  });
}

/** Usage per model over `range`; `null` = not yet (the range is not known). */
export function useAdminUsageByModel(range: { from: string; to: string } | null) {
  const { api } = useSolaris();
  return useQuery({
    queryKey: keys.adminUsageModels(range?.from ?? '', range?.to ?? ''),
    enabled: !!range,
    queryFn: () => api.get<ModelUsageDTO[]>(ApiRoutes.adminUsageByModel, undefined, range ?? {}),
  });
}

/** After any change to one user's policy or balance: their detail, the users list, audit, and (if it is me) my balance. */
function useUserMutation<V>(fn: (v: V) => Promise<BalanceDTO>, userId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: (balance) => {
      qc.setQueryData<AdminUserDTO>(keys.adminUser(userId), (u) => (u ? { ...u, balance } : u));
      const mine = qc.getQueryData<BalanceDTO>(keys.balance);
      if (mine && mine.userId === balance.userId) qc.setQueryData(keys.balance, balance);
      void qc.invalidateQueries({ queryKey: keys.adminUser(userId) });
      void qc.invalidateQueries({ queryKey: keys.adminUsersRoot });
      void qc.invalidateQueries({ queryKey: keys.adminAudit });
    },
  });
}

export function useGrantTokens(userId: string) {
  const { api } = useSolaris();
  return useUserMutation(
    (v: { tokens: number; reason: string | null; expiresAt?: string | null }) => api.send<BalanceDTO>('POST', ApiRoutes.adminGrant, { userId }, v),
    userId,
  );
}

export function useOverrideLimit(userId: string) {
  const { api } = useSolaris();
  return useUserMutation((v: { limit: number | null }) => api.send<BalanceDTO>('PUT', ApiRoutes.adminOverride, { userId }, v), userId);
}

export function useResetUsage(userId: string) {
  const { api } = useSolaris();
  return useUserMutation((v: { reason: string | null }) => api.send<BalanceDTO>('POST', ApiRoutes.adminReset, { userId }, v), userId);
}

export function useAssignPlan(userId: string) {
  const { api } = useSolaris();
  return useUserMutation((v: { planId: string }) => api.send<BalanceDTO>('PUT', ApiRoutes.adminAssignPlan, { userId }, v), userId);
}

export function useSavePlan() {
  const { api } = useSolaris();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ plan, isNew }: { plan: PlanDTO; isNew: boolean }) =>
      isNew ? api.send<PlanDTO>('POST', ApiRoutes.adminPlans, {}, plan) : api.send<PlanDTO>('PUT', ApiRoutes.adminPlan, { planId: plan.id }, plan),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: keys.adminPlans });
      void qc.invalidateQueries({ queryKey: keys.adminUsersRoot });
      void qc.invalidateQueries({ queryKey: keys.adminAudit });
    },
  });
}
