/**
 * Hooks for the caller's personal cap and warning percentage (ExtrasRoutes.mySettings). Like hooks.ts they hide
 * the transport: components get react-query state; live changes arrive as socket events (provider.tsx).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ExtrasRoutes, type BalanceDTO, type MySettingsDTO, type MySettingsInput } from '@solaris/wire';
import { useSolaris } from './provider';
import { keys } from './keys';

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
