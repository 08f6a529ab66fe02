/**
 * Hooks for "Request more tokens": the caller's own requests and the admins' decisions (ExtrasRoutes). Like
 * hooks.ts they hide the transport: components get react-query state; live changes arrive as socket events
 * (provider.tsx).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ExtrasRoutes,
  type AdminQuotaRequestsPageDTO,
  type QuotaRequestApproveInput,
  type QuotaRequestDenyInput,
  type QuotaRequestDTO,
  type QuotaRequestInput,
  type QuotaRequestSuggestionDTO,
} from '@solaris/wire';
import { useSolaris } from './provider';
import { keys } from './keys';

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
