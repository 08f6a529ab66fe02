/**
 * Hooks for admin: plans by LibreChat role and each plan's auto-approval size (ExtrasRoutes). Like hooks.ts they
 * hide the transport: components get react-query state; live changes arrive as socket events (provider.tsx).
 */
import { useQuery } from '@tanstack/react-query';
import { ExtrasRoutes, type RolePlanDTO } from '@solaris/wire';
import { useSolaris } from './provider';
import { keys } from './keys';
import { useAdminChange } from './admin-change';

export function useRolePlans() {
  const { api } = useSolaris();
  return useQuery({ queryKey: keys.adminRolePlans, queryFn: () => api.get<RolePlanDTO[]>(ExtrasRoutes.adminRolePlans) });
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
