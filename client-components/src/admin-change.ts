import { useMutation, useQueryClient } from '@tanstack/react-query';
import { keys } from './keys';

/** An admin mutation: on success refetches `invalidate` and the audit log (every admin change is audited). */
export function useAdminChange<V, R>(fn: (v: V) => Promise<R>, invalidate: ReadonlyArray<readonly string[]>) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: () => {
      for (const key of invalidate) void qc.invalidateQueries({ queryKey: key });
      void qc.invalidateQueries({ queryKey: keys.adminAudit });
    },
  });
}
