/**
 * Hooks for personal caps, quota requests, role plans and webhooks (ExtrasRoutes). Like hooks.ts they hide
 * the transport: components get react-query state; live changes arrive as socket events (provider.tsx).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ExtrasRoutes,
  type AdminQuotaRequestsPageDTO,
  type BalanceDTO,
  type MySettingsDTO,
  type MySettingsInput,
  type QuotaRequestApproveInput,
  type QuotaRequestDenyInput,
  type QuotaRequestDTO,
  type QuotaRequestInput,
  type QuotaRequestSuggestionDTO,
  type RolePlanDTO,
  type WebhookDeliveryDTO,
  type WebhookEndpointCreatedDTO,
  type WebhookEndpointDTO,
  type WebhookEndpointInput,
} from '@solaris/wire';
import { useSolaris } from './provider';
import { keys } from './keys';

// ---------- the caller's own settings ----------

export function useMySettings(enabled = true) {
  const { api } = useSolaris();
  return useQuery({ queryKey: keys.mySettings, enabled, queryFn: () => api.get<MySettingsDTO>(ExtrasRoutes.mySettings) });
}

/** Saves the personal cap and warning %; the answer's balance becomes the counter's at once. */
export function useSaveMySettings() {
  const { api } = useSolaris();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: MySettingsInput) => api.send<MySettingsDTO>('PUT', ExtrasRoutes.mySettings, {}, v),
    onSuccess: (out) => {
      qc.setQueryData(keys.mySettings, out);
      qc.setQueryData<BalanceDTO>(keys.balance, out.balance);
      void qc.invalidateQueries({ queryKey: keys.requestSuggestion });
    },
  });
}

// ---------- the caller's own quota requests ----------

/** Suggested amount, the plan's auto-approval rule and the open request (if any). */
export function useRequestSuggestion(enabled = true) {
  const { api } = useSolaris();
  return useQuery({ queryKey: keys.requestSuggestion, enabled, queryFn: () => api.get<QuotaRequestSuggestionDTO>(ExtrasRoutes.myRequestSuggestion) });
}

export function useMyRequests(enabled = true) {
  const { api } = useSolaris();
  return useQuery({ queryKey: keys.myRequests, enabled, queryFn: () => api.get<QuotaRequestDTO[]>(ExtrasRoutes.myRequests) });
}

/** Opens a request. On a 409 (one already open) the suggestion is refetched so the open one is shown. */
export function useOpenRequest() {
  const { api } = useSolaris();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: QuotaRequestInput) => api.send<QuotaRequestDTO>('POST', ExtrasRoutes.myRequests, {}, v),
    onSuccess: (r) => {
      qc.setQueryData<QuotaRequestSuggestionDTO>(keys.requestSuggestion, (s) => (s ? { ...s, open: r.status === 'pending' ? r : null } : s));
      void qc.invalidateQueries({ queryKey: keys.myRequestsRoot });
    },
    onError: () => void qc.invalidateQueries({ queryKey: keys.myRequestsRoot }),
  });
}

export function useCancelRequest() {
  const { api } = useSolaris();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (requestId: string) => api.send<QuotaRequestDTO>('POST', ExtrasRoutes.myRequestCancel, { requestId }),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.myRequestsRoot }),
  });
}

// ---------- admin: quota requests ----------

export type RequestStatusFilter = 'pending' | 'all';

/** Admin list; every fetch also updates the live pending badge. */
export function useAdminRequests(status: RequestStatusFilter = 'pending', enabled = true) {
  const { api, store } = useSolaris();
  return useQuery({
    queryKey: keys.adminRequests(status),
    enabled,
    queryFn: async () => {
      const page = await api.get<AdminQuotaRequestsPageDTO>(ExtrasRoutes.adminRequests, undefined, { status, limit: 100 });
      store.getState().setPendingRequests(page.pendingCount);
      return page;
    },
  });
}

export type Decision = { requestId: string; approve: true; input: QuotaRequestApproveInput } | { requestId: string; approve: false; input: QuotaRequestDenyInput };

export function useDecideRequest() {
  const { api } = useSolaris();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (d: Decision) =>
      api.send<QuotaRequestDTO>('POST', d.approve ? ExtrasRoutes.adminRequestApprove : ExtrasRoutes.adminRequestDeny, { requestId: d.requestId }, d.input),
    // settled, not success: a 409 (someone else decided first) must refresh the list too
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: keys.adminRequestsRoot });
      void qc.invalidateQueries({ queryKey: keys.adminUsersRoot });
      void qc.invalidateQueries({ queryKey: keys.adminAudit });
    },
  });
}

// ---------- admin: plans by role, auto-approval ----------

export function useRolePlans() {
  const { api } = useSolaris();
  return useQuery({ queryKey: keys.adminRolePlans, queryFn: () => api.get<RolePlanDTO[]>(ExtrasRoutes.adminRolePlans) });
}

function useAdminChange<V, R>(fn: (v: V) => Promise<R>, invalidate: ReadonlyArray<readonly string[]>) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: () => {
      for (const key of invalidate) void qc.invalidateQueries({ queryKey: key });
      void qc.invalidateQueries({ queryKey: keys.adminAudit });
    },
  });
}

export function useSetRolePlan() {
  const { api } = useSolaris();
  return useAdminChange((v: { role: string; planId: string }) => api.send<RolePlanDTO>('PUT', ExtrasRoutes.adminRolePlan, { role: v.role }, { planId: v.planId }), [
    keys.adminRolePlans,
    keys.adminUsersRoot,
  ]);
}

export function useRemoveRolePlan() {
  const { api } = useSolaris();
  return useAdminChange((role: string) => api.send<null>('DELETE', ExtrasRoutes.adminRolePlan, { role }), [keys.adminRolePlans, keys.adminUsersRoot]);
}

export function useSetAutoApprove() {
  const { api } = useSolaris();
  return useAdminChange(
    (v: { planId: string; tokens: number | null }) =>
      api.send<{ planId: string; autoApproveTokens: number | null }>('PUT', ExtrasRoutes.adminPlanAutoApprove, { planId: v.planId }, { tokens: v.tokens }),
    [keys.adminPlans],
  );
}

// ---------- admin: webhooks ----------

export function useWebhooks() {
  const { api } = useSolaris();
  return useQuery({ queryKey: keys.adminWebhooks, queryFn: () => api.get<WebhookEndpointDTO[]>(ExtrasRoutes.adminWebhooks) });
}

export function useWebhookDeliveries(endpointId: string) {
  const { api } = useSolaris();
  return useQuery({
    queryKey: keys.adminWebhookDeliveries(endpointId),
    queryFn: () => api.get<WebhookDeliveryDTO[]>(ExtrasRoutes.adminWebhookDeliveries, undefined, { endpointId: endpointId || undefined, limit: 50 }),
  });
}

/** The creation answer carries the signing secret: the caller shows it once and never stores it. */
export function useCreateWebhook() {
  const { api } = useSolaris();
  const qc = useQueryClient();
  return useAdminChange(async (v: WebhookEndpointInput) => {
    const created = await api.send<WebhookEndpointCreatedDTO>('POST', ExtrasRoutes.adminWebhooks, {}, v);
    // listed at once (the refetch confirms it); the secret never goes into the cache
    const { secret: _secret, ...endpoint } = created;
    qc.setQueryData<WebhookEndpointDTO[]>(keys.adminWebhooks, (list) => (list ? [...list, endpoint] : list));
    return created;
  }, [keys.adminWebhooks]);
}

export function useUpdateWebhook() {
  const { api } = useSolaris();
  return useAdminChange(
    (v: { id: string; patch: Partial<WebhookEndpointInput> }) => api.send<WebhookEndpointDTO>('PUT', ExtrasRoutes.adminWebhook, { endpointId: v.id }, v.patch),
    [keys.adminWebhooks],
  );
}

export function useDeleteWebhook() {
  const { api } = useSolaris();
  return useAdminChange((id: string) => api.send<null>('DELETE', ExtrasRoutes.adminWebhook, { endpointId: id }), [keys.adminWebhooks, keys.adminWebhookDeliveriesRoot]);
}

export function useTestWebhook() {
  const { api } = useSolaris();
  return useAdminChange((id: string) => api.send<{ eventId: string }>('POST', ExtrasRoutes.adminWebhookTest, { endpointId: id }), [keys.adminWebhookDeliveriesRoot]);
}
